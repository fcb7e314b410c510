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
#include "json.h"
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
	char	   *database_id;
	long long	seq;
	char	   *head;
	char	   *public_key;
	char	   *signed_at;
	char	   *signature;
} anchor;

typedef struct anchor_list
{
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
	FILE	   *f = fopen(path, "rb");
	char	   *text;
	size_t		len;
	char		err[128];
	char		where[1100];
	ag_json    *doc;
	char	   *line;
	int			lineno = 0;

	if (f == NULL)
	{
		pg_log_error("could not open \"%s\": %s", path, strerror(errno));
		return false;
	}
	text = malloc(MAX_ANCHOR_FILE_BYTES + 1);
	len = fread(text, 1, MAX_ANCHOR_FILE_BYTES + 1, f);
	fclose(f);
	if (len > MAX_ANCHOR_FILE_BYTES)
	{
		pg_log_error("\"%s\" is larger than %d bytes", path, MAX_ANCHOR_FILE_BYTES);
		free(text);
		return false;
	}
	text[len] = '\0';
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

/* the latest chain entry of a pull record, as the raw chain says */
typedef struct pull_entry
{
	long long	pull_id;
	long long	seq;
	char		content_hash[65];
} pull_entry;

typedef struct raw_chain
{
	long long	entries;
	long long	npulls;			/* pull-record entries, in chain order */
	long long	cappulls;
	pull_entry *pulls;
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
			if (ok && !is_side_event(fields[2]))
			{
				pull_entry *pe;

				if (rc->npulls == rc->cappulls)
				{
					rc->cappulls = rc->cappulls ? 2 * rc->cappulls : 1024;
					rc->pulls = realloc(rc->pulls, rc->cappulls * sizeof(pull_entry));
				}
				pe = &rc->pulls[rc->npulls++];
				pe->pull_id = strtoll(fields[1], NULL, 10);
				pe->seq = seq;
				snprintf(pe->content_hash, sizeof(pe->content_hash), "%s", fields[3]);
			}
			memcpy(prev, hash, sizeof(prev));
			expect = seq + 1;
		}
		PQclear(res);
		if (n == 0 || !ok)
			break;
	}
	rc->entries = expect - 1;
	if (!ok)
		return RAW_BROKEN;
	printf("  the raw chain: %lld entries, every hash recomputed here and linked\n", rc->entries);
	return RAW_OK;
}

static int
by_pull_then_seq(const void *a, const void *b)
{
	const pull_entry *x = a;
	const pull_entry *y = b;

	if (x->pull_id != y->pull_id)
		return x->pull_id < y->pull_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The canonical fields of a pull record, as ai_guard._pull_fields() gives
 * them, written out here so that a replaced server function cannot change
 * what is hashed.
 */
static const char *pull_fields_sql =
"DECLARE pulls NO SCROLL CURSOR FOR SELECT"
" p.pull_id::text, p.status, p.kind,"
" pg_catalog.to_char(pg_catalog.timezone('UTC', p.started_at), 'YYYY-MM-DD\"T\"HH24:MI:SS.US'),"
" pg_catalog.to_char(pg_catalog.timezone('UTC', p.ended_at), 'YYYY-MM-DD\"T\"HH24:MI:SS.US'),"
" p.session_role::text, p.\"current_role\"::text, p.client_addr::text,"
" p.application_name, p.backend_pid::text, p.database::text, p.purpose,"
" p.query, p.client_query, p.query_id::text, p.nesting_level::text,"
" p.param_count::text, p.param_types::text, p.relations::text,"
" p.columns_returned::text, p.columns_filtered::text, p.columns_pii::text,"
" p.columns_encrypted::text, p.masks::text, p.target, p.rows::text,"
" p.bytes::text, p.digest, p.snapshot_xmin::text, p.snapshot_xmax::text,"
" p.snapshot_xip::text, p.detail, p.rows_read::text"
" FROM ai_guard.pulls p ORDER BY p.pull_id";
#define PULL_FIELDS 33			/* the last one, rows_read, only when set */

/*
 * Every pull record hashes to the content of its latest chain entry, and
 * every pull the chain has is there: computed here from the raw rows.
 */
static void
check_pull_records(PGconn *conn, raw_chain *rc)
{
	PGresult   *res;
	long long	i,
				n = 0,
				next = 0;
	long long	checked = 0;
	bool		ok = true;

	/* the latest entry of each pull: sorted by pull, then chain order */
	qsort(rc->pulls, rc->npulls, sizeof(pull_entry), by_pull_then_seq);
	for (i = 0; i < rc->npulls; i++)
	{
		if (i + 1 < rc->npulls && rc->pulls[i + 1].pull_id == rc->pulls[i].pull_id)
			continue;
		rc->pulls[n++] = rc->pulls[i];
	}
	res = PQexec(conn, pull_fields_sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		printf("  pull records not checked here (%s): grant SELECT on ai_guard.pulls to check them\n",
			   cli_error_primary(res));
		PQclear(res);
		return;
	}
	PQclear(res);
	for (;;)
	{
		int			r,
					rows;

		res = PQexec(conn, "FETCH 10000 FROM pulls");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			printf("  pull records could not be read: %s\n", cli_error_primary(res));
			problems++;
			PQclear(res);
			break;
		}
		rows = PQntuples(res);
		for (r = 0; r < rows; r++)
		{
			const char *fields[PULL_FIELDS];
			size_t		lens[PULL_FIELDS];
			int			nf = PQgetisnull(res, r, PULL_FIELDS - 1) ? PULL_FIELDS - 1 : PULL_FIELDS;
			long long	pull_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
			char		hash[65];
			int			f;

			for (f = 0; f < nf; f++)
			{
				fields[f] = PQgetisnull(res, r, f) ? NULL : PQgetvalue(res, r, f);
				lens[f] = (size_t) PQgetlength(res, r, f);
			}
			while (next < n && rc->pulls[next].pull_id < pull_id)
			{
				printf("  pull %lld WAS DELETED (the chain has it)\n", rc->pulls[next++].pull_id);
				ok = false;
			}
			if (next >= n || rc->pulls[next].pull_id != pull_id)
			{
				printf("  pull %lld HAS NO CHAIN ENTRY\n", pull_id);
				ok = false;
				continue;
			}
			if (!ag_record_hash("", 0, fields, lens, nf, hash) ||
				strcmp(hash, rc->pulls[next].content_hash) != 0)
			{
				printf("  pull %lld WAS ALTERED after chain entry %lld (its fields, hashed here, differ)\n",
					   pull_id, rc->pulls[next].seq);
				ok = false;
			}
			next++;
			checked++;
		}
		PQclear(res);
		if (rows == 0)
			break;
	}
	for (; next < n; next++)
	{
		printf("  pull %lld WAS DELETED (the chain has it)\n", rc->pulls[next].pull_id);
		ok = false;
	}
	if (ok)
		printf("  the pull records: %lld, each hashed here to its latest chain entry\n", checked);
	else
		problems++;
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
		if (!read_anchors(files[i], &list))
			return EXIT_FAILED;
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
		const anchor *prev = i > 0 ? &list.items[i - 1] : NULL;

		if (!check_signature(a, keys, nkeys))
		{
			problems++;
			continue;
		}
		if (prev && prev->database_id && strcmp(prev->database_id, a->database_id) != 0)
		{
			printf("  %s: FROM ANOTHER DATABASE than the anchor before it (%s, not %s)\n",
				   a->where, a->database_id, prev->database_id);
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
			check_pull_records(conn, &rc);
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
