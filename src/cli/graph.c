/*
 * graph.c
 *		A model's lineage graph, as ai_guard.lineage() returns it, drawn as
 *		indented text, as Graphviz DOT, or as SVG through the dot program.
 *		Shared by "ai-guard lineage" and "ai-guard report".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/*
 * One row of lineage() with a one-line summary of its detail made on the
 * server, so that the client needs no JSON parser for it.
 */
static const char *lineage_sql =
"SELECT node, kind, label, parent,"
" CASE kind"
"  WHEN 'model' THEN pg_catalog.concat_ws(', ',"
"   'registered by ' || (detail->>'registered_by'),"
"   'at ' || pg_catalog.to_char(pg_catalog.timezone('UTC', (detail->>'registered_at')::timestamptz),"
"                                'YYYY-MM-DD HH24:MI \"UTC\"'),"
"   CASE WHEN detail->'metadata' <> '{}'::jsonb THEN 'metadata ' || (detail->'metadata')::text END)"
"  WHEN 'pull' THEN pg_catalog.concat_ws(', ', detail->>'status', detail->>'kind',"
"   'by ' || (detail->>'session_role'), (detail->>'rows') || ' rows',"
"   'sha256 ' || pg_catalog.left(detail->>'digest', 16) || '...')"
"  WHEN 'batch' THEN pg_catalog.concat_ws(', ', detail->>'membership',"
"   'source ' || (detail->>'source'), 'license ' || (detail->>'license'),"
"   'consent ' || coalesce(NULLIF((SELECT pg_catalog.string_agg(c, ' ')"
"      FROM pg_catalog.jsonb_array_elements_text(detail->'consent') c), ''), '(none)'),"
"   CASE WHEN (detail->>'quarantined')::bool THEN 'QUARANTINED' END)"
"  WHEN 'source' THEN CASE WHEN (detail->>'quarantined')::bool THEN 'QUARANTINED' END"
"  ELSE pg_catalog.concat_ws(', ',"
"   CASE WHEN kind = 'masked_view' THEN 'masked view' END,"
"   CASE WHEN (detail->>'tracked')::bool"
"        THEN 'membership ' || coalesce(detail->>'membership', 'unknown')"
"        WHEN kind = 'relation' THEN 'not tracked' END)"
" END,"
" coalesce(detail->>'membership' = 'possible', false),"
" coalesce((detail->>'quarantined')::bool, false)"
" FROM ai_guard.lineage($1, $2)";

static char *
xstrdup(const char *s)
{
	char	   *r = strdup(s ? s : "");

	if (r == NULL)
	{
		pg_log_error("out of memory");
		exit(EXIT_FAILED);
	}
	return r;
}

/* The first line of a server error, without "ERROR:" and the newline. */
const char *
cli_error_primary(const PGresult *res)
{
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (m == NULL && res != NULL && PQresultErrorMessage(res)[0] != '\0')
		m = PQresultErrorMessage(res);	/* a client-side error: no fields */
	return m ? m : "out of memory or lost connection";
}

bool
cli_lineage_fetch(PGconn *conn, const char *name, const char *version,
				  lineage_graph *g, char **error)
{
	const char *params[2] = {name, version};
	PGresult   *res;
	int			i;

	memset(g, 0, sizeof(*g));
	*error = NULL;
	res = PQexecParams(conn, lineage_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*error = xstrdup(cli_error_primary(res));
		PQclear(res);
		return false;
	}
	g->n = PQntuples(res);
	g->edges = calloc(g->n ? g->n : 1, sizeof(lineage_edge));
	if (g->edges == NULL)
	{
		pg_log_error("out of memory");
		exit(EXIT_FAILED);
	}
	for (i = 0; i < g->n; i++)
	{
		lineage_edge *e = &g->edges[i];

		e->node = xstrdup(PQgetvalue(res, i, 0));
		e->kind = xstrdup(PQgetvalue(res, i, 1));
		e->label = xstrdup(PQgetvalue(res, i, 2));
		e->parent = PQgetisnull(res, i, 3) ? NULL : xstrdup(PQgetvalue(res, i, 3));
		e->summary = PQgetisnull(res, i, 4) ? NULL : xstrdup(PQgetvalue(res, i, 4));
		e->possible = strcmp(PQgetvalue(res, i, 5), "t") == 0;
		e->quarantined = strcmp(PQgetvalue(res, i, 6), "t") == 0;
		if (g->title == NULL && strcmp(e->kind, "model") == 0)
			g->title = xstrdup(e->label);
	}
	PQclear(res);
	return true;
}

