/*
 * anchor.c
 *		ai-guard anchor and ai-guard verify-chain: signed heads of the audit
 *		chain kept outside the database, and the check that the chain still
 *		extends every one of them.
 *
 * An anchor is one JSON object (one line of an anchors file, or the
 * "audit_head" member of a pull manifest) holding what audit_head()
 * returned: database_id, seq, head, epoch, public_key, signed_at and an
 * Ed25519 signature over (database_id, seq, head, signed_at).  Offline, a
 * verifier needs only the anchors and the public key it trusts; online it
 * asks the server whether chain entry seq still has hash head.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "canonical.h"
#include "json.h"
#include "envelope.h"
#include "sign.h"

#define MAX_ANCHOR_FILE_BYTES (64 * 1024 * 1024)
#define MAX_TRUSTED_KEYS 16

/* the signed head, as one line of JSON (NULL and a message if none) */
static const char *head_sql =
"SELECT pg_catalog.json_build_object('ai_guard_anchor', 1,"
" 'database_id', h.database_id, 'seq', h.seq, 'head', h.head, 'epoch', h.epoch,"
" 'public_key', h.public_key, 'signed_at', h.signed_at, 'signature', h.signature)::text"
" FROM ai_guard.audit_head() h WHERE h.signature IS NOT NULL";

char *
cli_signed_head(PGconn *conn, char **error)
{
	PGresult   *res = PQexec(conn, head_sql);
	char	   *value = NULL;

	*error = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		*error = strdup(cli_error_primary(res));
	else if (PQntuples(res) == 0)
		*error = strdup("nothing is recorded yet, so there is no head to sign");
	else
		value = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return value;
}

