/*-------------------------------------------------------------------------
 *
 * envelope.c
 *		The ai_guard ciphertext envelope (build and parse) and the one place
 *		where ai_guard calls OpenSSL: AES-256-GCM, AES-256-SIV, HMAC-SHA-256,
 *		random bytes and the wrapping of data keys by the master key.
 *
 * Nothing here allocates per call: an ag_cipher holds its EVP contexts,
 * keyed once, and every seal/open re-initialises them with a fresh nonce.
 * Callers provide the output buffers.  No function reports key bytes or
 * plaintext anywhere; errors are status codes.
 *
 *-------------------------------------------------------------------------
 */
#include "envelope.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <unistd.h>


static const char *const wrap_label = "ai_guard master key id v1";

/*---- the envelope format ----*/

const char *
ag_alg_name(ag_alg alg)
{
	switch (alg)
	{
		case AG_ALG_AES256_GCM:
			return "aes-256-gcm";
		case AG_ALG_AES256_SIV:
			return "aes-256-siv";
		case AG_ALG_HMAC_SHA256:
			return "hmac-sha256";
		default:
			return NULL;
	}
}

ag_alg
ag_alg_from_name(const char *name)
{
	if (name == NULL)
		return AG_ALG_NONE;
	if (strcmp(name, "aes-256-gcm") == 0)
		return AG_ALG_AES256_GCM;
	if (strcmp(name, "aes-256-siv") == 0)
		return AG_ALG_AES256_SIV;
	if (strcmp(name, "hmac-sha256") == 0)
		return AG_ALG_HMAC_SHA256;
	return AG_ALG_NONE;
}

size_t
ag_alg_key_len(ag_alg alg)
{
	switch (alg)
	{
		case AG_ALG_AES256_GCM:
			return 32;
		case AG_ALG_AES256_SIV:
			return 64;			/* two AES-256 keys: CMAC and CTR */
		case AG_ALG_HMAC_SHA256:
			return 32;
		default:
			return 0;
	}
}

static size_t
nonce_len(ag_alg alg)
{
	return alg == AG_ALG_AES256_GCM ? AG_GCM_NONCE_LEN : 0;
}

/*
 * OpenSSL 3.0's AES-SIV cannot encrypt an empty message, so SIV plaintexts
 * carry one trailing pad byte (0x01), authenticated like the rest.
 */
static size_t
pad_len(ag_alg alg)
{
	return alg == AG_ALG_AES256_SIV ? 1 : 0;
}

