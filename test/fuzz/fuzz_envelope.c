/*
 * fuzz_envelope.c
 *		libFuzzer target for src/core/envelope.c: parses any bytes as an
 *		envelope and, when they parse, tries to open them with fixed keys of
 *		both algorithms (which must fail unless the bytes were sealed with
 *		them); seals the bytes with both algorithms and opens them again;
 *		checks the SIV output against OpenSSL's own AES-256-SIV; also feeds
 *		the bytes to the key unwrapper and the hex parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "envelope.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ag_cipher *gcm;
static ag_cipher *siv;
static EVP_CIPHER *ref_siv;
static EVP_CIPHER_CTX *ref_ctx;

/* OpenSSL's AES-256-SIV over (header, aad, msg || 0x01) must match */
static void
check_against_openssl(const uint8_t *key, const uint8_t *env, size_t envlen,
					  const uint8_t *aad, size_t aadlen,
					  const uint8_t *msg, size_t msglen)
{
	uint8_t    *padded = malloc(msglen + 1);
	uint8_t    *ct = malloc(msglen + 1);
	uint8_t		tag[16];
	int			outl;

	if (padded == NULL || ct == NULL)
		abort();
	if (msglen)
		memcpy(padded, msg, msglen);
	padded[msglen] = 0x01;
	if (!EVP_EncryptInit_ex2(ref_ctx, ref_siv, key, NULL, NULL) ||
		!EVP_EncryptUpdate(ref_ctx, NULL, &outl, env, 12) ||
		!EVP_EncryptUpdate(ref_ctx, NULL, &outl, aad, (int) aadlen) ||
		!EVP_EncryptUpdate(ref_ctx, ct, &outl, padded, (int) msglen + 1) ||
		!EVP_EncryptFinal_ex(ref_ctx, ct + outl, &outl) ||
		!EVP_CIPHER_CTX_ctrl(ref_ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag))
		abort();
	if (envlen != 12 + 16 + msglen + 1 ||
		memcmp(env + 12, tag, 16) != 0 || memcmp(env + 28, ct, msglen + 1) != 0)
		abort();
	free(padded);
	free(ct);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[64] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t master[AG_MASTER_KEY_LEN] = {9, 9, 9};
	ag_envelope env;
	uint8_t    *out;
	size_t		n;
	uint8_t		k[AG_MAX_KEY_LEN];
	uint8_t		mk[AG_MASTER_KEY_LEN];

	if (gcm == NULL)
	{
		gcm = ag_cipher_new(AG_ALG_AES256_GCM, key, 32);
		siv = ag_cipher_new(AG_ALG_AES256_SIV, key, 64);
		ref_siv = EVP_CIPHER_fetch(NULL, "AES-256-SIV", NULL);
		ref_ctx = EVP_CIPHER_CTX_new();
		if (gcm == NULL || siv == NULL || ref_siv == NULL || ref_ctx == NULL)
			abort();
	}

	if (ag_envelope_parse(data, size, &env) == AG_OK)
	{
		/* the parsed fields must lie inside the input */
		if (env.ct + env.ct_len != data + size ||
			env.tag < data || env.ct < env.tag + AG_ENV_TAG_LEN)
			abort();
		out = malloc(env.ct_len + 1);
		if (out == NULL)
			return 0;
		if (ag_open(env.alg == AG_ALG_AES256_GCM ? gcm : siv, &env,
					(const uint8_t *) "ctx", 3, out, env.ct_len + 1, &n) == AG_OK)
		{
			/* only a sealed message opens: re-seal a random input to check */
			if (n > env.ct_len)
				abort();
		}
		free(out);
	}

	/* seal the input and open it again: must round-trip */
	if (size < 4096)
	{
		size_t		cap = size + 64;
		uint8_t    *ct = malloc(cap);
		uint8_t    *pt = malloc(cap);
		ag_cipher  *c = (size & 1) ? siv : gcm;

		if (ct && pt &&
			ag_seal(c, 1, 2, data, size, data, size / 2, ct, cap, &n) == AG_OK)
		{
			size_t		m;

			if (c == siv)
				check_against_openssl(key, ct, n, data, size / 2, data, size);
			if (ag_envelope_parse(ct, n, &env) != AG_OK ||
				ag_open(c, &env, data, size / 2, pt, cap, &m) != AG_OK ||
				m != size || (size && memcmp(pt, data, size) != 0))
				abort();
		}
		free(ct);
		free(pt);
	}

	(void) ag_unwrap_key(master, data, size > 8 ? 8 : size, data, size,
						 k, sizeof(k), &n);
	(void) ag_parse_hex_key((const char *) data, size, mk);
	return 0;
}
