/*-------------------------------------------------------------------------
 *
 * audit_keys.c
 *		Keys that bind the audit chain to the server, and the signed head.
 *
 * A hash chain alone binds nobody who can write the audit tables: a
 * superuser can disable the protect triggers, rewrite a record and
 * recompute every hash.  So each chain entry also carries an HMAC-SHA-256
 * under a chain key, and audit_head() signs the head with Ed25519.  Both
 * keys are derived from the master key (which never reaches SQL) and the
 * database's audit identity (audit_state.database_id, kept by pg_dump), so
 * a restore under the same master key verifies and one under another key
 * does not.  No SQL function computes a MAC or a signature over input it is
 * given: the writer MACs what it writes, and the head is signed only after
 * its own MAC verifies.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "audit_keys.h"
#include "envelope.h"
#include "keyring.h"
#include "rowdigest.h"

#define CHAIN_KEY_LABEL		"ai_guard audit chain key v1"
#define CHAIN_KEY_ID_LABEL	"ai_guard audit chain key id v1"
#define SIGNING_KEY_LABEL	"ai_guard audit signing key v1"
#define ENTRY_MAC_LABEL		"ai_guard audit chain entry v1"

#define DATABASE_ID_MAX		63

typedef struct HeldKey
{
	AgChainKey	pub;			/* must be first: handed out as AgChainKey */
	bool		valid;
	char		master_id[17];
	char		database_id[DATABASE_ID_MAX + 1];
	ag_cipher  *mac;
	uint8		seed[AG_ED25519_SEED_LEN];
} HeldKey;

/* the keys of the current and of the previous master key */
static HeldKey held[2];

static void
forget(HeldKey *k)
{
	if (k->mac)
		ag_cipher_free(k->mac);
	ag_wipe(k, sizeof(*k));
}

static bool
valid_database_id(const char *database_id)
{
	return database_id != NULL && database_id[0] != '\0' &&
		strlen(database_id) <= DATABASE_ID_MAX;
}

static void
check_database_id(const char *database_id)
{
	if (!valid_database_id(database_id))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the audit identity of this database is missing or malformed"),
				 errhint("Run ai_guard.verify_audit().")));
}

static void
derive(HeldKey *k, const uint8 *master, const char *master_id, const char *database_id)
{
	uint8		chain[AG_HMAC_LEN];
	uint8		id[AG_HMAC_LEN];
	uint8		pub[AG_ED25519_PUBLIC_LEN];
	const uint8 *parts[1];
	size_t		lens[1];
	bool		ok;

	forget(k);
	ok = ag_derive_key(master, CHAIN_KEY_LABEL, (const uint8 *) database_id,
					   strlen(database_id), chain) == AG_OK &&
		ag_derive_key(master, SIGNING_KEY_LABEL, (const uint8 *) database_id,
					  strlen(database_id), k->seed) == AG_OK;
	if (ok)
		k->mac = ag_cipher_new(AG_ALG_HMAC_SHA256, chain, sizeof(chain));
	ag_wipe(chain, sizeof(chain));
	parts[0] = (const uint8 *) CHAIN_KEY_ID_LABEL;
	lens[0] = strlen(CHAIN_KEY_ID_LABEL);
	if (!ok || k->mac == NULL ||
		ag_hmac(k->mac, 1, parts, lens, id) != AG_OK ||
		!ag_ed25519_public(k->seed, pub))
	{
		forget(k);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not derive the audit chain keys")));
	}
	ag_hex_encode(id, AG_CHAIN_KEY_ID_LEN / 2, k->pub.key_id);
	ag_hex_encode(pub, sizeof(pub), k->pub.public_key);
	strlcpy(k->master_id, master_id, sizeof(k->master_id));
	strlcpy(k->database_id, database_id, sizeof(k->database_id));
	k->valid = true;
}

static HeldKey *
held_key(const char *database_id, bool previous)
{
	HeldKey    *k = &held[previous ? 1 : 0];
	const char *master_id;
	const uint8 *master;

	check_database_id(database_id);
	master = ai_guard_master_key_bytes(previous, &master_id);
	if (master == NULL)
	{
		forget(k);
		return NULL;
	}
	if (!k->valid || strcmp(k->master_id, master_id) != 0 ||
		strcmp(k->database_id, database_id) != 0)
		derive(k, master, master_id, database_id);
	return k;
}

const AgChainKey *
ai_guard_chain_key(const char *database_id, bool previous)
{
	HeldKey    *k = held_key(database_id, previous);

	return k ? &k->pub : NULL;
}