size_t
ag_envelope_overhead(ag_alg alg)
{
	return AG_ENV_HEADER_LEN + nonce_len(alg) + AG_ENV_TAG_LEN + pad_len(alg);
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

ag_status
ag_envelope_parse(const uint8_t *buf, size_t len, ag_envelope *env)
{
	size_t		nl;

	memset(env, 0, sizeof(*env));
	if (buf == NULL || len < 2)
		return AG_ERR_SHORT;
	if (buf[0] != AG_ENV_MAGIC0 || buf[1] != AG_ENV_MAGIC1)
		return AG_ERR_MAGIC;
	if (len < AG_ENV_HEADER_LEN)
		return AG_ERR_SHORT;
	if (buf[2] != AG_ENV_FORMAT)
		return AG_ERR_FORMAT;
	if (buf[3] != AG_ALG_AES256_GCM && buf[3] != AG_ALG_AES256_SIV)
		return AG_ERR_ALG;

	env->format = buf[2];
	env->alg = (ag_alg) buf[3];
	env->key_id = get_be32(buf + 4);
	env->key_version = get_be32(buf + 8);
	nl = nonce_len(env->alg);
	if (len - AG_ENV_HEADER_LEN < nl + AG_ENV_TAG_LEN + pad_len(env->alg))
		return AG_ERR_SHORT;

	env->header = buf;
	env->nonce = nl ? buf + AG_ENV_HEADER_LEN : NULL;
	env->nonce_len = nl;
	env->tag = buf + AG_ENV_HEADER_LEN + nl;
	env->ct = env->tag + AG_ENV_TAG_LEN;
	env->ct_len = len - AG_ENV_HEADER_LEN - nl - AG_ENV_TAG_LEN;
	return AG_OK;
}

void
ag_envelope_write_header(uint8_t *buf, ag_alg alg, uint32_t key_id,
						 uint32_t key_version)
{
	buf[0] = AG_ENV_MAGIC0;
	buf[1] = AG_ENV_MAGIC1;
	buf[2] = AG_ENV_FORMAT;
	buf[3] = (uint8_t) alg;
	put_be32(buf + 4, key_id);
	put_be32(buf + 8, key_version);
}

const char *
ag_status_message(ag_status st)
{
	switch (st)
	{
		case AG_OK:
			return "ok";
		case AG_ERR_SHORT:
			return "ciphertext is truncated";
		case AG_ERR_MAGIC:
			return "not an ai_guard ciphertext";
		case AG_ERR_FORMAT:
			return "unsupported ciphertext format version";
		case AG_ERR_ALG:
			return "unsupported algorithm";
		case AG_ERR_AUTH:
			return "authentication failed";
		case AG_ERR_TOO_LONG:
			return "input too long";
		case AG_ERR_BUFFER:
			return "output buffer too small";
		case AG_ERR_CRYPTO:
			return "cryptographic library failure";
	}
	return "unknown error";
}

/*---- cryptography ----*/

/*
 * AES-256-SIV (RFC 5297) is built here from two keyed EVP objects, a CMAC
 * context (first half of the key, for S2V) and an AES-256-CTR context
 * (second half), because OpenSSL 3.0's "AES-256-SIV" cipher must be re-keyed
 * for every message, which costs about ten times the encryption of a short
 * value.  The output is bit-identical to OpenSSL's AES-256-SIV with the same
 * associated data items: test/unit/test_envelope.c and the fuzz target check
 * it against EVP_CIPHER_fetch("AES-256-SIV") on every input.
 */

#define SIV_BLOCK 16

static const EVP_CIPHER *
fetch_cipher(const char *name)
{
	/* fetched once per process; OpenSSL keeps them for the process life */
	static EVP_CIPHER *gcm = NULL;
	static EVP_CIPHER *ctr = NULL;

	if (strcmp(name, "AES-256-GCM") == 0)
	{
		if (gcm == NULL)
			gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		return gcm;
	}
	if (ctr == NULL)
		ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	return ctr;
}

static EVP_MAC *
fetch_mac(const char *name)
{
	static EVP_MAC *hmac = NULL;
	static EVP_MAC *cmac = NULL;

	if (strcmp(name, "HMAC") == 0)
	{
		if (hmac == NULL)
			hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		return hmac;
	}
	if (cmac == NULL)
		cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	return cmac;
}

/*
 * Nonces: RAND_bytes costs about a microsecond per call, more than sealing
 * a short value, so random bytes are drawn 4 kB at a time.  The buffer is
 * dropped when the process id changes, so a forked child never reuses its
 * parent's bytes.
 */
static uint8_t nonce_pool[4096];
static size_t nonce_pool_left = 0;
static pid_t nonce_pool_pid = 0;

static int
take_nonce(uint8_t *out, size_t len)
{
	if (nonce_pool_pid != getpid())
	{
		nonce_pool_left = 0;
		nonce_pool_pid = getpid();
	}
	if (nonce_pool_left < len)
	{
		if (RAND_bytes(nonce_pool, (int) sizeof(nonce_pool)) != 1)
			return 0;
		nonce_pool_left = sizeof(nonce_pool);
	}
	memcpy(out, nonce_pool + sizeof(nonce_pool) - nonce_pool_left, len);
	/* used bytes are not kept */
	memset(nonce_pool + sizeof(nonce_pool) - nonce_pool_left, 0, len);
	nonce_pool_left -= len;
	return 1;
}

/* doubling in GF(2^128), as S2V defines it */
static void
siv_dbl(uint8_t b[SIV_BLOCK])
{
	uint8_t		carry = b[0] >> 7;
	int			i;

	for (i = 0; i < SIV_BLOCK - 1; i++)
		b[i] = (uint8_t) ((b[i] << 1) | (b[i + 1] >> 7));
	b[SIV_BLOCK - 1] = (uint8_t) ((b[SIV_BLOCK - 1] << 1) ^ (carry ? 0x87 : 0));
}

/* CMAC of the concatenation of up to two parts, with the keyed context */
static int
cmac2(EVP_MAC_CTX *mac, const uint8_t *a, size_t alen,
	  const uint8_t *b, size_t blen, uint8_t out[SIV_BLOCK])
{
	size_t		outl = 0;

	if (!EVP_MAC_init(mac, NULL, 0, NULL))
		return 0;
	if (alen > 0 && !EVP_MAC_update(mac, a, alen))
		return 0;
	if (blen > 0 && !EVP_MAC_update(mac, b, blen))
		return 0;
	return EVP_MAC_final(mac, out, &outl, SIV_BLOCK) && outl == SIV_BLOCK;
}

/* S2V over (header, aad, msg): the synthetic IV */
static int
siv_s2v(ag_cipher *c, const uint8_t *header, size_t hlen,
		const uint8_t *aad, size_t aadlen,
		const uint8_t *msg, size_t msglen, uint8_t v[SIV_BLOCK]);

struct ag_cipher
{
	ag_alg		alg;
	EVP_CIPHER_CTX *enc;		/* GCM encryption, or SIV's CTR; keyed */
	EVP_CIPHER_CTX *dec;		/* GCM decryption; keyed */
	EVP_MAC_CTX *mac;			/* HMAC, or SIV's CMAC; keyed */
	uint8_t		d0[SIV_BLOCK];	/* SIV: CMAC of the zero block */
};

static int
siv_s2v(ag_cipher *c, const uint8_t *header, size_t hlen,
		const uint8_t *aad, size_t aadlen,
		const uint8_t *msg, size_t msglen, uint8_t v[SIV_BLOCK])
{
	uint8_t		d[SIV_BLOCK];
	uint8_t		t[SIV_BLOCK];
	int			i;

	memcpy(d, c->d0, SIV_BLOCK);
	siv_dbl(d);
	if (!cmac2(c->mac, header, hlen, NULL, 0, t))
		return 0;
	for (i = 0; i < SIV_BLOCK; i++)
		d[i] ^= t[i];
	siv_dbl(d);
	if (!cmac2(c->mac, aad, aadlen, NULL, 0, t))
		return 0;
	for (i = 0; i < SIV_BLOCK; i++)
		d[i] ^= t[i];
	if (msglen >= SIV_BLOCK)
	{
		/* T = msg xorend D */
		for (i = 0; i < SIV_BLOCK; i++)
			t[i] = msg[msglen - SIV_BLOCK + i] ^ d[i];
		return cmac2(c->mac, msg, msglen - SIV_BLOCK, t, SIV_BLOCK, v);
	}
	/* T = dbl(D) xor pad(msg) */
	siv_dbl(d);
	memset(t, 0, SIV_BLOCK);
	if (msglen > 0)
		memcpy(t, msg, msglen);
	t[msglen] = 0x80;
	for (i = 0; i < SIV_BLOCK; i++)
		t[i] ^= d[i];
	return cmac2(c->mac, t, SIV_BLOCK, NULL, 0, v);
}

/* AES-CTR with the SIV's counter (two bits cleared), in = out allowed */
static int
siv_ctr(ag_cipher *c, const uint8_t v[SIV_BLOCK], const uint8_t *in,
		uint8_t *out, size_t len)
{
	uint8_t		q[SIV_BLOCK];
	int			outl;

	memcpy(q, v, SIV_BLOCK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
	if (!EVP_EncryptInit_ex2(c->enc, NULL, NULL, q, NULL))
		return 0;
	if (len > 0 && (!EVP_EncryptUpdate(c->enc, out, &outl, in, (int) len) ||
					(size_t) outl != len))
		return 0;
	return 1;
}

ag_cipher *
ag_cipher_new(ag_alg alg, const uint8_t *key, size_t key_len)
{
	ag_cipher  *c;

	if (key == NULL || key_len != ag_alg_key_len(alg))
		return NULL;
	c = OPENSSL_zalloc(sizeof(ag_cipher));
	if (c == NULL)
		return NULL;
	c->alg = alg;

	if (alg == AG_ALG_HMAC_SHA256)
	{
		OSSL_PARAM	params[2];
		EVP_MAC    *mac = fetch_mac("HMAC");

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
													 (char *) "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (mac == NULL || (c->mac = EVP_MAC_CTX_new(mac)) == NULL ||
			!EVP_MAC_init(c->mac, key, key_len, params))
			goto fail;
	}
	else if (alg == AG_ALG_AES256_SIV)
	{
		OSSL_PARAM	params[2];
		EVP_MAC    *mac = fetch_mac("CMAC");
		const EVP_CIPHER *ctr = fetch_cipher("AES-256-CTR");
		static const uint8_t zero[SIV_BLOCK] = {0};

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
													 (char *) "AES-256-CBC", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (mac == NULL || ctr == NULL ||
			(c->mac = EVP_MAC_CTX_new(mac)) == NULL ||
			!EVP_MAC_init(c->mac, key, 32, params) ||
			(c->enc = EVP_CIPHER_CTX_new()) == NULL ||
			!EVP_EncryptInit_ex2(c->enc, ctr, key + 32, NULL, NULL) ||
			!cmac2(c->mac, zero, SIV_BLOCK, NULL, 0, c->d0))
			goto fail;
	}
	else if (alg == AG_ALG_AES256_GCM)
	{
		const EVP_CIPHER *gcm = fetch_cipher("AES-256-GCM");

		if (gcm == NULL ||
			(c->enc = EVP_CIPHER_CTX_new()) == NULL ||
			(c->dec = EVP_CIPHER_CTX_new()) == NULL ||
			!EVP_EncryptInit_ex2(c->enc, gcm, key, NULL, NULL) ||
			!EVP_DecryptInit_ex2(c->dec, gcm, key, NULL, NULL) ||
			!EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_AEAD_SET_IVLEN,
								 AG_GCM_NONCE_LEN, NULL) ||
			!EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_AEAD_SET_IVLEN,
								 AG_GCM_NONCE_LEN, NULL))
			goto fail;
	}
	else
		goto fail;
	return c;

