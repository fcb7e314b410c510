/*
 * test_digest.c
 *		cmocka tests of src/core/digest.c: SHA-256 streaming, COPY text
 *		escaping, the audit chain hash and purpose syntax.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void
sha256_known_vectors(void **state)
{
	char		hex[65];

	(void) state;
	assert_true(ag_sha256_hex("", 0, hex));
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_true(ag_sha256_hex(S("abc"), hex));
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Any split of the input into updates gives the one-shot digest. */
static void
sha256_streaming_equals_one_shot(void **state)
{
	size_t		n = 100000;
	unsigned char *data = malloc(n);
	char		want[65],
				got[65];
	size_t		i,
				off,
				step;

	(void) state;
	for (i = 0; i < n; i++)
		data[i] = (unsigned char) (i * 7 + 3);
	assert_true(ag_sha256_hex(data, n, want));
	for (step = 1; step < 40000; step = step * 3 + 1)
	{
		ag_sha256  *h = ag_sha256_new();

		assert_non_null(h);
		for (off = 0; off < n; off += step)
			assert_true(ag_sha256_update(h, data + off, off + step > n ? n - off : step));
		assert_true(ag_sha256_final_hex(h, got));
		assert_string_equal(got, want);
		/* finalized: no more updates */
		assert_false(ag_sha256_update(h, "x", 1));
		ag_sha256_free(h);
	}
	ag_sha256_free(NULL);
	free(data);
}

static void
copy_escape_matches_copy_to(void **state)
{
	char		out[64];
	size_t		n;

	(void) state;
	n = ag_copy_escape(S("plain text"), out);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "plain text", 10);
	n = ag_copy_escape(S("a\tb\nc\\d\re\bf\fg\vh"), out);
	assert_int_equal(n, strlen("a\\tb\\nc\\\\d\\re\\bf\\fg\\vh"));
	assert_memory_equal(out, "a\\tb\\nc\\\\d\\re\\bf\\fg\\vh", n);
	/* other control characters pass unchanged, as COPY writes them */
	n = ag_copy_escape(S("\x01\x1f"), out);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x01\x1f", 2);
	/* non-ASCII bytes are copied unchanged: UTF-8 "Zoë ☃" */
	n = ag_copy_escape(S("Zo\xc3\xab \xe2\x98\x83"), out);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "Zo\xc3\xab \xe2\x98\x83", 8);
	assert_int_equal(ag_copy_escape("", 0, out), 0);
	assert_string_equal(AG_COPY_NULL, "\\N");
}

static void
copy_unescape_inverts_and_rejects(void **state)
{
	char		out[64];
	size_t		n;
	char		esc[128];
	const char	src[] = "x\\y\tz\n\r\b\f\v\x01 end";

	(void) state;
	n = ag_copy_escape(src, sizeof(src) - 1, esc);
	assert_true(ag_copy_unescape(esc, n, out, &n));
	assert_int_equal(n, sizeof(src) - 1);
	assert_memory_equal(out, src, n);
	assert_false(ag_copy_unescape(S("ab\\"), out, &n));	/* lone backslash */
	assert_false(ag_copy_unescape(S("\\x41"), out, &n));	/* not written by COPY TO */
	assert_false(ag_copy_unescape(S("\\N"), out, &n));	/* NULL marker is not a value */
	assert_false(ag_copy_unescape(S("a\tb"), out, &n));	/* raw delimiter */
}

static void
record_hash_is_injective_on_framing(void **state)
{
	char		a[65],
				b[65],
				c[65];
	const char *f1[] = {"ab", "c"};
	size_t		l1[] = {2, 1};
	const char *f2[] = {"a", "bc"};
	size_t		l2[] = {1, 2};
	const char *f3[] = {NULL, "c"};
	const char *f4[] = {"", "c"};
	size_t		l4[] = {0, 1};

	(void) state;
	assert_true(ag_record_hash(S("prev"), f1, l1, 2, a));
	assert_true(ag_record_hash(S("prev"), f2, l2, 2, b));
	assert_string_not_equal(a, b);
	/* NULL differs from the empty string */
	assert_true(ag_record_hash(S("prev"), f3, l1, 2, b));
	assert_true(ag_record_hash(S("prev"), f4, l4, 2, c));
	assert_string_not_equal(b, c);
	/* the previous hash is part of the input */
	assert_true(ag_record_hash(S("prew"), f1, l1, 2, b));
	assert_string_not_equal(a, b);
	/* deterministic, and a NULL prev equals an empty one */
	assert_true(ag_record_hash(S("prev"), f1, l1, 2, b));
	assert_string_equal(a, b);
	assert_true(ag_record_hash(NULL, 0, f1, l1, 2, b));
	assert_true(ag_record_hash("", 0, f1, l1, 2, c));
	assert_string_equal(b, c);
	assert_int_equal(strlen(a), 64);
	/* a fixed vector, so that the format cannot change unnoticed */
	assert_true(ag_record_hash(NULL, 0, NULL, NULL, 0, a));
	assert_true(ag_sha256_hex(S("ai_guard audit v1\n\n"), b));
	assert_string_equal(a, b);
	assert_false(ag_record_hash(NULL, 0, NULL, NULL, -1, a));
}

static void
purpose_syntax(void **state)
{
	(void) state;
	assert_int_equal(ag_purpose_class_len(S("training")), 8);
	assert_int_equal(ag_purpose_class_len(S("training:churn-v3")), 8);
	assert_int_equal(ag_purpose_class_len(S("a_b-1:x:y Z")), 5);
	assert_int_equal(ag_purpose_class_len(S("")), -1);
	assert_int_equal(ag_purpose_class_len(S(":x")), -1);
	assert_int_equal(ag_purpose_class_len(S("Training")), -1);
	assert_int_equal(ag_purpose_class_len(S("tr aining")), -1);
	assert_int_equal(ag_purpose_class_len(S("training:a\nb")), -1);
	assert_int_equal(ag_purpose_class_len(NULL, 3), -1);
	{
		char		big[1100];

		memset(big, 'a', sizeof(big));
		assert_int_equal(ag_purpose_class_len(big, 63), 63);
		assert_int_equal(ag_purpose_class_len(big, 64), -1);
		big[10] = ':';
		assert_int_equal(ag_purpose_class_len(big, 1024), 10);
		assert_int_equal(ag_purpose_class_len(big, 1025), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_known_vectors),
		cmocka_unit_test(sha256_streaming_equals_one_shot),
		cmocka_unit_test(copy_escape_matches_copy_to),
		cmocka_unit_test(copy_unescape_inverts_and_rejects),
		cmocka_unit_test(record_hash_is_injective_on_framing),
		cmocka_unit_test(purpose_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
