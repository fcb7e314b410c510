/*
 * rowset_build.c
 *		Collecting row ids as rows are delivered, in any order, in bounded
 *		memory, then walking them as sorted segments to encode (rowset.h).
 */
#include <stdlib.h>
#include <string.h>

#include "rowset.h"

#define CHUNK_SIZE ((uint64_t) 1 << AG_ROWSET_CHUNK_BITS)
#define LOW_MASK (CHUNK_SIZE - 1)
#define CHUNKS_PER_SEGMENT_BITS (AG_ROWSET_SEGMENT_BITS - AG_ROWSET_CHUNK_BITS)

/* pending ids start here and are compacted once the array reaches COMPACT_AT */
#define PENDING_MIN 1024
#define COMPACT_AT 65536
/* from this many ids in one chunk a bitmap is no larger than the ids */
#define BITMAP_WORTH (AG_ROWSET_BITMAP_BYTES / sizeof(uint64_t))

static void *
take(ag_rowset_builder *b, void *ptr, size_t size)
{
	void	   *p = b->mem.realloc_fn(b->mem.ctx, ptr, size);

	if (p == NULL)
		b->failed = true;
	return p;
}

void
ag_rowset_builder_init(ag_rowset_builder *b, const ag_rowset_alloc *mem)
{
	memset(b, 0, sizeof(*b));
	b->mem = *mem;
}

