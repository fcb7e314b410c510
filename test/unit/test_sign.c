/*
 * test_sign.c
 *		cmocka tests of src/core/sign.c (Ed25519 signatures of chain heads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "envelope.h"
#include "sign.h"

static const uint8_t seed_a[AG_ED25519_SEED_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t seed_b[AG_ED25519_SEED_LEN] = {8, 7, 6, 5, 4, 3, 2, 1};

static void
rfc8032_test_vector_1(void **state)
{
	/* RFC 8032 section 7.1, TEST 1: the empty message */
	uint8_t		seed[32];
	uint8_t		pub[32];
	uint8_t		expect_pub[32];
	uint8_t		sig[64];
	uint8_t		expect_sig[64];

	(void) state;
	assert_true(ag_hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32));
	assert_true(ag_hex_decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", expect_pub, 32));
	assert_true(ag_hex_decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
							  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
							  expect_sig, 64));
	assert_true(ag_ed25519_public(seed, pub));
	assert_memory_equal(pub, expect_pub, 32);
	assert_true(ag_ed25519_sign(seed, "", 0, sig));
	assert_memory_equal(sig, expect_sig, 64);
	assert_true(ag_ed25519_verify(pub, "", 0, sig));
}

static void
sign_verify_and_tamper(void **state)
{
	char		msg[256];
	int			len;
	uint8_t		pub_a[32],
				pub_b[32],
				sig[64];

	(void) state;
	len = ag_head_message("db-1", 42, "abcd", "2026-12-02T10:00:00.000000Z", msg, sizeof(msg));
	assert_int_equal(len, (int) strlen("ai_guard audit head v1\ndb-1\n42\nabcd\n2026-12-02T10:00:00.000000Z"));
	assert_string_equal(msg, "ai_guard audit head v1\ndb-1\n42\nabcd\n2026-12-02T10:00:00.000000Z");
	assert_true(ag_ed25519_public(seed_a, pub_a));
	assert_true(ag_ed25519_public(seed_b, pub_b));
	assert_true(ag_ed25519_sign(seed_a, msg, len, sig));
	assert_true(ag_ed25519_verify(pub_a, msg, len, sig));
	assert_false(ag_ed25519_verify(pub_b, msg, len, sig));	/* another key */
	sig[5] ^= 1;
	assert_false(ag_ed25519_verify(pub_a, msg, len, sig));	/* a flipped bit */
	sig[5] ^= 1;
	msg[len - 1] = '1';
	assert_false(ag_ed25519_verify(pub_a, msg, len, sig));	/* another time */
}

static void
head_message_refuses_bad_fields(void **state)
{
	char		msg[64];

	(void) state;
	assert_int_equal(ag_head_message("a\nb", 1, "h", "t", msg, sizeof(msg)), -1);
	assert_int_equal(ag_head_message("", 1, "h", "t", msg, sizeof(msg)), -1);
	assert_int_equal(ag_head_message("a", -1, "h", "t", msg, sizeof(msg)), -1);
	assert_int_equal(ag_head_message("a", 1, "h\n", "t", msg, sizeof(msg)), -1);
	assert_int_equal(ag_head_message("a", 1, "h", NULL, msg, sizeof(msg)), -1);
	assert_int_equal(ag_head_message("a", 1, "h", "t", msg, 10), -1);	/* too long */
}

static void
hex_decode_is_exact(void **state)
{
	uint8_t		out[2];

	(void) state;
	assert_true(ag_hex_decode("0aFf", out, 2));
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0xff);
	assert_false(ag_hex_decode("0aF", out, 2));
	assert_false(ag_hex_decode("0aFf0", out, 2));
	assert_false(ag_hex_decode("0g00", out, 2));
	assert_false(ag_hex_decode(NULL, out, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8032_test_vector_1),
		cmocka_unit_test(sign_verify_and_tamper),
		cmocka_unit_test(head_message_refuses_bad_fields),
		cmocka_unit_test(hex_decode_is_exact),
	};

	return cmocka_run_group_tests_name("sign", tests, NULL, NULL);
}
