/*
 * mask.c
 *		Masking primitives over byte strings (see mask.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mask.h"

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the character starting at in[0] (at least 1, at most len). */
static size_t
char_len(const char *in, size_t len, bool utf8)
{
	unsigned char c = (unsigned char) in[0];
	size_t		k = 1;

	if (!utf8 || c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		k = 2;
	else if ((c & 0xF0) == 0xE0)
		k = 3;
	else if ((c & 0xF8) == 0xF0)
		k = 4;
	return k < len ? k : len;
}

size_t
ag_char_count(const char *in, size_t len, bool utf8)
{
	size_t		n = 0;
	size_t		p = 0;

	while (p < len)
	{
		p += char_len(in + p, len - p, utf8);
		n++;
	}
	return n;
}

size_t
ag_char_offset(const char *in, size_t len, bool utf8, size_t chars)
{
	size_t		p = 0;

	while (p < len && chars > 0)
	{
		p += char_len(in + p, len - p, utf8);
		chars--;
	}
	return p;
}

size_t
ag_mask_email(const char *in, size_t len, bool utf8, char *out)
{
	size_t		at = len;
	size_t		k;
	size_t		o = 0;

	for (k = len; k > 0; k--)
	{
		if (in[k - 1] == '@')
		{
			at = k - 1;
			break;
		}
	}
	if (at == len)
	{
		memcpy(out, "***", 3);
		return 3;
	}
	if (at > 0)
	{
		size_t		first = char_len(in, at, utf8);

		/* a one-character local part is not shown at all */
		if (first < at)
		{
			memcpy(out, in, first);
			o = first;
		}
	}
	memcpy(out + o, "***", 3);
	o += 3;
	memcpy(out + o, in + at, len - at);
	return o + (len - at);
}

/*
 * One backward pass: digits are kept until keep of them have been seen from
 * the end, then masked.  If the value turns out to have no more than
 * min_digits digits, the kept ones are masked too (a short value is never
 * shown whole).
 */
static size_t
mask_digits_from_end(const char *in, size_t len, size_t keep,
					 size_t min_digits, char *out)
{
	size_t		seen = 0;
	size_t		k;

	for (k = len; k > 0; k--)
	{
		char		c = in[k - 1];

		if (is_digit((unsigned char) c))
		{
			out[k - 1] = seen < keep ? c : AG_MASK_CHAR;
			seen++;
		}
		else
			out[k - 1] = c;
	}
	if (seen <= min_digits && keep > 0)
		for (k = 0; k < len; k++)
			if (is_digit((unsigned char) out[k]))
				out[k] = AG_MASK_CHAR;
	return len;
}

size_t
ag_mask_digits(const char *in, size_t len, int keep, char *out)
{
	size_t		k = keep < 0 ? 0 : (size_t) keep;

	return mask_digits_from_end(in, len, k, k, out);
}

size_t
ag_mask_card(const char *in, size_t len, char *out)
{
	return mask_digits_from_end(in, len, 4, 11, out);
}

size_t
ag_mask_iban(const char *in, size_t len, char *out)
{
	size_t		alnum = 0;
	size_t		seen = 0;
	size_t		k;

	for (k = 0; k < len; k++)
		alnum += is_alnum((unsigned char) in[k]);
	for (k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) in[k];

		out[k] = in[k];
		if (!is_alnum(c))
			continue;
		seen++;
		if (alnum >= 12 && (seen <= 2 || seen > alnum - 4))
			continue;
		out[k] = AG_MASK_CHAR;
	}
	return len;
}

size_t
ag_mask_partial(const char *in, size_t len, bool utf8,
				int keep_prefix, const char *pad, size_t padlen,
				int keep_suffix, char *out)
{
	size_t		pre = 0;
	size_t		suf = len;
	int			k;

	/* walk keep_prefix characters forward and keep_suffix backward */
	for (k = 0; k < keep_prefix && pre < len; k++)
		pre += char_len(in + pre, len - pre, utf8);
	for (k = 0; k < keep_suffix && suf > 0; k++)
	{
		suf--;
		if (utf8)
			while (suf > 0 && ((unsigned char) in[suf] & 0xC0) == 0x80)
				suf--;
	}
	/* the two ends meet or cross: they would show the whole value */
	if (pre >= suf)
	{
		memcpy(out, pad, padlen);
		return padlen;
	}
	memcpy(out, in, pre);
	memcpy(out + pre, pad, padlen);
	memcpy(out + pre + padlen, in + suf, len - suf);
	return pre + padlen + (len - suf);
}

struct ag_noise_ctx
{
	EVP_MAC	   *mac;
	EVP_MAC_CTX *ctx;
};

ag_noise_ctx *
ag_noise_ctx_new(const uint8_t *key, size_t keylen)
{
	ag_noise_ctx *c = calloc(1, sizeof(*c));
	OSSL_PARAM	params[2];

	if (c == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (c->mac != NULL)
		c->ctx = EVP_MAC_CTX_new(c->mac);
	if (c->ctx == NULL || !EVP_MAC_init(c->ctx, key, keylen, params))
	{
		ag_noise_ctx_free(c);
		return NULL;
	}
	return c;
}

void
ag_noise_ctx_free(ag_noise_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->ctx);
	EVP_MAC_free(c->mac);
	free(c);
}

bool
ag_noise_with(ag_noise_ctx *c, const char *context, size_t contextlen,
			  double value, double ratio, double *result)
{
	unsigned char msg[1 + 256 + 1 + 8];
	unsigned char mac[32];
	size_t		maclen = 0;
	size_t		m = 0;
	uint64_t	bits = 0;
	uint64_t	r = 0;
	double		u;
	int			k;

	if (isnan(value) || isinf(value))
	{
		*result = value;
		return true;
	}
	if (value == 0.0)
		value = 0.0;			/* -0.0 and 0.0 are one value */
	if (contextlen > 256)
		contextlen = 256;

	/* domain tag, context, separator, value in a fixed byte order */
	msg[m++] = 'N';
	memcpy(msg + m, context, contextlen);
	m += contextlen;
	msg[m++] = 0;
	memcpy(&bits, &value, sizeof(bits));
	for (k = 0; k < 8; k++)
		msg[m++] = (unsigned char) (bits >> (8 * k));

	/* a NULL key re-initialises HMAC with the key it already holds */
	if (!EVP_MAC_init(c->ctx, NULL, 0, NULL) ||
		!EVP_MAC_update(c->ctx, msg, m) ||
		!EVP_MAC_final(c->ctx, mac, &maclen, sizeof(mac)) || maclen < 8)
		return false;
	for (k = 0; k < 8; k++)
		r = (r << 8) | mac[k];
	u = (double) (r >> 11) / 9007199254740992.0;	/* [0, 1) */
	*result = value * (1.0 + ratio * (2.0 * u - 1.0));
	return true;
}

bool
ag_noise(const uint8_t *key, size_t keylen,
		 const char *context, size_t contextlen,
		 double value, double ratio, double *result)
{
	ag_noise_ctx *c = ag_noise_ctx_new(key, keylen);
	bool		ok;

	if (c == NULL)
		return false;
	ok = ag_noise_with(c, context, contextlen, value, ratio, result);
	ag_noise_ctx_free(c);
	return ok;
}