static void
anchor_usage(void)
{
	fprintf(stderr, "Usage: %s anchor [-o FILE]\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

int
cmd_anchor(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"output", required_argument, NULL, 'o'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts copts = {0};
	const char *output = NULL;
	PGconn	   *conn;
	char	   *anchor;
	char	   *error;
	FILE	   *f;
	int			c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (c == 'o')
			output = optarg;
		else if (!parse_conn_option(c, optarg, &copts))
		{
			anchor_usage();
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
	{
		pg_log_error("too many arguments");
		anchor_usage();
		return EXIT_USAGE;
	}
	conn = cli_connect(&copts);
	anchor = cli_signed_head(conn, &error);
	PQfinish(conn);
	if (anchor == NULL)
	{
		pg_log_error("could not get a signed head: %s", error);
		free(error);
		return EXIT_FAILED;
	}
	if (output == NULL)
	{
		printf("%s\n", anchor);
		free(anchor);
		return EXIT_OK;
	}
	/* appended, one line each, flushed to disk: the file only grows */
	f = fopen(output, "a");
	if (f == NULL || fprintf(f, "%s\n", anchor) < 0 || fflush(f) != 0 ||
		fsync(fileno(f)) != 0 || fclose(f) != 0)
	{
		pg_log_error("could not append to \"%s\": %s", output, strerror(errno));
		free(anchor);
		return EXIT_FAILED;
	}
	free(anchor);
	return EXIT_OK;
}

/*---- verify-chain ----*/

typedef struct anchor
{
	char	   *where;			/* FILE:LINE */
	int			file;			/* which --anchors file */
	char	   *database_id;
	long long	seq;
	char	   *head;
	char	   *public_key;
	char	   *signed_at;
	char	   *signature;
} anchor;

typedef struct anchor_list
{
	int			file;			/* the file being read */
	int			n;
	int			cap;
	anchor	   *items;
} anchor_list;

static int	problems;

static char *
dup_text(const ag_json *obj, const char *key)
{
	const char *s = ag_json_get_text(obj, key);

	return s ? strdup(s) : NULL;
}

/* Adds the anchor in obj (an anchor, or a manifest's audit_head). */
static void
add_anchor(anchor_list *list, const ag_json *obj, const char *where)
{
	anchor	   *a;
	const char *seq;
	char	   *end;

	if (obj->type == AG_JSON_OBJECT && ag_json_get(obj, "ai_guard_manifest") != NULL)
	{
		obj = ag_json_get(obj, "audit_head");
		if (obj == NULL || obj->type != AG_JSON_OBJECT)
		{
			printf("  %s: a manifest without a signed head (pulled before 0.3): skipped\n", where);
			return;
		}
	}
	if (list->n == list->cap)
	{
		list->cap = list->cap ? 2 * list->cap : 16;
		list->items = realloc(list->items, list->cap * sizeof(anchor));
	}
	a = &list->items[list->n];
	memset(a, 0, sizeof(*a));
	a->where = strdup(where);
	a->file = list->file;
	seq = ag_json_get_text(obj, "seq");
	a->seq = seq ? strtoll(seq, &end, 10) : -1;
	if (seq == NULL || *end != '\0')
		a->seq = -1;
	a->database_id = dup_text(obj, "database_id");
	a->head = dup_text(obj, "head");
	a->public_key = dup_text(obj, "public_key");
	a->signed_at = dup_text(obj, "signed_at");
	a->signature = dup_text(obj, "signature");
	list->n++;
}

/*
 * Reads anchors from a file: JSON lines of anchors (ai-guard anchor -o), or
 * one JSON document (a pull manifest, or a single anchor).
 */
static bool
read_anchors(const char *path, anchor_list *list)
{
	size_t		len;
	char	   *text = cli_read_file(path, "", MAX_ANCHOR_FILE_BYTES, &len);
	char		err[128];
	char		where[1100];
	ag_json    *doc;
	char	   *line;
	int			lineno = 0;

	if (text == NULL)
		return false;
	doc = ag_json_parse(text, len, err, sizeof(err));
	if (doc != NULL)
	{
		snprintf(where, sizeof(where), "%s", path);
		add_anchor(list, doc, where);
		ag_json_free(doc);
		free(text);
		return true;
	}
	for (line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
	{
		lineno++;
		if (strspn(line, " \t\r") == strlen(line))
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		doc = ag_json_parse(line, strlen(line), err, sizeof(err));
		if (doc == NULL || doc->type != AG_JSON_OBJECT)
		{
			printf("  %s: NOT AN ANCHOR: %s\n", where, doc ? "not a JSON object" : err);
			problems++;
			ag_json_free(doc);
			continue;
		}
		add_anchor(list, doc, where);
		ag_json_free(doc);
	}
	free(text);
	return true;
}

static bool
trusted(const char *key, char **keys, int nkeys)
{
	int			i;

	for (i = 0; i < nkeys; i++)
		if (key && strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/* Offline: the signature holds, by a trusted key, and anchors only advance. */
static bool
check_signature(const anchor *a, char **keys, int nkeys)
{
	char		msg[512];
	int			len;
	uint8_t		pub[AG_ED25519_PUBLIC_LEN];
	uint8_t		sig[AG_ED25519_SIG_LEN];

	if (a->seq < 0 || a->database_id == NULL || a->head == NULL ||
		a->signed_at == NULL || a->signature == NULL || a->public_key == NULL)
	{
		printf("  %s: NOT AN ANCHOR: a field is missing\n", a->where);
		return false;
	}
	if (!trusted(a->public_key, keys, nkeys))
	{
		printf("  %s: entry %lld SIGNED BY AN UNKNOWN KEY %s (another database, or a new key epoch: pass its key with --public-key)\n",
			   a->where, a->seq, a->public_key);
		return false;
	}
	len = ag_head_message(a->database_id, a->seq, a->head, a->signed_at, msg, sizeof(msg));
	if (len < 0 || !ag_hex_decode(a->public_key, pub, sizeof(pub)) ||
		!ag_hex_decode(a->signature, sig, sizeof(sig)) ||
		!ag_ed25519_verify(pub, msg, (size_t) len, sig))
	{
		printf("  %s: entry %lld: THE SIGNATURE DOES NOT VERIFY\n", a->where, a->seq);
		return false;
	}
	printf("  %s: entry %lld signed at %s: signature ok\n", a->where, a->seq, a->signed_at);
	return true;
}

/*
 * The raw chain, read and recomputed here rather than trusted to functions
 * on the server (which a superuser can replace): every entry's hash is
 * recomputed from its fields and its link checked, and the hashes of the
 * anchored entries are kept.  Needs SELECT on ai_guard.audit_log; returns
 * false (and says why) when the chain cannot be read or does not hold.
 */
typedef enum raw_result
{
	RAW_UNREADABLE,				/* no SELECT on ai_guard.audit_log */
	RAW_BROKEN,
	RAW_OK
} raw_result;

/* a chain entry of a record (a pull, a change of governance, an epoch) */
typedef struct pull_entry
{
	long long	pull_id;		/* the record's id */
	long long	seq;
	char		event[12];
	char		content_hash[65];
} pull_entry;

typedef struct raw_chain
{
	long long	entries;
	long long	npulls;			/* pull-record entries, in chain order */
	long long	cappulls;
	pull_entry *pulls;
	long long	nchanges;		/* governance and epoch entries */
	long long	capchanges;
	pull_entry *changes;
	char		last_hash[65];
	int			nwanted;
	long long  *wanted_seq;		/* anchored entries, and their hashes */
	char	  **wanted_hash;
} raw_chain;

/* chain entries that are not a write of a pull record */
static bool
is_side_event(const char *event)
{
	return strcmp(event, "members") == 0 || strcmp(event, "relation") == 0 ||
		strcmp(event, "governance") == 0 || strcmp(event, "epoch") == 0;
}

static void
add_entry(pull_entry **list, long long *n, long long *cap, const char *id,
		  long long seq, const char *event, const char *content_hash)
{
	pull_entry *pe;

	if (*n == *cap)
	{
		*cap = *cap ? 2 * *cap : 1024;
		*list = realloc(*list, *cap * sizeof(pull_entry));
	}
	pe = &(*list)[(*n)++];
	pe->pull_id = strtoll(id, NULL, 10);
	pe->seq = seq;
	snprintf(pe->event, sizeof(pe->event), "%s", event);
	snprintf(pe->content_hash, sizeof(pe->content_hash), "%s", content_hash);
}

static raw_result
walk_raw_chain(PGconn *conn, raw_chain *rc)
{
	PGresult   *res;
	char		prev[65] = "";
	long long	expect = 1;
	bool		ok = true;

	res = PQexec(conn, "SELECT c.relkind FROM pg_catalog.pg_class c"
				 " WHERE c.oid = 'ai_guard.audit_log'::pg_catalog.regclass");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
		strcmp(PQgetvalue(res, 0, 0), "r") != 0)
	{
		printf("  the raw chain: ai_guard.audit_log IS NOT A TABLE\n");
		PQclear(res);
		return RAW_BROKEN;
	}
	PQclear(res);
	res = PQexec(conn, "DECLARE chain NO SCROLL CURSOR FOR"
				 " SELECT seq, pull_id, event, content_hash, prev_hash, record_hash"
				 " FROM ai_guard.audit_log ORDER BY seq");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		printf("  the raw chain could not be read (%s): checked through audit_entry_hash() only; grant SELECT on ai_guard.audit_log to check it here\n",
			   cli_error_primary(res));
		PQclear(res);
		return RAW_UNREADABLE;
	}
	PQclear(res);
	for (;;)
	{
		int			i,
					n;

		res = PQexec(conn, "FETCH 10000 FROM chain");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			printf("  the raw chain could not be read: %s\n", cli_error_primary(res));
			PQclear(res);
			ok = false;
			break;
		}
		n = PQntuples(res);
		for (i = 0; i < n && ok; i++)
		{
			long long	seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			const char *fields[4];
			size_t		lens[4];
			char		hash[65];
			int			j,
						k;

			for (j = 0; j < 4; j++)
			{
				fields[j] = PQgetvalue(res, i, j);
				lens[j] = (size_t) PQgetlength(res, i, j);
			}
			if (seq != expect)
			{
				printf("  the raw chain: entry %lld IS MISSING\n", expect);
				ok = false;
			}
			else if (strcmp(PQgetvalue(res, i, 4), prev) != 0)
			{
				printf("  the raw chain: entry %lld DOES NOT LINK to the entry before it\n", seq);
				ok = false;
			}
			else if (!ag_record_hash(prev, strlen(prev), fields, lens, 4, hash) ||
					 strcmp(hash, PQgetvalue(res, i, 5)) != 0)
			{
				printf("  the raw chain: entry %lld WAS ALTERED (its hash does not recompute)\n", seq);
				ok = false;
			}
			for (k = 0; ok && k < rc->nwanted; k++)
				if (rc->wanted_seq[k] == seq)
					rc->wanted_hash[k] = strdup(hash);
			if (ok && (!is_side_event(fields[2]) || strcmp(fields[2], "governance") == 0 ||
					   strcmp(fields[2], "epoch") == 0))
				add_entry(!is_side_event(fields[2]) ? &rc->pulls : &rc->changes,
						  !is_side_event(fields[2]) ? &rc->npulls : &rc->nchanges,
						  !is_side_event(fields[2]) ? &rc->cappulls : &rc->capchanges,
						  fields[1], seq, fields[2], fields[3]);
			memcpy(prev, hash, sizeof(prev));
			expect = seq + 1;
		}
		PQclear(res);
		if (n == 0 || !ok)
			break;
	}
	rc->entries = expect - 1;
	memcpy(rc->last_hash, prev, sizeof(prev));
	if (!ok)
		return RAW_BROKEN;
	printf("  the raw chain: %lld entries, every hash recomputed here and linked\n", rc->entries);
	return RAW_OK;
}

/*
 * A cursor over the canonical fields of a table's records (canonical.h),
 * one column per field and their number last: fields are hashed here, with
 * the expressions written out in this program, not by a server function.
 */
static bool
declare_fields(PGconn *conn, const char *fields_sql, const char *from, int nmax)
{
	char		sql[8192];
	int			len;
	int			i;
	PGresult   *res;

	len = snprintf(sql, sizeof(sql), "DECLARE recs NO SCROLL CURSOR FOR SELECT ");
	for (i = 1; i <= nmax; i++)
		len += snprintf(sql + len, sizeof(sql) - len, "s.f[%d], ", i);
	snprintf(sql + len, sizeof(sql) - len,
			 "pg_catalog.cardinality(s.f) FROM (SELECT %s AS f FROM %s) s"
			 " ORDER BY (s.f[1])::pg_catalog.int8", fields_sql, from);
	/* a table the role may not read is skipped, the snapshot kept */
	PQclear(PQexec(conn, "SAVEPOINT fields"));
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		printf("  %s not checked here (%s): grant SELECT on it to check it\n",
			   from, cli_error_primary(res));
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT fields"));
		return false;
	}
	PQclear(res);
	return true;
}

/* the hash of row r's fields; with as_started, of the pull as it started */
static void
hash_row(const PGresult *res, int r, int nmax, bool as_started, char hash[65])
{
	const char *fields[64];
	size_t		lens[64];
	int			nf = atoi(PQgetvalue(res, r, nmax));
	int			f;

	if (nf > nmax)
		nf = nmax;
	for (f = 0; f < nf; f++)
	{
		fields[f] = PQgetisnull(res, r, f) ? NULL : PQgetvalue(res, r, f);
		lens[f] = (size_t) PQgetlength(res, r, f);
	}
	if (as_started)
	{
		/* the outcome's fields unset: status, ended_at, rows, bytes, digest, detail */
		fields[1] = "started";
		lens[1] = 7;
		fields[4] = fields[25] = fields[26] = fields[27] = fields[31] = NULL;
		nf = 32;				/* and no rows_read */
	}
	if (!ag_record_hash("", 0, fields, lens, nf, hash))
		hash[0] = '\0';
}

static int
by_id_then_seq(const void *a, const void *b)
{
	const pull_entry *x = a;
	const pull_entry *y = b;

	if (x->pull_id != y->pull_id)
		return x->pull_id < y->pull_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Checks the records of one table against their chain entries (sorted by
 * id, then chain order): pulls are started (or refused) once and end at most
 * once, each finished pull as it started hashes to its start entry, and its
 * current row to its latest; a change of governance or an epoch has exactly
 * one entry.  Every record has its entries and every entry its record.
 */
static void
check_records(PGconn *conn, const char *what, const char *fields_sql, const char *from,
			  int nmax, const pull_entry *all, long long nall, const char *event)
{
	pull_entry *entries = malloc((nall > 0 ? nall : 1) * sizeof(pull_entry));
	long long	n = 0;
	long long	next = 0;
	long long	checked = 0;
	long long	i;
	bool		ok = true;
	PGresult   *res;

	/* this table's entries (governance and epochs share a list) */
	for (i = 0; i < nall; i++)
		if (event == NULL || strcmp(all[i].event, event) == 0)
			entries[n++] = all[i];
	qsort(entries, n, sizeof(pull_entry), by_id_then_seq);
	if (!declare_fields(conn, fields_sql, from, nmax))
	{
		free(entries);
		return;
	}
	for (;;)
	{
		int			r,
					rows;

		res = PQexec(conn, "FETCH 10000 FROM recs");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			printf("  %s could not be read: %s\n", from, cli_error_primary(res));
			problems++;
			PQclear(res);
			free(entries);
			return;
		}
		rows = PQntuples(res);
		for (r = 0; r < rows; r++)
		{
			long long	id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
			long long	first,
						last;
			char		hash[65];

			for (; next < n && entries[next].pull_id < id; next++)
			{
				if (next == 0 || entries[next - 1].pull_id != entries[next].pull_id)
					printf("  %s %lld WAS DELETED (the chain has it)\n", what, entries[next].pull_id);
				ok = false;
			}
			if (next >= n || entries[next].pull_id != id)
			{
				printf("  %s %lld HAS NO CHAIN ENTRY\n", what, id);
				ok = false;
				continue;
			}
			first = last = next;
			while (last + 1 < n && entries[last + 1].pull_id == id)
				last++;
			next = last + 1;
			checked++;
			if (event ? first != last :
				!((first == last && (strcmp(entries[first].event, "started") == 0 ||
									 strcmp(entries[first].event, "refused") == 0)) ||
				  (last == first + 1 && strcmp(entries[first].event, "started") == 0 &&
				   strcmp(entries[last].event, "started") != 0)))
			{
				printf("  %s %lld WAS RECORDED MORE THAN ONCE (its id was reused)\n", what, id);
				ok = false;
				continue;
			}
			hash_row(res, r, nmax, false, hash);
			if (strcmp(hash, entries[last].content_hash) != 0)
			{
				printf("  %s %lld WAS ALTERED after chain entry %lld (its fields, hashed here, differ)\n",
					   what, id, entries[last].seq);
				ok = false;
				continue;
			}
			if (event == NULL && last != first)
			{
				hash_row(res, r, nmax, true, hash);
				if (strcmp(hash, entries[first].content_hash) != 0)
				{
					printf("  %s %lld WAS ALTERED between its start (chain entry %lld) and its outcome\n",
						   what, id, entries[first].seq);
					ok = false;
				}
			}
		}
		PQclear(res);
		if (rows == 0)
			break;
	}
	PQclear(PQexec(conn, "CLOSE recs"));
	for (; next < n; next++)
	{
		if (next == 0 || entries[next - 1].pull_id != entries[next].pull_id)
			printf("  %s %lld WAS DELETED (the chain has it)\n", what, entries[next].pull_id);
		ok = false;
	}
	free(entries);
	if (ok)
		printf("  %ss: %lld, each hashed here to its chain entries\n", what, checked);
	else
		problems++;
}

/* epochs that began without verifying the chain before them */
static void
check_unverified_epochs(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT e.epoch, e.reason, e.unkeyed_before FROM ai_guard.audit_epochs e"
							 " WHERE e.epoch > 1 AND NOT e.previous_verified"
							 "    OR e.epoch = 1 AND e.unkeyed_before > 0 ORDER BY e.epoch");
	int			i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		PQclear(res);
		return;					/* said by check_records already */
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		if (strcmp(PQgetvalue(res, i, 0), "1") == 0)
			printf("  note: %s entries predate the keyed chain (an update from 0.2): bound since key epoch 1, not before\n",
				   PQgetvalue(res, i, 2));
		else
		{
			printf("  key epoch %s BEGAN WITHOUT VERIFYING THE CHAIN BEFORE IT (%s)\n",
				   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
			problems++;
		}
	}
	PQclear(res);
}

/*
 * The head as the server signs it now, in the chain's snapshot: signed by a
 * trusted key and equal to the raw chain's last entry.  The server signs
 * only a head whose MAC verifies, and its writer extends only such heads,
 * so this binds every entry the links bind, without trusting its
 * functions' answers.
 */
static void
check_signed_head(PGconn *conn, const raw_chain *rc, char **keys, int nkeys)
{
	char	   *error;
	char	   *json = cli_signed_head(conn, &error);
	ag_json    *doc;
	char		err[128];
	anchor_list one = {0};
	const anchor *a;

	if (json == NULL)
	{
		printf("  the signed head: NONE (%s)\n", error);
		problems++;
		free(error);
		return;
	}
	doc = ag_json_parse(json, strlen(json), err, sizeof(err));
	free(json);
	if (doc == NULL)
	{
		printf("  the signed head: NOT JSON (%s)\n", err);
		problems++;
		return;
	}
	add_anchor(&one, doc, "the signed head now");
	ag_json_free(doc);
	a = &one.items[0];
	if (!check_signature(a, keys, nkeys))
		problems++;
	else if (a->seq != rc->entries || strcmp(a->head, rc->last_hash) != 0)
	{
		printf("  the signed head is entry %lld, BUT THE RAW CHAIN ENDS AT ENTRY %lld\n",
			   a->seq, rc->entries);
		problems++;
	}
	else
		printf("  the signed head is the raw chain's last entry: every entry is bound\n");
}

/* Online: chain entry seq still has the anchored hash. */
static void
check_online(PGconn *conn, const anchor *a, const char *database_id, long long head_seq,
			 const char *raw_hash, bool raw)
{
	const char *params[1];
	char		seq[32];
	char	   *hash;

	if (database_id == NULL || strcmp(a->database_id, database_id) != 0)
	{
		printf("  %s: entry %lld: FROM ANOTHER DATABASE (%s; this one is %s)\n",
			   a->where, a->seq, a->database_id, database_id ? database_id : "unknown");
		problems++;
		return;
	}
	snprintf(seq, sizeof(seq), "%lld", a->seq);
	params[0] = seq;
	if (raw)
		hash = raw_hash ? strdup(raw_hash) : NULL;
	else
	{
		PGresult   *res = PQexecParams(conn, "SELECT ai_guard.audit_entry_hash($1::bigint)",
										   1, NULL, params, NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			printf("  %s: entry %lld: CANNOT BE CHECKED ONLINE: %s (grant SELECT on ai_guard.audit_log)\n",
				   a->where, a->seq, cli_error_primary(res));
			PQclear(res);
			problems++;
			return;
		}
		hash = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
		PQclear(res);
	}
	if (hash == NULL)
	{
		printf("  %s: entry %lld IS GONE: the chain was truncated after this anchor (it ends at entry %lld)\n",
			   a->where, a->seq, head_seq);
		problems++;
	}
	else if (strcmp(hash, a->head) != 0)
	{
		printf("  %s: entry %lld WAS REWRITTEN after it was anchored (the chain was cut and written again, or edited)\n",
			   a->where, a->seq);
		problems++;
	}
	else
		printf("  %s: entry %lld: the chain still extends it\n", a->where, a->seq);
	free(hash);
}

static void
verify_chain_usage(void)
{
	fprintf(stderr, "Usage: %s verify-chain --anchors FILE... [--public-key KEY]... [--offline]\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

int
cmd_verify_chain(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"anchors", required_argument, NULL, 'a'},
		{"public-key", required_argument, NULL, 'k'},
		{"offline", no_argument, NULL, 'O'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts copts = {0};
	const char *files[64];
	int			nfiles = 0;
	char	   *keys[MAX_TRUSTED_KEYS];
	int			nkeys = 0;
	bool		offline = false;
	anchor_list list = {0};
	int			c;
	int			i;
	uint8_t		probe[AG_ED25519_PUBLIC_LEN];

	optind = 1;
	while ((c = getopt_long(argc, argv, "h:p:U:d:W", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'a':
				if (nfiles == 64)
				{
					pg_log_error("too many --anchors files (at most 64)");
					return EXIT_USAGE;
				}
				files[nfiles++] = optarg;
				break;
			case 'k':
				if (nkeys == MAX_TRUSTED_KEYS || !ag_hex_decode(optarg, probe, sizeof(probe)))
				{
					pg_log_error("--public-key takes the 64 hex digits of ai_guard.audit_public_key() (at most %d keys)",
								 MAX_TRUSTED_KEYS);
					return EXIT_USAGE;
				}
				keys[nkeys++] = optarg;
				break;
			case 'O':
				offline = true;
				break;
			default:
				if (!parse_conn_option(c, optarg, &copts))
				{
					verify_chain_usage();
					return EXIT_USAGE;
				}
		}
	}
	if (nfiles == 0 || optind < argc)
	{
		pg_log_error(nfiles == 0 ? "no --anchors file given" : "too many arguments");
		verify_chain_usage();
		return EXIT_USAGE;
	}

	problems = 0;
	printf("anchors:\n");
	for (i = 0; i < nfiles; i++)
	{
		list.file = i;
		if (!read_anchors(files[i], &list))
			return EXIT_FAILED;
	}
	if (list.n == 0)
	{
		pg_log_error("no anchor found in the given files");
		return EXIT_FAILED;
	}
	if (nkeys == 0)
	{
		/* trust on first use, said out loud */
		if (list.items[0].public_key == NULL)
		{
			pg_log_error("the first anchor carries no public key; pass --public-key");
			return EXIT_FAILED;
		}
		keys[nkeys++] = list.items[0].public_key;
		printf("  trusting the first anchor's public key %s (pin it with --public-key)\n",
			   keys[0]);
	}

	/* offline: signatures, one database, and anchors that only move forward */
	for (i = 0; i < list.n; i++)
	{
		const anchor *a = &list.items[i];
		/* a file of anchors only grows: its lines only move forward */
		const anchor *prev = i > 0 && list.items[i - 1].file == a->file ?
			&list.items[i - 1] : NULL;

		if (!check_signature(a, keys, nkeys))
		{
			problems++;
			continue;
		}
		if (list.items[0].database_id &&
			strcmp(list.items[0].database_id, a->database_id) != 0)
		{
			printf("  %s: FROM ANOTHER DATABASE than the first anchor (%s, not %s)\n",
				   a->where, a->database_id, list.items[0].database_id);
			problems++;
		}
		else if (prev && prev->signed_at &&
				 (a->seq < prev->seq || strcmp(a->signed_at, prev->signed_at) < 0))
		{
			printf("  %s: entry %lld signed at %s is OLDER than the anchor before it (entry %lld at %s): a replayed anchor?\n",
				   a->where, a->seq, a->signed_at, prev->seq, prev->signed_at);
			problems++;
		}
	}

	if (!offline)
	{
		PGconn	   *conn = cli_connect(&copts);
		PGresult   *res;

		/*
		 * Fields are hashed as the server stores them, and names resolve in
		 * pg_catalog, whatever the role's settings say
		 */
		PQsetClientEncoding(conn, PQparameterStatus(conn, "server_encoding"));
		PQclear(PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)"));
		char	   *database_id = NULL;
		long long	head_seq = 0;
		raw_chain	rc = {0};
		raw_result	raw;

		res = PQexec(conn, "SELECT (SELECT e.database_id FROM ai_guard.audit_epochs e"
					 "          ORDER BY e.epoch DESC LIMIT 1),"
					 " v.records, v.intact, coalesce(v.problem, '')"
					 " FROM ai_guard.verify_audit() v");
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			pg_log_error("could not check the audit chain: %s", cli_error_primary(res));
			PQclear(res);
			PQfinish(conn);
			return EXIT_FAILED;
		}
		if (!PQgetisnull(res, 0, 0))
			database_id = strdup(PQgetvalue(res, 0, 0));
		head_seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		printf("server:\n");
		if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
			printf("  verify_audit(): intact, %lld entries\n", head_seq);
		else
		{
			printf("  verify_audit(): NOT INTACT: %s\n", PQgetvalue(res, 0, 3));
			problems++;
		}
		PQclear(res);
		rc.nwanted = list.n;
		rc.wanted_seq = calloc(list.n, sizeof(long long));
		rc.wanted_hash = calloc(list.n, sizeof(char *));
		for (i = 0; i < list.n; i++)
			rc.wanted_seq[i] = list.items[i].seq;
		/* the chain and the records, in one snapshot */
		PQclear(PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
		raw = walk_raw_chain(conn, &rc);
		if (raw == RAW_BROKEN)
			problems++;
		if (raw == RAW_OK)
		{
			check_records(conn, "pull", AG_PULL_FIELDS, "ai_guard.pulls AS p",
						  AG_PULL_MAX_FIELDS, rc.pulls, rc.npulls, NULL);
			check_records(conn, "governance change", AG_GOVERNANCE_FIELDS,
						  "ai_guard.governance_log AS g",
						  AG_GOVERNANCE_MAX_FIELDS, rc.changes, rc.nchanges, "governance");
			check_records(conn, "key epoch", AG_EPOCH_FIELDS, "ai_guard.audit_epochs AS e",
						  10, rc.changes, rc.nchanges, "epoch");
			check_unverified_epochs(conn);
			check_signed_head(conn, &rc, keys, nkeys);
		}
		PQclear(PQexec(conn, "ROLLBACK"));
		for (i = 0; i < list.n; i++)
			if (list.items[i].seq >= 0 && list.items[i].database_id && list.items[i].head)
				check_online(conn, &list.items[i], database_id, head_seq,
							 rc.wanted_hash[i], raw == RAW_OK);
		free(database_id);
		PQfinish(conn);
	}

	if (problems == 0)
		printf("%d anchor(s) verified\n", list.n);
	else
		printf("%d problem(s) found\n", problems);
	return problems == 0 ? EXIT_OK : EXIT_FAILED;
}
