/*
 * cli.h
 *		Shared declarations of ai-guard, the libpq client of ai_guard.
 */
#ifndef AI_GUARD_CLI_H
#define AI_GUARD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <getopt.h>

#include "libpq-fe.h"

#include "digest.h"

/* exit statuses, as PostgreSQL's client programs use them */
#define EXIT_OK			0		/* done, everything matched */
#define EXIT_FAILED		1		/* refused, failed, or did not match */
#define EXIT_USAGE		2		/* bad usage, or no connection */

/* connection options common to every command */
typedef struct conn_opts
{
	const char *host;
	const char *port;
	const char *user;
	const char *dbname;			/* a database name or a connection string */
	int			password_prompt;	/* -W */
} conn_opts;

extern const char *progname;

/* main.c */
extern void pg_log_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void pg_log_info(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* connect.c */
extern PGconn *cli_connect(const conn_opts *opts);
extern char *cli_query_value(PGconn *conn, const char *sql, int nparams,
							 const char *const *params);

/* sha256.c: streaming SHA-256 of a file or a stream of chunks */
typedef ag_sha256 cli_sha256;
extern cli_sha256 *cli_sha256_new(void);
extern void cli_sha256_update(cli_sha256 *h, const void *data, size_t len);
extern void cli_sha256_final_hex(cli_sha256 *h, char hex[65]);

/* input.c: input files read whole */
extern char *cli_read_file(const char *path, const char *what, size_t max, size_t *len);

/* json_out.c: writing JSON */
extern void json_write_string(FILE *f, const char *s);

/* graph.c: a model's lineage graph (ai_guard.lineage()) */
typedef struct lineage_edge
{
	char	   *node;			/* node id, as "pull:12" */
	char	   *kind;			/* model, pull, relation, masked_view, batch, ... */
	char	   *label;
	char	   *parent;			/* the node it feeds, NULL for the model */
	char	   *summary;		/* one line made from the node's detail */
	bool		possible;		/* a batch known only as possible */
	bool		quarantined;
} lineage_edge;

typedef struct lineage_graph
{
	int			n;
	lineage_edge *edges;		/* in lineage()'s order: depth first */
	char	   *title;			/* NAME:VERSION */
} lineage_graph;

extern const char *cli_error_primary(const PGresult *res);
extern bool cli_lineage_fetch(PGconn *conn, const char *name, const char *version,
							  lineage_graph *g, char **error);
extern void cli_lineage_free(lineage_graph *g);
extern void cli_lineage_text(FILE *f, const lineage_graph *g);
extern void cli_lineage_dot(FILE *f, const lineage_graph *g);
extern char *cli_find_dot(void);
extern char *cli_lineage_svg(const lineage_graph *g, char **error);

/* output.c: files written under a temporary name, renamed when complete */
typedef struct out_file
{
	FILE	   *f;
	char	   *path;			/* NULL: stdout */
	char	   *tmp;
} out_file;
extern bool out_open(out_file *o, const char *path);
extern bool out_close(out_file *o);
extern void out_abort(out_file *o);

/* anchor.c: the signed head of the audit chain, one line of JSON */
extern char *cli_signed_head(PGconn *conn, char **error);

/* commands */
extern int	cmd_pull(int argc, char **argv);
extern int	cmd_verify(int argc, char **argv);
extern int	cmd_lineage(int argc, char **argv);
extern int	cmd_report(int argc, char **argv);
extern int	cmd_register_model(int argc, char **argv);
extern int	cmd_anchor(int argc, char **argv);
extern int	cmd_verify_chain(int argc, char **argv);

/* the connection options every command takes, for its getopt_long table */
#define CONN_LONG_OPTIONS \
	{"host", required_argument, NULL, 'h'}, \
	{"port", required_argument, NULL, 'p'}, \
	{"username", required_argument, NULL, 'U'}, \
	{"dbname", required_argument, NULL, 'd'}, \
	{"password", no_argument, NULL, 'W'}

/* options shared by the commands' parsers */
extern bool parse_conn_option(int c, const char *arg, conn_opts *opts);

#endif							/* AI_GUARD_CLI_H */
