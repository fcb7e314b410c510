/*
 * verify.c
 *		ai-guard verify: recomputes a pulled file's digest and checks it
 *		against its manifest, then against the server's record of the pull
 *		and the audit chain. Exit 0 only when everything matches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

#define MAX_MANIFEST_BYTES (16 * 1024 * 1024)

typedef struct file_facts
{
	long long	rows;			/* newline-terminated lines */
	long long	bytes;
	char		sha256[65];
} file_facts;

static int	mismatches;

static void
check(const char *what, const char *got, const char *want, const char *source)
{
	if (want == NULL)
	{
		printf("  %-10s MISSING in %s\n", what, source);
		mismatches++;
	}
	else if (strcmp(got, want) == 0)
		printf("  %-10s matches %s\n", what, source);
	else
	{
		printf("  %-10s DOES NOT MATCH %s: file has %s, %s says %s\n",
			   what, source, got, source, want);
		mismatches++;
	}
}

static bool
hash_file(const char *path, file_facts *ff)
{
	FILE	   *f = fopen(path, "rb");
	static char buf[1 << 16];
	cli_sha256 *h;
	size_t		n;

	if (f == NULL)
	{
		pg_log_error("could not open file \"%s\": %s", path, strerror(errno));
		return false;
	}
	h = cli_sha256_new();
	ff->rows = ff->bytes = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
	{
		const char *p = buf;
		const char *end = buf + n;

		while ((p = memchr(p, '\n', (size_t) (end - p))) != NULL)
			ff->rows++, p++;
		ff->bytes += (long long) n;
		cli_sha256_update(h, buf, n);
	}
	cli_sha256_final_hex(h, ff->sha256);
	if (ferror(f))
	{
		pg_log_error("could not read file \"%s\": %s", path, strerror(errno));
		fclose(f);
		return false;
	}
	fclose(f);
	return true;
}

static ag_json *
read_manifest(const char *path)
{
	size_t		len;
	char	   *text = cli_read_file(path, "manifest ", MAX_MANIFEST_BYTES, &len);
	char		err[128];
	ag_json    *m;

	if (text == NULL)
		return NULL;
	m = ag_json_parse(text, len, err, sizeof(err));
	free(text);
	if (m == NULL)
	{
		pg_log_error("manifest \"%s\" is not valid JSON: %s", path, err);
		return NULL;
	}
	if (m->type != AG_JSON_OBJECT ||
		ag_json_get_text(m, "ai_guard_manifest") == NULL ||
		strcmp(ag_json_get_text(m, "ai_guard_manifest"), "1") != 0)
	{
		pg_log_error("\"%s\" is not an ai-guard manifest (version 1)", path);
		ag_json_free(m);
		return NULL;
	}
	return m;
}

