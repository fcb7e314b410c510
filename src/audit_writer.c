/*-------------------------------------------------------------------------
 *
 * audit_writer.c
 *		Durable, chained audit records: a shared-memory queue per database
 *		and a background worker per database that drains it.
 *
 * A backend that starts a governed read serializes the pull record into its
 * database's ring buffer, wakes the writer and sleeps on a condition variable
 * until the writer reports that the record is committed.  The writer takes
 * every queued message at once, writes them all in one transaction (each
 * insert or update followed by its entry in the hash chain) and commits with
 * synchronous_commit = on: concurrent pulls share one WAL flush (group
 * commit), and the record is on disk before the reader's first row leaves,
 * independently of the reader's own transaction.
 *
 * If no record can be written within ai_guard.audit_timeout (no worker slot,
 * a lock held on the audit tables, a full queue), the caller refuses the read
 * (ai_guard.audit_failure = refuse, the default) or warns.
 *
 * Writers are started on demand with RegisterDynamicBackgroundWorker, one per
 * database that has the extension, and exit after
 * ai_guard.audit_writer_idle_exit seconds without work so that DROP DATABASE
 * and CREATE DATABASE ... TEMPLATE are not blocked for long.
 *
 * Only the writer process may change the audit tables: the trigger function
 * ai_guard_audit_protect() refuses everyone else, superusers and the tables'
 * owner included.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "audit_keys.h"
#include "audit_tables.h"
#include "audit_writer.h"
#include "canonical.h"
#include "digest.h"
#include "keyring.h"

#define AG_AUDIT_CHANNELS		8
#define AG_AUDIT_RING_SIZE		(1024 * 1024)
#define AG_AUDIT_MAX_MSG		(AG_AUDIT_RING_SIZE / 4)
StaticAssertDecl(AG_AUDIT_MAX_MSG == AG_AUDIT_MAX_MSG_BYTES, "the message limit is published in audit_writer.h");
#define AG_AUDIT_BATCH_MAX		512

/*---- GUC variables ----*/

int			ai_guard_audit_failure = AG_AUDIT_FAILURE_REFUSE;
static int	audit_timeout_ms = 10000;
static int	audit_unkeyed_entries = 0;
static int	writer_idle_exit_s = 10;
static bool audit_restore = false;

static const struct config_enum_entry audit_failure_options[] = {
	{"refuse", AG_AUDIT_FAILURE_REFUSE, false},
	{"warn", AG_AUDIT_FAILURE_WARN, false},
	{NULL, 0, false}
};

bool		ai_guard_am_audit_writer = false;

/*---- shared state ----*/

typedef struct AgMsgHeader
{
	uint32		len;			/* whole message, header included */
	int32		type;
	int32		procno;			/* sender, for the result */
	int32		nfields;
	uint64		seq;
}			AgMsgHeader;

typedef struct AgAuditResult
{
	uint64		seq;			/* request this result answers */
	int64		pull_id;
	bool		ok;
	uint64		abandoned_seq;	/* the sender gave up waiting for this one */
}			AgAuditResult;

typedef struct AgAuditChannel
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		worker_pid;		/* 0: no writer running */
	bool		starting;		/* a writer was launched, not yet ready */
	TimestampTz launch_time;
	Latch	   *worker_latch;
	uint64		write_pos;		/* byte positions, only ever grow */
	uint64		read_pos;
	ConditionVariable cv;		/* results, space, writer state */
	char		ring[AG_AUDIT_RING_SIZE];
}			AgAuditChannel;

typedef struct AgAuditShared
{
	LWLock	   *lock;
	int			nresults;

	/*
	 * The last request number given out, for every channel: a result slot
	 * (one per process number) may be reused by a backend of another
	 * database, and must never match a request of the one before.
	 */
	uint64		next_request;
	AgAuditChannel channels[AG_AUDIT_CHANNELS];
	AgAuditResult results[FLEXIBLE_ARRAY_MEMBER];
}			AgAuditShared;

static AgAuditShared *audit_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void ai_guard_audit_worker_main(Datum arg);

static int
result_slots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

static Size
audit_shmem_size(void)
{
	return add_size(offsetof(AgAuditShared, results),
					mul_size(sizeof(AgAuditResult), result_slots()));
}

static void
audit_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(audit_shmem_size());
	RequestNamedLWLockTranche("ai_guard_audit", 1);
}

