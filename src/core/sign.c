/*-------------------------------------------------------------------------
 *
 * sign.c
 *		Ed25519 signatures of audit chain heads (see sign.h).
 *
 * Keys never leave this file as OpenSSL objects: each call builds its key
 * from the raw bytes it is given and frees it, so nothing holds key
 * material between calls except the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "sign.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define HEAD_LABEL "ai_guard audit head v1"

bool
ag_ed25519_public(const uint8_t seed[AG_ED25519_SEED_LEN],
				  uint8_t pub[AG_ED25519_PUBLIC_LEN])
{
	EVP_PKEY   *key;
	size_t		len = AG_ED25519_PUBLIC_LEN;
	bool		ok;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, AG_ED25519_SEED_LEN);
	if (key == NULL)
		return false;
	ok = EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == AG_ED25519_PUBLIC_LEN;
	EVP_PKEY_free(key);
	return ok;
}

bool
ag_ed25519_sign(const uint8_t seed[AG_ED25519_SEED_LEN], const char *msg, size_t len,
				uint8_t sig[AG_ED25519_SIG_LEN])
{
	EVP_PKEY   *key;
	EVP_MD_CTX *ctx;
	size_t		siglen = AG_ED25519_SIG_LEN;
	bool		ok = false;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, AG_ED25519_SEED_LEN);
	if (key == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) msg, len) == 1 &&
		siglen == AG_ED25519_SIG_LEN)
		ok = true;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

bool
ag_ed25519_verify(const uint8_t pub[AG_ED25519_PUBLIC_LEN], const char *msg, size_t len,
				  const uint8_t sig[AG_ED25519_SIG_LEN])
{
	EVP_PKEY   *key;
	EVP_MD_CTX *ctx;
	bool		ok = false;

	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, AG_ED25519_PUBLIC_LEN);
	if (key == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestVerify(ctx, sig, AG_ED25519_SIG_LEN, (const unsigned char *) msg, len) == 1)
		ok = true;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

/* no field may hold the separator: each is one line */
static bool
one_line(const char *s)
{
	return s != NULL && s[0] != '\0' && strchr(s, '\n') == NULL;
}

int
ag_head_message(const char *database_id, long long seq, const char *head,
				const char *signed_at, char *out, size_t cap)
{
	int			n;

	if (!one_line(database_id) || !one_line(signed_at) || head == NULL ||
		strchr(head, '\n') != NULL || seq < 0)
		return -1;
	n = snprintf(out, cap, "%s\n%s\n%lld\n%s\n%s", HEAD_LABEL, database_id, seq,
				 head, signed_at);
	if (n < 0 || (size_t) n >= cap)
		return -1;
	return n;
}