/* Checks the server's record of the pull and the audit chain. */
static void
check_server(const conn_opts *copts, const ag_json *m, const file_facts *ff,
			 bool copy_format)
{
	const char *pull_id = ag_json_get_text(m, "pull_id");
	const ag_json *record = ag_json_get(m, "record");
	PGconn	   *conn;
	PGresult   *res;
	const char *params[1];
	char		num[32];

	if (pull_id == NULL)
	{
		printf("server:\n  %-10s MISSING: the manifest names no pull\n", "pull");
		mismatches++;
		return;
	}
	conn = cli_connect(copts);
	params[0] = pull_id;
	res = PQexecParams(conn,
					   "SELECT status, rows::text, bytes::text, digest, record_hash"
					   "  FROM ai_guard.pull($1::bigint)",
					   1, NULL, params, NULL, NULL, 0);
	printf("server (pull %s):\n", pull_id);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		printf("  %-10s COULD NOT BE READ: %s", "record", PQresultErrorMessage(res));
		mismatches++;
		PQclear(res);
		PQfinish(conn);
		return;
	}
	if (PQntuples(res) == 0)
	{
		printf("  %-10s MISSING: the server has no record of pull %s\n", "record", pull_id);
		mismatches++;
		PQclear(res);
		PQfinish(conn);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "completed") == 0)
		printf("  %-10s completed\n", "status");
	else
	{
		printf("  %-10s NOT COMPLETED: %s\n", "status", PQgetvalue(res, 0, 0));
		mismatches++;
	}
	if (copy_format)
	{
		/* the server's digest covers the rows in COPY text format: the file */
		check("digest", ff->sha256, PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3),
			  "server record");
		snprintf(num, sizeof(num), "%lld", ff->rows);
		check("rows", num, PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
			  "server record");
	}
	else
	{
		/* a CSV file differs from the COPY text the digest covers */
		check("digest", ag_json_get_text(record, "digest") ? ag_json_get_text(record, "digest") : "(none)",
			  PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3), "server record");
		check("rows", ag_json_get_text(m, "rows") ? ag_json_get_text(m, "rows") : "(none)",
			  PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), "server record");
	}
	if (ag_json_get_text(record, "record_hash") != NULL)
		check("record", ag_json_get_text(record, "record_hash"),
			  PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4), "server record");
	PQclear(res);

	res = PQexec(conn, "SELECT intact::text, coalesce(broken_pull_id::text, '') FROM ai_guard.verify_audit()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		printf("  %-10s COULD NOT BE CHECKED: %s", "chain", PQresultErrorMessage(res));
		mismatches++;
	}
	else if (strcmp(PQgetvalue(res, 0, 0), "true") == 0)
		printf("  %-10s intact\n", "chain");
	else
	{
		printf("  %-10s BROKEN at record %s\n", "chain", PQgetvalue(res, 0, 1));
		mismatches++;
	}
	PQclear(res);
	PQfinish(conn);
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"manifest", required_argument, NULL, 'm'},
		{"offline", no_argument, NULL, 'O'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts	copts = {0};
	const char *file;
	const char *manifest_path = NULL;
	char		default_manifest[4096];
	bool		offline = false;
	bool		copy_format;
	ag_json    *m;
	file_facts	ff;
	char		num[32];
	int			c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (parse_conn_option(c, optarg, &copts))
			continue;
		switch (c)
		{
			case 'm':
				manifest_path = optarg;
				break;
			case 'O':
				offline = true;
				break;
			default:
				fprintf(stderr, "Usage: %s verify FILE [--manifest MANIFEST] [--offline]\n", progname);
				return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
	{
		pg_log_error("give exactly one file to verify");
		fprintf(stderr, "Usage: %s verify FILE [--manifest MANIFEST] [--offline]\n", progname);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (manifest_path == NULL)
	{
		snprintf(default_manifest, sizeof(default_manifest), "%s.manifest.json", file);
		manifest_path = default_manifest;
	}

	m = read_manifest(manifest_path);
	if (m == NULL)
		return EXIT_FAILED;
	if (!hash_file(file, &ff))
	{
		ag_json_free(m);
		return EXIT_FAILED;
	}
	copy_format = ag_json_get_text(m, "format") != NULL &&
		strcmp(ag_json_get_text(m, "format"), "copy") == 0;

	mismatches = 0;
	printf("file %s: %lld bytes, sha256 %s\n", file, ff.bytes, ff.sha256);
	printf("manifest %s:\n", manifest_path);
	check("sha256", ff.sha256, ag_json_get_text(m, "sha256"), "manifest");
	snprintf(num, sizeof(num), "%lld", ff.bytes);
	check("bytes", num, ag_json_get_text(m, "bytes"), "manifest");
	if (copy_format)
	{
		snprintf(num, sizeof(num), "%lld", ff.rows);
		check("rows", num, ag_json_get_text(m, "rows"), "manifest");
	}
	if (!offline)
		check_server(&copts, m, &ff, copy_format);
	ag_json_free(m);

	if (mismatches)
	{
		printf("NOT VERIFIED: %d check%s failed\n", mismatches, mismatches == 1 ? "" : "s");
		return EXIT_FAILED;
	}
	printf("VERIFIED\n");
	return EXIT_OK;
}
