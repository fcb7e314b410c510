/*
 * rowset.c
 *		Compact sets of row ids (see rowset.h for the layout).
 */
#include <stdlib.h>
#include <string.h>

#include "rowset.h"

#define CHUNK_SIZE ((uint64_t) 1 << AG_ROWSET_CHUNK_BITS)
#define LOW_MASK (CHUNK_SIZE - 1)

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

size_t
ag_rowset_sort_unique(uint64_t *ids, size_t n)
{
	size_t		i,
				j = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(uint64_t), cmp_u64);
	for (i = 1; i < n; i++)
		if (ids[i] != ids[j])
			ids[++j] = ids[i];
	return j + 1;
}

/* Writes v as LEB128 at out (if not NULL); returns its length. */
static size_t
put_varint(uint8_t *out, uint64_t v)
{
	size_t		n = 0;

	do
	{
		uint8_t		b = v & 0x7f;

		v >>= 7;
		if (v)
			b |= 0x80;
		if (out)
			out[n] = b;
		n++;
	} while (v);
	return n;
}

static bool
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t	r = 0;
	int			shift = 0;

	while (*p < end)
	{
		uint8_t		b = *(*p)++;

		if (shift == 63 && (b & 0x7e))
			return false;		/* more than 64 bits */
		r |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*v = r;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

/* Encodes ids[0..n) of one chunk as runs at out (if not NULL); returns length. */
static size_t
put_runs(uint8_t *out, const uint64_t *ids, size_t n)
{
	size_t		len = 0;
	size_t		nruns = 1;
	size_t		i;
	uint64_t	prev_end = 0;

	for (i = 1; i < n; i++)
		if (ids[i] != ids[i - 1] + 1)
			nruns++;
	len += put_varint(out ? out + len : NULL, nruns);
	i = 0;
	while (i < n)
	{
		size_t		j = i;
		uint64_t	start = ids[i] & LOW_MASK;

		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		len += put_varint(out ? out + len : NULL, i == 0 ? start : start - prev_end);
		len += put_varint(out ? out + len : NULL, (uint64_t) (j - i));
		prev_end = (ids[j] & LOW_MASK) + 1;
		i = j + 1;
	}
	return len;
}

size_t
ag_rowset_encode(const uint64_t *ids, size_t n, uint8_t *out)
{
	size_t		len = 0;
	size_t		i;
	uint64_t	prev_key = 0;

	for (i = 1; i < n; i++)
		if (ids[i] <= ids[i - 1])
			return 0;
	if (out)
	{
		out[0] = 'R';
		out[1] = 1;
	}
	len = 2;
	len += put_varint(out ? out + len : NULL, (uint64_t) n);

	i = 0;
	while (i < n)
	{
		uint64_t	key = ids[i] >> AG_ROWSET_CHUNK_BITS;
		size_t		j = i;
		size_t		runs_len;

		while (j < n && (ids[j] >> AG_ROWSET_CHUNK_BITS) == key)
			j++;
		len += put_varint(out ? out + len : NULL, i == 0 ? key : key - prev_key - 1);
		prev_key = key;
		runs_len = put_runs(NULL, ids + i, j - i);
		if (runs_len <= AG_ROWSET_BITMAP_BYTES)
		{
			if (out)
				out[len] = 0;
			len++;
			put_runs(out ? out + len : NULL, ids + i, j - i);
			len += runs_len;
		}
		else
		{
			if (out)
			{
				size_t		k;

				out[len] = 1;
				memset(out + len + 1, 0, AG_ROWSET_BITMAP_BYTES);
				for (k = i; k < j; k++)
				{
					uint64_t	low = ids[k] & LOW_MASK;

					out[len + 1 + low / 8] |= (uint8_t) (1u << (low % 8));
				}
			}
			len += 1 + AG_ROWSET_BITMAP_BYTES;
		}
		i = j;
	}
	return len;
}

bool
ag_rowset_iter_init(ag_rowset_iter *it, const uint8_t *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->kind = -1;
	if (data == NULL || len < 3 || data[0] != 'R' || data[1] != 1)
		return false;
	it->p = data + 2;
	it->end = data + len;
	return get_varint(&it->p, it->end, &it->count);
}

uint64_t
ag_rowset_count(const ag_rowset_iter *it)
{
	return it->count;
}

/* Reads the next chunk's header; -1 if malformed, 0 at the end, 1 if read. */
static int
next_chunk(ag_rowset_iter *it)
{
	uint64_t	v;

	if (it->p == it->end)
		return it->seen == it->count ? 0 : -1;
	if (!get_varint(&it->p, it->end, &v))
		return -1;
	if (!it->started)
		it->key = v;
	else
	{
		/* key - previous key - 1, without overflowing the id space */
		if (v >= (UINT64_MAX >> AG_ROWSET_CHUNK_BITS) - it->key)
			return -1;
		it->key += v + 1;
	}
	if (it->key > (UINT64_MAX >> AG_ROWSET_CHUNK_BITS))
		return -1;
	it->started = true;
	if (it->p == it->end)
		return -1;
	it->kind = *it->p++;
	if (it->kind == 0)
	{
		if (!get_varint(&it->p, it->end, &it->runs_left) || it->runs_left == 0 ||
			it->runs_left > CHUNK_SIZE)
			return -1;
		it->run_left = 0;
		it->prev_end = 0;
		it->first_run = true;
	}
	else if (it->kind == 1)
	{
		if ((size_t) (it->end - it->p) < AG_ROWSET_BITMAP_BYTES)
			return -1;
		it->bitmap = it->p;
		it->p += AG_ROWSET_BITMAP_BYTES;
		it->bit = 0;
	}
	else
		return -1;
	return 1;
}

/* The next id of the current chunk: 1 found, 0 chunk done, -1 malformed. */
static int
next_in_chunk(ag_rowset_iter *it, uint64_t *low)
{
	if (it->kind == 0)
	{
		if (it->run_left == 0)
		{
			uint64_t	gap,
						lenm1,
						start;

			if (it->runs_left == 0)
				return 0;
			if (!get_varint(&it->p, it->end, &gap) ||
				!get_varint(&it->p, it->end, &lenm1))
				return -1;
			if (!it->first_run && gap == 0)
				return -1;		/* adjacent runs must be one run */
			start = it->prev_end + gap;
			if (gap >= CHUNK_SIZE || start >= CHUNK_SIZE ||
				lenm1 >= CHUNK_SIZE - start)
				return -1;
			it->runs_left--;
			it->first_run = false;
			it->run_next = start;
			it->run_left = lenm1 + 1;
			it->prev_end = start + lenm1 + 1;
		}
		*low = it->run_next++;
		it->run_left--;
		return 1;
	}
	/* bitmap */
	while (it->bit < CHUNK_SIZE)
	{
		uint32_t	byte = it->bit / 8;

		if (it->bitmap[byte] == 0 && it->bit % 8 == 0)
		{
			it->bit += 8;
			continue;
		}
		if (it->bitmap[byte] & (1u << (it->bit % 8)))
		{
			*low = it->bit++;
			return 1;
		}
		it->bit++;
	}
	return 0;
}

int
ag_rowset_next(ag_rowset_iter *it, uint64_t *id)
{
	for (;;)
	{
		uint64_t	low;
		int			r;

		if (it->kind >= 0)
		{
			r = next_in_chunk(it, &low);
			if (r < 0)
				return -1;
			if (r > 0)
			{
				uint64_t	v = (it->key << AG_ROWSET_CHUNK_BITS) | low;

				if ((it->seen > 0 && v <= it->last) || it->seen >= it->count)
					return -1;
				it->last = v;
				it->seen++;
				*id = v;
				return 1;
			}
			/* a chunk must hold at least one id */
			if (it->kind == 1 && it->bit == CHUNK_SIZE &&
				(it->seen == 0 || (it->last >> AG_ROWSET_CHUNK_BITS) != it->key))
				return -1;
			it->kind = -1;
		}
		r = next_chunk(it);
		if (r <= 0)
			return r;
	}
}

int64_t
ag_rowset_count_in(const uint8_t *data, size_t len, const uint64_t *q, size_t nq)
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	count;
	uint64_t	key = 0;
	bool		started = false;
	size_t		qi = 0;
	int64_t		found = 0;

	if (data == NULL || len < 3 || data[0] != 'R' || data[1] != 1)
		return -1;
	p = data + 2;
	end = data + len;
	if (!get_varint(&p, end, &count))
		return -1;
	while (p < end && qi < nq)
	{
		uint64_t	v;
		int			kind;

		if (!get_varint(&p, end, &v))
			return -1;
		if (!started)
			key = v;
		else
		{
			if (v >= (UINT64_MAX >> AG_ROWSET_CHUNK_BITS) - key)
				return -1;
			key += v + 1;
		}
		if (key > (UINT64_MAX >> AG_ROWSET_CHUNK_BITS))
			return -1;
		started = true;
		if (p == end)
			return -1;
		kind = *p++;

		/* the query ids before this chunk are not in the set */
		while (qi < nq && (q[qi] >> AG_ROWSET_CHUNK_BITS) < key)
			qi++;
		if (kind == 0)
		{
			uint64_t	nruns;
			uint64_t	prev_end = 0;
			uint64_t	r;

			if (!get_varint(&p, end, &nruns) || nruns == 0 || nruns > CHUNK_SIZE)
				return -1;
			for (r = 0; r < nruns; r++)
			{
				uint64_t	gap,
							lenm1,
							start;

				if (!get_varint(&p, end, &gap) || !get_varint(&p, end, &lenm1))
					return -1;
				if (r > 0 && gap == 0)
					return -1;
				start = prev_end + gap;
				if (gap >= CHUNK_SIZE || start >= CHUNK_SIZE ||
					lenm1 >= CHUNK_SIZE - start)
					return -1;
				while (qi < nq && (q[qi] >> AG_ROWSET_CHUNK_BITS) == key &&
					   (q[qi] & LOW_MASK) < start)
					qi++;
				while (qi < nq && (q[qi] >> AG_ROWSET_CHUNK_BITS) == key &&
					   (q[qi] & LOW_MASK) <= start + lenm1)
				{
					found++;
					qi++;
				}
				prev_end = start + lenm1 + 1;
			}
		}
		else if (kind == 1)
		{
			const uint8_t *bits = p;

			if ((size_t) (end - p) < AG_ROWSET_BITMAP_BYTES)
				return -1;
			p += AG_ROWSET_BITMAP_BYTES;
			while (qi < nq && (q[qi] >> AG_ROWSET_CHUNK_BITS) == key)
			{
				uint64_t	low = q[qi] & LOW_MASK;

				if (bits[low / 8] & (1u << (low % 8)))
					found++;
				qi++;
			}
		}
		else
			return -1;
		/* the rest of this chunk's query ids are not in it */
		while (qi < nq && (q[qi] >> AG_ROWSET_CHUNK_BITS) == key)
			qi++;
	}
	return found;
}
