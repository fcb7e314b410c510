/*
 * digest.h
 *		Streaming SHA-256, COPY text-format escaping and the audit chain hash.
 *
 * Pure C, no PostgreSQL headers: the glue in audit_hook.c feeds delivered
 * rows through these functions, the audit writer and verify_audit() hash
 * records with them, and test/unit/test_digest.c and test/fuzz/fuzz_digest.c
 * exercise them alone.  All cryptography goes through OpenSSL EVP.
 */
#ifndef AI_GUARD_DIGEST_H
#define AI_GUARD_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_SHA256_LEN		32
#define AG_SHA256_HEX_LEN	64

/*
 * A streaming SHA-256 with a small write buffer, so that many short updates
 * (one per column, one per row) cost one EVP call per few kilobytes.
 */
typedef struct ag_sha256 ag_sha256;

/* Returns NULL if OpenSSL cannot allocate or initialize the context. */
extern ag_sha256 *ag_sha256_new(void);

/* Adds data[0..len); returns false on an OpenSSL failure. */
extern bool ag_sha256_update(ag_sha256 *h, const void *data, size_t len);

/*
 * Writes the lower-case hex digest and a terminating NUL to out (65 bytes).
 * The context may not be updated afterwards; returns false on failure.
 */
extern bool ag_sha256_final_hex(ag_sha256 *h, char *out);

/* Frees the context; NULL is allowed. */
extern void ag_sha256_free(ag_sha256 *h);

/* One-shot SHA-256 of data[0..len) as hex into out (65 bytes). */
extern bool ag_sha256_hex(const void *data, size_t len, char *out);

/*
 * COPY text format (the default format of COPY ... TO, delimiter tab):
 * backslash, the delimiter and the control characters \b \f \n \r \t \v are
 * written as backslash sequences; every other byte is copied unchanged.  This
 * is exact for every server encoding PostgreSQL allows (none of them embeds
 * ASCII bytes in multibyte characters).
 *
 * ag_copy_escape writes the escaped form of s[0..len) to out, which must have
 * room for 2 * len bytes, and returns the number of bytes written.
 */
extern size_t ag_copy_escape(const char *s, size_t len, char *out);

/* The text COPY writes for a NULL value. */
#define AG_COPY_NULL		"\\N"

/*
 * The inverse of ag_copy_escape for one field (no delimiter, no newline in
 * the input): decodes in[0..len) into out (room for len bytes), sets *outlen.
 * Returns false for a malformed field: a trailing lone backslash, or a
 * backslash sequence that ag_copy_escape never writes.  Octal and hex escapes
 * that COPY FROM also accepts are not produced by COPY TO and are rejected.
 */
extern bool ag_copy_unescape(const char *in, size_t len, char *out,
							 size_t *outlen);

/*
 * The chain hash of an audit record:
 *   SHA-256("ai_guard audit v1\n" || prev || "\n" || field_1 || ... )
 * where each field is "N;" when it is NULL (fields[i] == NULL) and
 * "<decimal length>:<bytes>;" otherwise, so that no two different field
 * lists hash the same input.  prev may be NULL (treated as empty).
 * Writes the hex digest to out (65 bytes); returns false on failure.
 */
extern bool ag_record_hash(const char *prev, size_t prevlen,
						   const char *const *fields, const size_t *lens,
						   int nfields, char *out);

/*
 * A purpose is "class" or "class:detail"; the class is 1 to 63 bytes of
 * [a-z0-9_-].  Returns the length of the class, or -1 if p[0..len) is not a
 * well-formed purpose (also for control characters or len > 1024).
 */
extern int	ag_purpose_class_len(const char *p, size_t len);

#endif							/* AI_GUARD_DIGEST_H */
