/*
 * test_envelope.c
 *		cmocka tests of src/core/envelope.c: the envelope parser, sealing and
 *		opening with every algorithm, tampering, key wrapping and HMAC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "envelope.h"

/*
 * Reference: OpenSSL's own AES-256-SIV over the same associated data items
 * (header, context) and the padded plaintext; envelope.c must produce the
 * same synthetic IV and ciphertext.
 */
static int
openssl_siv(const uint8_t *key, const uint8_t *header, const uint8_t *aad,
			size_t aadlen, const uint8_t *msg, size_t msglen,
			uint8_t *tag, uint8_t *ct)
{
	EVP_CIPHER *siv = EVP_CIPHER_fetch(NULL, "AES-256-SIV", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			outl;
	int			ok;

	ok = EVP_EncryptInit_ex2(ctx, siv, key, NULL, NULL) &&
		EVP_EncryptUpdate(ctx, NULL, &outl, header, 12) &&
		EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int) aadlen) &&
		EVP_EncryptUpdate(ctx, ct, &outl, msg, (int) msglen) &&
		EVP_EncryptFinal_ex(ctx, ct + outl, &outl) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(siv);
	return ok;
}

static uint8_t key64[64];
static uint8_t master[AG_MASTER_KEY_LEN];

static void
fill_keys(void)
{
	int			i;

	for (i = 0; i < 64; i++)
		key64[i] = (uint8_t) i;
	for (i = 0; i < AG_MASTER_KEY_LEN; i++)
		master[i] = (uint8_t) (0xa0 + i);
}

static size_t
seal(ag_cipher *c, const char *pt, const char *aad, uint8_t *out, size_t cap)
{
	size_t		n = 0;

	assert_int_equal(ag_seal(c, 7, 3, (const uint8_t *) pt, strlen(pt),
							 (const uint8_t *) aad, strlen(aad), out, cap, &n),
					 AG_OK);
	return n;
}

static ag_status
open_env(ag_cipher *c, const uint8_t *buf, size_t len, const char *aad,
		 uint8_t *out, size_t cap, size_t *outlen)
{
	ag_envelope env;
	ag_status	st = ag_envelope_parse(buf, len, &env);

	if (st != AG_OK)
		return st;
	return ag_open(c, &env, (const uint8_t *) aad, strlen(aad), out, cap, outlen);
}

static void
parse_rejects_short_and_foreign(void **state)
{
	ag_envelope env;
	uint8_t		buf[64];

	(void) state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ag_envelope_parse(NULL, 0, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 0, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 1, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_MAGIC);
	memcpy(buf, "\xc3\x0d", 2);		/* a pgp message start */
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_MAGIC);

	ag_envelope_write_header(buf, AG_ALG_AES256_GCM, 1, 1);
	/* header alone, header + nonce, one byte short of the tag */
	assert_int_equal(ag_envelope_parse(buf, 11, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 12, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 12 + 12 + 15, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 12 + 12 + 16, &env), AG_OK);
	assert_int_equal(env.ct_len, 0);

	ag_envelope_write_header(buf, AG_ALG_AES256_SIV, 1, 1);
	assert_int_equal(ag_envelope_parse(buf, 12 + 16, &env), AG_ERR_SHORT);
	assert_int_equal(ag_envelope_parse(buf, 12 + 17, &env), AG_OK);

	buf[2] = 2;					/* unknown format version */
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_FORMAT);
	buf[2] = AG_ENV_FORMAT;
	buf[3] = AG_ALG_HMAC_SHA256;	/* not an encryption algorithm */
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_ALG);
	buf[3] = 0;
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_ALG);
	buf[3] = 0xff;
	assert_int_equal(ag_envelope_parse(buf, 64, &env), AG_ERR_ALG);
}