/* Index of the chunk with key, or -1. */
static long
find_chunk(ag_rowset_builder *b, uint64_t key)
{
	size_t		lo = 0,
				hi = b->nchunks;

	if (b->last_chunk < b->nchunks && b->chunks[b->last_chunk].key == key)
		return (long) b->last_chunk;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (b->chunks[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nchunks && b->chunks[lo].key == key)
	{
		b->last_chunk = lo;
		return (long) lo;
	}
	return -1;
}

static int
cmp_chunk(const void *a, const void *b)
{
	uint64_t	x = ((const ag_rowset_chunk *) a)->key;
	uint64_t	y = ((const ag_rowset_chunk *) b)->key;

	return x < y ? -1 : x > y;
}

/*
 * Sorts the pending ids and moves every chunk that holds enough of them to a
 * bitmap; the rest stay pending, sorted.
 */
static void
compact(ag_rowset_builder *b)
{
	size_t		i = 0,
				w = 0;
	size_t		added = 0;

	b->n = ag_rowset_sort_unique(b->ids, b->n);
	while (i < b->n)
	{
		uint64_t	key = b->ids[i] >> AG_ROWSET_CHUNK_BITS;
		size_t		j = i;

		while (j < b->n && (b->ids[j] >> AG_ROWSET_CHUNK_BITS) == key)
			j++;
		if (j - i >= BITMAP_WORTH)
		{
			uint8_t    *bits;
			size_t		k;

			if (b->nchunks == b->capchunks)
			{
				size_t		cap = b->capchunks ? b->capchunks * 2 : 16;
				ag_rowset_chunk *c = take(b, b->chunks, cap * sizeof(ag_rowset_chunk));

				if (c == NULL)
					return;
				b->chunks = c;
				b->capchunks = cap;
			}
			bits = take(b, NULL, AG_ROWSET_BITMAP_BYTES);
			if (bits == NULL)
				return;
			memset(bits, 0, AG_ROWSET_BITMAP_BYTES);
			for (k = i; k < j; k++)
			{
				uint64_t	low = b->ids[k] & LOW_MASK;

				bits[low / 8] |= (uint8_t) (1u << (low % 8));
			}
			b->chunks[b->nchunks].key = key;
			b->chunks[b->nchunks].bits = bits;
			b->nchunks++;
			added++;
		}
		else
		{
			memmove(b->ids + w, b->ids + i, (j - i) * sizeof(uint64_t));
			w += j - i;
		}
		i = j;
	}
	b->n = w;
	if (added)
	{
		qsort(b->chunks, b->nchunks, sizeof(ag_rowset_chunk), cmp_chunk);
		b->last_chunk = 0;
	}
}

void
ag_rowset_builder_add(ag_rowset_builder *b, uint64_t id)
{
	if (b->failed)
		return;
	if (b->n == b->cap)
	{
		if (b->cap >= COMPACT_AT)
			compact(b);
		if (b->failed)
			return;
		/* grow unless compaction freed at least half */
		if (b->n > b->cap / 2 || b->cap == 0)
		{
			size_t		cap = b->cap ? b->cap * 2 : PENDING_MIN;
			uint64_t   *ids = take(b, b->ids, cap * sizeof(uint64_t));

			if (ids == NULL)
				return;
			b->ids = ids;
			b->cap = cap;
		}
	}
	/* an id of a chunk that has a bitmap goes there, never to pending */
	if (b->nchunks > 0)
	{
		long		c = find_chunk(b, id >> AG_ROWSET_CHUNK_BITS);

		if (c >= 0)
		{
			uint64_t	low = id & LOW_MASK;

			b->chunks[c].bits[low / 8] |= (uint8_t) (1u << (low % 8));
			return;
		}
	}
	b->ids[b->n++] = id;
}

void
ag_rowset_builder_reset(ag_rowset_builder *b)
{
	size_t		i;

	for (i = 0; i < b->nchunks; i++)
		b->mem.free_fn(b->mem.ctx, b->chunks[i].bits);
	b->nchunks = 0;
	b->n = 0;
	b->last_chunk = 0;
	b->pos = 0;
	b->chunk_pos = 0;
	b->failed = false;
}

void
ag_rowset_builder_free(ag_rowset_builder *b)
{
	ag_rowset_builder_reset(b);
	if (b->ids)
		b->mem.free_fn(b->mem.ctx, b->ids);
	if (b->chunks)
		b->mem.free_fn(b->mem.ctx, b->chunks);
	if (b->seg_ids)
		b->mem.free_fn(b->mem.ctx, b->seg_ids);
	b->ids = NULL;
	b->chunks = NULL;
	b->seg_ids = NULL;
	b->cap = b->capchunks = 0;
}

void
ag_rowset_builder_finish(ag_rowset_builder *b)
{
	/* pending ids never share a chunk with a bitmap (add routes them there) */
	b->n = ag_rowset_sort_unique(b->ids, b->n);
	b->pos = 0;
	b->chunk_pos = 0;
}

bool
ag_rowset_builder_next_segment(ag_rowset_builder *b, uint64_t *segment,
							   const uint64_t **ids, size_t *n)
{
	uint64_t	seg;
	size_t		need = 0;
	size_t		p,
				c,
				out = 0;

	if (b->failed)
		return false;
	if (b->pos >= b->n && b->chunk_pos >= b->nchunks)
		return false;
	if (b->pos < b->n)
		seg = b->ids[b->pos] >> AG_ROWSET_SEGMENT_BITS;
	else
		seg = b->chunks[b->chunk_pos].key >> CHUNKS_PER_SEGMENT_BITS;
	if (b->chunk_pos < b->nchunks &&
		(b->chunks[b->chunk_pos].key >> CHUNKS_PER_SEGMENT_BITS) < seg)
		seg = b->chunks[b->chunk_pos].key >> CHUNKS_PER_SEGMENT_BITS;

	/* room for this segment's ids */
	for (p = b->pos; p < b->n && (b->ids[p] >> AG_ROWSET_SEGMENT_BITS) == seg; p++)
		need++;
	for (c = b->chunk_pos;
		 c < b->nchunks && (b->chunks[c].key >> CHUNKS_PER_SEGMENT_BITS) == seg; c++)
		need += CHUNK_SIZE;
	{
		uint64_t   *buf = take(b, b->seg_ids, need * sizeof(uint64_t));

		if (buf == NULL)
			return false;
		b->seg_ids = buf;
	}

	/* merge pending ids and bitmaps, chunk by chunk (their keys differ) */
	p = b->pos;
	c = b->chunk_pos;
	for (;;)
	{
		bool		have_p = p < b->n && (b->ids[p] >> AG_ROWSET_SEGMENT_BITS) == seg;
		bool		have_c = c < b->nchunks &&
			(b->chunks[c].key >> CHUNKS_PER_SEGMENT_BITS) == seg;

		if (!have_p && !have_c)
			break;
		if (have_c && (!have_p ||
					   b->chunks[c].key < (b->ids[p] >> AG_ROWSET_CHUNK_BITS)))
		{
			const uint8_t *bits = b->chunks[c].bits;
			uint64_t	base = b->chunks[c].key << AG_ROWSET_CHUNK_BITS;
			uint64_t	low;

			for (low = 0; low < CHUNK_SIZE; low += 8)
			{
				uint8_t		byte = bits[low / 8];

				while (byte)
				{
					int			bit = __builtin_ctz(byte);

					b->seg_ids[out++] = base + low + (uint64_t) bit;
					byte &= (uint8_t) (byte - 1);
				}
			}
			c++;
		}
		else
		{
			uint64_t	key = b->ids[p] >> AG_ROWSET_CHUNK_BITS;

			while (p < b->n && (b->ids[p] >> AG_ROWSET_CHUNK_BITS) == key)
				b->seg_ids[out++] = b->ids[p++];
		}
	}
	b->pos = p;
	b->chunk_pos = c;
	*segment = seg;
	*ids = b->seg_ids;
	*n = out;
	return true;
}
