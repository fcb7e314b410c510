/*-------------------------------------------------------------------------
 *
 * sign.h
 *		Ed25519 signatures of audit chain heads (OpenSSL EVP), shared by the
 *		server, which signs, and the ai-guard client, which verifies offline.
 *		Pure C plus OpenSSL: no PostgreSQL headers.
 *
 * The signed message is text, so that anyone can check it with any Ed25519
 * implementation:
 *
 *	 "ai_guard audit head v1\n" database_id "\n" seq "\n" head "\n" signed_at
 *
 * where seq is decimal, head the chain head's hex hash and signed_at an ISO
 * 8601 UTC time (YYYY-MM-DDTHH:MM:SS.ffffffZ).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AG_SIGN_H
#define AG_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_ED25519_SEED_LEN		32
#define AG_ED25519_PUBLIC_LEN	32
#define AG_ED25519_SIG_LEN		64

/* The public key of a private key given by its 32-byte seed. */
extern bool ag_ed25519_public(const uint8_t seed[AG_ED25519_SEED_LEN],
							  uint8_t pub[AG_ED25519_PUBLIC_LEN]);
extern bool ag_ed25519_sign(const uint8_t seed[AG_ED25519_SEED_LEN],
							const char *msg, size_t len,
							uint8_t sig[AG_ED25519_SIG_LEN]);
extern bool ag_ed25519_verify(const uint8_t pub[AG_ED25519_PUBLIC_LEN],
							  const char *msg, size_t len,
							  const uint8_t sig[AG_ED25519_SIG_LEN]);

/*
 * The signed message of a head, NUL-terminated, in out (of size cap);
 * returns its length, or -1 if it does not fit or a field is malformed.
 */
extern int	ag_head_message(const char *database_id, long long seq,
							const char *head, const char *signed_at,
							char *out, size_t cap);

#endif							/* AG_SIGN_H */
