/*
 * sha256.c
 *		SHA-256 for ai-guard: src/core/digest.c (the same code that digests
 *		pulls on the server), with a failure ending the program.
 */
#include <stdlib.h>

#include "cli.h"

cli_sha256 *
cli_sha256_new(void)
{
	ag_sha256  *h = ag_sha256_new();

	if (h == NULL)
	{
		pg_log_error("could not initialize SHA-256");
		exit(EXIT_FAILED);
	}
	return h;
}

void
cli_sha256_update(cli_sha256 *h, const void *data, size_t len)
{
	if (!ag_sha256_update(h, data, len))
	{
		pg_log_error("could not compute SHA-256");
		exit(EXIT_FAILED);
	}
}

/* Writes the lower-case hex digest and frees the hash. */
void
cli_sha256_final_hex(cli_sha256 *h, char hex[65])
{
	if (!ag_sha256_final_hex(h, hex))
	{
		pg_log_error("could not compute SHA-256");
		exit(EXIT_FAILED);
	}
	ag_sha256_free(h);
}
