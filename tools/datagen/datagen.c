/*
 * datagen.c
 *		Prints the deterministic demo data set in COPY text format.
 *
 *	datagen --table customers|tickets [--scale N] [--seed S] [--first N]
 *
 * Load with: datagen --table customers | psql -c "COPY customers FROM STDIN"
 * The columns are those of demo/schema.sql.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* COPY text format: backslash, tab, newline and carriage return escaped */
static void
put_field(const char *v, int last)
{
	for (; *v; v++)
	{
		switch (*v)
		{
			case '\\':
				fputs("\\\\", stdout);
				break;
			case '\t':
				fputs("\\t", stdout);
				break;
			case '\n':
				fputs("\\n", stdout);
				break;
			case '\r':
				fputs("\\r", stdout);
				break;
			default:
				putchar(*v);
		}
	}
	putchar(last ? '\n' : '\t');
}

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: datagen --table customers|tickets [--scale N] [--seed S] [--first N]\n"
			"Prints N rows (default 1000) of the demo data set in COPY text format,\n"
			"starting at row id --first (default 1). Same seed, same rows.\n");
}

static int
parse_int64(const char *s, long long *out)
{
	char	   *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

int
main(int argc, char **argv)
{
	const char *table = NULL;
	long long	scale = 1000;
	long long	seed = 42;
	long long	first = 1;
	long long	id;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (v == NULL)
		{
			fprintf(stderr, "datagen: option \"%s\" needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--table") == 0)
			table = v;
		else if (strcmp(a, "--scale") == 0 ? !parse_int64(v, &scale) || scale < 0 :
				 strcmp(a, "--seed") == 0 ? !parse_int64(v, &seed) :
				 strcmp(a, "--first") == 0 ? !parse_int64(v, &first) || first < 1 :
				 1)
		{
			fprintf(stderr, "datagen: invalid option or value: %s %s\n", a, v);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (table == NULL ||
		(strcmp(table, "customers") != 0 && strcmp(table, "tickets") != 0))
	{
		usage(stderr);
		return 2;
	}

	for (id = first; id < first + scale; id++)
	{
		char		num[24];

		if (strcmp(table, "customers") == 0)
		{
			ag_customer c;

			ag_gen_customer((uint64_t) seed, id, &c);
			snprintf(num, sizeof(num), "%lld", id);
			put_field(num, 0);
			put_field(c.full_name, 0);
			put_field(c.email, 0);
			put_field(c.phone, 0);
			put_field(c.card_number, 0);
			put_field(c.iban, 0);
			put_field(c.birth_date, 0);
			put_field(c.street, 0);
			put_field(c.city, 0);
			put_field(c.country, 0);
			put_field(c.source->name, 0);
			put_field(c.source->license, 0);
			put_field(c.source->consent, 1);
		}
		else
		{
			ag_ticket t;
			char		cust[24];

			ag_gen_ticket((uint64_t) seed, id, &t);
			snprintf(num, sizeof(num), "%lld", id);
			snprintf(cust, sizeof(cust), "%lld", (long long) t.customer_id);
			put_field(num, 0);
			put_field(cust, 0);
			put_field(t.opened_at, 0);
			put_field(t.channel, 0);
			put_field(t.subject, 0);
			put_field(t.body, 0);
			put_field(t.source->name, 1);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		fprintf(stderr, "datagen: could not write output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