static void
parse_reads_fields(void **state)
{
	uint8_t		buf[100];
	ag_envelope env;

	(void) state;
	memset(buf, 0x5a, sizeof(buf));
	ag_envelope_write_header(buf, AG_ALG_AES256_GCM, 0x01020304u, 0xfffffffeu);
	assert_memory_equal(buf, "AG\x01\x01\x01\x02\x03\x04\xff\xff\xff\xfe", 12);
	assert_int_equal(ag_envelope_parse(buf, sizeof(buf), &env), AG_OK);
	assert_int_equal(env.format, 1);
	assert_int_equal(env.alg, AG_ALG_AES256_GCM);
	assert_int_equal(env.key_id, 0x01020304u);
	assert_int_equal(env.key_version, 0xfffffffeu);
	assert_ptr_equal(env.nonce, buf + 12);
	assert_int_equal(env.nonce_len, 12);
	assert_ptr_equal(env.tag, buf + 24);
	assert_ptr_equal(env.ct, buf + 40);
	assert_int_equal(env.ct_len, sizeof(buf) - 40);
	assert_int_equal(ag_envelope_overhead(AG_ALG_AES256_GCM), 40);
	assert_int_equal(ag_envelope_overhead(AG_ALG_AES256_SIV), 29);
}

static void
names_round_trip(void **state)
{
	(void) state;
	assert_int_equal(ag_alg_from_name("aes-256-gcm"), AG_ALG_AES256_GCM);
	assert_int_equal(ag_alg_from_name("aes-256-siv"), AG_ALG_AES256_SIV);
	assert_int_equal(ag_alg_from_name("hmac-sha256"), AG_ALG_HMAC_SHA256);
	assert_int_equal(ag_alg_from_name("AES-256-GCM"), AG_ALG_NONE);
	assert_int_equal(ag_alg_from_name(""), AG_ALG_NONE);
	assert_int_equal(ag_alg_from_name(NULL), AG_ALG_NONE);
	assert_string_equal(ag_alg_name(AG_ALG_AES256_SIV), "aes-256-siv");
	assert_null(ag_alg_name(AG_ALG_NONE));
	assert_int_equal(ag_alg_key_len(AG_ALG_AES256_SIV), 64);
}

static void
round_trip_and_tamper(ag_alg alg)
{
	ag_cipher  *c = ag_cipher_new(alg, key64, ag_alg_key_len(alg));
	uint8_t		ct[256];
	uint8_t		pt[256];
	size_t		n;
	size_t		m;
	size_t		i;
	const char *msg = "123-45-6789 is a test value";

	assert_non_null(c);
	n = seal(c, msg, "t.c.row1", ct, sizeof(ct));
	assert_int_equal(n, ag_envelope_overhead(alg) + strlen(msg));
	assert_int_equal(open_env(c, ct, n, "t.c.row1", pt, sizeof(pt), &m), AG_OK);
	assert_int_equal(m, strlen(msg));
	assert_memory_equal(pt, msg, m);

	/* the context is authenticated */
	assert_int_equal(open_env(c, ct, n, "t.c.row2", pt, sizeof(pt), &m), AG_ERR_AUTH);
	assert_int_equal(open_env(c, ct, n, "", pt, sizeof(pt), &m), AG_ERR_AUTH);

	/* every single flipped bit past the magic fails, one way or another */
	for (i = 2; i < n; i++)
	{
		ct[i] ^= 0x01;
		assert_int_not_equal(open_env(c, ct, n, "t.c.row1", pt, sizeof(pt), &m), AG_OK);
		ct[i] ^= 0x01;
	}
	/* truncation anywhere fails */
	for (i = 0; i < n; i++)
		assert_int_not_equal(open_env(c, ct, i, "t.c.row1", pt, sizeof(pt), &m), AG_OK);
	/* an appended byte fails */
	ct[n] = 0;
	assert_int_not_equal(open_env(c, ct, n + 1, "t.c.row1", pt, sizeof(pt), &m), AG_OK);

	/* a different key of the same algorithm fails */
	{
		uint8_t		other[64];
		ag_cipher  *c2;

		memcpy(other, key64, sizeof(other));
		other[0] ^= 1;
		c2 = ag_cipher_new(alg, other, ag_alg_key_len(alg));
		assert_int_equal(open_env(c2, ct, n, "t.c.row1", pt, sizeof(pt), &m), AG_ERR_AUTH);
		ag_cipher_free(c2);
	}

	/* the empty plaintext works too */
	n = seal(c, "", "", ct, sizeof(ct));
	assert_int_equal(n, ag_envelope_overhead(alg));
	assert_int_equal(open_env(c, ct, n, "", pt, sizeof(pt), &m), AG_OK);
	assert_int_equal(m, 0);
	ct[n - 1] ^= 0x80;
	assert_int_equal(open_env(c, ct, n, "", pt, sizeof(pt), &m), AG_ERR_AUTH);

	/* buffer too small */
	assert_int_equal(ag_seal(c, 1, 1, (const uint8_t *) msg, strlen(msg), NULL, 0,
							 ct, 20, &n), AG_ERR_BUFFER);
	ag_cipher_free(c);
}

