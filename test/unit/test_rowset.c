/*
 * test_rowset.c
 *		cmocka tests of src/core/rowset.c: round trips, sizes, and refusal of
 *		malformed encodings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rowset.h"

static uint8_t *
encode(const uint64_t *ids, size_t n, size_t *len)
{
	uint8_t    *out;

	*len = ag_rowset_encode(ids, n, NULL);
	assert_true(*len > 0);
	out = malloc(*len);
	assert_int_equal(ag_rowset_encode(ids, n, out), *len);
	return out;
}

static void
assert_roundtrip(const uint64_t *ids, size_t n)
{
	size_t		len;
	uint8_t    *enc = encode(ids, n, &len);
	ag_rowset_iter it;
	uint64_t	id;
	size_t		i = 0;
	int			r;

	assert_true(ag_rowset_iter_init(&it, enc, len));
	assert_int_equal(ag_rowset_count(&it), n);
	while ((r = ag_rowset_next(&it, &id)) == 1)
	{
		assert_true(i < n);
		assert_int_equal(id, ids[i]);
		i++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(i, n);
	free(enc);
}

static void
roundtrips_shapes(void **state)
{
	static const uint64_t one[] = {1};
	static const uint64_t zero[] = {0};
	static const uint64_t edges[] = {0, 65535, 65536, 65537, 131071, 131072,
	UINT64_MAX - 1, UINT64_MAX};
	static const uint64_t scattered[] = {3, 5, 7, 1000, 1001, 1002, 70000, 9000000000ULL};
	uint64_t   *dense = malloc(200000 * sizeof(uint64_t));
	size_t		i;

	(void) state;
	assert_roundtrip(NULL, 0);
	assert_roundtrip(one, 1);
	assert_roundtrip(zero, 1);
	assert_roundtrip(edges, 8);
	assert_roundtrip(scattered, 8);
	for (i = 0; i < 200000; i++)
		dense[i] = i + 1;
	assert_roundtrip(dense, 200000);
	for (i = 0; i < 100000; i++)
		dense[i] = 2 * i + 7;	/* every other id: bitmap chunks */
	assert_roundtrip(dense, 100000);
	free(dense);
}

static void
sort_unique_dedupes(void **state)
{
	uint64_t	ids[] = {9, 3, 3, 7, 1, 9, 9, 2};
	size_t		n = ag_rowset_sort_unique(ids, 8);

	(void) state;
	assert_int_equal(n, 5);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 3);
	assert_int_equal(ids[3], 7);
	assert_int_equal(ids[4], 9);
	assert_int_equal(ag_rowset_sort_unique(ids, 0), 0);
}

static void
refuses_unsorted_input(void **state)
{
	uint64_t	ids[] = {1, 3, 2};
	uint64_t	dup[] = {1, 1};

	(void) state;
	assert_int_equal(ag_rowset_encode(ids, 3, NULL), 0);
	assert_int_equal(ag_rowset_encode(dup, 2, NULL), 0);
}

/* bytes per id for the shapes a pull produces, out of 1,000,000 rows */
static void
sizes_at_one_million(void **state)
{
	size_t		n = 1000000,
				i,
				k;
	uint64_t   *ids = malloc(n * sizeof(uint64_t));
	uint64_t	x = 88172645463325252ULL;
	size_t		len;

	(void) state;
	for (i = 0; i < n; i++)
		ids[i] = i + 1;
	len = ag_rowset_encode(ids, n, NULL);
	printf("# all 1,000,000 ids: %zu bytes (%.6f bytes/id)\n", len, (double) len / n);
	assert_true(len < 16 * 40);

	/* a 10% random sample of 1,000,000 rows */
	for (i = 0, k = 0; i < n; i++)
	{
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 10 == 0)
			ids[k++] = i + 1;
	}
	len = ag_rowset_encode(ids, k, NULL);
	printf("# 10%% sample (%zu ids): %zu bytes (%.3f bytes/id)\n", k, len, (double) len / k);
	assert_true((double) len / k < 1.5);

	/* a 50% random sample: bitmaps, 1 bit per id of the range */
	for (i = 0, k = 0; i < n; i++)
	{
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 2 == 0)
			ids[k++] = i + 1;
	}
	len = ag_rowset_encode(ids, k, NULL);
	printf("# 50%% sample (%zu ids): %zu bytes (%.3f bytes/id)\n", k, len, (double) len / k);
	assert_true((double) len / k < 0.3);
	assert_roundtrip(ids, k);
	free(ids);
}

