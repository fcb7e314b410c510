/*
 * fuzz_pii.c
 *		libFuzzer target for src/core/pii.c and the masking primitives of
 *		src/core/mask.c: any bytes, any length.
 *
 * Checks, besides memory safety: findings are in bounds, non-empty, in order
 * and disjoint; the masks write no more than their documented bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "pii.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct check_state
{
	size_t		len;
	size_t		next;			/* findings may not start before this */
} check_state;

static bool
check_cb(const ag_pii_finding *f, void *arg)
{
	check_state *st = (check_state *) arg;

	if (f->len == 0 || f->start < st->next || f->start + f->len > st->len ||
		(unsigned) f->kind >= AG_PII_NKINDS)
		abort();
	st->next = f->start + f->len;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	check_state st = {size, 0};
	char	   *out;
	size_t		n;

	ag_pii_scan(s, size, check_cb, &st);

	out = malloc(AG_MASK_MAX(size) + 8);
	if (out == NULL)
		return 0;
	if (ag_mask_email(s, size, true, out) > AG_MASK_MAX(size) ||
		ag_mask_phone(s, size, 2, out) != size ||
		ag_mask_card(s, size, out) != size ||
		ag_mask_iban(s, size, out) != size)
		abort();
	n = ag_mask_partial(s, size, size % 2 == 0, (int) (size % 7), "**", 2,
						(int) (size % 5), out);
	if (n > size + 2)
		abort();
	free(out);
	return 0;
}
