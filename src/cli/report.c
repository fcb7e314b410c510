/*
 * report.c
 *		ai-guard report: a self-contained HTML compliance report (no external
 *		assets): pulls by purpose and role, PII columns read, refused reads,
 *		changes of governance, the state of the audit chain, and the lineage
 *		of each registered model (inline SVG drawn by Graphviz when
 *		available, else a table).
 *		Everything taken from the database is HTML-escaped.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define REPORT_MAX_ROWS "500"
#define REPORT_MAX_MODELS 100

static void
html(FILE *f, const char *s)
{
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '&':
				fputs("&amp;", f);
				break;
			case '<':
				fputs("&lt;", f);
				break;
			case '>':
				fputs("&gt;", f);
				break;
			case '"':
				fputs("&quot;", f);
				break;
			case '\'':
				fputs("&#39;", f);
				break;
			default:
				/* control characters are not allowed in XML text */
				if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
					fputc(' ', f);
				else
					fputc(c, f);
		}
	}
}

/* Runs a query; on error reports it and returns NULL. */
static PGresult *
report_query(PGconn *conn, const char *what, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_error("could not read %s: %s", what, cli_error_primary(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* An HTML table of a query result; numeric columns (by index) right-aligned. */
static void
html_table(FILE *f, PGresult *res, const char *const *headers,
		   const char *numeric, const char *empty)
{
	int			nrows = PQntuples(res),
				ncols = PQnfields(res),
				i,
				j;

	if (nrows == 0)
	{
		fputs("<p class=\"empty\">", f);
		html(f, empty);
		fputs("</p>\n", f);
		return;
	}
	fputs("<table>\n<thead><tr>", f);
	for (j = 0; j < ncols; j++)
	{
		fputs("<th>", f);
		html(f, headers[j]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (i = 0; i < nrows; i++)
	{
		fputs("<tr>", f);
		for (j = 0; j < ncols; j++)
		{
			fputs(numeric && numeric[j] == 'n' ? "<td class=\"n\">" : "<td>", f);
			if (!PQgetisnull(res, i, j))
				html(f, PQgetvalue(res, i, j));
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

/* "30d", "12h", "2w" -> "30 days" ...; false if malformed */
static bool
parse_since(const char *s, char *out, size_t size)
{
	size_t		n = strlen(s);
	long		v;
	char	   *end;
	const char *unit;

	if (n < 2 || n > 8 || !isdigit((unsigned char) s[0]))
		return false;
	v = strtol(s, &end, 10);
	if (end != s + n - 1 || v <= 0 || v > 100000)
		return false;
	switch (s[n - 1])
	{
		case 'h':
			unit = "hours";
			break;
		case 'd':
			unit = "days";
			break;
		case 'w':
			unit = "weeks";
			break;
		default:
			return false;
	}
	snprintf(out, size, "%ld %s", v, unit);
	return true;
}

static const char *style =
"body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}"
"h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}"
"h3{font-size:1.05em}p.meta{color:#555}table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
"th{background:#f0f0f0}td.n{text-align:right}.ok{color:#17692e;font-weight:bold}"
".bad{color:#b00020;font-weight:bold}.empty{color:#777;font-style:italic}"
"div.svg{overflow-x:auto;border:1px solid #eee;padding:.5em}";

static void
report_usage(void)
{
	fprintf(stderr, "Usage: %s report [--since 30d] [-o report.html]\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

/* One model's lineage: inline SVG if dot draws it, else a table. */
static void
report_model(FILE *f, PGconn *conn, const char *name, const char *version,
			 bool have_dot)
{
	lineage_graph g;
	char	   *error = NULL;
	char	   *svg = NULL;
	int			i;

	if (!cli_lineage_fetch(conn, name, version, &g, &error))
	{
		fputs("<p class=\"bad\">could not read the lineage: ", f);
		html(f, error);
		fputs("</p>\n", f);
		free(error);
		return;
	}
	if (have_dot)
		svg = cli_lineage_svg(&g, &error);
	if (svg)
	{
		/* the <svg> element only: no XML declaration, no DOCTYPE */
		const char *start = strstr(svg, "<svg");

		fputs("<div class=\"svg\">\n", f);
		fputs(start ? start : "", f);
		fputs("</div>\n", f);
		free(svg);
	}
	else
	{
		if (error)
		{
			fputs("<p class=\"empty\">", f);
			html(f, error);
			fputs("; the lineage as a table:</p>\n", f);
			free(error);
		}
		fputs("<table>\n<thead><tr><th>node</th><th>kind</th><th>feeds</th><th>detail</th></tr></thead>\n<tbody>\n", f);
		for (i = 0; i < g.n; i++)
		{
			fputs("<tr><td>", f);
			html(f, g.edges[i].label);
			fputs("</td><td>", f);
			html(f, g.edges[i].kind);
			fputs("</td><td>", f);
			html(f, g.edges[i].parent ? g.edges[i].parent : "");
			fputs("</td><td>", f);
			html(f, g.edges[i].summary ? g.edges[i].summary : "");
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody>\n</table>\n", f);
	}
	cli_lineage_free(&g);
}

int
cmd_report(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"since", required_argument, NULL, 'S'},
		{"output", required_argument, NULL, 'o'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts	copts = {0};
	const char *since = "30d";
	const char *output = NULL;
	char		interval[64];
	const char *params[1];
	PGconn	   *conn;
	PGresult   *res,
			   *meta;
	out_file	out;
	FILE	   *f;
	char	   *dot;
	int			c,
				i;
	bool		ok = true;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (parse_conn_option(c, optarg, &copts))
			continue;
		switch (c)
		{
			case 'S':
				since = optarg;
				break;
			case 'o':
				output = optarg;
				break;
			default:
				report_usage();
				return EXIT_USAGE;
		}
	}
	if (optind < argc)
	{
		pg_log_error("too many command-line arguments (first is \"%s\")", argv[optind]);
		report_usage();
		return EXIT_USAGE;
	}
	if (!parse_since(since, interval, sizeof(interval)))
	{
		pg_log_error("invalid --since \"%s\" (use a number and h, d or w, as in 30d)", since);
		return EXIT_USAGE;
	}
	params[0] = interval;

	conn = cli_connect(&copts);
	meta = report_query(conn, "the session",
						"SELECT pg_catalog.current_database()::text, CURRENT_USER::text,"
						" pg_catalog.current_setting('server_version'),"
						" pg_catalog.to_char(pg_catalog.timezone('UTC', pg_catalog.now()), 'YYYY-MM-DD HH24:MI:SS \"UTC\"'),"
						" pg_catalog.to_char(pg_catalog.timezone('UTC', pg_catalog.now() - $1::interval), 'YYYY-MM-DD HH24:MI:SS \"UTC\"'),"
						" pg_catalog.to_regclass('ai_guard.pulls') IS NOT NULL"
						"  AND pg_catalog.has_table_privilege('ai_guard.pulls', 'SELECT'),"
						" pg_catalog.to_regprocedure('ai_guard.visible_models()') IS NOT NULL,"
						" CASE WHEN pg_catalog.to_regclass('ai_guard.governance_changes') IS NULL THEN 'none'"
						"      WHEN pg_catalog.has_table_privilege('ai_guard.governance_changes', 'SELECT')"
						"      THEN 'yes' ELSE 'no' END",
						1, params);
	if (meta == NULL)
	{
		PQfinish(conn);
		return EXIT_FAILED;
	}
	if (strcmp(PQgetvalue(meta, 0, 5), "t") != 0)
	{
		pg_log_error("the report needs SELECT on ai_guard.pulls (a compliance role), which role \"%s\" does not have",
					 PQgetvalue(meta, 0, 1));
		PQclear(meta);
		PQfinish(conn);
		return EXIT_FAILED;
	}
	if (!out_open(&out, output))
	{
		PQclear(meta);
		PQfinish(conn);
		return EXIT_FAILED;
	}
	f = out.f;
	dot = cli_find_dot();

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>ai_guard compliance report: ", f);
	html(f, PQgetvalue(meta, 0, 0));
	fputs("</title>\n<style>", f);
	fputs(style, f);
	fputs("</style>\n</head>\n<body>\n<h1>ai_guard compliance report</h1>\n<p class=\"meta\">Database <b>", f);
	html(f, PQgetvalue(meta, 0, 0));
	fputs("</b> (PostgreSQL ", f);
	html(f, PQgetvalue(meta, 0, 2));
	fputs("), read as role <b>", f);
	html(f, PQgetvalue(meta, 0, 1));
	fputs("</b>; generated ", f);
	html(f, PQgetvalue(meta, 0, 3));
	fputs("; pulls since ", f);
	html(f, PQgetvalue(meta, 0, 4));
	fputs(" (the last ", f);
	html(f, since);
	fputs(").</p>\n", f);

	/* the audit chain */
	fputs("<h2>Audit chain</h2>\n", f);
	res = report_query(conn, "the audit chain",
					   "SELECT v.intact, v.records::text, coalesce(v.problem, ''), coalesce(v.epoch::text, ''),"
					   " v.unkeyed::text, coalesce((SELECT e.public_key FROM ai_guard.audit_epochs e"
					   "                             ORDER BY e.epoch DESC LIMIT 1), '')"
					   " FROM ai_guard.verify_audit() v",
					   0, NULL);
	if (res == NULL)
		ok = false;
	else
	{
		bool		intact = strcmp(PQgetvalue(res, 0, 0), "t") == 0;

		fprintf(f, "<p>verify_audit(): <span class=\"%s\">%s</span>, ",
				intact ? "ok" : "bad", intact ? "INTACT" : "BROKEN");
		html(f, PQgetvalue(res, 0, 1));
		fputs(" chain entries", f);
		if (!intact)
		{
			fputs(": ", f);
			html(f, PQgetvalue(res, 0, 2));
		}
		fputs(".</p>\n", f);
		if (PQgetvalue(res, 0, 3)[0] != '\0')
		{
			/* what an auditor checks anchors against (ai-guard verify-chain) */
			fputs("<p>Every entry carries a MAC under the chain key of its key epoch; this is epoch ", f);
			html(f, PQgetvalue(res, 0, 3));
			fputs(", whose heads are signed by the Ed25519 public key <code>", f);
			html(f, PQgetvalue(res, 0, 5));
			fputs("</code>", f);
			if (strcmp(PQgetvalue(res, 0, 4), "0") != 0)
			{
				fputs(" (", f);
				html(f, PQgetvalue(res, 0, 4));
				fputs(" entries from before the chain was keyed)", f);
			}
			fputs(".</p>\n", f);
		}
		PQclear(res);
	}

	/* pulls by purpose and role */
	fputs("<h2>Pulls by purpose and role</h2>\n", f);
	res = ok ? report_query(conn, "the pulls",
							"SELECT coalesce(purpose, '(none)'), session_role::text, count(*)::text,"
							" (count(*) FILTER (WHERE status = 'completed'))::text,"
							" (count(*) FILTER (WHERE status = 'failed'))::text,"
							" (count(*) FILTER (WHERE status = 'refused'))::text,"
							" coalesce(sum(rows), 0)::text, coalesce(sum(bytes), 0)::text,"
							" pg_catalog.to_char(pg_catalog.timezone('UTC', max(started_at)), 'YYYY-MM-DD HH24:MI')"
							" FROM ai_guard.pulls WHERE started_at >= pg_catalog.now() - $1::interval"
							" GROUP BY 1, 2 ORDER BY 1, 2",
							1, params) : NULL;
	if (res)
	{
		static const char *const h[] = {"purpose", "role", "pulls", "completed", "failed",
		"refused", "rows", "bytes", "last (UTC)"};

		html_table(f, res, h, "..nnnnnn.", "No pulls in this period.");
		PQclear(res);
	}
	else
		ok = false;

	/* PII columns read */
	fputs("<h2>PII columns accessed</h2>\n", f);
	res = ok ? report_query(conn, "the PII columns read",
							"SELECT c, p.session_role::text, coalesce(p.purpose, '(none)'),"
							" count(*)::text, coalesce(sum(p.rows), 0)::text,"
							" pg_catalog.to_char(pg_catalog.timezone('UTC', max(p.started_at)), 'YYYY-MM-DD HH24:MI')"
							" FROM ai_guard.pulls p CROSS JOIN LATERAL pg_catalog.unnest(p.columns_pii) c"
							" WHERE p.started_at >= pg_catalog.now() - $1::interval AND p.status <> 'refused'"
							" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
							1, params) : NULL;
	if (res)
	{
		static const char *const h[] = {"column", "role", "purpose", "pulls", "rows", "last (UTC)"};

		html_table(f, res, h, "...nn.", "No PII column was read in this period.");
		PQclear(res);
	}
	else
		ok = false;

	/* refused reads */
	fputs("<h2>Refused reads</h2>\n", f);
	res = ok ? report_query(conn, "the refused reads",
							"SELECT pull_id::text,"
							" pg_catalog.to_char(pg_catalog.timezone('UTC', started_at), 'YYYY-MM-DD HH24:MI:SS'),"
							" session_role::text, \"current_role\"::text, coalesce(purpose, '(none)'),"
							" pg_catalog.array_to_string(relations, ', '), coalesce(detail, '')"
							" FROM ai_guard.pulls WHERE status = 'refused'"
							" AND started_at >= pg_catalog.now() - $1::interval"
							" ORDER BY pull_id DESC LIMIT " REPORT_MAX_ROWS,
							1, params) : NULL;
	if (res)
	{
		static const char *const h[] = {"pull", "time (UTC)", "session role", "current role",
		"purpose", "relations", "reason"};

		html_table(f, res, h, "n......", "No read was refused in this period.");
		if (PQntuples(res) == atoi(REPORT_MAX_ROWS))
			fputs("<p class=\"empty\">Only the latest " REPORT_MAX_ROWS " are shown; see ai_guard.refused_reads.</p>\n", f);
		PQclear(res);
	}
	else
		ok = false;

	/* changes of governance */
	fputs("<h2>Changes of governance</h2>\n", f);
	if (!ok)
		;
	else if (strcmp(PQgetvalue(meta, 0, 7), "none") == 0)
		fputs("<p class=\"empty\">This database's ai_guard has no governance log.</p>\n", f);
	else if (strcmp(PQgetvalue(meta, 0, 7), "yes") != 0)
		fputs("<p class=\"empty\">Not shown: this role may not read ai_guard.governance_changes.</p>\n", f);
	else if ((res = report_query(conn, "the changes of governance",
								 "SELECT change_id::text,"
								 " pg_catalog.to_char(pg_catalog.timezone('UTC', changed_at), 'YYYY-MM-DD HH24:MI:SS'),"
								 " session_role::text, catalog, operation, coalesce(object, ''),"
								 " coalesce(reason, ''), outcome"
								 " FROM ai_guard.governance_changes"
								 " WHERE changed_at >= pg_catalog.now() - $1::interval"
								 " ORDER BY change_id DESC LIMIT " REPORT_MAX_ROWS,
								 1, params)) == NULL)
		ok = false;
	else
	{
		static const char *const h[] = {"change", "time (UTC)", "session role", "what",
		"operation", "object", "reason", "outcome"};

		html_table(f, res, h, "n.......", "No change of governance in this period.");
		if (PQntuples(res) == atoi(REPORT_MAX_ROWS))
			fputs("<p class=\"empty\">Only the latest " REPORT_MAX_ROWS " are shown; see ai_guard.governance_changes.</p>\n", f);
		PQclear(res);
	}

	/* models */
	fputs("<h2>Registered models</h2>\n", f);
	if (!ok)
		;
	else if (strcmp(PQgetvalue(meta, 0, 6), "t") != 0)
		fputs("<p class=\"empty\">This database's ai_guard has no model registry.</p>\n", f);
	else if ((res = report_query(conn, "the models",
								 "SELECT name, version, registered_by::text,"
								 " pg_catalog.to_char(pg_catalog.timezone('UTC', registered_at), 'YYYY-MM-DD HH24:MI'),"
								 " pulls::text FROM ai_guard.visible_models()"
								 " ORDER BY name, registered_at, version", 0, NULL)) == NULL)
		ok = false;
	else
	{
		if (PQntuples(res) == 0)
			fputs("<p class=\"empty\">No model is registered.</p>\n", f);
		if (dot == NULL && PQntuples(res) > 0)
			fputs("<p class=\"empty\">Graphviz (dot) is not installed: lineage is shown as tables.</p>\n", f);
		for (i = 0; i < PQntuples(res) && i < REPORT_MAX_MODELS; i++)
		{
			fputs("<h3>", f);
			html(f, PQgetvalue(res, i, 0));
			fputs(":", f);
			html(f, PQgetvalue(res, i, 1));
			fputs("</h3>\n<p class=\"meta\">registered by ", f);
			html(f, PQgetvalue(res, i, 2));
			fputs(" at ", f);
			html(f, PQgetvalue(res, i, 3));
			fputs(" UTC, trained on ", f);
			html(f, PQgetvalue(res, i, 4));
			fputs(" pull(s)</p>\n", f);
			report_model(f, conn, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), dot != NULL);
		}
		if (PQntuples(res) > REPORT_MAX_MODELS)
			fprintf(f, "<p class=\"empty\">%d more models are not drawn; use ai-guard lineage.</p>\n",
					PQntuples(res) - REPORT_MAX_MODELS);
		PQclear(res);
	}
	fputs("</body>\n</html>\n", f);

	free(dot);
	PQclear(meta);
	PQfinish(conn);
	if (!ok)
	{
		out_abort(&out);
		return EXIT_FAILED;
	}
	if (!out_close(&out))
		return EXIT_FAILED;
	if (output)
		pg_log_info("wrote the report to %s", output);
	return EXIT_OK;
}
