/*
 * rowset.h
 *		Compact sets of row ids: which rows of a relation a pull contained.
 *
 * Pure C, no PostgreSQL headers; unit-tested and fuzzed. The encoding splits
 * the id space into chunks of 65,536 ids and stores each chunk as runs of
 * consecutive ids (delta-encoded varints) or, when that would be larger, as
 * a bitmap, so a whole-table pull costs a few bytes and a random sample at
 * most one bit per id in its range.
 *
 * Layout (varint = unsigned LEB128):
 *	 'R' 1                      magic and format version
 *	 varint count               number of ids in the set
 *	 per chunk, ascending:
 *	   varint key               the first chunk's key (id >> 16); later
 *	                            chunks: key - previous key - 1
 *	   byte   kind              0 = runs, 1 = bitmap
 *	   runs:   varint nruns (>= 1), then per run varint gap, varint length - 1;
 *	           the first gap is the run's start (low 16 bits), later gaps
 *	           are start - (previous run's last id + 1), at least 1
 *	   bitmap: 8192 bytes, bit i of byte j is id low bits j * 8 + i
 */
#ifndef AI_GUARD_ROWSET_H
#define AI_GUARD_ROWSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_ROWSET_CHUNK_BITS 16
#define AG_ROWSET_BITMAP_BYTES 8192

/*
 * Sorts ids[0..n) ascending and removes duplicates in place; returns the new
 * count.
 */
extern size_t ag_rowset_sort_unique(uint64_t *ids, size_t n);

/*
 * Encodes strictly ascending ids[0..n) into out and returns the encoded
 * length; with out NULL, only returns the length (to size the buffer).
 * Returns 0 if the ids are not strictly ascending.
 */
extern size_t ag_rowset_encode(const uint64_t *ids, size_t n, uint8_t *out);

/* Walks an encoded set without allocating. */
typedef struct ag_rowset_iter
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	count;			/* ids the header promises */
	uint64_t	seen;			/* ids returned so far */
	uint64_t	key;			/* current chunk's key */
	bool		started;		/* a chunk has been read */
	int			kind;			/* current chunk: 0 runs, 1 bitmap, -1 none */
	uint64_t	runs_left;		/* runs: runs not yet started */
	uint64_t	run_next;		/* runs: next id of the current run */
	uint64_t	run_left;		/* runs: ids left in the current run */
	uint64_t	prev_end;		/* runs: low bits past the previous run */
	bool		first_run;		/* runs: no run of this chunk read yet */
	const uint8_t *bitmap;		/* bitmap: its bytes */
	uint32_t	bit;			/* bitmap: next bit to look at */
	uint64_t	last;			/* last id returned, to check the order */
} ag_rowset_iter;

/* Starts walking data[0..len); false if the header is malformed. */
extern bool ag_rowset_iter_init(ag_rowset_iter *it, const uint8_t *data, size_t len);

/*
 * The next id: 1 and *id set, 0 at the end of a well-formed set, -1 if the
 * encoding is malformed (truncated, out of order, wrong count, trailing
 * bytes).
 */
extern int	ag_rowset_next(ag_rowset_iter *it, uint64_t *id);

/* Number of ids the header promises (valid after a successful init). */
extern uint64_t ag_rowset_count(const ag_rowset_iter *it);

#endif							/* AI_GUARD_ROWSET_H */
