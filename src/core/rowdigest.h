/*
 * rowdigest.h
 *		Canonical encoding of a table row and its SHA-256 content digest.
 *
 * Pure C, no PostgreSQL headers.  A row is fed as (column name, value bytes)
 * pairs for its non-NULL data columns, in strictly ascending byte order of the
 * column names.  NULL columns are left out, so adding a nullable column to a
 * table, or reordering its columns (as a dump and restore may do), does not
 * change the digest of existing rows.
 *
 * The encoding (version 1), whose SHA-256 is the digest:
 *
 *   "AGR1"
 *   for each column:  0x01, u16 name length, name, u32 value length, value
 *   0x00, u32 number of columns
 *
 * All integers are big-endian.  ag_rowenc_parse() reads an encoding back and
 * checks that it is canonical (the fuzz target and the tests rely on it).
 */
#ifndef AI_GUARD_ROWDIGEST_H
#define AI_GUARD_ROWDIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_ROWDIGEST_LEN 32
#define AG_ROWENC_MAX_NAME 0xFFFF
#define AG_ROWENC_MAX_VALUE 0xFFFFFFFFu

typedef enum ag_rowdigest_status
{
	AG_ROWDIGEST_OK = 0,
	AG_ROWDIGEST_ERR_CRYPTO,	/* OpenSSL failed */
	AG_ROWDIGEST_ERR_ORDER,		/* names not strictly ascending */
	AG_ROWDIGEST_ERR_TOO_LONG,	/* name or value too long */
	AG_ROWDIGEST_ERR_STATE		/* call out of sequence */
} ag_rowdigest_status;

typedef struct ag_rowdigest ag_rowdigest;

/* A digest context, reusable for many rows; NULL if out of memory. */
extern ag_rowdigest *ag_rowdigest_new(void);
extern void ag_rowdigest_free(ag_rowdigest *ctx);

/*
 * Optionally also writes the encoding into buf[0..cap) (for tests); the
 * length written so far is returned by ag_rowdigest_captured(), which is
 * larger than cap if the buffer was too small.
 */
extern void ag_rowdigest_capture(ag_rowdigest *ctx, uint8_t *buf, size_t cap);
extern size_t ag_rowdigest_captured(const ag_rowdigest *ctx);

extern ag_rowdigest_status ag_rowdigest_begin(ag_rowdigest *ctx);
extern ag_rowdigest_status ag_rowdigest_add(ag_rowdigest *ctx,
											const char *name, size_t name_len,
											const void *value, size_t value_len);
extern ag_rowdigest_status ag_rowdigest_end(ag_rowdigest *ctx,
											uint8_t out[AG_ROWDIGEST_LEN]);

/* Called for each column by ag_rowenc_parse; non-zero stops the parse. */
typedef int (*ag_rowenc_column_fn) (void *arg,
									const uint8_t *name, size_t name_len,
									const uint8_t *value, size_t value_len);

/*
 * Parses a complete encoding; returns the number of columns, or -1 if buf is
 * not a canonical version-1 encoding (or the callback stopped it).
 */
extern long ag_rowenc_parse(const uint8_t *buf, size_t len,
							ag_rowenc_column_fn fn, void *arg);

/* SHA-256 of buf[0..len): for checking an encoding; false on failure. */
extern bool ag_sha256(const uint8_t *buf, size_t len,
					  uint8_t out[AG_ROWDIGEST_LEN]);

/* Writes 2*len lower-case hex digits and a NUL into out. */
extern void ag_hex_encode(const uint8_t *in, size_t len, char *out);

extern const char *ag_rowdigest_strerror(ag_rowdigest_status st);

#endif							/* AI_GUARD_ROWDIGEST_H */
