/*
 * checksum.c
 *		Check digits of payment cards (Luhn) and IBANs (ISO 13616 mod 97).
 */
#include "checksum.h"

static int
luhn_sum(const char *digits, size_t len, bool double_last)
{
	int			sum = 0;
	bool		dbl = double_last;
	size_t		i;

	for (i = len; i > 0; i--)
	{
		int			d = digits[i - 1] - '0';

		if (dbl)
		{
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return sum;
}

static bool
all_digits(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
ag_luhn_valid(const char *digits, size_t len)
{
	if (len < 2 || !all_digits(digits, len))
		return false;
	return luhn_sum(digits, len, false) % 10 == 0;
}

char
ag_luhn_check_digit(const char *digits, size_t len)
{
	/* The digit to append sits in the undoubled position. */
	int			sum = luhn_sum(digits, len, true);

	return (char) ('0' + (10 - sum % 10) % 10);
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Folds one IBAN character into a running mod-97 remainder. */
static unsigned
mod97_step(unsigned rem, char c)
{
	if (is_digit(c))
		return (rem * 10 + (unsigned) (c - '0')) % 97;
	/* letters count as two digits, A = 10 .. Z = 35 */
	return (rem * 100 + (unsigned) (c - 'A' + 10)) % 97;
}

static bool
bban_ok(const char *bban, size_t len)
{
	size_t		i;

	if (len < 11 || len > 30)
		return false;
	for (i = 0; i < len; i++)
		if (!is_digit(bban[i]) && !is_upper(bban[i]))
			return false;
	return true;
}

bool
ag_iban_valid(const char *iban, size_t len)
{
	unsigned	rem = 0;
	size_t		i;

	if (len < 15 || len > 34)
		return false;
	if (!is_upper(iban[0]) || !is_upper(iban[1]) ||
		!is_digit(iban[2]) || !is_digit(iban[3]))
		return false;
	if (!bban_ok(iban + 4, len - 4))
		return false;

	/* rearranged: BBAN, then country code and check digits */
	for (i = 4; i < len; i++)
		rem = mod97_step(rem, iban[i]);
	for (i = 0; i < 4; i++)
		rem = mod97_step(rem, iban[i]);
	return rem == 1;
}

bool
ag_iban_check_digits(const char *cc, const char *bban, size_t len, char out[2])
{
	unsigned	rem = 0;
	unsigned	check;
	size_t		i;

	if (!is_upper(cc[0]) || !is_upper(cc[1]) || !bban_ok(bban, len))
		return false;
	for (i = 0; i < len; i++)
		rem = mod97_step(rem, bban[i]);
	rem = mod97_step(rem, cc[0]);
	rem = mod97_step(rem, cc[1]);
	rem = mod97_step(rem, '0');
	rem = mod97_step(rem, '0');
	check = 98 - rem;
	out[0] = (char) ('0' + check / 10);
	out[1] = (char) ('0' + check % 10);
	return true;
}