fail:
	ag_cipher_free(c);
	return NULL;
}

void
ag_cipher_free(ag_cipher *c)
{
	if (c == NULL)
		return;
	/* EVP_*_free cleanse the key schedules they hold */
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_MAC_CTX_free(c->mac);
	OPENSSL_clear_free(c, sizeof(ag_cipher));
}

ag_alg
ag_cipher_alg(const ag_cipher *c)
{
	return c->alg;
}

ag_status
ag_seal(ag_cipher *c, uint32_t key_id, uint32_t key_version,
		const uint8_t *pt, size_t pt_len,
		const uint8_t *aad, size_t aad_len,
		uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t		nl;
	size_t		total;
	uint8_t    *nonce;
	uint8_t    *tag;
	uint8_t    *ct;
	int			outl;
	static const uint8_t empty = 0;

	*out_len = 0;
	if (c == NULL || (c->alg != AG_ALG_AES256_GCM && c->alg != AG_ALG_AES256_SIV))
		return AG_ERR_ALG;
	if (pt_len > INT_MAX - 64 || aad_len > INT_MAX)
		return AG_ERR_TOO_LONG;
	nl = nonce_len(c->alg);
	total = ag_envelope_overhead(c->alg) + pt_len;
	if (out_cap < total)
		return AG_ERR_BUFFER;
	if (pt == NULL)
		pt = &empty;
	if (aad == NULL)
		aad = &empty;

	ag_envelope_write_header(out, c->alg, key_id, key_version);
	nonce = out + AG_ENV_HEADER_LEN;
	tag = nonce + nl;
	ct = tag + AG_ENV_TAG_LEN;

	if (c->alg == AG_ALG_AES256_SIV)
	{
		/* the padded plaintext is built in place, then encrypted in place */
		if (pt_len > 0)
			memcpy(ct, pt, pt_len);
		ct[pt_len] = 0x01;
		if (!siv_s2v(c, out, AG_ENV_HEADER_LEN, aad, aad_len, ct, pt_len + 1, tag) ||
			!siv_ctr(c, tag, ct, ct, pt_len + 1))
		{
			ag_wipe(out, total);
			return AG_ERR_CRYPTO;
		}
		*out_len = total;
		return AG_OK;
	}

	/* GCM: the keyed context takes a fresh nonce */
	if (!take_nonce(nonce, nl))
		return AG_ERR_CRYPTO;
	if (!EVP_EncryptInit_ex2(c->enc, NULL, NULL, nonce, NULL))
		return AG_ERR_CRYPTO;
	/* two AAD items: the header, then the caller's context */
	if (!EVP_EncryptUpdate(c->enc, NULL, &outl, out, AG_ENV_HEADER_LEN) ||
		!EVP_EncryptUpdate(c->enc, NULL, &outl, aad, (int) aad_len))
		return AG_ERR_CRYPTO;
	outl = 0;
	if (pt_len > 0 &&
		(!EVP_EncryptUpdate(c->enc, ct, &outl, pt, (int) pt_len) ||
		 (size_t) outl != pt_len))
		return AG_ERR_CRYPTO;
	if (!EVP_EncryptFinal_ex(c->enc, ct + outl, &outl))
		return AG_ERR_CRYPTO;
	if (!EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_AEAD_GET_TAG, AG_ENV_TAG_LEN, tag))
		return AG_ERR_CRYPTO;
	*out_len = total;
	return AG_OK;
}

