/*
 * rowdigest.c
 *		Canonical row encoding and SHA-256 content digest (see rowdigest.h).
 *
 * The digest is streamed: ag_rowdigest_add() feeds a column as it comes
 * through a 4 kB staging buffer (so a typical row costs one EVP update, not
 * four per column); longer values go to EVP directly.  The context keeps
 * its fetched EVP_MD and EVP_MD_CTX between rows; the stamping trigger
 * reuses one context per backend.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rowdigest.h"

static const uint8_t magic[4] = {'A', 'G', 'R', '1'};

#define AG_ROWDIGEST_BUF 4096

struct ag_rowdigest
{
	EVP_MD	   *alg;			/* SHA-256, fetched once */
	EVP_MD_CTX *md;
	/* bytes not yet hashed: one EVP update per row instead of per field */
	uint8_t		pend[AG_ROWDIGEST_BUF];
	size_t		npend;
	bool		open;			/* between begin and end */
	uint32_t	ncols;
	/* last column name, to check the order (names are short: <= 64K) */
	uint8_t    *last;
	size_t		last_len;
	size_t		last_cap;
	bool		have_last;
	/* optional capture of the encoding */
	uint8_t    *cap_buf;
	size_t		cap_cap;
	size_t		cap_len;
};

ag_rowdigest *
ag_rowdigest_new(void)
{
	ag_rowdigest *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->alg = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL || ctx->alg == NULL)
	{
		EVP_MD_CTX_free(ctx->md);
		EVP_MD_free(ctx->alg);
		free(ctx);
		return NULL;
	}
	return ctx;
}

void
ag_rowdigest_free(ag_rowdigest *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	EVP_MD_free(ctx->alg);
	free(ctx->last);
	free(ctx);
}

void
ag_rowdigest_capture(ag_rowdigest *ctx, uint8_t *buf, size_t cap)
{
	ctx->cap_buf = buf;
	ctx->cap_cap = buf ? cap : 0;
	ctx->cap_len = 0;
}

size_t
ag_rowdigest_captured(const ag_rowdigest *ctx)
{
	return ctx->cap_len;
}

static bool
feed(ag_rowdigest *ctx, const void *p, size_t n)
{
	if (ctx->cap_buf != NULL)
	{
		if (ctx->cap_len < ctx->cap_cap)
		{
			size_t		room = ctx->cap_cap - ctx->cap_len;

			memcpy(ctx->cap_buf + ctx->cap_len, p, n < room ? n : room);
		}
		ctx->cap_len += n;
	}
	if (n == 0)
		return true;
	if (n <= sizeof(ctx->pend) - ctx->npend)
	{
		memcpy(ctx->pend + ctx->npend, p, n);
		ctx->npend += n;
		return true;
	}
	if (ctx->npend > 0)
	{
		if (EVP_DigestUpdate(ctx->md, ctx->pend, ctx->npend) != 1)
			return false;
		ctx->npend = 0;
	}
	if (n <= sizeof(ctx->pend))
	{
		memcpy(ctx->pend, p, n);
		ctx->npend = n;
		return true;
	}
	return EVP_DigestUpdate(ctx->md, p, n) == 1;
}

static void
put_u16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t) (v >> 8);
	b[1] = (uint8_t) v;
}

static void
put_u32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t) (v >> 24);
	b[1] = (uint8_t) (v >> 16);
	b[2] = (uint8_t) (v >> 8);
	b[3] = (uint8_t) v;
}

ag_rowdigest_status
ag_rowdigest_begin(ag_rowdigest *ctx)
{
	if (ctx->cap_buf != NULL)
		ctx->cap_len = 0;
	ctx->open = false;
	ctx->ncols = 0;
	ctx->have_last = false;
	ctx->npend = 0;
	if (EVP_DigestInit_ex2(ctx->md, ctx->alg, NULL) != 1)
		return AG_ROWDIGEST_ERR_CRYPTO;
	if (!feed(ctx, magic, sizeof(magic)))
		return AG_ROWDIGEST_ERR_CRYPTO;
	ctx->open = true;
	return AG_ROWDIGEST_OK;
}

/* memcmp order, a proper prefix sorting first */
static int
name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t		n = alen < blen ? alen : blen;
	int			c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