static int
walk(const uint8_t *data, size_t len)
{
	ag_rowset_iter it;
	uint64_t	id;
	int			r;

	if (!ag_rowset_iter_init(&it, data, len))
		return -1;
	while ((r = ag_rowset_next(&it, &id)) == 1)
		;
	return r;
}

static void
refuses_malformed_encodings(void **state)
{
	static const uint64_t ids[] = {5, 6, 7, 100, 70000};
	size_t		len,
				cut;
	uint8_t    *enc = encode(ids, 5, &len);
	uint8_t    *copy = malloc(len + 1);

	(void) state;
	assert_int_equal(walk(enc, len), 0);
	/* every truncation fails */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(walk(enc, cut), -1);
	/* a trailing byte fails */
	memcpy(copy, enc, len);
	copy[len] = 0;
	assert_int_equal(walk(copy, len + 1), -1);
	/* a wrong count fails */
	memcpy(copy, enc, len);
	copy[2] = 4;
	assert_int_equal(walk(copy, len), -1);
	copy[2] = 6;
	assert_int_equal(walk(copy, len), -1);
	/* wrong magic, version, chunk kind */
	memcpy(copy, enc, len);
	copy[0] = 'X';
	assert_int_equal(walk(copy, len), -1);
	memcpy(copy, enc, len);
	copy[1] = 2;
	assert_int_equal(walk(copy, len), -1);
	memcpy(copy, enc, len);
	copy[4] = 7;				/* kind of the first chunk */
	assert_int_equal(walk(copy, len), -1);
	free(copy);
	free(enc);

	{
		/* a run past the end of its chunk: start 65535, length 2 */
		static const uint8_t past[] = {'R', 1, 2, 0, 0, 1, 0xff, 0xff, 0x03, 1};
		/* adjacent runs (gap 0) are not canonical */
		static const uint8_t adjacent[] = {'R', 1, 2, 0, 0, 2, 1, 0, 0, 0};
		/* an empty runs chunk */
		static const uint8_t empty[] = {'R', 1, 0, 0, 0, 0};
		/* an overlong varint */
		static const uint8_t overlong[] = {'R', 1, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0x7f};

		assert_int_equal(walk(past, sizeof(past)), -1);
		assert_int_equal(walk(adjacent, sizeof(adjacent)), -1);
		assert_int_equal(walk(empty, sizeof(empty)), -1);
		assert_int_equal(walk(overlong, sizeof(overlong)), -1);
	}
}

/*---- the builder and count_in ----*/

static void *
plain_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
plain_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static const ag_rowset_alloc plain_mem = {plain_realloc, plain_free, NULL};

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Feeds ids (shuffled, with duplicates) to a builder and checks that the
 * segments hold exactly the sorted distinct ids, each segment within its
 * 2^20 range, and that every segment's encoding round-trips.
 */