void
cli_lineage_free(lineage_graph *g)
{
	int			i;

	for (i = 0; i < g->n; i++)
	{
		free(g->edges[i].node);
		free(g->edges[i].kind);
		free(g->edges[i].label);
		free(g->edges[i].parent);
		free(g->edges[i].summary);
	}
	free(g->edges);
	free(g->title);
	memset(g, 0, sizeof(*g));
}

/*---- text ----*/

/* depth of row i: one more than the latest earlier row that is its parent */
static int
edge_depth(const lineage_graph *g, int i, int *depths)
{
	int			j;

	if (g->edges[i].parent == NULL)
		return 0;
	for (j = i - 1; j >= 0; j--)
		if (strcmp(g->edges[j].node, g->edges[i].parent) == 0)
			return depths[j] + 1;
	return 1;
}

static const char *
kind_word(const char *kind)
{
	if (strcmp(kind, "masked_view") == 0)
		return "view";
	return kind;
}

void
cli_lineage_text(FILE *f, const lineage_graph *g)
{
	int		   *depths = calloc(g->n ? g->n : 1, sizeof(int));
	int			i;

	if (depths == NULL)
	{
		pg_log_error("out of memory");
		exit(EXIT_FAILED);
	}

	for (i = 0; i < g->n; i++)
	{
		const lineage_edge *e = &g->edges[i];
		const char *label;

		depths[i] = edge_depth(g, i, depths);
		/* a batch's line already names its source, license and consent */
		if (strcmp(e->kind, "source") == 0 || strcmp(e->kind, "license") == 0 ||
			strcmp(e->kind, "consent") == 0)
			continue;
		/* "pull 12 (...)" and "batch 3" already start with their kind */
		label = e->label;
		if ((strcmp(e->kind, "pull") == 0 || strcmp(e->kind, "batch") == 0) &&
			strchr(label, ' ') != NULL)
			label = strchr(label, ' ') + 1;
		fprintf(f, "%*s%s%s %s", depths[i] * 2, "", depths[i] ? "<- " : "",
				kind_word(e->kind), label);
		if (e->summary && e->summary[0])
			fprintf(f, ": %s", e->summary);
		fputc('\n', f);
	}
	free(depths);
}

/*---- DOT ----*/

/* a DOT double-quoted string */
static void
dot_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', f);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
dot_node_style(FILE *f, const lineage_edge *e)
{
	const char *shape = "box",
			   *fill = "#ffffff";

	if (strcmp(e->kind, "model") == 0)
		shape = "doubleoctagon", fill = "#dbe9ff";
	else if (strcmp(e->kind, "pull") == 0)
		shape = "box", fill = "#eef6e8";
	else if (strcmp(e->kind, "relation") == 0)
		shape = "cylinder", fill = "#fff7e0";
	else if (strcmp(e->kind, "masked_view") == 0)
		shape = "cylinder", fill = "#f1e8ff";
	else if (strcmp(e->kind, "batch") == 0)
		shape = "folder", fill = "#f4f4f4";
	else if (strcmp(e->kind, "source") == 0)
		shape = "ellipse", fill = "#e6f3f7";
	else if (strcmp(e->kind, "license") == 0)
		shape = "note", fill = "#fffbe6";
	else if (strcmp(e->kind, "consent") == 0)
		shape = "hexagon", fill = "#eaf7ee";
	if (e->quarantined)
		fill = "#ffd6d6";
	fprintf(f, "shape=%s, style=\"filled%s\", fillcolor=\"%s\"", shape,
			strcmp(e->kind, "masked_view") == 0 ? ",dashed" : "", fill);
}