static void
gcm_round_trip(void **state)
{
	(void) state;
	round_trip_and_tamper(AG_ALG_AES256_GCM);
}

static void
siv_round_trip(void **state)
{
	(void) state;
	round_trip_and_tamper(AG_ALG_AES256_SIV);
}

static void
siv_is_deterministic_gcm_is_not(void **state)
{
	ag_cipher  *siv = ag_cipher_new(AG_ALG_AES256_SIV, key64, 64);
	ag_cipher  *siv2 = ag_cipher_new(AG_ALG_AES256_SIV, key64, 64);
	ag_cipher  *gcm = ag_cipher_new(AG_ALG_AES256_GCM, key64, 32);
	uint8_t		a[128],
				b[128],
				d[128];
	size_t		na,
				nb,
				nd;

	(void) state;
	na = seal(siv, "alice@example.com", "ctx", a, sizeof(a));
	/* a reused context gives what a fresh one gives */
	(void) seal(siv, "something else entirely", "other", d, sizeof(d));
	nb = seal(siv, "alice@example.com", "ctx", b, sizeof(b));
	nd = seal(siv2, "alice@example.com", "ctx", d, sizeof(d));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(na, nd);
	assert_memory_equal(a, d, na);
	/* another context gives another ciphertext */
	nb = seal(siv, "alice@example.com", "ctx2", b, sizeof(b));
	assert_memory_not_equal(a, b, na);

	na = seal(gcm, "alice@example.com", "ctx", a, sizeof(a));
	nb = seal(gcm, "alice@example.com", "ctx", b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_not_equal(a, b, na);
	ag_cipher_free(siv);
	ag_cipher_free(siv2);
	ag_cipher_free(gcm);
}

static void
siv_matches_openssl(void **state)
{
	ag_cipher  *c = ag_cipher_new(AG_ALG_AES256_SIV, key64, 64);
	uint8_t		msg[300];
	uint8_t		aad[40];
	uint8_t		out[400];
	uint8_t		padded[301];
	uint8_t		tag[16];
	uint8_t		ct[301];
	size_t		n;
	size_t		len;
	size_t		alen;
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t) (i * 7 + 3);
	for (i = 0; i < sizeof(aad); i++)
		aad[i] = (uint8_t) (i * 13 + 1);
	for (len = 0; len < sizeof(msg); len += (len < 40 ? 1 : 37))
	{
		for (alen = 0; alen < sizeof(aad); alen += 7)
		{
			assert_int_equal(ag_seal(c, 0x01020304u, 9, msg, len, aad, alen,
									 out, sizeof(out), &n), AG_OK);
			memcpy(padded, msg, len);
			padded[len] = 0x01;
			assert_true(openssl_siv(key64, out, aad, alen, padded, len + 1, tag, ct));
			assert_memory_equal(out + 12, tag, 16);
			assert_memory_equal(out + 28, ct, len + 1);
		}
	}
	ag_cipher_free(c);
}

static void
cipher_rejects_bad_keys(void **state)
{
	(void) state;
	assert_null(ag_cipher_new(AG_ALG_AES256_GCM, key64, 16));
	assert_null(ag_cipher_new(AG_ALG_AES256_SIV, key64, 32));
	assert_null(ag_cipher_new(AG_ALG_NONE, key64, 32));
	assert_null(ag_cipher_new(AG_ALG_AES256_GCM, NULL, 32));
}

static void
hmac_matches_known_value(void **state)
{
	/* openssl dgst -sha256 -mac HMAC -macopt hexkey:00..1f over "ai_guard" */
	static const uint8_t expect[32] = {
		0xe4, 0xb5, 0x0a, 0xa7, 0x30, 0xba, 0xda, 0x40, 0xa4, 0xfd, 0x82, 0xc4,
		0x13, 0xbc, 0x8f, 0x4d, 0x6c, 0x97, 0xe8, 0xa8, 0x3f, 0x6a, 0xa2, 0x5a,
		0xf3, 0x42, 0xe5, 0x89, 0x8c, 0x81, 0x35, 0xd9
	};
	ag_cipher  *c = ag_cipher_new(AG_ALG_HMAC_SHA256, key64, 32);
	uint8_t		mac[32];
	const uint8_t *parts[2] = {(const uint8_t *) "ai_", (const uint8_t *) "guard"};
	size_t		lens[2] = {3, 5};
	int			i;

	(void) state;
	assert_non_null(c);
	/* the key is reused across calls */
	for (i = 0; i < 3; i++)
	{
		assert_int_equal(ag_hmac(c, 2, parts, lens, mac), AG_OK);
		assert_memory_equal(mac, expect, 32);
	}
	/* not an encryption key */
	{
		uint8_t		out[64];
		size_t		n;

		assert_int_equal(ag_seal(c, 1, 1, mac, 1, NULL, 0, out, sizeof(out), &n),
						 AG_ERR_ALG);
	}
	ag_cipher_free(c);
}

