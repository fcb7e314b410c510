/*
 * gen.h
 *		Deterministic demo data: customers and support tickets.
 *
 * Every value is a pure function of (seed, row id), so the same seed gives
 * the same rows at any scale: the first 1,000 rows of a 1,000,000-row set are
 * the 1,000-row set.
 */
#ifndef AI_GUARD_GEN_H
#define AI_GUARD_GEN_H

#include <stdint.h>

typedef struct ag_source
{
	const char *name;			/* where the rows came from */
	const char *license;		/* terms the rows were obtained under */
	const char *consent;		/* purpose classes, as a PostgreSQL text[] */
} ag_source;

typedef struct ag_customer
{
	int64_t		id;
	char		full_name[64];
	char		email[96];
	char		phone[32];
	char		card_number[24];	/* Luhn-valid, from card test ranges */
	char		iban[40];		/* mod-97 valid */
	char		birth_date[16];	/* YYYY-MM-DD */
	char		street[64];
	char		city[32];
	char		country[3];
	const ag_source *source;
} ag_customer;

typedef struct ag_ticket
{
	int64_t		id;
	int64_t		customer_id;
	char		opened_at[32];	/* YYYY-MM-DD HH:MM:SS, UTC */
	const char *channel;
	char		subject[96];
	char		body[1024];		/* prose with PII embedded, and decoys */
	const ag_source *source;
} ag_ticket;

extern const ag_source ag_sources[];
extern const int ag_nsources;

extern void ag_gen_customer(uint64_t seed, int64_t id, ag_customer *out);
extern void ag_gen_ticket(uint64_t seed, int64_t id, ag_ticket *out);

#endif							/* AI_GUARD_GEN_H */