ag_rowdigest_status
ag_rowdigest_add(ag_rowdigest *ctx, const char *name, size_t name_len,
				 const void *value, size_t value_len)
{
	uint8_t		hdr[3];
	uint8_t		vlen[4];

	if (!ctx->open)
		return AG_ROWDIGEST_ERR_STATE;
	if (name_len > AG_ROWENC_MAX_NAME || value_len > AG_ROWENC_MAX_VALUE ||
		ctx->ncols == UINT32_MAX)
		return AG_ROWDIGEST_ERR_TOO_LONG;
	if (ctx->have_last &&
		name_cmp(ctx->last, ctx->last_len, (const uint8_t *) name, name_len) >= 0)
		return AG_ROWDIGEST_ERR_ORDER;

	/* remember the name for the next order check */
	if (name_len > ctx->last_cap)
	{
		uint8_t    *n = realloc(ctx->last, name_len);

		if (n == NULL)
			return AG_ROWDIGEST_ERR_TOO_LONG;
		ctx->last = n;
		ctx->last_cap = name_len;
	}
	if (name_len)
		memcpy(ctx->last, name, name_len);
	ctx->last_len = name_len;
	ctx->have_last = true;

	hdr[0] = 0x01;
	put_u16(hdr + 1, (uint32_t) name_len);
	put_u32(vlen, (uint32_t) value_len);
	if (!feed(ctx, hdr, sizeof(hdr)) ||
		!feed(ctx, name, name_len) ||
		!feed(ctx, vlen, sizeof(vlen)) ||
		!feed(ctx, value, value_len))
		return AG_ROWDIGEST_ERR_CRYPTO;
	ctx->ncols++;
	return AG_ROWDIGEST_OK;
}

ag_rowdigest_status
ag_rowdigest_end(ag_rowdigest *ctx, uint8_t out[AG_ROWDIGEST_LEN])
{
	uint8_t		trailer[5];
	unsigned int outlen = 0;

	if (!ctx->open)
		return AG_ROWDIGEST_ERR_STATE;
	ctx->open = false;
	trailer[0] = 0x00;
	put_u32(trailer + 1, ctx->ncols);
	if (!feed(ctx, trailer, sizeof(trailer)))
		return AG_ROWDIGEST_ERR_CRYPTO;
	if (ctx->npend > 0 && EVP_DigestUpdate(ctx->md, ctx->pend, ctx->npend) != 1)
		return AG_ROWDIGEST_ERR_CRYPTO;
	ctx->npend = 0;
	if (EVP_DigestFinal_ex(ctx->md, out, &outlen) != 1 ||
		outlen != AG_ROWDIGEST_LEN)
		return AG_ROWDIGEST_ERR_CRYPTO;
	return AG_ROWDIGEST_OK;
}

long
ag_rowenc_parse(const uint8_t *buf, size_t len, ag_rowenc_column_fn fn,
				void *arg)
{
	size_t		pos = sizeof(magic);
	const uint8_t *prev = NULL;
	size_t		prev_len = 0;
	uint32_t	ncols = 0;

	if (buf == NULL || len < sizeof(magic) + 5 ||
		memcmp(buf, magic, sizeof(magic)) != 0)
		return -1;

	for (;;)
	{
		size_t		nlen;
		size_t		vlen;
		const uint8_t *name;

		if (pos >= len)
			return -1;
		if (buf[pos] == 0x00)
		{
			uint32_t	count;

			if (len - pos != 5)
				return -1;
			count = ((uint32_t) buf[pos + 1] << 24) | ((uint32_t) buf[pos + 2] << 16) |
				((uint32_t) buf[pos + 3] << 8) | (uint32_t) buf[pos + 4];
			if (count != ncols)
				return -1;
			return (long) ncols;
		}
		if (buf[pos] != 0x01 || len - pos < 3)
			return -1;
		nlen = ((size_t) buf[pos + 1] << 8) | buf[pos + 2];
		pos += 3;
		if (len - pos < nlen)
			return -1;
		name = buf + pos;
		pos += nlen;
		if (len - pos < 4)
			return -1;
		vlen = ((size_t) buf[pos] << 24) | ((size_t) buf[pos + 1] << 16) |
			((size_t) buf[pos + 2] << 8) | (size_t) buf[pos + 3];
		pos += 4;
		if (len - pos < vlen)
			return -1;
		if (prev != NULL && name_cmp(prev, prev_len, name, nlen) >= 0)
			return -1;
		if (ncols == UINT32_MAX)
			return -1;
		if (fn != NULL && fn(arg, name, nlen, buf + pos, vlen) != 0)
			return -1;
		prev = name;
		prev_len = nlen;
		pos += vlen;
		ncols++;
	}
}

bool
ag_sha256(const uint8_t *buf, size_t len, uint8_t out[AG_ROWDIGEST_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(buf, len, out, &outlen, EVP_sha256(), NULL) != 1)
		return false;
	return outlen == AG_ROWDIGEST_LEN;
}

void
ag_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

const char *
ag_rowdigest_strerror(ag_rowdigest_status st)
{
	switch (st)
	{
		case AG_ROWDIGEST_OK:
			return "success";
		case AG_ROWDIGEST_ERR_CRYPTO:
			return "SHA-256 computation failed";
		case AG_ROWDIGEST_ERR_ORDER:
			return "column names are not in strictly ascending order";
		case AG_ROWDIGEST_ERR_TOO_LONG:
			return "column name or value too long";
		case AG_ROWDIGEST_ERR_STATE:
			return "row digest used out of sequence";
	}
	return "unknown error";
}