ag_status
ag_open(ag_cipher *c, const ag_envelope *env,
		const uint8_t *aad, size_t aad_len,
		uint8_t *out, size_t out_cap, size_t *out_len)
{
	int			outl;
	uint8_t		tag[AG_ENV_TAG_LEN];
	static const uint8_t empty = 0;
	uint8_t		scratch[1];

	*out_len = 0;
	if (c == NULL || env->alg != c->alg)
		return AG_ERR_ALG;
	if (env->ct_len > INT_MAX - 64 || aad_len > INT_MAX)
		return AG_ERR_TOO_LONG;
	if (env->ct_len < pad_len(env->alg))
		return AG_ERR_SHORT;
	if (out_cap < env->ct_len)
		return AG_ERR_BUFFER;
	if (aad == NULL)
		aad = &empty;
	if (out == NULL)
	{
		if (env->ct_len > sizeof(scratch))
			return AG_ERR_BUFFER;
		out = scratch;
	}

	if (env->alg == AG_ALG_AES256_SIV)
	{
		uint8_t		v[SIV_BLOCK];

		if (!siv_ctr(c, env->tag, env->ct, out, env->ct_len) ||
			!siv_s2v(c, env->header, AG_ENV_HEADER_LEN, aad, aad_len,
					 out, env->ct_len, v))
		{
			ag_wipe(out, env->ct_len);
			return AG_ERR_CRYPTO;
		}
		/* authenticated only if the synthetic IV matches; the pad byte too */
		if (CRYPTO_memcmp(v, env->tag, SIV_BLOCK) != 0 ||
			out[env->ct_len - 1] != 0x01)
		{
			ag_wipe(out, env->ct_len);
			return AG_ERR_AUTH;
		}
		out[env->ct_len - 1] = 0;
		*out_len = env->ct_len - 1;
		return AG_OK;
	}

	memcpy(tag, env->tag, AG_ENV_TAG_LEN);
	if (!EVP_DecryptInit_ex2(c->dec, NULL, NULL, env->nonce, NULL))
		return AG_ERR_CRYPTO;
	if (!EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_AEAD_SET_TAG, AG_ENV_TAG_LEN, tag))
		return AG_ERR_CRYPTO;
	if (!EVP_DecryptUpdate(c->dec, NULL, &outl, env->header, AG_ENV_HEADER_LEN) ||
		!EVP_DecryptUpdate(c->dec, NULL, &outl, aad, (int) aad_len))
		return AG_ERR_AUTH;
	outl = 0;
	if (env->ct_len > 0 &&
		!EVP_DecryptUpdate(c->dec, out, &outl, env->ct, (int) env->ct_len))
	{
		ag_wipe(out, env->ct_len);
		return AG_ERR_AUTH;
	}
	/* GCM checks the tag in the final call */
	if (!EVP_DecryptFinal_ex(c->dec, out + outl, &outl))
	{
		ag_wipe(out, env->ct_len ? env->ct_len : 1);
		return AG_ERR_AUTH;
	}
	*out_len = env->ct_len;
	return AG_OK;
}