static void
wrap_binds_aad_and_master(void **state)
{
	uint8_t		w[128];
	uint8_t		k[64];
	size_t		wn,
				kn;
	uint8_t		other[AG_MASTER_KEY_LEN];

	(void) state;
	assert_int_equal(ag_wrap_key(master, (const uint8_t *) "name\0001", 6,
								 key64, 64, w, sizeof(w), &wn), AG_OK);
	assert_int_equal(wn, AG_WRAP_OVERHEAD + 64);
	assert_int_equal(ag_unwrap_key(master, (const uint8_t *) "name\0001", 6,
								   w, wn, k, sizeof(k), &kn), AG_OK);
	assert_int_equal(kn, 64);
	assert_memory_equal(k, key64, 64);
	/* another name or version */
	assert_int_equal(ag_unwrap_key(master, (const uint8_t *) "name\0002", 6,
								   w, wn, k, sizeof(k), &kn), AG_ERR_AUTH);
	/* another master key */
	memcpy(other, master, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(ag_unwrap_key(other, (const uint8_t *) "name\0001", 6,
								   w, wn, k, sizeof(k), &kn), AG_ERR_AUTH);
	/* truncated, altered format */
	assert_int_equal(ag_unwrap_key(master, (const uint8_t *) "name\0001", 6,
								   w, 10, k, sizeof(k), &kn), AG_ERR_SHORT);
	assert_int_not_equal(ag_unwrap_key(master, (const uint8_t *) "name\0001", 6,
									   w, wn - 1, k, sizeof(k), &kn), AG_OK);
	w[0] = 9;
	assert_int_equal(ag_unwrap_key(master, (const uint8_t *) "name\0001", 6,
								   w, wn, k, sizeof(k), &kn), AG_ERR_FORMAT);
}

static void
master_key_text_and_id(void **state)
{
	uint8_t		k[AG_MASTER_KEY_LEN];
	char		id1[17],
				id2[17];
	const char *good =
		"  000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\n";

	(void) state;
	assert_true(ag_parse_hex_key(good, strlen(good), k));
	assert_int_equal(k[0], 0);
	assert_int_equal(k[31], 0x1f);
	assert_false(ag_parse_hex_key(good, 20, k));
	assert_false(ag_parse_hex_key("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
								  64, k));
	assert_false(ag_parse_hex_key("", 0, k));
	assert_false(ag_parse_hex_key("00 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
								  65, k));

	assert_int_equal(ag_master_key_id(master, id1), AG_OK);
	assert_int_equal(strlen(id1), 16);
	assert_int_equal(ag_master_key_id(master, id2), AG_OK);
	assert_string_equal(id1, id2);
	assert_int_equal(ag_master_key_id(k, id2), AG_OK);
	assert_string_not_equal(id1, id2);
}

static void
status_messages_exist(void **state)
{
	int			s;

	(void) state;
	for (s = AG_OK; s <= AG_ERR_CRYPTO; s++)
		assert_non_null(ag_status_message((ag_status) s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_rejects_short_and_foreign),
		cmocka_unit_test(parse_reads_fields),
		cmocka_unit_test(names_round_trip),
		cmocka_unit_test(gcm_round_trip),
		cmocka_unit_test(siv_round_trip),
		cmocka_unit_test(siv_is_deterministic_gcm_is_not),
		cmocka_unit_test(siv_matches_openssl),
		cmocka_unit_test(cipher_rejects_bad_keys),
		cmocka_unit_test(hmac_matches_known_value),
		cmocka_unit_test(wrap_binds_aad_and_master),
		cmocka_unit_test(master_key_text_and_id),
		cmocka_unit_test(status_messages_exist),
	};

	fill_keys();
	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
