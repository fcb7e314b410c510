/*
 * connect.c
 *		Connecting the way PostgreSQL's client programs do: -h -p -U -d, a
 *		connection string in -d, the PG* environment variables, ~/.pgpass,
 *		and a password prompt when the server asks for one.
 */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* Reads a password from the terminal without echo; NULL if there is none. */
static char *
prompt_password(void)
{
	FILE	   *tty = fopen("/dev/tty", "r+");
	struct termios old,
				noecho;
	char		buf[1024];
	char	   *result = NULL;

	if (tty == NULL)
		return NULL;
	fputs("Password: ", tty);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0)
	{
		noecho = old;
		noecho.c_lflag &= ~ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	if (fgets(buf, sizeof(buf), tty) != NULL)
	{
		buf[strcspn(buf, "\r\n")] = '\0';
		result = strdup(buf);
	}
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	memset(buf, 0, sizeof(buf));
	return result;
}

PGconn *
cli_connect(const conn_opts *opts)
{
	const char *keywords[8];
	const char *values[8];
	char	   *password = NULL;
	PGconn	   *conn;
	int			n;

	for (;;)
	{
		n = 0;
		keywords[n] = "host", values[n++] = opts->host;
		keywords[n] = "port", values[n++] = opts->port;
		keywords[n] = "user", values[n++] = opts->user;
		keywords[n] = "password", values[n++] = password;
		keywords[n] = "dbname", values[n++] = opts->dbname;
		keywords[n] = "fallback_application_name", values[n++] = progname;
		keywords[n] = NULL, values[n] = NULL;

		if (opts->password_prompt && password == NULL)
			password = prompt_password();

		conn = PQconnectdbParams(keywords, values, 1);
		if (conn == NULL)
		{
			pg_log_error("out of memory");
			exit(EXIT_USAGE);
		}
		if (PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) &&
			password == NULL && isatty(STDIN_FILENO))
		{
			PQfinish(conn);
			password = prompt_password();
			if (password != NULL)
				continue;
			conn = PQconnectdbParams(keywords, values, 1);
		}
		break;
	}
	if (password)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		/* libpq's message ends with a newline and may span lines */
		char	   *msg = strdup(PQerrorMessage(conn));
		size_t		len = msg ? strlen(msg) : 0;

		while (len > 0 && msg[len - 1] == '\n')
			msg[--len] = '\0';
		pg_log_error("could not connect: %s", msg ? msg : "out of memory");
		free(msg);
		PQfinish(conn);
		exit(EXIT_USAGE);
	}
	return conn;
}

/*
 * Runs a one-value query with text parameters; returns a malloc'd copy of
 * the value, or NULL if the query returned no row or NULL. Query errors are
 * reported and end the program.
 */
char *
cli_query_value(PGconn *conn, const char *sql, int nparams,
				const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	char	   *value = NULL;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_error("query failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(conn);
		exit(EXIT_FAILED);
	}
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		value = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return value;
}
