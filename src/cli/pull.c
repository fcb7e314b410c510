/*
 * pull.c
 *		ai-guard pull: streams a query's rows to a file with COPY under a
 *		declared purpose, then writes the manifest beside it.
 *
 * The file is written under a temporary name and renamed only when the
 * server has confirmed the COPY, so a failed or interrupted pull never leaves
 * a file that looks complete.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"

typedef struct pull_result
{
	long long	rows;
	long long	bytes;
	char		sha256[65];
} pull_result;

static double
now_seconds(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void
human_bytes(double b, char *out, size_t size)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	int			u = 0;

	while (b >= 1024 && u < 4)
		b /= 1024, u++;
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void
progress(const pull_result *r, double started, bool final)
{
	char		total[32],
				rate[32];
	double		elapsed = now_seconds() - started;

	human_bytes((double) r->bytes, total, sizeof(total));
	human_bytes(elapsed > 0 ? r->bytes / elapsed : 0, rate, sizeof(rate));
	fprintf(stderr, "\r%lld rows, %s, %s/s   ", r->rows, total, rate);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static bool
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t) n;
	}
	return true;
}

/* Runs the COPY and streams it to fd; false (with a message) on failure. */
static bool
stream_copy(PGconn *conn, const char *sql, int fd, const char *tmpname,
			pull_result *r)
{
	PGresult   *res = PQexec(conn, sql);
	cli_sha256 *h;
	char	   *buf;
	int			n;
	bool		tty = isatty(STDERR_FILENO);
	double		started = now_seconds();
	double		shown = started;
	bool		ok = true;

	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		pg_log_error("pull refused or failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);

	h = cli_sha256_new();
	/* each CopyData message of COPY TO is one row */
	while ((n = PQgetCopyData(conn, &buf, 0)) > 0)
	{
		if (ok && !write_all(fd, buf, (size_t) n))
		{
			pg_log_error("could not write file \"%s\": %s", tmpname, strerror(errno));
			ok = false;			/* keep reading so the connection stays usable */
		}
		cli_sha256_update(h, buf, (size_t) n);
		r->rows++;
		r->bytes += n;
		PQfreemem(buf);
		if (tty && now_seconds() - shown >= 0.25)
		{
			shown = now_seconds();
			progress(r, started, false);
		}
	}
	cli_sha256_final_hex(h, r->sha256);
	if (tty)
		progress(r, started, true);
	if (n == -2)
	{
		pg_log_error("pull failed: %s", PQerrorMessage(conn));
		return false;
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		pg_log_error("pull failed: %s", PQresultErrorMessage(res));
		ok = false;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return ok;
}

/* The user's query without trailing blanks and semicolons. */
static char *
trimmed_query(const char *q)
{
	char	   *s = strdup(q);
	size_t		len = strlen(s);

	while (len > 0 && strchr(" \t\r\n;", s[len - 1]))
		s[--len] = '\0';
	return s;
}

static void
write_field(FILE *f, const char *name, const char *value, bool last)
{
	fprintf(f, "  ");
	json_write_string(f, name);
	fprintf(f, ": ");
	json_write_string(f, value);
	fputs(last ? "\n" : ",\n", f);
}

/*
 * Writes the manifest: what was pulled, from where, by whom, for what, and
 * the server's own record of the pull (verbatim JSON from ai_guard.pulls).
 */
static bool
write_manifest(const char *path, PGconn *conn, const char *file,
			   const char *format, const char *purpose, const char *query,
			   const pull_result *r, const char *pull_id, const char *record,
			   const char *provenance, const char *audit_head)
{
	char		tmp[4096];
	FILE	   *f;
	PGresult   *res;
	int			fd;

	res = PQexec(conn,
				 "SELECT CURRENT_USER::text, pg_catalog.current_database()::text,"
				 " pg_catalog.current_setting('server_version'),"
				 " pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_error("could not read the session's identity: %s", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}

	snprintf(tmp, sizeof(tmp), "%s.partial-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
	{
		pg_log_error("could not create file \"%s\": %s", tmp, strerror(errno));
		PQclear(res);
		return false;
	}
	fprintf(f, "{\n  \"ai_guard_manifest\": 1,\n");
	write_field(f, "file", file, false);
	write_field(f, "format", format, false);
	fprintf(f, "  \"pull_id\": %s,\n", pull_id ? pull_id : "null");
	write_field(f, "server_host", PQhost(conn), false);
	write_field(f, "server_port", PQport(conn), false);
	write_field(f, "server_version", PQgetvalue(res, 0, 2), false);
	write_field(f, "database", PQgetvalue(res, 0, 1), false);
	write_field(f, "role", PQgetvalue(res, 0, 0), false);
	write_field(f, "purpose", purpose, false);
	write_field(f, "query", query, false);
	write_field(f, "pulled_at", PQgetvalue(res, 0, 3), false);
	fprintf(f, "  \"rows\": %lld,\n  \"bytes\": %lld,\n", r->rows, r->bytes);
	write_field(f, "sha256", r->sha256, false);
	/* where the rows came from: sources, licenses and consent of their batches */
	if (provenance)
		fprintf(f, "  \"provenance\": %s,\n", provenance);
	/* the signed chain head after the pull: every manifest is an anchor */
	fprintf(f, "  \"audit_head\": %s,\n", audit_head ? audit_head : "null");
	fprintf(f, "  \"record\": %s\n}\n", record ? record : "null");
	PQclear(res);

	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
	{
		pg_log_error("could not write file \"%s\": %s", tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path) != 0)
	{
		pg_log_error("could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

/*
 * The provenance of the pulled rows (ai_guard.pull_provenance()): their
 * ingest batches with source, license and consent, exact where the server
 * recorded row membership, else possible; NULL when no tracked table was read.
 */
static const char *provenance_sql =
"SELECT pg_catalog.json_build_object("
" 'membership', CASE WHEN pg_catalog.bool_and(membership = 'exact') THEN 'exact'"
"                    WHEN pg_catalog.bool_and(membership = 'possible') THEN 'possible'"
"                    ELSE 'partial' END,"
" 'sources', coalesce(pg_catalog.json_agg(DISTINCT source) FILTER (WHERE source IS NOT NULL), '[]'),"
" 'licenses', coalesce(pg_catalog.json_agg(DISTINCT license) FILTER (WHERE license IS NOT NULL), '[]'),"
" 'consent', (SELECT coalesce(pg_catalog.json_agg(DISTINCT c), '[]')"
"              FROM ai_guard.pull_provenance($1::bigint) pp, pg_catalog.unnest(pp.consent) c),"
" 'batches', pg_catalog.json_agg(pg_catalog.json_build_object('relation', relation,"
"   'batch_id', batch_id, 'membership', membership, 'source', source, 'license', license,"
"   'consent', consent, 'quarantined', quarantined) ORDER BY relation, batch_id))::text"
" FROM ai_guard.pull_provenance($1::bigint) HAVING pg_catalog.count(*) > 0";

static void
pull_usage(void)
{
	fprintf(stderr, "Usage: %s pull --purpose PURPOSE -o FILE [--format copy|csv] {QUERY | --table TABLE}\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

int
cmd_pull(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"purpose", required_argument, NULL, 'P'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'F'},
		{"table", required_argument, NULL, 't'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts	copts = {0};
	const char *purpose = NULL;
	const char *output = NULL;
	const char *format = "copy";
	const char *table = NULL;
	const char *query;
	char	   *sql;
	char	   *user_query = NULL;
	char		tmpname[4096];
	char		manifest[4096];
	pull_result r = {0};
	PGconn	   *conn;
	char	   *pull_id = NULL;
	char	   *record = NULL;
	char	   *audit_head = NULL;
	char	   *head_error = NULL;
	char	   *provenance = NULL;
	char	   *has_audit;
	char	   *has_provenance;
	const char *params[1];
	int			c,
				fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:t:h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (parse_conn_option(c, optarg, &copts))
			continue;
		switch (c)
		{
			case 'P':
				purpose = optarg;
				break;
			case 'o':
				output = optarg;
				break;
			case 'F':
				format = optarg;
				break;
			case 't':
				table = optarg;
				break;
			default:
				pull_usage();
				return EXIT_USAGE;
		}
	}
	query = optind < argc ? argv[optind++] : NULL;
	if (optind < argc)
	{
		pg_log_error("too many command-line arguments (first is \"%s\")", argv[optind]);
		pull_usage();
		return EXIT_USAGE;
	}
	if (purpose == NULL || output == NULL || (query == NULL) == (table == NULL))
	{
		pg_log_error(purpose == NULL ? "a purpose is required (--purpose)" :
					 output == NULL ? "an output file is required (-o)" :
					 "give either a query or --table, not both");
		pull_usage();
		return EXIT_USAGE;
	}
	if (strcmp(format, "copy") != 0 && strcmp(format, "csv") != 0)
	{
		pg_log_error("unrecognized format \"%s\" (use copy or csv)", format);
		return EXIT_USAGE;
	}
	if (strlen(output) + 32 > sizeof(tmpname))
	{
		pg_log_error("output file name is too long");
		return EXIT_USAGE;
	}

	conn = cli_connect(&copts);

	params[0] = purpose;
	free(cli_query_value(conn, "SELECT pg_catalog.set_config('ai_guard.purpose', $1, false)",
						 1, params));

	if (table)
	{
		params[0] = table;
		sql = cli_query_value(conn,
							  "SELECT pg_catalog.format('COPY %s TO STDOUT', $1::pg_catalog.regclass)",
							  1, params);
	}
	else
	{
		user_query = trimmed_query(query);
		sql = malloc(strlen(user_query) + 32);
		sprintf(sql, "COPY (%s) TO STDOUT", user_query);
	}
	if (strcmp(format, "csv") == 0)
	{
		sql = realloc(sql, strlen(sql) + 32);
		strcat(sql, " WITH (FORMAT csv)");
	}

	snprintf(tmpname, sizeof(tmpname), "%s.partial-XXXXXX", output);
	fd = mkstemp(tmpname);
	if (fd < 0)
	{
		pg_log_error("could not create file \"%s\": %s", tmpname, strerror(errno));
		PQfinish(conn);
		return EXIT_FAILED;
	}
	if (!stream_copy(conn, sql, fd, tmpname, &r) || fsync(fd) != 0 || close(fd) != 0)
	{
		unlink(tmpname);
		PQfinish(conn);
		return EXIT_FAILED;
	}

	/* the server's record of this pull, where ai_guard records pulls */
	has_audit = cli_query_value(conn, "SELECT pg_catalog.to_regprocedure('ai_guard.last_pull_id()')::text",
								0, NULL);
	if (has_audit != NULL)
	{
		/* completions are written asynchronously: wait for ours */
		free(cli_query_value(conn, "SELECT ai_guard.audit_flush()::text", 0, NULL));
		pull_id = cli_query_value(conn, "SELECT ai_guard.last_pull_id()::text", 0, NULL);
		if (pull_id)
		{
			params[0] = pull_id;
			record = cli_query_value(conn,
									 "SELECT pg_catalog.row_to_json(p)::text FROM ai_guard.pull($1::bigint) p",
									 1, params);
			has_provenance = cli_query_value(conn,
											 "SELECT pg_catalog.to_regprocedure('ai_guard.pull_provenance(bigint)')::text",
											 0, NULL);
			if (has_provenance)
				provenance = cli_query_value(conn, provenance_sql, 1, params);
			free(has_provenance);
			audit_head = cli_signed_head(conn, &head_error);
			if (audit_head == NULL)
			{
				pg_log_info("warning: the manifest carries no signed audit head: %s", head_error);
				free(head_error);
			}
		}
	}
	if (pull_id == NULL)
		pg_log_info("warning: the server keeps no record of this pull (is ai_guard installed in this database?)");

	if (rename(tmpname, output) != 0)
	{
		pg_log_error("could not rename \"%s\" to \"%s\": %s", tmpname, output, strerror(errno));
		unlink(tmpname);
		PQfinish(conn);
		return EXIT_FAILED;
	}
	snprintf(manifest, sizeof(manifest), "%s.manifest.json", output);
	if (!write_manifest(manifest, conn, output, format, purpose,
						table ? table : user_query, &r, pull_id, record, provenance,
						audit_head))
	{
		/* a data file without its manifest must not look complete */
		unlink(output);
		PQfinish(conn);
		return EXIT_FAILED;
	}
	pg_log_info("pulled %lld rows (%lld bytes) to %s, pull %s, sha256 %s",
				r.rows, r.bytes, output, pull_id ? pull_id : "(unrecorded)", r.sha256);
	PQfinish(conn);
	free(sql);
	free(user_query);
	free(pull_id);
	free(record);
	free(audit_head);
	free(provenance);
	free(has_audit);
	return EXIT_OK;
}