ag_status
ag_hmac(ag_cipher *c, int nparts, const uint8_t *const *parts,
		const size_t *lens, uint8_t out[AG_HMAC_LEN])
{
	size_t		outl = 0;
	int			i;

	if (c == NULL || c->alg != AG_ALG_HMAC_SHA256)
		return AG_ERR_ALG;
	/* a NULL key re-uses the key given to EVP_MAC_init before */
	if (!EVP_MAC_init(c->mac, NULL, 0, NULL))
		return AG_ERR_CRYPTO;
	for (i = 0; i < nparts; i++)
	{
		if (lens[i] > 0 && !EVP_MAC_update(c->mac, parts[i], lens[i]))
			return AG_ERR_CRYPTO;
	}
	if (!EVP_MAC_final(c->mac, out, &outl, AG_HMAC_LEN) || outl != AG_HMAC_LEN)
		return AG_ERR_CRYPTO;
	return AG_OK;
}

ag_status
ag_random_bytes(uint8_t *buf, size_t len)
{
	if (len > INT_MAX)
		return AG_ERR_TOO_LONG;
	return RAND_bytes(buf, (int) len) == 1 ? AG_OK : AG_ERR_CRYPTO;
}

/*
 * Data keys are wrapped with AES-256-GCM under the master key; the caller's
 * AAD binds the wrapped bytes to the key's name, version and algorithm.
 */
