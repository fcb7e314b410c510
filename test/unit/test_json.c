/*
 * test_json.c
 *		cmocka tests of src/core/json.c, the strict reader of manifests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static ag_json *
parse(const char *s)
{
	char		err[128];

	return ag_json_parse(s, strlen(s), err, sizeof(err));
}

static void
reads_a_manifest_shape(void **state)
{
	ag_json    *v = parse("{\"pull_id\": 42, \"digest\": \"ab12\", \"rows\": 1000,"
						  " \"relations\": [\"demo.customers\", \"demo.tickets\"],"
						  " \"ok\": true, \"none\": null, \"f\": -1.5e3}");
	const ag_json *rels;

	(void) state;
	assert_non_null(v);
	assert_int_equal(v->type, AG_JSON_OBJECT);
	assert_string_equal(ag_json_get_text(v, "pull_id"), "42");
	assert_string_equal(ag_json_get_text(v, "digest"), "ab12");
	assert_string_equal(ag_json_get_text(v, "f"), "-1.5e3");
	rels = ag_json_get(v, "relations");
	assert_non_null(rels);
	assert_int_equal(rels->type, AG_JSON_ARRAY);
	assert_int_equal(rels->n, 2);
	assert_string_equal(rels->items[1]->text, "demo.tickets");
	assert_int_equal(ag_json_get(v, "ok")->type, AG_JSON_TRUE);
	assert_int_equal(ag_json_get(v, "none")->type, AG_JSON_NULL);
	assert_null(ag_json_get(v, "missing"));
	assert_null(ag_json_get_text(v, "relations"));
	ag_json_free(v);
}

static void
decodes_escapes_and_utf8(void **state)
{
	ag_json    *v = parse("\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\ud83d\\ude00 caf\xc3\xa9\"");

	(void) state;
	assert_non_null(v);
	assert_string_equal(v->text, "a\"b\\c/\n\t\xc3\xa9\xf0\x9f\x98\x80 caf\xc3\xa9");
	ag_json_free(v);
}

static void
later_duplicate_key_wins(void **state)
{
	ag_json    *v = parse("{\"digest\": \"aa\", \"digest\": \"bb\"}");

	(void) state;
	assert_string_equal(ag_json_get_text(v, "digest"), "bb");
	ag_json_free(v);
}

static void
rejects_malformed_input(void **state)
{
	static const char *bad[] = {
		"", "{", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "[1 2]", "01", "1.", "-",
		"1e", "+1", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"", "\"a\tb\"", "{} {}",
		"\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "{1:2}", "[\"a\"]]",
	};
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		err[128];
		ag_json    *v = ag_json_parse(bad[i], strlen(bad[i]), err, sizeof(err));

		if (v != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void
refuses_deep_nesting_without_crashing(void **state)
{
	size_t		n = 100000;
	char	   *s = malloc(n * 2 + 1);
	char		err[128];

	(void) state;
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	assert_null(ag_json_parse(s, 2 * n, err, sizeof(err)));
	assert_non_null(strstr(err, "nesting too deep"));
	free(s);

	/* exactly at the limit is fine */
	s = malloc(AG_JSON_MAX_DEPTH * 2 + 2);
	memset(s, '[', AG_JSON_MAX_DEPTH + 1);
	memset(s + AG_JSON_MAX_DEPTH + 1, ']', AG_JSON_MAX_DEPTH + 1);
	{
		ag_json    *v = ag_json_parse(s, AG_JSON_MAX_DEPTH * 2 + 2, err, sizeof(err));

		assert_non_null(v);
		ag_json_free(v);
	}
	free(s);
}

static void
embedded_nul_byte_is_refused(void **state)
{
	char		err[128];

	(void) state;
	assert_null(ag_json_parse("\"a\0b\"", 5, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_a_manifest_shape),
		cmocka_unit_test(decodes_escapes_and_utf8),
		cmocka_unit_test(later_duplicate_key_wins),
		cmocka_unit_test(rejects_malformed_input),
		cmocka_unit_test(refuses_deep_nesting_without_crashing),
		cmocka_unit_test(embedded_nul_byte_is_refused),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
