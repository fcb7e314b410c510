/*
 * digest.c
 *		Streaming SHA-256 (OpenSSL EVP), COPY text escaping, the audit chain
 *		hash and purpose syntax: the pure parts of the training-pull audit.
 */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define AG_SHA256_BUFSIZE	16384

struct ag_sha256
{
	EVP_MD_CTX *ctx;
	size_t		used;
	bool		failed;
	unsigned char buf[AG_SHA256_BUFSIZE];
};

static const char hexdigits[] = "0123456789abcdef";

static void
to_hex(const unsigned char *md, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits[md[i] >> 4];
		out[2 * i + 1] = hexdigits[md[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

ag_sha256 *
ag_sha256_new(void)
{
	ag_sha256  *h = malloc(sizeof(ag_sha256));

	if (h == NULL)
		return NULL;
	h->used = 0;
	h->failed = false;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
	{
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

static bool
flush_buf(ag_sha256 *h)
{
	if (h->used > 0)
	{
		if (EVP_DigestUpdate(h->ctx, h->buf, h->used) != 1)
			h->failed = true;
		h->used = 0;
	}
	return !h->failed;
}

bool
ag_sha256_update(ag_sha256 *h, const void *data, size_t len)
{
	if (h == NULL || h->failed)
		return false;
	if (len == 0)
		return true;
	if (len <= AG_SHA256_BUFSIZE - h->used)
	{
		memcpy(h->buf + h->used, data, len);
		h->used += len;
		return true;
	}
	if (!flush_buf(h))
		return false;
	if (len >= AG_SHA256_BUFSIZE)
	{
		if (EVP_DigestUpdate(h->ctx, data, len) != 1)
			h->failed = true;
		return !h->failed;
	}
	memcpy(h->buf, data, len);
	h->used = len;
	return true;
}

bool
ag_sha256_final_hex(ag_sha256 *h, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (h == NULL || !flush_buf(h))
		return false;
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != AG_SHA256_LEN)
	{
		h->failed = true;
		return false;
	}
	h->failed = true;			/* no further updates */
	to_hex(md, mdlen, out);
	return true;
}

void
ag_sha256_free(ag_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

bool
ag_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != AG_SHA256_LEN)
		return false;
	to_hex(md, mdlen, out);
	return true;
}

size_t
ag_copy_escape(const char *s, size_t len, char *out)
{
	size_t		i;
	size_t		o = 0;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc = 0;

		if (c < 0x20)
		{
			switch (c)
			{
				case '\b':
					esc = 'b';
					break;
				case '\f':
					esc = 'f';
					break;
				case '\n':
					esc = 'n';
					break;
				case '\r':
					esc = 'r';
					break;
				case '\t':
					esc = 't';
					break;
				case '\v':
					esc = 'v';
					break;
				default:
					break;
			}
		}
		else if (c == '\\')
			esc = '\\';

		if (esc)
		{
			out[o++] = '\\';
			out[o++] = esc;
		}
		else
			out[o++] = (char) c;
	}
	return o;
}

bool
ag_copy_unescape(const char *in, size_t len, char *out, size_t *outlen)
{
	size_t		i;
	size_t		o = 0;

	*outlen = 0;
	for (i = 0; i < len; i++)
	{
		char		c = in[i];

		if (c == '\t' || c == '\n' || c == '\r')
			return false;		/* raw delimiter or line end: not a field */
		if (c != '\\')
		{
			out[o++] = c;
			continue;
		}
		if (++i >= len)
			return false;
		switch (in[i])
		{
			case 'b':
				out[o++] = '\b';
				break;
			case 'f':
				out[o++] = '\f';
				break;
			case 'n':
				out[o++] = '\n';
				break;
			case 'r':
				out[o++] = '\r';
				break;
			case 't':
				out[o++] = '\t';
				break;
			case 'v':
				out[o++] = '\v';
				break;
			case '\\':
				out[o++] = '\\';
				break;
			default:
				return false;
		}
	}
	*outlen = o;
	return true;
}

bool
ag_record_hash(const char *prev, size_t prevlen,
			   const char *const *fields, const size_t *lens, int nfields,
			   char *out)
{
	static const char magic[] = "ai_guard audit v1\n";
	ag_sha256  *h;
	bool		ok;
	int			i;

	out[0] = '\0';
	if (nfields < 0)
		return false;
	h = ag_sha256_new();
	if (h == NULL)
		return false;
	ok = ag_sha256_update(h, magic, sizeof(magic) - 1);
	if (prev != NULL)
		ok = ok && ag_sha256_update(h, prev, prevlen);
	ok = ok && ag_sha256_update(h, "\n", 1);
	for (i = 0; ok && i < nfields; i++)
	{
		if (fields[i] == NULL)
			ok = ag_sha256_update(h, "N;", 2);
		else
		{
			char		num[32];
			int			n = snprintf(num, sizeof(num), "%zu:", lens[i]);

			ok = ag_sha256_update(h, num, (size_t) n) &&
				ag_sha256_update(h, fields[i], lens[i]) &&
				ag_sha256_update(h, ";", 1);
		}
	}
	ok = ok && ag_sha256_final_hex(h, out);
	ag_sha256_free(h);
	if (!ok)
		out[0] = '\0';
	return ok;
}

int
ag_purpose_class_len(const char *p, size_t len)
{
	size_t		class_len = len;
	size_t		i;

	if (p == NULL || len == 0 || len > 1024)
		return -1;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c == ':' && class_len == len)
			class_len = i;
	}
	if (class_len == 0 || class_len > 63)
		return -1;
	for (i = 0; i < class_len; i++)
	{
		char		c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-'))
			return -1;
	}
	return (int) class_len;
}