static void
audit_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	audit_shared = ShmemInitStruct("ai_guard audit", audit_shmem_size(), &found);
	if (!found)
	{
		int			i;

		memset(audit_shared, 0, audit_shmem_size());
		audit_shared->lock = &(GetNamedLWLockTranche("ai_guard_audit"))->lock;
		audit_shared->nresults = result_slots();
		for (i = 0; i < AG_AUDIT_CHANNELS; i++)
			ConditionVariableInit(&audit_shared->channels[i].cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
ai_guard_audit_writer_init(void)
{
	DefineCustomEnumVariable("ai_guard.audit_failure",
							 "What a governed read does when its audit record cannot be written.",
							 "refuse (the default) fails the read; warn lets it through with a warning.",
							 &ai_guard_audit_failure,
							 AG_AUDIT_FAILURE_REFUSE,
							 audit_failure_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ai_guard.audit_timeout",
							"How long a governed read waits for its audit record to be committed.",
							NULL,
							&audit_timeout_ms,
							10000, 10, 600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ai_guard.audit_restore",
							 "Lets a superuser's session insert dumped audit records (pg_restore).",
							 "Only rows can be added, never changed or removed; verify_audit() checks the restored chain.",
							 &audit_restore,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ai_guard.audit_unkeyed_entries",
							"How many audit chain entries of this database were written before the chain was keyed.",
							"0 for a database created at 0.3 or later; after an update from 0.2, the number its chain had (ALTER DATABASE ... SET). verify_audit() reports another number of entries without MACs as not intact.",
							&audit_unkeyed_entries,
							0, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ai_guard.audit_writer_idle_exit",
							"Seconds without work after which a database's audit writer exits.",
							NULL,
							&writer_idle_exit_s,
							10, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = audit_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = audit_shmem_startup;
}

/*---- messages ----*/

void
ai_guard_audit_msg_init(AgAuditMsg *msg, int type)
{
	AgMsgHeader hdr;

	initStringInfo(&msg->buf);
	msg->type = type;
	msg->nfields = 0;
	memset(&hdr, 0, sizeof(hdr));
	appendBinaryStringInfo(&msg->buf, (char *) &hdr, sizeof(hdr));
}

void
ai_guard_audit_msg_add(AgAuditMsg *msg, const char *value)
{
	int32		len = value ? (int32) strlen(value) : -1;

	appendBinaryStringInfo(&msg->buf, (char *) &len, sizeof(len));
	if (value)
		appendBinaryStringInfo(&msg->buf, value, len);
	msg->nfields++;
}

void
ai_guard_audit_msg_add_bytes(AgAuditMsg *msg, const char *data, int32 len)
{
	appendBinaryStringInfo(&msg->buf, (char *) &len, sizeof(len));
	appendBinaryStringInfo(&msg->buf, data, len);
	msg->nfields++;
}

void
ai_guard_audit_msg_add_int64(AgAuditMsg *msg, int64 value)
{
	char		num[32];

	snprintf(num, sizeof(num), INT64_FORMAT, value);
	ai_guard_audit_msg_add(msg, num);
}

static void
ring_put(AgAuditChannel *ch, uint64 pos, const char *data, Size len)
{
	Size		off = pos % AG_AUDIT_RING_SIZE;
	Size		first = Min(len, AG_AUDIT_RING_SIZE - off);

	memcpy(ch->ring + off, data, first);
	if (first < len)
		memcpy(ch->ring, data + first, len - first);
}

static void
ring_get(AgAuditChannel *ch, uint64 pos, char *data, Size len)
{
	Size		off = pos % AG_AUDIT_RING_SIZE;
	Size		first = Min(len, AG_AUDIT_RING_SIZE - off);

	memcpy(data, ch->ring + off, first);
	if (first < len)
		memcpy(data + first, ch->ring, len - first);
}

/*---- the backend side ----*/

/* Finds this database's channel, claiming a free one; lock held exclusive. */
static AgAuditChannel *
channel_for_db(Oid dboid)
{
	AgAuditChannel *free_ch = NULL;
	int			i;

	for (i = 0; i < AG_AUDIT_CHANNELS; i++)
	{
		AgAuditChannel *ch = &audit_shared->channels[i];

		if (ch->dboid == dboid)
			return ch;
		if (free_ch == NULL &&
			(ch->dboid == InvalidOid ||
			 (ch->worker_pid == 0 && !ch->starting &&
			  ch->read_pos == ch->write_pos)))
			free_ch = ch;
	}
	if (free_ch)
	{
		free_ch->dboid = dboid;
		free_ch->read_pos = free_ch->write_pos = 0;
		free_ch->worker_pid = 0;
		free_ch->starting = false;
		free_ch->worker_latch = NULL;
	}
	return free_ch;
}

/*
 * Starts a writer for the channel if none runs or is starting.  Called with
 * the lock held exclusively; releases and retakes it around the launch.
 * Returns false if the postmaster has no worker slot.
 */
static bool
ensure_writer(AgAuditChannel *ch)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TimestampTz now = GetCurrentTimestamp();
	bool		ok;
	int			chno = (int) (ch - audit_shared->channels);
	Oid			dboid = ch->dboid;

	if (ch->worker_pid != 0)
		return true;
	if (ch->starting &&
		!TimestampDifferenceExceeds(ch->launch_time, now, audit_timeout_ms))
		return true;

	ch->starting = true;
	ch->launch_time = now;
	LWLockRelease(audit_shared->lock);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ai_guard");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ai_guard_audit_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ai_guard audit writer for database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "ai_guard audit writer");
	worker.bgw_main_arg = Int32GetDatum(chno);
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = 0;
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	if (!ok && ch->worker_pid == 0)
		ch->starting = false;
	return ok;
}

static bool
submit(AgAuditMsg *msg, bool wait_room, bool wait_commit, int64 *pull_id,
	   const char **why)
{
	AgMsgHeader *hdr = (AgMsgHeader *) msg->buf.data;
	AgAuditChannel *ch;
	AgAuditResult *res;
	TimestampTz deadline;
	uint64		seq;
	Size		len;
	Latch	   *latch;
	bool		ok = false;
	int			procno = MyProc->pgprocno;

	*pull_id = 0;
	*why = NULL;
	if (audit_shared == NULL)
	{
		*why = "The audit queue is not initialized";
		return false;
	}
	if (procno < 0 || procno >= audit_shared->nresults)
	{
		*why = "This process cannot use the audit queue";
		return false;
	}

	/* pad to 8 bytes so headers stay aligned in the ring */
	while (msg->buf.len % MAXIMUM_ALIGNOF != 0)
		appendStringInfoChar(&msg->buf, '\0');
	len = msg->buf.len;
	hdr = (AgMsgHeader *) msg->buf.data;
	if (len > AG_AUDIT_MAX_MSG)
	{
		*why = "The audit record is too large";
		return false;
	}
	hdr->len = (uint32) len;
	hdr->type = msg->type;
	hdr->procno = procno;
	hdr->nfields = msg->nfields;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), audit_timeout_ms);
	res = &audit_shared->results[procno];

	/* enqueue, waiting for space if the ring is full */
	for (;;)
	{
		LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
		ch = channel_for_db(MyDatabaseId);
		if (ch == NULL)
		{
			LWLockRelease(audit_shared->lock);
			*why = "All audit queues are in use by other databases";
			return false;
		}
		if (!ensure_writer(ch))
		{
			LWLockRelease(audit_shared->lock);
			*why = "No background worker slot is free for the audit writer (max_worker_processes)";
			return false;
		}
		if (ch->write_pos - ch->read_pos + len <= AG_AUDIT_RING_SIZE)
			break;
		LWLockRelease(audit_shared->lock);
		if (!wait_room || GetCurrentTimestamp() >= deadline)
		{
			*why = "The audit queue stayed full";
			return false;
		}
		ConditionVariableTimedSleep(&ch->cv, 100, PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
		CHECK_FOR_INTERRUPTS();
	}
	seq = ++audit_shared->next_request;
	hdr->seq = seq;
	res->seq = 0;
	res->ok = false;
	ring_put(ch, ch->write_pos, msg->buf.data, len);
	ch->write_pos += len;
	latch = ch->worker_latch;
	LWLockRelease(audit_shared->lock);
	if (latch)
		SetLatch(latch);

	if (!wait_commit)
		return true;

	/* sleep until the writer has committed it */
	ConditionVariablePrepareToSleep(&ch->cv);
	for (;;)
	{
		TimestampTz now;
		long		remaining;

		LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
		if (res->seq == seq)
		{
			ok = res->ok;
			*pull_id = res->pull_id;
			LWLockRelease(audit_shared->lock);
			if (!ok)
				*why = ai_guard_master_key_configured() ?
					"The audit writer could not write the record (see the server log)" :
					"No master key is configured, and the audit chain is keyed with one: set \"ai_guard.master_key_file\" or \"ai_guard.master_key_command\"";
			break;
		}
		/* a writer that died or exited is replaced */
		if (ch->dboid == MyDatabaseId && !ensure_writer(ch))
		{
			LWLockRelease(audit_shared->lock);
			*why = "No background worker slot is free for the audit writer (max_worker_processes)";
			break;
		}
		latch = ch->worker_latch;
		LWLockRelease(audit_shared->lock);
		if (latch)
			SetLatch(latch);

		now = GetCurrentTimestamp();
		if (now >= deadline)
		{
			*why = "The audit writer did not commit the record in time (ai_guard.audit_timeout)";
			/* a read refused for that is recorded as refused, if ever */
			if (ai_guard_audit_failure == AG_AUDIT_FAILURE_REFUSE &&
				msg->type == AG_MSG_START)
			{
				LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
				if (res->seq != seq)
					res->abandoned_seq = seq;
				LWLockRelease(audit_shared->lock);
			}
			break;
		}
		remaining = (long) ((deadline - now) / 1000);
		ConditionVariableTimedSleep(&ch->cv, Min(Max(remaining, 1), 1000),
									PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	return ok;
}

bool
ai_guard_audit_submit(AgAuditMsg *msg, bool wait, int64 *pull_id,
					  const char **why)
{
	return submit(msg, wait, wait, pull_id, why);
}

bool
ai_guard_audit_enqueue(AgAuditMsg *msg, bool wait_for_room, const char **why)
{
	int64		dummy;

	return submit(msg, wait_for_room, false, &dummy, why);
}

/*---- the writer ----*/

static AgAuditChannel *my_channel = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr finish_plan = NULL;
static SPIPlanPtr append_plan = NULL;
static SPIPlanPtr keyed_append_plan = NULL;
static SPIPlanPtr hash_plan = NULL;

/* the chain head during a batch */
static int64 chain_seq;
static char chain_head[AG_SHA256_HEX_LEN + 1];

/*
 * The chain key of the batch (NULL: a schema older than 0.3, whose chain is
 * not keyed).  The head this writer last wrote or checked, and the newest
 * key epoch then: while the head is still that one (only the writer
 * appends), the epoch is known and the head need not be checked again.
 */
static const AgChainKey *chain_key;
static char chain_database_id[64];
static int64 trusted_seq = -1;
static char trusted_head[AG_SHA256_HEX_LEN + 1];
static int64 epoch_number;
static char epoch_key_id[AG_CHAIN_KEY_ID_LEN + 1];
static SPIPlanPtr refuse_plan = NULL;
static SPIPlanPtr members_plan = NULL;
static SPIPlanPtr alert_plan = NULL;
static SPIPlanPtr relation_plan = NULL;
static SPIPlanPtr governance_plan = NULL;

static void
writer_detach(int code, Datum arg)
{
	AgAuditChannel *ch = my_channel;

	if (ch == NULL || audit_shared == NULL)
		return;
	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	if (ch->worker_pid == MyProcPid)
	{
		ch->worker_pid = 0;
		ch->worker_latch = NULL;
	}
	ch->starting = false;
	LWLockRelease(audit_shared->lock);
	ConditionVariableBroadcast(&ch->cv);
	my_channel = NULL;
}

/* a timestamptz from microseconds since 2000-01-01 UTC, sent as text */
#define TS_SQL(n) \
	"('2000-01-01 00:00:00+00'::pg_catalog.timestamptz + $" #n \
	"::pg_catalog.int8 * '1 microsecond'::pg_catalog.interval)"

/* whether the pulls table has rows_read (0.2 on) */
static bool
has_rows_read(void)
{
	Oid			pulls = get_relname_relid("pulls", get_namespace_oid("ai_guard", false));

	return get_attnum(pulls, "rows_read") != InvalidAttrNumber;
}

/* the canonical fields of a pull record, for this schema (canonical.h) */
static const char *
pull_fields(void)
{
	return has_rows_read() ? AG_PULL_FIELDS : AG_PULL_FIELDS_V01;
}

static void
prepare_plans(void)
{
	Oid			types[AG_START_NFIELDS];
	int			i;

	for (i = 0; i < AG_START_NFIELDS; i++)
		types[i] = TEXTOID;

	if (insert_plan == NULL)
	{
		insert_plan = SPI_prepare(psprintf(
								  "INSERT INTO ai_guard.pulls AS p (status, kind, started_at, session_role,"
								  " \"current_role\", client_addr, application_name, backend_pid, database,"
								  " purpose, query, client_query, query_id, nesting_level, param_count,"
								  " param_types, relations, columns_returned, columns_filtered,"
								  " columns_pii, columns_encrypted, masks, target, snapshot_xmin,"
								  " snapshot_xmax, snapshot_xip, detail, ended_at)"
								  " VALUES ($1, $2, " TS_SQL(3) ", $4::pg_catalog.name, $5::pg_catalog.name,"
								  " $6::pg_catalog.inet, $7, $8::pg_catalog.int4, $9::pg_catalog.name, $10,"
								  " $11, $12, $13::pg_catalog.int8, $14::pg_catalog.int4,"
								  " $15::pg_catalog.int4, $16::pg_catalog.text[], $17::pg_catalog.text[],"
								  " $18::pg_catalog.text[], $19::pg_catalog.text[], $20::pg_catalog.text[],"
								  " $21::pg_catalog.text[], $22::pg_catalog.text[], $23,"
								  " $24::pg_catalog.int8, $25::pg_catalog.int8, $26::pg_catalog.int8[],"
								  " $27, " TS_SQL(28) ")"
								  " RETURNING p.pull_id, %s", pull_fields()),
								  AG_START_NFIELDS, types);
		if (insert_plan == NULL)
			elog(ERROR, "could not prepare the audit insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(insert_plan);
	}
	if (finish_plan == NULL)
	{
		/* rows_read came with 0.2; a 0.1 schema records the rest */
		finish_plan = SPI_prepare(psprintf(
										   "UPDATE ai_guard.pulls AS p SET status = $2, ended_at = " TS_SQL(3) ","
										   " rows = $4::pg_catalog.int8, bytes = $5::pg_catalog.int8,"
										   " digest = $6, detail = COALESCE($7, p.detail)%s"
										   " WHERE p.pull_id = $1::pg_catalog.int8 AND p.status = 'started'"
										   " RETURNING p.pull_id, %s",
										   has_rows_read() ? ", rows_read = $8::pg_catalog.jsonb" : "",
										   pull_fields()),
								  AG_FINISH_NFIELDS, types);
		if (finish_plan == NULL)
			elog(ERROR, "could not prepare the audit update: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(finish_plan);
	}
	if (refuse_plan == NULL)
	{
		Oid			rtypes[1] = {INT8OID};

		refuse_plan = SPI_prepare(psprintf("UPDATE ai_guard.pulls AS p SET status = 'refused',"
										   " ended_at = pg_catalog.clock_timestamp(),"
										   " detail = 'audit record not committed within ai_guard.audit_timeout'"
										   " WHERE p.pull_id = $1 AND p.status = 'started'"
										   " RETURNING p.pull_id, %s", pull_fields()),
								  1, rtypes);
		if (refuse_plan == NULL)
			elog(ERROR, "could not prepare the audit refusal: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(refuse_plan);
	}
	if (alert_plan == NULL)
	{
		Oid			atypes[1] = {INT8OID};

		/* a budget refusal is announced when its record commits */
		alert_plan = SPI_prepare("SELECT pg_catalog.pg_notify('ai_guard_alerts',"
								 " pg_catalog.json_build_object('event', 'budget_refusal',"
								 "  'pull_id', p.pull_id, 'role', p.\"current_role\","
								 "  'session_role', p.session_role, 'purpose', p.purpose,"
								 "  'rows', p.rows, 'detail', p.detail)::pg_catalog.text)"
								 "  FROM ai_guard.pulls p"
								 " WHERE p.pull_id = $1 AND p.status = 'refused'"
								 "   AND p.detail LIKE 'row budget%'",
								 1, atypes);
		if (alert_plan == NULL)
			elog(ERROR, "could not prepare the budget alert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(alert_plan);
	}
	if (append_plan == NULL)
	{
		Oid			ltypes[6] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};

		append_plan = SPI_prepare("INSERT INTO ai_guard.audit_log"
								  " (seq, pull_id, event, content_hash, prev_hash, record_hash)"
								  " VALUES ($1, $2, $3, $4, $5, $6)",
								  6, ltypes);
		if (append_plan == NULL)
			elog(ERROR, "could not prepare the audit chain append: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(append_plan);
	}
	if (hash_plan == NULL)
	{
		Oid			htypes[3] = {INT8OID, TEXTOID, TEXTOID};

		hash_plan = SPI_prepare("UPDATE ai_guard.pulls SET prev_hash = $2, record_hash = $3"
								" WHERE pull_id = $1",
								3, htypes);
		if (hash_plan == NULL)
			elog(ERROR, "could not prepare the audit hash update: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(hash_plan);
	}
}

/*
 * The membership statements, prepared on first use: a server running this
 * library with an extension not yet updated to 0.2 has no membership tables,
 * and its pull records must still be written.
 */
static void
prepare_membership_plans(void)
{
	Oid			types[AG_RELATION_NFIELDS];
	int			i;

	for (i = 0; i < AG_RELATION_NFIELDS; i++)
		types[i] = TEXTOID;
	if (members_plan == NULL)
	{
		Oid			mtypes[AG_MEMBERS_NFIELDS] =
		{TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID};

		/* the row ids arrive as raw bytes: the field is bound as bytea */
		members_plan = SPI_prepare("INSERT INTO ai_guard.pull_members AS m"
								   " (pull_id, relation, segment, row_count, first_row_id,"
								   " last_row_id, row_ids)"
								   " VALUES ($1::pg_catalog.int8, $2, $3::pg_catalog.int8,"
								   " $4::pg_catalog.int8, $5::pg_catalog.int8,"
								   " $6::pg_catalog.int8, $7)"
								   " RETURNING m.pull_id, " AG_MEMBERS_FIELDS,
								   AG_MEMBERS_NFIELDS, mtypes);
		if (members_plan == NULL)
			elog(ERROR, "could not prepare the membership insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(members_plan);
	}
	if (relation_plan == NULL)
	{
		relation_plan = SPI_prepare("INSERT INTO ai_guard.pull_relations AS r"
									" (pull_id, relation, membership, reason, row_count, batches)"
									" VALUES ($1::pg_catalog.int8, $2, $3, $4,"
									" $5::pg_catalog.int8, $6::pg_catalog.int8[])"
									" RETURNING r.pull_id, " AG_RELATION_FIELDS,
									AG_RELATION_NFIELDS, types);
		if (relation_plan == NULL)
			elog(ERROR, "could not prepare the membership insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(relation_plan);
	}
}

/* The governance log insert, prepared on first use (0.3 schemas have it) */
static void
prepare_governance_plan(void)
{
	Oid			types[AG_GOVERNANCE_NFIELDS];
	int			i;

	if (governance_plan != NULL)
		return;
	for (i = 0; i < AG_GOVERNANCE_NFIELDS; i++)
		types[i] = TEXTOID;
	governance_plan = SPI_prepare("INSERT INTO ai_guard.governance_log AS g"
								  " (changed_at, session_role, \"current_role\", backend_pid, xid,"
								  " catalog, operation, object, before, after, reason, query)"
								  " VALUES (" TS_SQL(1) ", $2::pg_catalog.name, $3::pg_catalog.name,"
								  " $4::pg_catalog.int4, $5::pg_catalog.xid8, $6, $7, $8,"
								  " $9::pg_catalog.jsonb, $10::pg_catalog.jsonb, $11, $12)"
								  " RETURNING g.change_id, " AG_GOVERNANCE_FIELDS,
								  AG_GOVERNANCE_NFIELDS, types);
	if (governance_plan == NULL)
		elog(ERROR, "could not prepare the governance log insert: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(governance_plan);
}

/* Decodes the fields of a message into text Datums. */
static int
decode_fields(const char *msg, Datum *values, char *nulls, int max)
{
	const AgMsgHeader *hdr = (const AgMsgHeader *) msg;
	const char *p = msg + sizeof(AgMsgHeader);
	const char *end = msg + hdr->len;
	int			i;

	if (hdr->nfields > max)
		elog(ERROR, "malformed audit message: %d fields", hdr->nfields);
	for (i = 0; i < hdr->nfields; i++)
	{
		int32		flen;

		if (p + sizeof(int32) > end)
			elog(ERROR, "malformed audit message");
		memcpy(&flen, p, sizeof(int32));
		p += sizeof(int32);
		if (flen < 0)
		{
			nulls[i] = 'n';
			values[i] = (Datum) 0;
			continue;
		}
		if (p + flen > end)
			elog(ERROR, "malformed audit message");
		values[i] = PointerGetDatum(cstring_to_text_with_len(p, flen));
		nulls[i] = ' ';
		p += flen;
	}
	return hdr->nfields;
}

/* The chain hash of a text array of fields after prev (ag_record_hash). */
static bool
hash_fields(ArrayType *arr, const char *prev, size_t prevlen, char *out)
{
	Datum	   *elems;
	bool	   *elnulls;
	int			n;
	const char **fields;
	size_t	   *lens;
	int			i;

	if (ARR_ELEMTYPE(arr) != TEXTOID)
		return false;
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elnulls, &n);
	fields = palloc0(sizeof(char *) * Max(n, 1));
	lens = palloc0(sizeof(size_t) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		text	   *t;

		if (elnulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		fields[i] = VARDATA_ANY(t);
		lens[i] = VARSIZE_ANY_EXHDR(t);
	}
	return ag_record_hash(prev, prevlen, fields, lens, n, out);
}

/*
 * Appends the state of a pull record just written (its content hash came
 * back from the statement's RETURNING) to the chain.
 */
static void
chain_append(Datum event, bool pull_record)
{
	Datum		args[7];
	bool		isnull;
	int64		pull_id;
	char		mac[AG_CHAIN_MAC_HEX_LEN + 1];
	char	   *content;
	char		content_buf[AG_SHA256_HEX_LEN + 1];
	Datum		fields_datum;
	char		seqtxt[32];
	char		idtxt[32];
	const char *fields[4];
	size_t		lens[4];
	char		rh[AG_SHA256_HEX_LEN + 1];
	int			rc;
	char	   *ev = TextDatumGetCString(event);

	if (SPI_processed != 1)
		return;					/* nothing was written */
	pull_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	/* the record's canonical fields, hashed here (no SQL function decides) */
	fields_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull || !hash_fields(DatumGetArrayTypeP(fields_datum), "", 0, content_buf))
		elog(ERROR, "could not hash audit record %lld", (long long) pull_id);
	content = content_buf;

	chain_seq++;
	snprintf(seqtxt, sizeof(seqtxt), INT64_FORMAT, chain_seq);
	snprintf(idtxt, sizeof(idtxt), INT64_FORMAT, pull_id);
	fields[0] = seqtxt;
	fields[1] = idtxt;
	fields[2] = ev;
	fields[3] = content;
	lens[0] = strlen(seqtxt);
	lens[1] = strlen(idtxt);
	lens[2] = strlen(ev);
	lens[3] = strlen(content);
	if (!ag_record_hash(chain_head, strlen(chain_head), fields, lens, 4, rh))
		elog(ERROR, "could not compute the audit chain hash");

	args[0] = Int64GetDatum(chain_seq);
	args[1] = Int64GetDatum(pull_id);
	args[2] = event;
	args[3] = CStringGetTextDatum(content);
	args[4] = CStringGetTextDatum(chain_head);
	args[5] = CStringGetTextDatum(rh);
	if (chain_key)
	{
		ai_guard_chain_mac(chain_key, rh, mac);
		args[6] = CStringGetTextDatum(mac);
	}
	rc = SPI_execute_plan(chain_key ? keyed_append_plan : append_plan, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "audit chain append failed: %s", SPI_result_code_string(rc));
	if (pull_record)
	{
		/* a pull record carries the hashes of its latest chain entry */
		args[0] = Int64GetDatum(pull_id);
		args[1] = CStringGetTextDatum(chain_head);
		args[2] = CStringGetTextDatum(rh);
		rc = SPI_execute_plan(hash_plan, args, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "audit hash update failed: %s", SPI_result_code_string(rc));
	}
	memcpy(chain_head, rh, sizeof(chain_head));
}

/* The keyed append, prepared on first use (0.3 schemas have the column) */
static void
prepare_keyed_append(void)
{
	Oid			types[7] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};

	if (keyed_append_plan != NULL)
		return;
	keyed_append_plan = SPI_prepare("INSERT INTO ai_guard.audit_log"
									" (seq, pull_id, event, content_hash, prev_hash, record_hash, mac)"
									" VALUES ($1, $2, $3, $4, $5, $6, $7)",
									7, types);
	if (keyed_append_plan == NULL)
		elog(ERROR, "could not prepare the audit chain append: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(keyed_append_plan);
}

/* Locks the chain head for this transaction and reads it. */
static bool
chain_begin(bool keyed)
{
	int			rc;
	bool		isnull;
	bool		existed;
	char	   *value;

	rc = SPI_execute(keyed ? "SELECT seq, head, database_id FROM ai_guard.audit_state FOR UPDATE"
					 : "SELECT seq, head FROM ai_guard.audit_state FOR UPDATE", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit chain head: %s", SPI_result_code_string(rc));
	existed = SPI_processed > 0;
	if (!existed)
	{
		chain_seq = 0;
		chain_head[0] = '\0';
		/* the first record: this database's audit identity is made now */
		if (keyed && (SPI_execute("SELECT pg_catalog.gen_random_uuid()::pg_catalog.text",
								  true, 1) != SPI_OK_SELECT || SPI_processed != 1))
			elog(ERROR, "could not make the audit identity");
	}
	else
	{
		chain_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
		value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		strlcpy(chain_head, value ? value : "", sizeof(chain_head));
	}
	if (keyed)
	{
		/* the last column: of audit_state, or of the new identity */
		value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
							 SPI_tuptable->tupdesc->natts);
		strlcpy(chain_database_id, value ? value : "", sizeof(chain_database_id));
	}
	return existed;
}

/* The newest key epoch. */
static void
load_epoch(void)
{
	if (SPI_execute("SELECT epoch, key_id FROM ai_guard.audit_epochs"
					" ORDER BY epoch DESC LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit key epochs");
	if (SPI_processed == 0)
	{
		epoch_number = 0;
		epoch_key_id[0] = '\0';
	}
	else
	{
		char	   *key_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		bool		isnull;

		epoch_number = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
		strlcpy(epoch_key_id, key_id ? key_id : "", sizeof(epoch_key_id));
	}
}

/* The head as it is now is one this writer wrote or checked. */
static void
trust_head(void)
{
	trusted_seq = chain_seq;
	strlcpy(trusted_head, chain_head, sizeof(trusted_head));
}

/* Whether the newest chain entry's MAC verifies under a key. */
static bool
last_entry_verifies(const AgChainKey *key)
{
	Datum		arg = Int64GetDatum(chain_seq);
	Oid			type = INT8OID;
	char	   *hash;
	char	   *mac;

	if (SPI_execute_with_args("SELECT record_hash, mac FROM ai_guard.audit_log WHERE seq = $1",
							  1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return false;
	hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	mac = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return hash != NULL && mac != NULL && strcmp(hash, chain_head) == 0 &&
		ai_guard_chain_mac_verifies(key, hash, mac);
}

/*
 * Picks the chain key of this batch.  The chain continues under the key of
 * its newest epoch while that key is the current master key's; otherwise a
 * new epoch begins under the current master key, as a chain entry that says
 * whether the entries before it were verified (the previous master key is
 * held and the newest entry's MAC verifies under it) or cannot be (a restore
 * under another master key, a key changed without the previous one set).
 */
static void
chain_choose_key(void)
{
	const AgChainKey *current = ai_guard_chain_key(chain_database_id, false);
	const AgChainKey *previous;
	const char *reason;
	bool		verified = false;
	Datum		args[9];
	char		nulls[9] = "         ";
	Oid			types[9] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID,
		INT8OID, TEXTOID, INT8OID};
	int			rc;
	bool		known = chain_seq == trusted_seq && strcmp(chain_head, trusted_head) == 0;

	prepare_keyed_append();
	if (!known)
		load_epoch();
	if (epoch_number > 0 && strcmp(epoch_key_id, current->key_id) == 0)
	{
		/*
		 * Extend only a head whose MAC verifies: else an entry SQL forged
		 * would be bound by the MACs of what follows, and signed heads would
		 * vouch for it.  A forged chain stops the writer (fail closed) until
		 * the chain is restored, or a new master key begins an unverified
		 * epoch that says so.
		 */
		if (chain_seq > 0 && !known && !last_entry_verifies(current))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the audit chain head (entry %lld) does not verify, so the audit writer does not extend it",
							(long long) chain_seq),
					 errhint("Run ai_guard.verify_audit().")));
		chain_key = current;
		trust_head();
		return;
	}
	if (epoch_number == 0)
		reason = chain_seq == 0 ? "first record" : "first keyed record after entries written before 0.3";
	else
	{
		previous = ai_guard_chain_key(chain_database_id, true);
		verified = previous != NULL && strcmp(previous->key_id, epoch_key_id) == 0 &&
			last_entry_verifies(previous);
		reason = verified ? "master key changed" :
			"master key changed; the previous chain key is not held";
		if (!verified)
			ereport(WARNING,
					(errmsg("ai_guard: audit chain epoch %lld is keyed by a master key this server does not hold; a new epoch begins and the entries before it cannot be verified",
							(long long) epoch_number),
					 errhint("Set \"ai_guard.previous_master_key_file\" to the master key the chain was written under.")));
	}

	args[0] = Int64GetDatum(epoch_number + 1);
	args[1] = CStringGetTextDatum(chain_database_id);
	args[2] = CStringGetTextDatum(current->key_id);
	args[3] = CStringGetTextDatum(current->public_key);
	if (epoch_number > 0)
		args[4] = CStringGetTextDatum(epoch_key_id);
	else
		nulls[4] = 'n';
	args[5] = BoolGetDatum(verified);
	args[6] = Int64GetDatum(epoch_number == 0 ? chain_seq : 0);
	args[7] = CStringGetTextDatum(reason);
	args[8] = Int64GetDatum(chain_seq + 1);
	rc = SPI_execute_with_args("INSERT INTO ai_guard.audit_epochs AS e (epoch, database_id, key_id,"
							   " public_key, previous_key_id, previous_verified, unkeyed_before,"
							   " reason, started_at, started_seq)"
							   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_catalog.now(), $9)"
							   " RETURNING e.epoch, " AG_EPOCH_FIELDS,
							   9, types, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not begin audit key epoch: %s", SPI_result_code_string(rc));
	chain_key = current;
	chain_append(CStringGetTextDatum("epoch"), false);
	epoch_number++;
	strlcpy(epoch_key_id, current->key_id, sizeof(epoch_key_id));
	trust_head();
}

static void
chain_end(bool existed, int64 first_seq)
{
	Datum		args[2];
	Oid			types[2] = {INT8OID, TEXTOID};
	int			rc;

	if (chain_seq == first_seq)
		return;
	args[0] = Int64GetDatum(chain_seq);
	args[1] = CStringGetTextDatum(chain_head);
	if (existed)
		rc = SPI_execute_with_args("UPDATE ai_guard.audit_state SET seq = $1, head = $2,"
								   " updated_at = pg_catalog.now()",
								   2, types, args, NULL, false, 0);
	else if (chain_key)
	{
		Oid			itypes[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		iargs[3] = {args[0], args[1], CStringGetTextDatum(chain_database_id)};

		rc = SPI_execute_with_args("INSERT INTO ai_guard.audit_state (seq, head, updated_at, database_id)"
								   " VALUES ($1, $2, pg_catalog.now(), $3)",
								   3, itypes, iargs, NULL, false, 0);
	}
	else
		rc = SPI_execute_with_args("INSERT INTO ai_guard.audit_state (seq, head, updated_at)"
								   " VALUES ($1, $2, pg_catalog.now())",
								   2, types, args, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "could not update the audit chain head: %s", SPI_result_code_string(rc));
	if (chain_key)
		trust_head();
}

static bool
is_refusal(Datum status, char isnull)
{
	return isnull != 'n' && strcmp(TextDatumGetCString(status), "refused") == 0;
}

/* pg_notify on ai_guard_alerts if the pull was refused for its row budget */
static void
send_alert(int64 pull_id)
{
	Datum		args[1];
	int			rc;

	args[0] = Int64GetDatum(pull_id);
	rc = SPI_execute_plan(alert_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "budget alert failed: %s", SPI_result_code_string(rc));
}

static int64
handle_message(const char *msg, bool abandoned)
{
	const AgMsgHeader *hdr = (const AgMsgHeader *) msg;
	Datum		values[AG_START_NFIELDS];
	char		nulls[AG_START_NFIELDS];
	int			n;
	int			rc;
	int64		pull_id = 0;
	bool		isnull;

	if (hdr->type == AG_MSG_REFUSE_LATE)
	{
		/* a started record whose reader gave up: it was refused after all */
		memcpy(&pull_id, msg + sizeof(AgMsgHeader), sizeof(int64));
		values[0] = Int64GetDatum(pull_id);
		rc = SPI_execute_plan(refuse_plan, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "audit refusal failed: %s", SPI_result_code_string(rc));
		chain_append(CStringGetTextDatum("refused"), true);
		return pull_id;
	}

	n = decode_fields(msg, values, nulls, AG_START_NFIELDS);
	if (hdr->type == AG_MSG_START)
	{
		if (n != AG_START_NFIELDS)
			elog(ERROR, "malformed audit start message");
		if (abandoned)
		{
			/* the reader gave up waiting and refused the read */
			values[0] = CStringGetTextDatum("refused");
			nulls[0] = ' ';
			values[26] = CStringGetTextDatum("audit record not committed within ai_guard.audit_timeout");
			nulls[26] = ' ';
			values[27] = values[2];
			nulls[27] = nulls[2];
		}
		rc = SPI_execute_plan(insert_plan, values, nulls, false, 1);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
		pull_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
		chain_append(values[0], true);
		if (is_refusal(values[0], nulls[0]))
			send_alert(pull_id);
	}
	else if (hdr->type == AG_MSG_FINISH)
	{
		if (n != AG_FINISH_NFIELDS || nulls[0] == 'n' || nulls[1] == 'n')
			elog(ERROR, "malformed audit finish message");
		rc = SPI_execute_plan(finish_plan, values, nulls, false, 0);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "audit update failed: %s", SPI_result_code_string(rc));
		chain_append(values[1], true);
		if (is_refusal(values[1], nulls[1]))
			send_alert(DatumGetInt64(DirectFunctionCall1(int8in,
														 CStringGetDatum(TextDatumGetCString(values[0])))));
	}
	else if (hdr->type == AG_MSG_MEMBERS)
	{
		prepare_membership_plans();
		if (n != AG_MEMBERS_NFIELDS || memchr(nulls, 'n', n) != NULL)
			elog(ERROR, "malformed audit membership message");
		rc = SPI_execute_plan(members_plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "membership insert failed: %s", SPI_result_code_string(rc));
		chain_append(CStringGetTextDatum("members"), false);
	}
	else if (hdr->type == AG_MSG_RELATION)
	{
		prepare_membership_plans();
		if (n != AG_RELATION_NFIELDS || nulls[0] == 'n' || nulls[1] == 'n' || nulls[2] == 'n')
			elog(ERROR, "malformed audit membership message");
		rc = SPI_execute_plan(relation_plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "membership insert failed: %s", SPI_result_code_string(rc));
		chain_append(CStringGetTextDatum("relation"), false);
	}
	else if (hdr->type == AG_MSG_GOVERNANCE)
	{
		prepare_governance_plan();
		if (n != AG_GOVERNANCE_NFIELDS || nulls[0] == 'n' || nulls[5] == 'n' || nulls[6] == 'n')
			elog(ERROR, "malformed governance message");
		rc = SPI_execute_plan(governance_plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "governance log insert failed: %s", SPI_result_code_string(rc));
		pull_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
		chain_append(CStringGetTextDatum("governance"), false);
	}
	else if (hdr->type != AG_MSG_SYNC)
		elog(ERROR, "unknown audit message type %d", hdr->type);
	return pull_id;
}

/*
 * Writes messages in one transaction; returns false (and logs) if it failed,
 * with everything rolled back.
 */
static bool
write_messages(char **msgs, bool *abandoned, int n, int64 *ids)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		int			i;
		bool		existed;
		bool		keyed;
		int64		first_seq;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());

		ai_guard_check_audit_tables();
		prepare_plans();
		pgstat_report_activity(STATE_RUNNING, "writing audit records");
		keyed = OidIsValid(get_relname_relid("audit_epochs",
											 get_namespace_oid("ai_guard", false)));
		chain_key = NULL;
		existed = chain_begin(keyed);
		first_seq = chain_seq;
		if (keyed)
			chain_choose_key();
		for (i = 0; i < n; i++)
			ids[i] = handle_message(msgs[i], abandoned[i]);
		chain_end(existed, first_seq);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(LOG,
				(errmsg("ai_guard audit writer could not write %d record(s): %s",
						n, edata->message)));
		FreeErrorData(edata);
		AbortCurrentTransaction();
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

void
ai_guard_audit_worker_main(Datum arg)
{
	int			chno = DatumGetInt32(arg);
	Oid			dboid;
	AgAuditChannel *ch;
	MemoryContext batch_cxt;
	TimestampTz last_work = GetCurrentTimestamp();

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	ai_guard_am_audit_writer = true;
	if (chno < 0 || chno >= AG_AUDIT_CHANNELS || audit_shared == NULL)
		proc_exit(1);
	ch = &audit_shared->channels[chno];

	pqsignal(SIGTERM, die);
	/* a reload reaches the writer too: settings, and a changed master key */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	/* claim the channel, unless another writer already serves it */
	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	if (ch->dboid != dboid || ch->worker_pid != 0)
	{
		LWLockRelease(audit_shared->lock);
		proc_exit(0);
	}
	ch->worker_pid = MyProcPid;
	ch->worker_latch = MyLatch;
	LWLockRelease(audit_shared->lock);
	my_channel = ch;
	before_shmem_exit(writer_detach, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "ai_guard audit writer", PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog", PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_USERSET, PGC_S_OVERRIDE);

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	ch->starting = false;
	LWLockRelease(audit_shared->lock);
	ConditionVariableBroadcast(&ch->cv);

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "ai_guard audit batch",
									  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		char	   *msgs[AG_AUDIT_BATCH_MAX];
		int64		ids[AG_AUDIT_BATCH_MAX];
		bool		oks[AG_AUDIT_BATCH_MAX];
		bool		abandoned[AG_AUDIT_BATCH_MAX];
		char	   *latemsgs[AG_AUDIT_BATCH_MAX];
		bool		latenot[AG_AUDIT_BATCH_MAX];
		int64		lateids[AG_AUDIT_BATCH_MAX];
		int			nlate;
		int			n = 0;
		uint64		pos;
		uint64		end;
		MemoryContext old;
		int			i;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextReset(batch_cxt);
		old = MemoryContextSwitchTo(batch_cxt);

		/* take every queued message (up to a batch) */
		LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
		pos = ch->read_pos;
		end = ch->write_pos;
		if (pos == end)
		{
			if (TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
										   writer_idle_exit_s * 1000))
			{
				/* idle: leave, the next pull starts a new writer */
				ch->worker_pid = 0;
				ch->worker_latch = NULL;
				LWLockRelease(audit_shared->lock);
				MemoryContextSwitchTo(old);
				ConditionVariableBroadcast(&ch->cv);
				my_channel = NULL;
				proc_exit(0);
			}
			LWLockRelease(audit_shared->lock);
			MemoryContextSwitchTo(old);
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 1000L, PG_WAIT_EXTENSION);
			continue;
		}
		LWLockRelease(audit_shared->lock);

		/*
		 * Copied out without the lock (no allocation while holding it: an
		 * error there would leave it held): senders only write beyond
		 * write_pos, and only this writer moves read_pos.
		 */
		while (pos < end && n < AG_AUDIT_BATCH_MAX)
		{
			AgMsgHeader hdr;

			ring_get(ch, pos, (char *) &hdr, sizeof(hdr));
			msgs[n] = palloc(hdr.len);
			ring_get(ch, pos, msgs[n], hdr.len);
			pos += hdr.len;
			n++;
		}
		LWLockAcquire(audit_shared->lock, LW_SHARED);
		for (i = 0; i < n; i++)
		{
			AgMsgHeader *hdr = (AgMsgHeader *) msgs[i];

			abandoned[i] = (hdr->type == AG_MSG_START &&
							hdr->procno >= 0 && hdr->procno < audit_shared->nresults &&
							audit_shared->results[hdr->procno].abandoned_seq == hdr->seq);
		}
		LWLockRelease(audit_shared->lock);

		/* one transaction, one flush; one by one if that fails */
		if (write_messages(msgs, abandoned, n, ids))
		{
			for (i = 0; i < n; i++)
				oks[i] = true;
		}
		else
		{
			for (i = 0; i < n; i++)
			{
				oks[i] = (n > 1) && write_messages(&msgs[i], &abandoned[i], 1, &ids[i]);
				if (!oks[i])
					ids[i] = 0;
			}
		}

		LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
		ch->read_pos = pos;
		nlate = 0;
		for (i = 0; i < n; i++)
		{
			AgMsgHeader *hdr = (AgMsgHeader *) msgs[i];

			if (hdr->procno >= 0 && hdr->procno < audit_shared->nresults)
			{
				AgAuditResult *res = &audit_shared->results[hdr->procno];

				/* its reader gave up while we were writing it */
				if (hdr->type == AG_MSG_START && oks[i] && !abandoned[i] &&
					res->abandoned_seq == hdr->seq && ids[i] != 0)
					lateids[nlate++] = ids[i];
				res->pull_id = ids[i];
				res->ok = oks[i];
				res->seq = hdr->seq;
			}
		}
		LWLockRelease(audit_shared->lock);
		for (i = 0; i < nlate; i++)
		{
			AgMsgHeader *late = palloc0(sizeof(AgMsgHeader) + sizeof(int64));

			late->type = AG_MSG_REFUSE_LATE;
			late->procno = -1;
			late->len = sizeof(AgMsgHeader) + sizeof(int64);
			memcpy((char *) late + sizeof(AgMsgHeader), &lateids[i], sizeof(int64));
			latemsgs[i] = (char *) late;
			latenot[i] = false;
		}
		if (nlate > 0)
			(void) write_messages(latemsgs, latenot, nlate, lateids);
		ConditionVariableBroadcast(&ch->cv);
		MemoryContextSwitchTo(old);
		last_work = GetCurrentTimestamp();
	}
}

/*---- SQL-callable ----*/

/* SQL function: ai_guard._audit_protect() (trigger) */
PG_FUNCTION_INFO_V1(ai_guard_audit_protect);
Datum
ai_guard_audit_protect(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._audit_protect() must be called as a trigger")));
	/*
	 * A restore adds back the records a dump holds, row by row: allowed to a
	 * superuser who asked for it, and only as inserts, so nothing recorded
	 * can be changed or removed this way.
	 */
	if (!ai_guard_am_audit_writer &&
		!(audit_restore && superuser() &&
		  TRIGGER_FIRED_BY_INSERT(td->tg_event) &&
		  TRIGGER_FIRED_FOR_ROW(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot modify \"%s\": audit records are written only by the ai_guard audit writer",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Audit records cannot be changed or removed; ai_guard.verify_audit() reports any tampering. "
						 "To restore a dump that holds audit records, run pg_restore as a superuser with PGOPTIONS='-c ai_guard.audit_restore=on'.")));
	if (TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(td->tg_newtuple);
	return PointerGetDatum(td->tg_trigtuple);
}

/* SQL function: ai_guard._record_hash(text, text[]) */
PG_FUNCTION_INFO_V1(ai_guard_record_hash);
Datum
ai_guard_record_hash(PG_FUNCTION_ARGS)
{
	text	   *prev = PG_GETARG_TEXT_PP(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	char		out[AG_SHA256_HEX_LEN + 1];

	if (ARR_ELEMTYPE(arr) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("fields must be a text array")));
	if (!hash_fields(arr, VARDATA_ANY(prev), VARSIZE_ANY_EXHDR(prev), out))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute SHA-256")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
