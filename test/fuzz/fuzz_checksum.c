/*
 * fuzz_checksum.c
 *		libFuzzer target for src/core/checksum.c: any bytes, any length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	char		check[2];

	/* a number completed with its check digit must pass */
	if (size > 0 && size < 64)
	{
		char		buf[65];
		size_t		i;
		int			digits = 1;

		for (i = 0; i < size; i++)
			digits &= s[i] >= '0' && s[i] <= '9';
		if (digits)
		{
			memcpy(buf, s, size);
			buf[size] = ag_luhn_check_digit(buf, size);
			if (!ag_luhn_valid(buf, size + 1))
				abort();
		}
	}
	(void) ag_luhn_valid(s, size);
	(void) ag_iban_valid(s, size);
	if (size >= 2)
	{
		if (ag_iban_check_digits(s, s + 2, size - 2, check))
		{
			char	   *iban = malloc(size + 2);

			memcpy(iban, s, 2);
			memcpy(iban + 2, check, 2);
			memcpy(iban + 4, s + 2, size - 2);
			if (!ag_iban_valid(iban, size + 2))
				abort();
			free(iban);
		}
	}
	return 0;
}
