/*-------------------------------------------------------------------------
 *
 * envelope.h
 *		The ai_guard ciphertext envelope and the AEAD/HMAC primitives behind
 *		it.  Pure C plus OpenSSL: no PostgreSQL headers, so the parser can be
 *		unit-tested and fuzzed on its own.
 *
 * Envelope layout (all integers big-endian):
 *
 *	 offset  size  field
 *	 0		 2	   magic "AG"
 *	 2		 1	   format version (1)
 *	 3		 1	   algorithm (1 = aes-256-gcm, 2 = aes-256-siv)
 *	 4		 4	   key id
 *	 8		 4	   key version
 *	 12		 n	   nonce (12 bytes for aes-256-gcm, none for aes-256-siv)
 *	 12+n	 16	   tag (the GCM tag, or the SIV synthetic IV)
 *	 28+n	 ...   ciphertext, as long as the plaintext
 *
 * The first 12 bytes (the header) are authenticated together with the
 * caller's context, so no field can be changed without decryption failing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AG_ENVELOPE_H
#define AG_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_ENV_MAGIC0			'A'
#define AG_ENV_MAGIC1			'G'
#define AG_ENV_FORMAT			1
#define AG_ENV_HEADER_LEN		12
#define AG_ENV_TAG_LEN			16
#define AG_GCM_NONCE_LEN		12
#define AG_MAX_KEY_LEN			64
#define AG_HMAC_LEN				32
#define AG_MASTER_KEY_LEN		32

/* Wrapped data key: format byte, nonce, tag, wrapped key bytes */
#define AG_WRAP_FORMAT			1
#define AG_WRAP_OVERHEAD		(1 + AG_GCM_NONCE_LEN + AG_ENV_TAG_LEN)

typedef enum ag_alg
{
	AG_ALG_NONE = 0,
	AG_ALG_AES256_GCM = 1,
	AG_ALG_AES256_SIV = 2,
	AG_ALG_HMAC_SHA256 = 3
} ag_alg;

/* Results of the functions below; AG_OK is zero. */
typedef enum ag_status
{
	AG_OK = 0,
	AG_ERR_SHORT,				/* shorter than header + nonce + tag */
	AG_ERR_MAGIC,				/* not an ai_guard envelope */
	AG_ERR_FORMAT,				/* unknown format version */
	AG_ERR_ALG,					/* unknown or non-encryption algorithm */
	AG_ERR_AUTH,				/* authentication failed */
	AG_ERR_TOO_LONG,			/* input longer than the primitive allows */
	AG_ERR_BUFFER,				/* output buffer too small */
	AG_ERR_CRYPTO				/* OpenSSL failure (no random bytes, ...) */
} ag_status;

/* A parsed envelope: pointers into the caller's buffer. */
typedef struct ag_envelope
{
	uint8_t		format;
	ag_alg		alg;
	uint32_t	key_id;
	uint32_t	key_version;
	const uint8_t *header;		/* AG_ENV_HEADER_LEN bytes */
	const uint8_t *nonce;		/* nonce_len bytes, NULL if none */
	size_t		nonce_len;
	const uint8_t *tag;			/* AG_ENV_TAG_LEN bytes */
	const uint8_t *ct;			/* ct_len bytes */
	size_t		ct_len;
} ag_envelope;

/* Cipher state for one data key: contexts are set up once and reused. */
typedef struct ag_cipher ag_cipher;

/* ---- the envelope format (no cryptography) ---- */
extern const char *ag_alg_name(ag_alg alg);
extern ag_alg ag_alg_from_name(const char *name);
extern size_t ag_alg_key_len(ag_alg alg);
extern size_t ag_envelope_overhead(ag_alg alg);
extern ag_status ag_envelope_parse(const uint8_t *buf, size_t len,
								   ag_envelope *env);
extern void ag_envelope_write_header(uint8_t *buf, ag_alg alg,
									 uint32_t key_id, uint32_t key_version);
extern const char *ag_status_message(ag_status st);

/* ---- cryptography (OpenSSL EVP; every EVP call of ai_guard is here) ---- */
extern ag_cipher *ag_cipher_new(ag_alg alg, const uint8_t *key, size_t key_len);
extern void ag_cipher_free(ag_cipher *c);
extern ag_alg ag_cipher_alg(const ag_cipher *c);

extern ag_status ag_seal(ag_cipher *c, uint32_t key_id, uint32_t key_version,
						 const uint8_t *pt, size_t pt_len,
						 const uint8_t *aad, size_t aad_len,
						 uint8_t *out, size_t out_cap, size_t *out_len);
extern ag_status ag_open(ag_cipher *c, const ag_envelope *env,
						 const uint8_t *aad, size_t aad_len,
						 uint8_t *out, size_t out_cap, size_t *out_len);

/* HMAC-SHA-256 over the concatenation of n parts. */
extern ag_status ag_hmac(ag_cipher *c, int nparts, const uint8_t *const *parts,
						 const size_t *lens, uint8_t out[AG_HMAC_LEN]);

extern ag_status ag_random_bytes(uint8_t *buf, size_t len);

extern ag_status ag_wrap_key(const uint8_t master[AG_MASTER_KEY_LEN],
							 const uint8_t *aad, size_t aad_len,
							 const uint8_t *key, size_t key_len,
							 uint8_t *out, size_t out_cap, size_t *out_len);
extern ag_status ag_unwrap_key(const uint8_t master[AG_MASTER_KEY_LEN],
							   const uint8_t *aad, size_t aad_len,
							   const uint8_t *wrapped, size_t wrapped_len,
							   uint8_t *key, size_t key_cap, size_t *key_len);

/* First 8 bytes of HMAC(master, fixed label), as 16 hex digits + NUL. */
extern ag_status ag_master_key_id(const uint8_t master[AG_MASTER_KEY_LEN],
								  char out[17]);

/*
 * A 32-byte key derived from the master key for one purpose: HMAC(master,
 * label || 0x00 || context).  Distinct labels give independent keys.
 */
extern ag_status ag_derive_key(const uint8_t master[AG_MASTER_KEY_LEN],
							   const char *label, const uint8_t *context,
							   size_t context_len, uint8_t out[AG_HMAC_LEN]);

/* Bytes from exactly 2 * len hex digits (a NUL-terminated string). */
extern bool ag_hex_decode(const char *in, uint8_t *out, size_t len);

/* Parses exactly 64 hex digits (surrounding white space allowed). */
extern int	ag_parse_hex_key(const char *text, size_t len,
							 uint8_t out[AG_MASTER_KEY_LEN]);

extern void ag_wipe(void *p, size_t len);

#endif							/* AG_ENVELOPE_H */