ag_status
ag_wrap_key(const uint8_t master[AG_MASTER_KEY_LEN],
			const uint8_t *aad, size_t aad_len,
			const uint8_t *key, size_t key_len,
			uint8_t *out, size_t out_cap, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx;
	const EVP_CIPHER *cipher = fetch_cipher("AES-256-GCM");
	uint8_t    *nonce = out + 1;
	uint8_t    *tag = nonce + AG_GCM_NONCE_LEN;
	uint8_t    *ct = tag + AG_ENV_TAG_LEN;
	int			outl;
	ag_status	st = AG_ERR_CRYPTO;

	*out_len = 0;
	if (key_len > AG_MAX_KEY_LEN || aad_len > INT_MAX)
		return AG_ERR_TOO_LONG;
	if (out_cap < AG_WRAP_OVERHEAD + key_len)
		return AG_ERR_BUFFER;
	if (cipher == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return AG_ERR_CRYPTO;
	out[0] = AG_WRAP_FORMAT;
	if (RAND_bytes(nonce, AG_GCM_NONCE_LEN) == 1 &&
		EVP_EncryptInit_ex2(ctx, cipher, master, nonce, NULL) &&
		EVP_EncryptUpdate(ctx, NULL, &outl, out, 1) &&
		EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int) aad_len) &&
		EVP_EncryptUpdate(ctx, ct, &outl, key, (int) key_len) &&
		EVP_EncryptFinal_ex(ctx, ct + outl, &outl) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AG_ENV_TAG_LEN, tag))
	{
		*out_len = AG_WRAP_OVERHEAD + key_len;
		st = AG_OK;
	}
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

