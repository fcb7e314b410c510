/*
 * checksum.h
 *		Check digits of payment cards (Luhn) and IBANs (ISO 13616 mod 97).
 *
 * Pure C, no PostgreSQL headers: used by the PII scanner, the demo data
 * generator and their tests.
 */
#ifndef AI_GUARD_CHECKSUM_H
#define AI_GUARD_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

/* True if digits[0..len) are all ASCII digits and pass the Luhn check. */
extern bool ag_luhn_valid(const char *digits, size_t len);

/* The Luhn check digit ('0'..'9') to append to digits[0..len). */
extern char ag_luhn_check_digit(const char *digits, size_t len);

/*
 * True if iban[0..len) is a well-formed IBAN without spaces (two upper-case
 * letters, two check digits, 11 to 30 alphanumerics) whose mod-97 remainder
 * is 1.
 */
extern bool ag_iban_valid(const char *iban, size_t len);

/*
 * Computes the two check digits for country cc (two upper-case letters) and
 * basic bank account number bban[0..len) (upper-case letters and digits).
 * Returns false on malformed input.
 */
extern bool ag_iban_check_digits(const char *cc, const char *bban, size_t len,
								 char out[2]);

#endif							/* AI_GUARD_CHECKSUM_H */
