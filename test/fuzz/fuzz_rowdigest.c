/*
 * fuzz_rowdigest.c
 *		libFuzzer target for src/core/rowdigest.c.
 *
 * Any bytes are (1) parsed as an encoding, which must not crash, and (2)
 * split into columns (a byte 0..15 picks each value's length), encoded with
 * the streaming API while capturing the bytes; the capture must parse back
 * to the same columns, and the streamed digest must equal the SHA-256 of the
 * captured encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rowdigest.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXCOLS 64

struct col
{
	char		name[8];
	size_t		name_len;
	const uint8_t *value;
	size_t		value_len;
};

struct check
{
	const struct col *cols;
	int			n;
	int			seen;
};

static int
check_fn(void *arg, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen)
{
	struct check *c = arg;
	const struct col *want;

	if (c->seen >= c->n)
		abort();
	want = &c->cols[c->seen++];
	if (nlen != want->name_len || memcmp(name, want->name, nlen) != 0 ||
		vlen != want->value_len || (vlen && memcmp(v, want->value, vlen) != 0))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ag_rowdigest *ctx;
	struct col	cols[MAXCOLS];
	int			n = 0;
	size_t		pos = 0;
	size_t		cap;
	uint8_t    *buf;
	uint8_t		d[AG_ROWDIGEST_LEN];
	uint8_t		want[AG_ROWDIGEST_LEN];
	struct check chk;

	(void) ag_rowenc_parse(data, size, NULL, NULL);

	if (ctx == NULL && (ctx = ag_rowdigest_new()) == NULL)
		abort();

	while (pos < size && n < MAXCOLS)
	{
		size_t		len = data[pos++] & 0x0f;

		if (len > size - pos)
			len = size - pos;
		/* names c00, c01, ... ascend */
		snprintf(cols[n].name, sizeof(cols[n].name), "c%02d", n);
		cols[n].name_len = 3;
		cols[n].value = data + pos;
		cols[n].value_len = len;
		pos += len;
		n++;
	}

	cap = 9 + (size_t) n * 10 + size;
	buf = malloc(cap);
	if (buf == NULL)
		abort();
	ag_rowdigest_capture(ctx, buf, cap);
	if (ag_rowdigest_begin(ctx) != AG_ROWDIGEST_OK)
		abort();
	for (int i = 0; i < n; i++)
		if (ag_rowdigest_add(ctx, cols[i].name, cols[i].name_len,
							 cols[i].value, cols[i].value_len) != AG_ROWDIGEST_OK)
			abort();
	/* out of order is refused and leaves the context usable */
	if (n > 0 && ag_rowdigest_add(ctx, "c00", 3, "", 0) != AG_ROWDIGEST_ERR_ORDER)
		abort();
	if (ag_rowdigest_end(ctx, d) != AG_ROWDIGEST_OK)
		abort();
	if (ag_rowdigest_captured(ctx) > cap)
		abort();

	chk.cols = cols;
	chk.n = n;
	chk.seen = 0;
	if (ag_rowenc_parse(buf, ag_rowdigest_captured(ctx), check_fn, &chk) != n ||
		chk.seen != n)
		abort();
	if (!ag_sha256(buf, ag_rowdigest_captured(ctx), want) ||
		memcmp(d, want, sizeof(d)) != 0)
		abort();
	ag_rowdigest_capture(ctx, NULL, 0);
	free(buf);
	return 0;
}
