/*
 * test_rowdigest.c
 *		cmocka tests of src/core/rowdigest.c: the canonical row encoding and
 *		its SHA-256 digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rowdigest.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static int
setup(void **state)
{
	*state = ag_rowdigest_new();
	return *state ? 0 : -1;
}

static int
teardown(void **state)
{
	ag_rowdigest_free(*state);
	return 0;
}

/* digest of a row given as name/value string pairs, NULL-terminated */
static void
digest_of(ag_rowdigest *ctx, const char *const *pairs, uint8_t out[32])
{
	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	for (; pairs[0] != NULL; pairs += 2)
		assert_int_equal(ag_rowdigest_add(ctx, pairs[0], strlen(pairs[0]),
										  pairs[1], strlen(pairs[1])),
						 AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_end(ctx, out), AG_ROWDIGEST_OK);
}

static void
encoding_is_exactly_as_documented(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		buf[64];
	uint8_t		d[32];
	uint8_t		want[32];
	static const uint8_t expect[] = {
		'A', 'G', 'R', '1',
		0x01, 0x00, 0x01, 'a', 0x00, 0x00, 0x00, 0x02, 'h', 'i',
		0x01, 0x00, 0x02, 'b', 'c', 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02
	};

	ag_rowdigest_capture(ctx, buf, sizeof(buf));
	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("a"), S("hi")), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("bc"), "", 0), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_end(ctx, d), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_captured(ctx), sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	/* the digest is the SHA-256 of exactly those bytes */
	assert_true(ag_sha256(expect, sizeof(expect), want));
	assert_memory_equal(d, want, 32);
	ag_rowdigest_capture(ctx, NULL, 0);
}

static void
known_answer_for_empty_row(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		d[32];
	char		hex[65];
	static const char *const none[] = {NULL};

	digest_of(ctx, none, d);
	ag_hex_encode(d, 32, hex);
	/* sha256 of "AGR1" 00 00000000, computed with sha256sum */
	assert_string_equal(hex,
						"7462389c9c2771e4f90c2c20521a1d5c50fd8b622a1e8306ff448dd0afc523f6");
}

static void
value_boundaries_are_unambiguous(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		d1[32], d2[32], d3[32];
	static const char *const r1[] = {"a", "xy", "b", "z", NULL};
	static const char *const r2[] = {"a", "x", "b", "yz", NULL};
	static const char *const r3[] = {"a", "xy", NULL};

	digest_of(ctx, r1, d1);
	digest_of(ctx, r2, d2);
	digest_of(ctx, r3, d3);
	assert_memory_not_equal(d1, d2, 32);
	assert_memory_not_equal(d1, d3, 32);
}

static void
empty_value_differs_from_absent_column(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		d1[32], d2[32];
	static const char *const r1[] = {"a", "1", "b", "", NULL};
	static const char *const r2[] = {"a", "1", NULL};

	digest_of(ctx, r1, d1);
	digest_of(ctx, r2, d2);
	assert_memory_not_equal(d1, d2, 32);
}

static void
context_is_reusable_and_deterministic(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		d1[32], d2[32];
	static const char *const r[] = {"id", "42", "name", "Anna", NULL};
	static const char *const other[] = {"id", "43", NULL};

	digest_of(ctx, r, d1);
	digest_of(ctx, other, d2);
	digest_of(ctx, r, d2);
	assert_memory_equal(d1, d2, 32);
}

static void
names_must_ascend_strictly(void **state)
{
	ag_rowdigest *ctx = *state;

	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("b"), S("1")), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("a"), S("1")), AG_ROWDIGEST_ERR_ORDER);
	assert_int_equal(ag_rowdigest_add(ctx, S("b"), S("1")), AG_ROWDIGEST_ERR_ORDER);
	/* a proper prefix sorts first */
	assert_int_equal(ag_rowdigest_add(ctx, S("bb"), S("1")), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("b"), S("1")), AG_ROWDIGEST_ERR_ORDER);
}

