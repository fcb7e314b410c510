/*
 * main.c
 *		ai-guard: pulls training data through ai_guard with a manifest,
 *		verifies pulled files against the manifest and the server's record,
 *		registers models, draws their lineage and writes compliance reports.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *progname = "ai-guard";

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char		msg[4096];
	size_t		len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (level)
		fprintf(stderr, "%s: %s: %s\n", progname, level, msg);
	else
		fprintf(stderr, "%s: %s\n", progname, msg);
}

void
pg_log_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void
pg_log_info(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog(NULL, fmt, ap);
	va_end(ap);
}

bool
parse_conn_option(int c, const char *arg, conn_opts *opts)
{
	switch (c)
	{
		case 'h':
			opts->host = arg;
			return true;
		case 'p':
			opts->port = arg;
			return true;
		case 'U':
			opts->user = arg;
			return true;
		case 'd':
			opts->dbname = arg;
			return true;
		case 'W':
			opts->password_prompt = 1;
			return true;
		default:
			return false;
	}
}

static void
usage(void)
{
	printf("%s pulls training data through ai_guard with a manifest, verifies it,\n"
		   "registers models and shows their lineage.\n\n", progname);
	printf("Usage:\n");
	printf("  %s pull --purpose PURPOSE -o FILE [--format copy|csv] {QUERY | --table TABLE}\n", progname);
	printf("  %s verify FILE [--manifest MANIFEST] [--offline]\n", progname);
	printf("  %s register-model NAME VERSION --pull ID... [--metadata JSON]\n", progname);
	printf("  %s lineage NAME[:VERSION] [--format text|dot|svg] [-o FILE]\n", progname);
	printf("  %s report [--since 30d] [-o report.html]\n", progname);
	printf("  %s anchor [-o ANCHORS]\n", progname);
	printf("  %s verify-chain --anchors FILE... [--public-key KEY]... [--offline]\n", progname);
	printf("\nCommands:\n");
	printf("  pull      stream the rows of a query or table to FILE with COPY, under the\n"
		   "            declared purpose, and write FILE.manifest.json beside it\n");
	printf("  verify    recompute FILE's digest and check it against its manifest and\n"
		   "            against the server's record of the pull and its audit chain\n");
	printf("  register-model\n"
		   "            register a model as trained on completed pulls (your own, or\n"
		   "            anyone's for a role that may read ai_guard.pulls); --pull may be\n"
		   "            repeated or list ids separated by commas\n");
	printf("  lineage   the lineage of a model (the latest version if none is given):\n"
		   "            pulls, relations, ingest batches, sources, licenses, consent;\n"
		   "            svg needs Graphviz's dot program\n");
	printf("  report    a self-contained HTML compliance report: pulls by purpose and\n"
		   "            role, PII columns read, refused reads, the audit chain, and\n"
		   "            the lineage of every registered model (needs SELECT on\n"
		   "            ai_guard.pulls); --since takes hours, days or weeks (12h, 30d, 2w)\n");
	printf("  anchor    fetch the signed head of the audit chain (ai_guard.audit_head())\n"
		   "            and append it to ANCHORS as one line of JSON, or print it; keep\n"
		   "            the file (or ship the line) outside the database\n");
	printf("  verify-chain\n"
		   "            check anchors (anchor files, pull manifests): offline, that each\n"
		   "            is signed by the trusted public key (--public-key, else the first\n"
		   "            anchor's) and that they only move forward; online, that the chain\n"
		   "            still extends each one (no anchored entry rewritten or truncated)\n");
	printf("\nConnection options (as psql's; PGHOST, PGPORT, PGUSER, PGDATABASE apply):\n");
	printf("  -h, --host=HOSTNAME      database server host or socket directory\n");
	printf("  -p, --port=PORT          database server port\n");
	printf("  -U, --username=USERNAME  database user name\n");
	printf("  -d, --dbname=DBNAME      database name or connection string\n");
	printf("  -W, --password           prompt for a password\n");
	printf("\nOther options:\n");
	printf("  -V, --version            output version information, then exit\n");
	printf("  -?, --help               show this help, then exit\n");
	printf("\nExit status: 0 when everything succeeded and matched, 1 when the server\n"
		   "refused or a command failed or a verification did not match, 2 on bad usage\n"
		   "or when the server cannot be reached.\n");
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
	{
		usage();
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-?") == 0 || strcmp(cmd, "help") == 0)
	{
		usage();
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
	{
		printf("%s (ai_guard) %s\n", progname, AI_GUARD_VERSION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "pull") == 0)
		return cmd_pull(argc - 1, argv + 1);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(cmd, "register-model") == 0)
		return cmd_register_model(argc - 1, argv + 1);
	if (strcmp(cmd, "lineage") == 0)
		return cmd_lineage(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "anchor") == 0)
		return cmd_anchor(argc - 1, argv + 1);
	if (strcmp(cmd, "verify-chain") == 0)
		return cmd_verify_chain(argc - 1, argv + 1);

	pg_log_error("unknown command \"%s\"", cmd);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
	return EXIT_USAGE;
}
