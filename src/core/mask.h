/*
 * mask.h
 *		Masking primitives over byte strings.
 *
 * Pure C, no PostgreSQL headers: used by masking_sql.c, the unit tests and
 * the fuzzers.  Every function writes into a caller-provided buffer whose
 * size the matching *_max() function gives, and returns the number of bytes
 * written.  Inputs need not be NUL-terminated; outputs are not terminated.
 *
 * Character counting is UTF-8 aware when utf8 is true (server encoding
 * UTF8) and byte-wise otherwise (single-byte encodings).
 */
#ifndef AI_GUARD_MASK_H
#define AI_GUARD_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_MASK_CHAR 'X'

/* Output bound of every function below except ag_mask_partial. */
#define AG_MASK_MAX(len) ((len) + 8)

/*
 * E-mail: keeps the domain and the first character of the local part,
 * replaces the rest of the local part with "***": "a***@example.com".
 * Without an '@' the whole value becomes "***".
 */
extern size_t ag_mask_email(const char *in, size_t len, bool utf8, char *out);

/*
 * Every ASCII digit except the last keep digits becomes 'X'; other bytes
 * (separators, '+', parentheses) are kept.  If the value has no more than
 * keep digits, all digits are masked (nothing short is ever shown whole).
 */
extern size_t ag_mask_digits(const char *in, size_t len, int keep, char *out);

/* Phone numbers: ag_mask_digits. */
#define ag_mask_phone ag_mask_digits

/* Payment cards: the last four digits stay if there are at least 12. */
extern size_t ag_mask_card(const char *in, size_t len, char *out);

/*
 * IBAN: keeps the country code and the last four characters, masks every
 * other letter and digit with 'X' and keeps spaces.  Values with fewer than
 * 12 letters and digits are masked entirely.
 */
extern size_t ag_mask_iban(const char *in, size_t len, char *out);

/*
 * partial(value, keep_prefix, pad, keep_suffix): the first keep_prefix and
 * the last keep_suffix characters around pad.  If they would cover the whole
 * value (keep_prefix + keep_suffix >= characters), only pad is returned, so a
 * short value is never shown whole.  Output bound: len + padlen.
 */
extern size_t ag_mask_partial(const char *in, size_t len, bool utf8,
							  int keep_prefix, const char *pad, size_t padlen,
							  int keep_suffix, char *out);

/* Number of characters of in[0..len) (UTF-8 lead bytes, or bytes). */
extern size_t ag_char_count(const char *in, size_t len, bool utf8);

/* Byte offset of character number chars (0-based) of in[0..len). */
extern size_t ag_char_offset(const char *in, size_t len, bool utf8,
							 size_t chars);

/*
 * Deterministic multiplicative noise: value * (1 + ratio * u), u in [-1, 1)
 * drawn from HMAC-SHA-256(key, context || value).  The same key, context and
 * value always give the same result; without the key the factor cannot be
 * computed.  NaN and infinities are returned unchanged.  Returns false if
 * the MAC could not be computed.
 */
extern bool ag_noise(const uint8_t *key, size_t keylen,
					 const char *context, size_t contextlen,
					 double value, double ratio, double *result);

/*
 * The same with the key set up once: ag_noise_ctx_new returns NULL on
 * failure; ag_noise_with re-initialises the MAC for each value without
 * allocating.  Results equal ag_noise's for the same key.
 */
typedef struct ag_noise_ctx ag_noise_ctx;
extern ag_noise_ctx *ag_noise_ctx_new(const uint8_t *key, size_t keylen);
extern void ag_noise_ctx_free(ag_noise_ctx *ctx);
extern bool ag_noise_with(ag_noise_ctx *ctx, const char *context,
						  size_t contextlen, double value, double ratio,
						  double *result);

#endif							/* AI_GUARD_MASK_H */