static void
assert_builder_matches(uint64_t *ids, size_t n, uint64_t seed)
{
	ag_rowset_builder b;
	uint64_t   *ref = malloc((n + 1) * sizeof(uint64_t));
	size_t		nref,
				i,
				got = 0;
	uint64_t	segment;
	const uint64_t *seg;
	size_t		nseg;
	uint64_t	prev_segment = 0;
	int			segments = 0;

	memcpy(ref, ids, n * sizeof(uint64_t));
	nref = ag_rowset_sort_unique(ref, n);
	ag_rowset_builder_init(&b, &plain_mem);
	/* each id once in shuffled order, then every tenth again */
	for (i = n; i > 1; i--)
	{
		size_t		j = next_rand(&seed) % i;
		uint64_t	t = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	for (i = 0; i < n; i++)
		ag_rowset_builder_add(&b, ids[i]);
	for (i = 0; i < n; i += 10)
		ag_rowset_builder_add(&b, ids[i]);
	ag_rowset_builder_finish(&b);
	while (ag_rowset_builder_next_segment(&b, &segment, &seg, &nseg))
	{
		assert_true(nseg > 0);
		if (segments++ > 0)
			assert_true(segment > prev_segment);
		prev_segment = segment;
		for (i = 0; i < nseg; i++)
		{
			assert_true(got < nref);
			assert_true(seg[i] == ref[got]);
			assert_true((seg[i] >> AG_ROWSET_SEGMENT_BITS) == segment);
			got++;
		}
		assert_roundtrip(seg, nseg);
	}
	assert_false(b.failed);
	assert_int_equal(got, nref);
	ag_rowset_builder_free(&b);
	free(ref);
}

static void
builder_collects_any_order(void **state)
{
	size_t		n = 300000;
	uint64_t   *ids = malloc(n * sizeof(uint64_t));
	uint64_t	s = 42;
	size_t		i;

	(void) state;
	/* dense: one whole range crossing segments (bitmaps) */
	for (i = 0; i < n; i++)
		ids[i] = 1000000 + i;
	assert_builder_matches(ids, n, 7);
	/* sparse: random ids over a wide range (stay pending) */
	for (i = 0; i < n; i++)
		ids[i] = next_rand(&s) % 4000000000ULL;
	assert_builder_matches(ids, n, 8);
	/* mixed: a dense block and scattered ids */
	for (i = 0; i < n; i++)
		ids[i] = (i % 3 == 0) ? next_rand(&s) % 100000000ULL : 5000000 + i;
	assert_builder_matches(ids, n, 9);
	/* a few ids, and the largest */
	ids[0] = 0;
	ids[1] = UINT64_MAX;
	ids[2] = 65535;
	assert_builder_matches(ids, 3, 10);
	free(ids);
}

static void
builder_empty_and_reset(void **state)
{
	ag_rowset_builder b;
	uint64_t	segment;
	const uint64_t *seg;
	size_t		n;

	(void) state;
	ag_rowset_builder_init(&b, &plain_mem);
	ag_rowset_builder_finish(&b);
	assert_false(ag_rowset_builder_next_segment(&b, &segment, &seg, &n));
	ag_rowset_builder_add(&b, 5);
	ag_rowset_builder_reset(&b);
	ag_rowset_builder_add(&b, 9);
	ag_rowset_builder_finish(&b);
	assert_true(ag_rowset_builder_next_segment(&b, &segment, &seg, &n));
	assert_int_equal(n, 1);
	assert_true(seg[0] == 9);
	assert_false(ag_rowset_builder_next_segment(&b, &segment, &seg, &n));
	ag_rowset_builder_free(&b);
}

/* count_in agrees with a plain search, on runs and on bitmaps */
static void
count_in_matches_search(void **state)
{
	size_t		n = 200000,
				nq = 5000,
				i;
	uint64_t   *ids = malloc(n * sizeof(uint64_t));
	uint64_t   *q = malloc(nq * sizeof(uint64_t));
	uint64_t	s = 99;
	int			shape;

	(void) state;
	for (shape = 0; shape < 3; shape++)
	{
		size_t		len,
					nids,
					nqs;
		uint8_t    *enc;
		int64_t		expect = 0;

		for (i = 0; i < n; i++)
			ids[i] = shape == 0 ? 70000 + i :
				shape == 1 ? next_rand(&s) % 400000 :
				next_rand(&s) % 100000000ULL;
		nids = ag_rowset_sort_unique(ids, n);
		for (i = 0; i < nq; i++)
			q[i] = (i % 2) ? ids[next_rand(&s) % nids] : next_rand(&s) % 100000000ULL;
		nqs = ag_rowset_sort_unique(q, nq);
		for (i = 0; i < nqs; i++)
		{
			size_t		lo = 0,
						hi = nids;

			while (lo < hi)
			{
				size_t		mid = (lo + hi) / 2;

				if (ids[mid] < q[i])
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nids && ids[lo] == q[i])
				expect++;
		}
		enc = encode(ids, nids, &len);
		assert_true(ag_rowset_count_in(enc, len, q, nqs) == expect);
		assert_true(ag_rowset_count_in(enc, len, q, 0) == 0);
		assert_true(ag_rowset_count_in(enc, len - 1, q, nqs) <= expect);
		assert_true(ag_rowset_count_in(enc, 2, q, nqs) == -1);
		free(enc);
	}
	free(ids);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrips_shapes),
		cmocka_unit_test(sort_unique_dedupes),
		cmocka_unit_test(refuses_unsorted_input),
		cmocka_unit_test(sizes_at_one_million),
		cmocka_unit_test(refuses_malformed_encodings),
		cmocka_unit_test(builder_collects_any_order),
		cmocka_unit_test(builder_empty_and_reset),
		cmocka_unit_test(count_in_matches_search),
	};

	return cmocka_run_group_tests_name("rowset", tests, NULL, NULL);
}