ag_status
ag_unwrap_key(const uint8_t master[AG_MASTER_KEY_LEN],
			  const uint8_t *aad, size_t aad_len,
			  const uint8_t *wrapped, size_t wrapped_len,
			  uint8_t *key, size_t key_cap, size_t *key_len)
{
	EVP_CIPHER_CTX *ctx;
	const EVP_CIPHER *cipher = fetch_cipher("AES-256-GCM");
	size_t		kl;
	int			outl;
	uint8_t		tag[AG_ENV_TAG_LEN];
	ag_status	st = AG_ERR_AUTH;

	*key_len = 0;
	if (wrapped_len < AG_WRAP_OVERHEAD)
		return AG_ERR_SHORT;
	if (wrapped[0] != AG_WRAP_FORMAT)
		return AG_ERR_FORMAT;
	kl = wrapped_len - AG_WRAP_OVERHEAD;
	if (kl > AG_MAX_KEY_LEN || aad_len > INT_MAX)
		return AG_ERR_TOO_LONG;
	if (kl > key_cap)
		return AG_ERR_BUFFER;
	if (cipher == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return AG_ERR_CRYPTO;
	memcpy(tag, wrapped + 1 + AG_GCM_NONCE_LEN, AG_ENV_TAG_LEN);
	if (EVP_DecryptInit_ex2(ctx, cipher, master, wrapped + 1, NULL) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AG_ENV_TAG_LEN, tag) &&
		EVP_DecryptUpdate(ctx, NULL, &outl, wrapped, 1) &&
		EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int) aad_len) &&
		EVP_DecryptUpdate(ctx, key, &outl, wrapped + AG_WRAP_OVERHEAD, (int) kl) &&
		EVP_DecryptFinal_ex(ctx, key + outl, &outl))
	{
		*key_len = kl;
		st = AG_OK;
	}
	else
		ag_wipe(key, kl);
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

ag_status
ag_master_key_id(const uint8_t master[AG_MASTER_KEY_LEN], char out[17])
{
	ag_cipher  *c = ag_cipher_new(AG_ALG_HMAC_SHA256, master, AG_MASTER_KEY_LEN);
	uint8_t		mac[AG_HMAC_LEN];
	const uint8_t *parts[1];
	size_t		lens[1];
	ag_status	st;
	static const char hex[] = "0123456789abcdef";
	int			i;

	out[0] = '\0';
	if (c == NULL)
		return AG_ERR_CRYPTO;
	parts[0] = (const uint8_t *) wrap_label;
	lens[0] = strlen(wrap_label);
	st = ag_hmac(c, 1, parts, lens, mac);
	ag_cipher_free(c);
	if (st != AG_OK)
		return st;
	for (i = 0; i < 8; i++)
	{
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[16] = '\0';
	return AG_OK;
}

ag_status
ag_derive_key(const uint8_t master[AG_MASTER_KEY_LEN], const char *label,
			  const uint8_t *context, size_t context_len, uint8_t out[AG_HMAC_LEN])
{
	ag_cipher  *c = ag_cipher_new(AG_ALG_HMAC_SHA256, master, AG_MASTER_KEY_LEN);
	static const uint8_t zero = 0;
	const uint8_t *parts[3];
	size_t		lens[3];
	ag_status	st;

	if (c == NULL)
		return AG_ERR_CRYPTO;
	parts[0] = (const uint8_t *) label;
	lens[0] = strlen(label);
	parts[1] = &zero;
	lens[1] = 1;
	parts[2] = context;
	lens[2] = context_len;
	st = ag_hmac(c, 3, parts, lens, out);
	ag_cipher_free(c);
	return st;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

bool
ag_hex_decode(const char *in, uint8_t *out, size_t len)
{
	size_t		i;

	if (in == NULL || strlen(in) != 2 * len)
		return false;
	for (i = 0; i < len; i++)
	{
		int			hi = hexval((unsigned char) in[2 * i]);
		int			lo = hexval((unsigned char) in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t) ((hi << 4) | lo);
	}
	return true;
}

int
ag_parse_hex_key(const char *text, size_t len, uint8_t out[AG_MASTER_KEY_LEN])
{
	char		hex[2 * AG_MASTER_KEY_LEN + 1];
	size_t		b = 0;
	size_t		e = len;
	bool		ok;

	while (b < e && isspace((unsigned char) text[b]))
		b++;
	while (e > b && isspace((unsigned char) text[e - 1]))
		e--;
	if (e - b != 2 * AG_MASTER_KEY_LEN)
		return 0;
	memcpy(hex, text + b, e - b);
	hex[e - b] = '\0';
	ok = ag_hex_decode(hex, out, AG_MASTER_KEY_LEN);
	ag_wipe(hex, sizeof(hex));
	if (!ok)
		ag_wipe(out, AG_MASTER_KEY_LEN);
	return ok ? 1 : 0;
}

void
ag_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}
