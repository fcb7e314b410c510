/*
 * lineage.c
 *		ai-guard lineage NAME[:VERSION]: a model's lineage as text, DOT or
 *		SVG; ai-guard register-model NAME VERSION --pull ID...: registers a
 *		model as trained on pulls.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
lineage_usage(void)
{
	fprintf(stderr, "Usage: %s lineage NAME[:VERSION] [--format text|dot|svg] [-o FILE]\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

int
cmd_lineage(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"format", required_argument, NULL, 'F'},
		{"output", required_argument, NULL, 'o'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts	copts = {0};
	const char *format = "text";
	const char *output = NULL;
	char	   *name,
			   *version = NULL,
			   *colon;
	char	   *error = NULL;
	char	   *svg = NULL;
	lineage_graph g;
	PGconn	   *conn;
	out_file	out;
	int			c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (parse_conn_option(c, optarg, &copts))
			continue;
		switch (c)
		{
			case 'F':
				format = optarg;
				break;
			case 'o':
				output = optarg;
				break;
			default:
				lineage_usage();
				return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
	{
		pg_log_error(optind >= argc ? "a model name is required" :
					 "too many command-line arguments");
		lineage_usage();
		return EXIT_USAGE;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "dot") != 0 &&
		strcmp(format, "svg") != 0)
	{
		pg_log_error("unrecognized format \"%s\" (use text, dot or svg)", format);
		return EXIT_USAGE;
	}
	name = strdup(argv[optind]);
	if (name == NULL)
		return EXIT_FAILED;
	/* model names cannot contain ":" (register_model refuses them) */
	colon = strchr(name, ':');
	if (colon)
	{
		*colon = '\0';
		version = colon + 1;
		if (*version == '\0')
			version = NULL;
	}
	if (name[0] == '\0')
	{
		pg_log_error("a model name is required");
		lineage_usage();
		free(name);
		return EXIT_USAGE;
	}

	conn = cli_connect(&copts);
	if (!cli_lineage_fetch(conn, name, version, &g, &error))
	{
		pg_log_error("could not read the lineage of \"%s\": %s", argv[optind], error);
		free(error);
		free(name);
		PQfinish(conn);
		return EXIT_FAILED;
	}
	PQfinish(conn);

	if (strcmp(format, "svg") == 0)
	{
		/* before any output file is created: a missing dot leaves nothing */
		svg = cli_lineage_svg(&g, &error);
		if (svg == NULL)
		{
			pg_log_error("%s", error);
			free(error);
			cli_lineage_free(&g);
			free(name);
			return EXIT_FAILED;
		}
	}
	if (!out_open(&out, output))
	{
		free(svg);
		cli_lineage_free(&g);
		free(name);
		return EXIT_FAILED;
	}
	if (svg)
		fputs(svg, out.f);
	else if (strcmp(format, "dot") == 0)
		cli_lineage_dot(out.f, &g);
	else
		cli_lineage_text(out.f, &g);
	free(svg);
	cli_lineage_free(&g);
	free(name);
	return out_close(&out) ? EXIT_OK : EXIT_FAILED;
}

static void
register_usage(void)
{
	fprintf(stderr, "Usage: %s register-model NAME VERSION --pull ID... [--metadata JSON]\n"
			"Try \"%s --help\" for more information.\n", progname, progname);
}

/* Appends the pull ids of one --pull argument ("12", "12,13") to ids. */
static bool
add_pull_ids(const char *arg, char **ids, size_t *len, size_t *cap, int *count)
{
	const char *p = arg;

	if (*p == '\0')
		return false;
	while (*p)
	{
		const char *start = p;
		char	   *end;
		long long	v;
		size_t		n;

		if (*p < '0' || *p > '9')
			return false;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || v <= 0)
			return false;
		n = (size_t) (end - start);
		if (*len + n + 2 > *cap)
		{
			*cap = (*cap + n + 2) * 2;
			*ids = realloc(*ids, *cap);
			if (*ids == NULL)
			{
				pg_log_error("out of memory");
				exit(EXIT_FAILED);
			}
		}
		if (*len > 1)
			(*ids)[(*len)++] = ',';
		memcpy(*ids + *len, start, n);
		*len += n;
		(*ids)[*len] = '\0';
		(*count)++;
		p = end;
		if (*p == ',')
		{
			p++;
			if (*p == '\0')
				return false;
		}
		else if (*p != '\0')
			return false;
	}
	return true;
}

int
cmd_register_model(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"pull", required_argument, NULL, 'P'},
		{"metadata", required_argument, NULL, 'M'},
		CONN_LONG_OPTIONS,
		{NULL, 0, NULL, 0}
	};
	conn_opts	copts = {0};
	const char *metadata = "{}";
	char	   *ids = NULL;
	size_t		len = 0,
				cap = 0;
	int			count = 0;
	const char *params[4];
	PGconn	   *conn;
	PGresult   *res;
	int			c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h:p:U:d:W", long_options, NULL)) != -1)
	{
		if (parse_conn_option(c, optarg, &copts))
			continue;
		switch (c)
		{
			case 'P':
				if (ids == NULL)
				{
					cap = 64;
					ids = malloc(cap);
					if (ids == NULL)
						return EXIT_FAILED;
					strcpy(ids, "{");
					len = 1;
				}
				if (!add_pull_ids(optarg, &ids, &len, &cap, &count))
				{
					pg_log_error("invalid pull id \"%s\" (give positive integers, as in --pull 12 --pull 13 or --pull 12,13)", optarg);
					free(ids);
					return EXIT_USAGE;
				}
				break;
			case 'M':
				metadata = optarg;
				break;
			default:
				register_usage();
				free(ids);
				return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
	{
		pg_log_error(argc - optind < 2 ? "a model name and version are required" :
					 "too many command-line arguments");
		register_usage();
		free(ids);
		return EXIT_USAGE;
	}
	if (count == 0)
	{
		pg_log_error("at least one pull is required (--pull ID)");
		register_usage();
		return EXIT_USAGE;
	}
	if (len + 2 > cap)
	{
		ids = realloc(ids, len + 2);
		if (ids == NULL)
			return EXIT_FAILED;
	}
	ids[len++] = '}';
	ids[len] = '\0';

	conn = cli_connect(&copts);
	params[0] = argv[optind];
	params[1] = argv[optind + 1];
	params[2] = ids;
	params[3] = metadata;
	res = PQexecParams(conn,
					   "SELECT ai_guard.register_model($1, $2, $3::pg_catalog.int8[], $4::pg_catalog.jsonb),"
					   " (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest($3::pg_catalog.int8[]) u)",
					   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		pg_log_error("could not register model \"%s\" version \"%s\": %s",
					 argv[optind], argv[optind + 1], cli_error_primary(res));
		PQclear(res);
		PQfinish(conn);
		free(ids);
		return EXIT_FAILED;
	}
	printf("registered model %s:%s (model id %s) trained on %s pull%s\n",
		   argv[optind], argv[optind + 1], PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		   strcmp(PQgetvalue(res, 0, 1), "1") == 0 ? "" : "s");
	PQclear(res);
	PQfinish(conn);
	free(ids);
	return EXIT_OK;
}
