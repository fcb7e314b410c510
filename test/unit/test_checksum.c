/*
 * test_checksum.c
 *		cmocka tests of src/core/checksum.c (Luhn and IBAN mod 97).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "checksum.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void
luhn_accepts_published_test_cards(void **state)
{
	(void) state;
	assert_true(ag_luhn_valid(S("4111111111111111")));
	assert_true(ag_luhn_valid(S("5555555555554444")));
	assert_true(ag_luhn_valid(S("378282246310005")));
	assert_true(ag_luhn_valid(S("6011111111111117")));
	assert_true(ag_luhn_valid(S("79927398713")));
}

static void
luhn_rejects_near_misses(void **state)
{
	(void) state;
	assert_false(ag_luhn_valid(S("4111111111111112")));
	assert_false(ag_luhn_valid(S("79927398710")));
	assert_false(ag_luhn_valid(S("4111-1111-1111-1111")));	/* separators */
	assert_false(ag_luhn_valid(S("")));
	assert_false(ag_luhn_valid(S("0")));
}

static void
luhn_check_digit_completes_numbers(void **state)
{
	char		buf[20];

	(void) state;
	assert_int_equal(ag_luhn_check_digit(S("7992739871")), '3');
	assert_int_equal(ag_luhn_check_digit(S("411111111111111")), '1');
	/* every completion of a 15-digit prefix is valid */
	memcpy(buf, "400000123456789", 15);
	buf[15] = ag_luhn_check_digit(buf, 15);
	assert_true(ag_luhn_valid(buf, 16));
}

static void
iban_accepts_valid_examples(void **state)
{
	(void) state;
	assert_true(ag_iban_valid(S("DE89370400440532013000")));
	assert_true(ag_iban_valid(S("GB82WEST12345698765432")));
	assert_true(ag_iban_valid(S("FR1420041010050500013M02606")));
	assert_true(ag_iban_valid(S("NL91ABNA0417164300")));
}

static void
iban_rejects_bad_check_digits_and_shapes(void **state)
{
	(void) state;
	assert_false(ag_iban_valid(S("DE89370400440532013001")));
	assert_false(ag_iban_valid(S("DE88370400440532013000")));
	assert_false(ag_iban_valid(S("de89370400440532013000")));
	assert_false(ag_iban_valid(S("DE8937040044")));
	assert_false(ag_iban_valid(S("DE89 3704 0044 0532 0130 00")));
	assert_false(ag_iban_valid(S("")));
}

static void
iban_check_digits_roundtrip(void **state)
{
	char		check[2];
	char		iban[40];

	(void) state;
	assert_true(ag_iban_check_digits("DE", S("370400440532013000"), check));
	assert_memory_equal(check, "89", 2);
	assert_true(ag_iban_check_digits("GB", S("WEST12345698765432"), check));
	assert_memory_equal(check, "82", 2);
	assert_false(ag_iban_check_digits("DE", S("37040044-532013000"), check));
	assert_false(ag_iban_check_digits("de", S("370400440532013000"), check));

	memcpy(iban, "NL", 2);
	assert_true(ag_iban_check_digits("NL", S("ABNA0417164300"), iban + 2));
	memcpy(iban + 4, "ABNA0417164300", 14);
	assert_true(ag_iban_valid(iban, 18));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(luhn_accepts_published_test_cards),
		cmocka_unit_test(luhn_rejects_near_misses),
		cmocka_unit_test(luhn_check_digit_completes_numbers),
		cmocka_unit_test(iban_accepts_valid_examples),
		cmocka_unit_test(iban_rejects_bad_check_digits_and_shapes),
		cmocka_unit_test(iban_check_digits_roundtrip),
	};

	return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}
