/*
 * test_mask.c
 *		cmocka tests of src/core/mask.c (masking primitives) and
 *		src/core/label.c (the security label grammar).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "label.h"
#include "mask.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char out[4096];

static void
check(size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail_msg("got \"%.*s\", wanted \"%s\"", (int) n, out, want);
}

static void
email_keeps_domain(void **state)
{
	(void) state;
	check(ag_mask_email(S("anna.muller@example.com"), true, out), "a***@example.com");
	check(ag_mask_email(S("a@example.com"), true, out), "***@example.com");
	check(ag_mask_email(S("@example.com"), true, out), "***@example.com");
	check(ag_mask_email(S("no-at-sign"), true, out), "***");
	check(ag_mask_email(S(""), true, out), "***");
	/* a multi-byte first character is kept whole */
	check(ag_mask_email(S("\xc3\xa9lise@example.fr"), true, out), "\xc3\xa9***@example.fr");
	/* the last '@' separates the domain */
	check(ag_mask_email(S("\"a@b\"@example.com"), true, out), "\"***@example.com");
}

static void
digits_keep_last(void **state)
{
	(void) state;
	check(ag_mask_phone(S("+49 30 1234567"), 2, out), "+XX XX XXXXX67");
	check(ag_mask_phone(S("(212) 555-0123"), 4, out), "(XXX) XXX-0123");
	check(ag_mask_phone(S("12"), 2, out), "XX");	/* never shown whole */
	check(ag_mask_phone(S(""), 2, out), "");
	check(ag_mask_card(S("4111 1111 1111 1111"), out), "XXXX XXXX XXXX 1111");
	check(ag_mask_card(S("378282246310005"), out), "XXXXXXXXXXX0005");
	check(ag_mask_card(S("12345"), out), "XXXXX");	/* too short to keep any */
}

static void
iban_keeps_country_and_tail(void **state)
{
	(void) state;
	check(ag_mask_iban(S("DE89 3704 0044 0532 0130 00"), out), "DEXX XXXX XXXX XXXX XX30 00");
	check(ag_mask_iban(S("GB82WEST12345698765432"), out), "GBXXXXXXXXXXXXXXXX5432");
	check(ag_mask_iban(S("DE89"), out), "XXXX");
}

static void
partial_is_utf8_aware(void **state)
{
	(void) state;
	check(ag_mask_partial(S("Genevi\xc3\xa8ve"), true, 2, S("***"), 3, out), "Ge***\xc3\xa8ve");
	check(ag_mask_partial(S("abcdef"), true, 1, S("*"), 1, out), "a*f");
	/* never the whole value */
	check(ag_mask_partial(S("abc"), true, 2, S("*"), 1, out), "*");
	check(ag_mask_partial(S("abc"), true, 5, S("#"), 5, out), "#");
	check(ag_mask_partial(S(""), true, 0, S("x"), 0, out), "x");
	check(ag_mask_partial(S("abcdef"), true, -3, S("*"), 2, out), "*ef");
	/* byte-wise in a single-byte encoding */
	check(ag_mask_partial(S("\xe9t\xe9s"), false, 1, S("*"), 1, out), "\xe9*s");
	assert_int_equal(ag_char_count(S("h\xc3\xa9llo"), true), 5);
	assert_int_equal(ag_char_count(S("h\xc3\xa9llo"), false), 6);
	/* a truncated sequence at the end counts once and stays in bounds */
	assert_int_equal(ag_char_count(S("a\xe2\x82"), true), 2);
}

static void
noise_is_deterministic_and_keyed(void **state)
{
	uint8_t		key1[32] = {1};
	uint8_t		key2[32] = {2};
	double		a,
				b,
				c,
				d;
	int			k;
	double		sum = 0;

	(void) state;
	assert_true(ag_noise(key1, 32, S("training"), 100.0, 0.1, &a));
	assert_true(ag_noise(key1, 32, S("training"), 100.0, 0.1, &b));
	assert_true(a == b);
	assert_true(a >= 90.0 && a <= 110.0);
	assert_true(ag_noise(key2, 32, S("training"), 100.0, 0.1, &c));
	assert_true(ag_noise(key1, 32, S("analytics"), 100.0, 0.1, &d));
	assert_true(a != c && a != d);
	/* -0.0 and 0.0 give the same (zero) result; NaN stays NaN */
	assert_true(ag_noise(key1, 32, S("t"), -0.0, 0.5, &a) && a == 0.0);
	assert_true(ag_noise(key1, 32, S("t"), NAN, 0.5, &a) && isnan(a));
	/* over many values the factor spreads over the range, centred near 1 */
	for (k = 1; k <= 1000; k++)
	{
		assert_true(ag_noise(key1, 32, S("t"), (double) k, 0.2, &a));
		assert_true(a >= k * 0.8 && a <= k * 1.2);
		sum += a / k;
	}
	assert_true(fabs(sum / 1000 - 1.0) < 0.02);

	/* the cached context gives the same results as the one-shot call */
	{
		ag_noise_ctx *c = ag_noise_ctx_new(key1, 32);

		assert_non_null(c);
		for (k = 1; k <= 100; k++)
		{
			assert_true(ag_noise(key1, 32, S("training"), k * 1.5, 0.3, &a));
			assert_true(ag_noise_with(c, S("training"), k * 1.5, 0.3, &b));
			assert_true(a == b);
		}
		ag_noise_ctx_free(c);
	}
}

/*---- label grammar ----*/

static bool
parses(const char *label, ag_label *l)
{
	const char *err = NULL;
	bool		ok = ag_label_parse(label, strlen(label), l, &err);

	assert_true(ok || err != NULL);
	return ok;
}

