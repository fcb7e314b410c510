/*
 * test_datagen.c
 *		cmocka tests of the demo data generator (tools/datagen/gen.c): the
 *		same seed gives the same rows, rows do not depend on the scale, and
 *		every card number and IBAN carries valid check digits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "checksum.h"
#include "gen.h"

static void
known_values_for_seed_42(void **state)
{
	ag_customer c;
	ag_ticket	t;

	(void) state;
	ag_gen_customer(42, 1, &c);
	assert_string_equal(c.full_name, "Liam Johnson");
	assert_string_equal(c.email, "liam.johnson865@mail.example.com");
	assert_string_equal(c.card_number, "378282750970343");
	assert_string_equal(c.iban, "DE57283042091772481351");
	assert_string_equal(c.source->name, "web_signup_us");

	ag_gen_customer(42, 2, &c);
	assert_string_equal(c.full_name, "Zoe Jansen");
	assert_string_equal(c.iban, "NL54NWBK3404479432");
	assert_string_equal(c.source->license, "proprietary-internal");

	ag_gen_ticket(42, 6, &t);
	assert_int_equal(t.customer_id, 3);
	assert_non_null(strstr(t.body, "5555552443820004"));
}

static void
same_seed_same_rows_other_seed_other_rows(void **state)
{
	ag_customer a,
				b;
	ag_ticket	ta,
				tb;
	int64_t		id;
	int			differ = 0;

	(void) state;
	for (id = 1; id <= 1000; id++)
	{
		ag_gen_customer(7, id, &a);
		ag_gen_customer(7, id, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		ag_gen_ticket(7, id, &ta);
		ag_gen_ticket(7, id, &tb);
		assert_memory_equal(&ta, &tb, sizeof(ta));
		ag_gen_customer(8, id, &b);
		differ += strcmp(a.email, b.email) != 0;
	}
	assert_true(differ > 990);
}

static void
every_card_passes_luhn_and_every_iban_mod97(void **state)
{
	ag_customer c;
	int64_t		id;
	int			sources[3] = {0, 0, 0};

	(void) state;
	for (id = 1; id <= 20000; id++)
	{
		int			s;

		ag_gen_customer(42, id, &c);
		assert_true(ag_luhn_valid(c.card_number, strlen(c.card_number)));
		assert_true(ag_iban_valid(c.iban, strlen(c.iban)));
		for (s = 0; s < ag_nsources; s++)
			if (c.source == &ag_sources[s])
				sources[s]++;
	}
	/* all three sources are well represented (about 50/30/20 %) */
	assert_in_range(sources[0], 9000, 11000);
	assert_in_range(sources[1], 5000, 7000);
	assert_in_range(sources[2], 3000, 5000);
}

static void
tickets_point_to_earlier_customers(void **state)
{
	ag_ticket	t;
	int64_t		id;

	(void) state;
	for (id = 1; id <= 5000; id++)
	{
		ag_gen_ticket(42, id, &t);
		assert_in_range(t.customer_id, id < 50 ? 1 : id - 49, id);
		assert_true(strlen(t.body) > 40);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_values_for_seed_42),
		cmocka_unit_test(same_seed_same_rows_other_seed_other_rows),
		cmocka_unit_test(every_card_passes_luhn_and_every_iban_mod97),
		cmocka_unit_test(tickets_point_to_earlier_customers),
	};

	return cmocka_run_group_tests_name("datagen", tests, NULL, NULL);
}
