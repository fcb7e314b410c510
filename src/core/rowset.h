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

/*
 * How many of the strictly ascending ids q[0..nq) the encoded set holds,
 * reading runs and bitmaps without expanding them (a whole-table set is
 * answered in a few steps per chunk); -1 if the encoding is malformed.
 */
extern int64_t ag_rowset_count_in(const uint8_t *data, size_t len,
								  const uint64_t *q, size_t nq);

/*
 * Building a set from ids that arrive in any order, with duplicates, in
 * bounded memory: ids wait in an array; when it fills, chunks that hold
 * enough of them (a bitmap is then smaller than their ids) move to 8 KiB
 * bitmaps, so memory stays below 8 bytes per id and 8 KiB per chunk.
 * Memory comes from the caller's allocator (palloc in the server).
 */
typedef struct ag_rowset_alloc
{
	void	   *(*realloc_fn) (void *ctx, void *ptr, size_t size);	/* ptr NULL: new */
	void		(*free_fn) (void *ctx, void *ptr);
	void	   *ctx;
} ag_rowset_alloc;

typedef struct ag_rowset_chunk
{
	uint64_t	key;
	uint8_t    *bits;			/* AG_ROWSET_BITMAP_BYTES */
} ag_rowset_chunk;

typedef struct ag_rowset_builder
{
	ag_rowset_alloc mem;
	uint64_t   *ids;			/* pending ids, unsorted */
	size_t		n;
	size_t		cap;
	ag_rowset_chunk *chunks;	/* sorted by key */
	size_t		nchunks;
	size_t		capchunks;
	size_t		last_chunk;		/* index of the last chunk hit */
	bool		failed;			/* an allocation failed: the set is incomplete */
	/* segment walk, after ag_rowset_builder_finish */
	uint64_t   *seg_ids;
	size_t		pos;			/* next pending id */
	size_t		chunk_pos;		/* next chunk */
} ag_rowset_builder;

/* ids per segment: segments are independent sets of 2^20 consecutive ids */
#define AG_ROWSET_SEGMENT_BITS 20

extern void ag_rowset_builder_init(ag_rowset_builder *b, const ag_rowset_alloc *mem);
extern void ag_rowset_builder_add(ag_rowset_builder *b, uint64_t id);
extern void ag_rowset_builder_reset(ag_rowset_builder *b);
extern void ag_rowset_builder_free(ag_rowset_builder *b);

/* Sorts what is pending; then the segments can be walked. */
extern void ag_rowset_builder_finish(ag_rowset_builder *b);

/*
 * The next non-empty segment, ascending: its number (id >> 20) in *segment
 * and its ids, ascending, in *ids[0..*n) (valid until the next call).
 * Returns false when there are no more (or memory ran out: check failed).
 */
extern bool ag_rowset_builder_next_segment(ag_rowset_builder *b, uint64_t *segment,
										   const uint64_t **ids, size_t *n);

#endif							/* AI_GUARD_ROWSET_H */