void
cli_lineage_dot(FILE *f, const lineage_graph *g)
{
	int			i,
				j;

	fputs("digraph lineage {\n", f);
	fputs("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=", f);
	{
		char		title[1024];

		snprintf(title, sizeof(title), "lineage of %s", g->title ? g->title : "?");
		dot_string(f, title);
	}
	fputs("];\n  node [fontname=\"Helvetica\", fontsize=10];\n", f);
	fputs("  edge [color=\"#555555\", arrowsize=0.7, fontname=\"Helvetica\"];\n", f);

	/* nodes, each once */
	for (i = 0; i < g->n; i++)
	{
		const lineage_edge *e = &g->edges[i];
		char	   *label;
		size_t		len;
		bool		seen = false;

		for (j = 0; j < i && !seen; j++)
			seen = strcmp(g->edges[j].node, e->node) == 0;
		if (seen)
			continue;
		len = strlen(e->label) + (e->summary ? strlen(e->summary) : 0) + 4;
		label = malloc(len);
		if (label == NULL)
		{
			pg_log_error("out of memory");
			exit(EXIT_FAILED);
		}
		/* sources, licenses and consent have their own nodes: keep batches short */
		if (strcmp(e->kind, "batch") == 0)
			snprintf(label, len, "%s\n%s", e->label, e->possible ? "possible" : "exact");
		else if (e->summary && e->summary[0] && strcmp(e->kind, "model") != 0)
		{
			/* one item of the summary per line */
			char	   *p;

			snprintf(label, len, "%s\n%s", e->label, e->summary);
			for (p = label + strlen(e->label) + 1; (p = strstr(p, ", ")) != NULL;)
			{
				*p = '\n';
				memmove(p + 1, p + 2, strlen(p + 2) + 1);
			}
		}
		else
			snprintf(label, len, "%s", e->label);
		fputs("  ", f);
		dot_string(f, e->node);
		fputs(" [label=", f);
		dot_string(f, label);
		fputs(", ", f);
		dot_node_style(f, e);
		fputs("];\n", f);
		free(label);
	}
	/* edges in the direction data flowed: source -> batch -> relation -> pull -> model */
	for (i = 0; i < g->n; i++)
	{
		const lineage_edge *e = &g->edges[i];
		bool		seen = false;

		if (e->parent == NULL)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = g->edges[j].parent && strcmp(g->edges[j].node, e->node) == 0 &&
				strcmp(g->edges[j].parent, e->parent) == 0;
		if (seen)
			continue;
		fputs("  ", f);
		dot_string(f, e->node);
		fputs(" -> ", f);
		dot_string(f, e->parent);
		if (strcmp(e->kind, "batch") == 0 && e->possible)
			fputs(" [style=dashed, label=\"possible\", fontsize=8]", f);
		fputs(";\n", f);
	}
	fputs("}\n", f);
}

/*---- SVG through Graphviz ----*/

/* The dot program's path, or NULL if it is not in PATH. */
char *
cli_find_dot(void)
{
	const char *path = getenv("PATH");
	char	   *copy,
			   *dir,
			   *save = NULL;
	char		cand[4096];
	char	   *found = NULL;

	if (path == NULL || path[0] == '\0')
		path = "/usr/bin:/bin";
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
	{
		struct stat st;

		snprintf(cand, sizeof(cand), "%s/dot", dir[0] ? dir : ".");
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
		{
			found = xstrdup(cand);
			break;
		}
	}
	free(copy);
	return found;
}

/*
 * Runs dot -Tsvg over the graph; returns the SVG (malloc'd, NUL-terminated)
 * or NULL with a message in *error.
 */
char *
cli_lineage_svg(const lineage_graph *g, char **error)
{
	char	   *dot = cli_find_dot();
	char		tmp[] = "/tmp/ai-guard-dot-XXXXXX";
	int			fd,
				pipefd[2],
				status;
	FILE	   *f;
	pid_t		pid;
	char	   *out = NULL;
	size_t		len = 0,
				cap = 0;
	ssize_t		n;

	*error = NULL;
	if (dot == NULL)
	{
		*error = xstrdup("the Graphviz program \"dot\" was not found in PATH (install graphviz, or use --format dot)");
		return NULL;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
	{
		*error = xstrdup("could not create a temporary file for dot");
		free(dot);
		return NULL;
	}
	cli_lineage_dot(f, g);
	if (fclose(f) != 0)
	{
		*error = xstrdup("could not write a temporary file for dot");
		unlink(tmp);
		free(dot);
		return NULL;
	}
	if (pipe(pipefd) != 0)
	{
		*error = xstrdup("could not create a pipe for dot");
		unlink(tmp);
		free(dot);
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
	{
		int			in = open(tmp, O_RDONLY);

		if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(dot, "dot", "-Tsvg", (char *) NULL);
		_exit(127);
	}
	close(pipefd[1]);
	if (pid < 0)
	{
		close(pipefd[0]);
		unlink(tmp);
		free(dot);
		*error = xstrdup("could not start dot");
		return NULL;
	}
	for (;;)
	{
		if (len + 8192 + 1 > cap)
		{
			char	   *grown;

			cap = cap ? cap * 2 : 65536;
			grown = realloc(out, cap);
			if (grown == NULL)
			{
				pg_log_error("out of memory");
				exit(EXIT_FAILED);
			}
			out = grown;
		}
		n = read(pipefd[0], out + len, 8192);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t) n;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(tmp);
	free(dot);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0)
	{
		free(out);
		*error = xstrdup("dot failed to draw the graph");
		return NULL;
	}
	out[len] = '\0';
	return out;
}