static void
calls_out_of_sequence_are_refused(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		d[32];
	char		big[1];

	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_end(ctx, d), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_end(ctx, d), AG_ROWDIGEST_ERR_STATE);
	assert_int_equal(ag_rowdigest_add(ctx, S("a"), S("1")), AG_ROWDIGEST_ERR_STATE);
	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, big, (size_t) AG_ROWENC_MAX_NAME + 1, "", 0),
					 AG_ROWDIGEST_ERR_TOO_LONG);
	assert_string_equal(ag_rowdigest_strerror(AG_ROWDIGEST_ERR_ORDER),
						"column names are not in strictly ascending order");
}

struct collect
{
	int			n;
	char		names[4][8];
};

static int
collect_fn(void *arg, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen)
{
	struct collect *c = arg;

	(void) v;
	(void) vlen;
	if (c->n >= 4 || nlen >= 8)
		return 1;
	memcpy(c->names[c->n], name, nlen);
	c->names[c->n][nlen] = '\0';
	c->n++;
	return 0;
}

static void
parse_round_trips_and_rejects_noncanonical(void **state)
{
	ag_rowdigest *ctx = *state;
	uint8_t		buf[128];
	uint8_t		d[32];
	size_t		len;
	struct collect c = {0};

	ag_rowdigest_capture(ctx, buf, sizeof(buf));
	assert_int_equal(ag_rowdigest_begin(ctx), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("city"), S("Berlin")), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_add(ctx, S("id"), S("7")), AG_ROWDIGEST_OK);
	assert_int_equal(ag_rowdigest_end(ctx, d), AG_ROWDIGEST_OK);
	len = ag_rowdigest_captured(ctx);
	ag_rowdigest_capture(ctx, NULL, 0);

	assert_int_equal(ag_rowenc_parse(buf, len, collect_fn, &c), 2);
	assert_string_equal(c.names[0], "city");
	assert_string_equal(c.names[1], "id");

	/* truncated, extended, wrong count, wrong magic, bad marker */
	assert_int_equal(ag_rowenc_parse(buf, len - 1, NULL, NULL), -1);
	assert_int_equal(ag_rowenc_parse(buf, len + 1, NULL, NULL), -1);
	buf[len - 1] ^= 1;
	assert_int_equal(ag_rowenc_parse(buf, len, NULL, NULL), -1);
	buf[len - 1] ^= 1;
	buf[0] = 'X';
	assert_int_equal(ag_rowenc_parse(buf, len, NULL, NULL), -1);
	buf[0] = 'A';
	buf[4] = 0x02;
	assert_int_equal(ag_rowenc_parse(buf, len, NULL, NULL), -1);
	buf[4] = 0x01;
	/* swap the names' first letters: out of order */
	buf[7] = 'j';
	assert_int_equal(ag_rowenc_parse(buf, len, NULL, NULL), -1);
	assert_int_equal(ag_rowenc_parse(NULL, 0, NULL, NULL), -1);
}

static void
hex_encoding(void **state)
{
	char		out[9];
	static const uint8_t in[] = {0x00, 0x7f, 0xab, 0xff};

	(void) state;
	ag_hex_encode(in, 4, out);
	assert_string_equal(out, "007fabff");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(encoding_is_exactly_as_documented, setup, teardown),
		cmocka_unit_test_setup_teardown(known_answer_for_empty_row, setup, teardown),
		cmocka_unit_test_setup_teardown(value_boundaries_are_unambiguous, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_value_differs_from_absent_column, setup, teardown),
		cmocka_unit_test_setup_teardown(context_is_reusable_and_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(names_must_ascend_strictly, setup, teardown),
		cmocka_unit_test_setup_teardown(calls_out_of_sequence_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(parse_round_trips_and_rejects_noncanonical, setup, teardown),
		cmocka_unit_test(hex_encoding),
	};

	return cmocka_run_group_tests_name("rowdigest", tests, NULL, NULL);
}