const AgChainKey *
ai_guard_chain_key_by_id(const char *database_id, const char *key_id)
{
	int			i;

	for (i = 0; i < 2; i++)
	{
		HeldKey    *k = held_key(database_id, i == 1);

		if (k && key_id && strcmp(k->pub.key_id, key_id) == 0)
			return &k->pub;
	}
	return NULL;
}

void
ai_guard_chain_mac(const AgChainKey *key, const char *record_hash,
				   char out[AG_CHAIN_MAC_HEX_LEN + 1])
{
	const HeldKey *k = (const HeldKey *) key;
	uint8		mac[AG_HMAC_LEN];
	const uint8 *parts[2];
	size_t		lens[2];

	parts[0] = (const uint8 *) ENTRY_MAC_LABEL;
	lens[0] = strlen(ENTRY_MAC_LABEL) + 1;	/* with its NUL: a separator */
	parts[1] = (const uint8 *) record_hash;
	lens[1] = strlen(record_hash);
	if (ag_hmac(k->mac, 2, parts, lens, mac) != AG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the audit chain MAC")));
	ag_hex_encode(mac, sizeof(mac), out);
}

/* constant-time comparison of two MACs in hex */
static bool
mac_equal(const char *a, const char *b)
{
	size_t		i;
	unsigned	diff = 0;

	if (strlen(a) != AG_CHAIN_MAC_HEX_LEN || strlen(b) != AG_CHAIN_MAC_HEX_LEN)
		return false;
	for (i = 0; i < AG_CHAIN_MAC_HEX_LEN; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i];
	return diff == 0;
}

bool
ai_guard_chain_mac_verifies(const AgChainKey *key, const char *record_hash, const char *mac)
{
	char		expect[AG_CHAIN_MAC_HEX_LEN + 1];

	ai_guard_chain_mac(key, record_hash, expect);
	return mac_equal(expect, mac);
}

/* an audit identity given to a SQL function */
static char *
database_id_arg(text *arg)
{
	char	   *database_id = text_to_cstring(arg);

	if (!valid_database_id(database_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid audit identity"),
				 errdetail("An audit identity is 1 to %d bytes (ai_guard.audit_state.database_id).",
						   DATABASE_ID_MAX)));
	return database_id;
}

/*
 * SQL function: ai_guard._chain_mac_ok(database_id, key_id, record_hash, mac)
 * Whether an entry's MAC verifies; NULL when this server does not hold the
 * key (another master key).  Answers yes or no only: no MAC ever leaves.
 */
PG_FUNCTION_INFO_V1(ai_guard_chain_mac_ok);
Datum
ai_guard_chain_mac_ok(PG_FUNCTION_ARGS)
{
	char	   *database_id = database_id_arg(PG_GETARG_TEXT_PP(0));
	char	   *key_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *record_hash = text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *mac = text_to_cstring(PG_GETARG_TEXT_PP(3));
	const AgChainKey *key = ai_guard_chain_key_by_id(database_id, key_id);

	if (key == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(ai_guard_chain_mac_verifies(key, record_hash, mac));
}

/* SQL function: ai_guard._chain_key_held(database_id, key_id) */
PG_FUNCTION_INFO_V1(ai_guard_chain_key_held);
Datum
ai_guard_chain_key_held(PG_FUNCTION_ARGS)
{
	char	   *database_id = database_id_arg(PG_GETARG_TEXT_PP(0));
	char	   *key_id = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_BOOL(ai_guard_chain_key_by_id(database_id, key_id) != NULL);
}

static char *
spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * SQL function: ai_guard._signed_head()
 * The chain head, signed with the current epoch's signing key once the
 * head's own chain entry verifies under that epoch's chain key: a head that
 * SQL wrote (a reset audit_state, a rewritten entry) is never signed.
 */
PG_FUNCTION_INFO_V1(ai_guard_signed_head);
Datum
ai_guard_signed_head(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};
	HeapTuple	tuple;
	char	   *seq,
			   *head,
			   *updated_at,
			   *database_id,
			   *record_hash,
			   *mac,
			   *epoch,
			   *key_id,
			   *signed_at;
	const AgChainKey *key;
	const HeldKey *k;
	char		msg[512];
	int			len;
	uint8		sig[AG_ED25519_SIG_LEN];
	char		sighex[2 * AG_ED25519_SIG_LEN + 1];
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	SPI_connect();
	if (SPI_execute("SELECT s.seq, s.head, s.updated_at, s.database_id, l.record_hash, l.mac,"
					"       e.epoch, e.key_id,"
					"       pg_catalog.to_char(pg_catalog.timezone('UTC', pg_catalog.clock_timestamp()),"
					"                          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
					"  FROM ai_guard.audit_state s"
					"  LEFT JOIN ai_guard.audit_log l ON l.seq = s.seq"
					"  LEFT JOIN LATERAL (SELECT x.epoch, x.key_id FROM ai_guard.audit_epochs x"
					"                      ORDER BY x.epoch DESC LIMIT 1) e ON true",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit chain head");
	if (SPI_processed == 0)
	{
		/* nothing recorded yet: nothing to sign */
		int			i;

		SPI_finish();
		MemoryContextSwitchTo(caller);
		for (i = 0; i < 8; i++)
			nulls[i] = true;
		values[0] = Int64GetDatum(0);
		nulls[0] = false;
		values[1] = CStringGetTextDatum("");
		nulls[1] = false;
		tuple = heap_form_tuple(tupdesc, values, nulls);
		PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
	}
	seq = spi_text(0, 1);
	head = spi_text(0, 2);
	updated_at = spi_text(0, 3);
	database_id = spi_text(0, 4);
	record_hash = spi_text(0, 5);
	mac = spi_text(0, 6);
	epoch = spi_text(0, 7);
	key_id = spi_text(0, 8);
	signed_at = spi_text(0, 9);

	/* the state is a table a superuser can change: nothing in it is trusted */
	if (seq == NULL || head == NULL || updated_at == NULL || !valid_database_id(database_id))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the audit chain head is malformed, so it is not signed"),
				 errhint("Run ai_guard.verify_audit().")));
	key = epoch ? ai_guard_chain_key_by_id(database_id, key_id) : NULL;
	if (epoch && key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot sign the audit chain head: epoch %s is keyed by a master key this server does not hold", epoch),
				 errhint("Set \"ai_guard.master_key_file\" (or \"ai_guard.previous_master_key_file\") to the master key the chain was written under.")));
	if (key == NULL || record_hash == NULL || mac == NULL ||
		strcmp(record_hash, head) != 0 || !ai_guard_chain_mac_verifies(key, record_hash, mac))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the audit chain head (entry %s) does not verify, so it is not signed", seq),
				 errhint("Run ai_guard.verify_audit().")));

	k = (const HeldKey *) key;
	len = ag_head_message(database_id, strtoll(seq, NULL, 10), head, signed_at,
						  msg, sizeof(msg));
	if (len < 0 || !ag_ed25519_sign(k->seed, msg, len, sig))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the audit chain head")));
	ag_hex_encode(sig, sizeof(sig), sighex);

	/* the result outlives SPI's memory */
	MemoryContextSwitchTo(caller);
	values[0] = DirectFunctionCall1(int8in, CStringGetDatum(seq));
	values[1] = CStringGetTextDatum(head);
	values[2] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(updated_at),
									ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	values[3] = CStringGetTextDatum(database_id);
	values[4] = DirectFunctionCall1(int8in, CStringGetDatum(epoch));
	values[5] = CStringGetTextDatum(key->public_key);
	values[6] = CStringGetTextDatum(signed_at);
	values[7] = CStringGetTextDatum(sighex);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/*
 * SQL function: ai_guard._audit_public_key()
 * The public key that signs this database's heads now (the current epoch's),
 * derived from the master key rather than read from a table.
 */
PG_FUNCTION_INFO_V1(ai_guard_audit_public_key);
Datum
ai_guard_audit_public_key(PG_FUNCTION_ARGS)
{
	char	   *database_id = NULL;
	char	   *key_id = NULL;
	const AgChainKey *key;
	MemoryContext caller = CurrentMemoryContext;
	text	   *result;

	SPI_connect();
	if (SPI_execute("SELECT s.database_id, e.key_id FROM ai_guard.audit_state s"
					"  LEFT JOIN LATERAL (SELECT x.key_id FROM ai_guard.audit_epochs x"
					"                      ORDER BY x.epoch DESC LIMIT 1) e ON true",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit identity");
	if (SPI_processed > 0)
	{
		database_id = spi_text(0, 1);
		key_id = spi_text(0, 2);
	}
	if (database_id == NULL || key_id == NULL)
	{
		SPI_finish();
		PG_RETURN_NULL();		/* nothing recorded yet */
	}
	key = ai_guard_chain_key_by_id(database_id, key_id);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the current audit epoch is keyed by a master key this server does not hold")));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	result = cstring_to_text(key->public_key);
	PG_RETURN_TEXT_P(result);
}
