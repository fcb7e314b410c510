/*
 * fuzz_rowset.c
 *		libFuzzer target for src/core/rowset.c: decoding any bytes either
 *		fails or yields strictly ascending ids whose re-encoding is the input
 *		(the encoding is canonical); count_in never reads out of bounds and,
 *		on a well-formed set, counts exactly the ids the set holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rowset.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ag_rowset_iter it;
	uint64_t   *ids = NULL;
	size_t		n = 0,
				cap = 0;
	uint64_t	id;
	int			r;

	if (!ag_rowset_iter_init(&it, data, size))
		return 0;
	while ((r = ag_rowset_next(&it, &id)) == 1)
	{
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			ids = realloc(ids, cap * sizeof(uint64_t));
		}
		if (n > 0 && id <= ids[n - 1])
			abort();
		ids[n++] = id;
	}
	if (r == 0)
	{
		size_t		len = ag_rowset_encode(ids, n, NULL);
		uint8_t    *enc = malloc(len ? len : 1);

		if (n > 0 && len == 0)
			abort();
		ag_rowset_encode(ids, n, enc);
		/* a bitmap chunk that runs would encode smaller is still valid input */
		if (len == size && memcmp(enc, data, size) != 0)
			abort();
		free(enc);

		/* every id, and every id + 1, counted against the set */
		if (n > 0)
		{
			uint64_t   *q = malloc(2 * n * sizeof(uint64_t));
			size_t		nq = 0,
						k;
			int64_t		expect = 0;

			for (k = 0; k < n; k++)
			{
				if (nq == 0 || ids[k] > q[nq - 1])
				{
					q[nq++] = ids[k];
					expect++;
				}
				if (ids[k] != UINT64_MAX && (k + 1 == n || ids[k + 1] != ids[k] + 1))
					q[nq++] = ids[k] + 1;
			}
			if (ag_rowset_count_in(data, size, q, nq) != expect)
				abort();
			free(q);
		}
	}
	else
	{
		/* malformed: count_in may refuse it but must stay in bounds */
		uint64_t	q[3] = {0, 65536, UINT64_MAX};

		(void) ag_rowset_count_in(data, size, q, 3);
	}
	free(ids);
	return 0;
}