static void
label_accepts_the_grammar(void **state)
{
	ag_label	l;
	char		buf[300];

	(void) state;
	assert_true(parses("public", &l));
	assert_int_equal(l.cls, AG_CLASS_PUBLIC);
	assert_int_equal(l.fn, AG_FN_NONE);
	assert_true(parses("internal", &l));
	assert_true(parses("pii:email", &l));
	assert_int_equal(l.cls, AG_CLASS_PII);
	assert_int_equal(l.kind_len, 5);
	assert_true(parses("pii:birth_date mask=generalize('decade')", &l));
	assert_int_equal(l.fn, AG_FN_GENERALIZE);
	assert_true(parses("pii:age mask=generalize(10)", &l));
	assert_true(parses("pii:phone mask=mask_phone()", &l));
	assert_true(parses("pii:phone mask=mask_phone(3)", &l));
	assert_true(parses("pii:name mask=partial(1, '***', 1)", &l));
	assert_true(parses("pii:name mask=partial(1,'***',1)", &l));
	assert_int_equal(l.nargs, 3);
	assert_true(parses("pii:salary mask=noise(0.1)", &l));
	assert_true(parses("pii:email mask=pseudonymize('customer_key')", &l));
	assert_true(parses("pii:free_text mask=redact_pii()", &l));
	assert_true(parses("public mask=partial(0, 'it''s', 0)", &l));
	assert_int_equal(ag_label_unquote("public mask=partial(0, 'it''s', 0)", &l.args[1], buf), 4);
	assert_string_equal(buf, "it's");
	assert_string_equal(ag_label_fn_name(AG_FN_MASK_IBAN), "mask_iban");
	assert_true(parses("public", &l));
	assert_false(l.subject);
	assert_true(parses("public subject", &l));
	assert_true(l.subject);
	assert_true(parses("pii:email subject mask=mask_email()", &l));
	assert_true(l.subject);
	assert_int_equal(l.fn, AG_FN_MASK_EMAIL);
	/* shown as stored in masked views (and kept in statistics) */
	assert_false(ag_label_shown_as_stored(&l));
	assert_true(parses("internal", &l));
	assert_true(ag_label_shown_as_stored(&l));
	assert_true(parses("public subject", &l));
	assert_true(ag_label_shown_as_stored(&l));
	assert_true(parses("internal mask=generalize('month')", &l));
	assert_false(ag_label_shown_as_stored(&l));
	assert_true(parses("pii:email", &l));
	assert_false(ag_label_shown_as_stored(&l));
}

static void
label_rejects_everything_else(void **state)
{
	static const char *bad[] = {
		"", "PUBLIC", "public ", " public", "publicx", "pii", "pii:", "pii:Email",
		"pii:e-mail", "pii:email ", "pii:email  mask=mask_email()",
		"pii:email mask=mask_email", "pii:email mask=mask_email(",
		"pii:email mask=mask_email())", "pii:email mask=mask_email() ",
		"pii:email mask=mask_email(); DROP TABLE t; --",
		"pii:email mask=md5()", "pii:email mask=pg_sleep(10)",
		"pii:email mask=mask_email(email)", "pii:email mask=mask_email(1)",
		"pii:name mask=partial(1, '***')", "pii:name mask=partial('1', '***', 1)",
		"pii:name mask=partial(-1, '***', 1)", "pii:name mask=partial(1.5, '*', 1)",
		"pii:x mask=generalize('century')", "pii:x mask=generalize(0)",
		"pii:x mask=generalize(-5)", "pii:x mask=noise(0)", "pii:x mask=noise(2)",
		"pii:x mask=noise(1e3)", "pii:x mask=noise(0x10)", "pii:x mask=noise(.5)",
		"pii:x mask=pseudonymize('')", "pii:x mask=pseudonymize('a'||'b')",
		"pii:x mask=pseudonymize('unterminated)", "pii:x mask=partial(1, 'a\tb', 1)",
		"pii:x mask=partial(1, \"a\", 1)", "pii:x mask=redact_pii(1, 2, 3, 4)",
		"pii:x mask=mask_phone(99)", "pii:x mask=mask_phone(1,2)",
		"internal mask=mask_email()x", "pii:x mask=(mask_email())",
		"pii:x\nmask=mask_email()", "public subject ", "public subjects",
		"public mask=mask_email() subject", "public subject subject",
	};
	ag_label	l;
	size_t		k;

	(void) state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		if (parses(bad[k], &l))
			fail_msg("accepted \"%s\"", bad[k]);
	/* NUL inside, over-long kind, string and label */
	{
		const char	nul[] = "pii:email\0 mask=mask_email()";
		const char *err;
		char		longkind[80];
		char		longlabel[1100];
		char		longstr[300];

		assert_false(ag_label_parse(nul, sizeof(nul) - 1, &l, &err));
		memset(longkind, 'a', sizeof(longkind));
		memcpy(longkind, "pii:", 4);
		assert_false(ag_label_parse(longkind, sizeof(longkind), &l, &err));
		memset(longlabel, 'a', sizeof(longlabel));
		memcpy(longlabel, "pii:", 4);
		assert_false(ag_label_parse(longlabel, sizeof(longlabel), &l, &err));
		snprintf(longstr, sizeof(longstr), "pii:x mask=pseudonymize('%0270d')", 0);
		assert_false(parses(longstr, &l));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(email_keeps_domain),
		cmocka_unit_test(digits_keep_last),
		cmocka_unit_test(iban_keeps_country_and_tail),
		cmocka_unit_test(partial_is_utf8_aware),
		cmocka_unit_test(noise_is_deterministic_and_keyed),
		cmocka_unit_test(label_accepts_the_grammar),
		cmocka_unit_test(label_rejects_everything_else),
	};

	return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
