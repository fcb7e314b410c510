/*
 * sha256.c
 *		Streaming SHA-256 for ai-guard, through OpenSSL EVP.
 */
#include <stdlib.h>

#include <openssl/evp.h>

#include "cli.h"

struct cli_sha256
{
	EVP_MD_CTX *ctx;
};

cli_sha256 *
cli_sha256_new(void)
{
	cli_sha256 *h = malloc(sizeof(cli_sha256));

	if (h == NULL || (h->ctx = EVP_MD_CTX_new()) == NULL ||
		EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
	{
		pg_log_error("could not initialize SHA-256");
		exit(EXIT_FAILED);
	}
	return h;
}

void
cli_sha256_update(cli_sha256 *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
	{
		pg_log_error("could not compute SHA-256");
		exit(EXIT_FAILED);
	}
}

/* Writes the lower-case hex digest and frees the hash. */
void
cli_sha256_final_hex(cli_sha256 *h, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	int			i;

	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
	{
		pg_log_error("could not compute SHA-256");
		exit(EXIT_FAILED);
	}
	for (i = 0; i < 32; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	EVP_MD_CTX_free(h->ctx);
	free(h);
}
