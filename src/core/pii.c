/*
 * pii.c
 *		Single-pass, linear-time detection of PII and secrets in free text.
 *
 * Detectors (see pii.h for the contract):
 *
 *	email		local@domain.tld, local part <= 64 bytes, domain labels of
 *				letters, digits and '-', a top-level label of >= 2 letters
 *	phone		+CC with 8 to 15 digits and separators (space . - parentheses);
 *				national: (212) 555-0123, 212-555-0123, or a trunk "0" number
 *				of 9 to 11 digits written in groups with one separator kind
 *	card		13 to 19 digits, optionally grouped by spaces or dashes,
 *				first digit 2 to 6, Luhn-valid
 *	iban		two capitals, two check digits, BBAN; compact or in groups of
 *				four; mod-97 valid
 *	ipv4		dotted quad, each part <= 255
 *	ipv6		eight groups, or a "::" form with at least two groups
 *	ssn			ddd-dd-dddd outside the never-issued ranges (area 000, 666,
 *				900-999; group 00; serial 0000)
 *	private_key	-----BEGIN ... PRIVATE KEY----- through its END line (or the
 *				end of the base64 block when the END line is missing)
 *	access_key	AWS (AKIA/ASIA + 16), Google (AIza + 35), GitHub (ghp_ ...),
 *				Slack (xoxb- ...), Stripe (sk_live_ ...)
 *	bearer_token the token after "Bearer", and JSON web tokens (eyJ...)
 *
 * Linear time: the main loop visits each byte once.  Detectors run only at
 * token starts; each either reads a bounded number of bytes (every pattern
 * above has a maximum length) or, for tokens without a maximum (bearer
 * tokens, JWTs, key blocks), is started only at a position that a previous
 * attempt cannot have covered, and a successful match is skipped over.  The
 * search for a missing END line is remembered so it is not repeated.
 */
#include <string.h>

#include "checksum.h"
#include "pii.h"

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 253
#define MIN_BEARER_TOKEN 16
#define MIN_JWT_PART 8

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool
is_alpha(unsigned char c)
{
	return is_upper(c) || is_lower(c);
}

static inline bool
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static inline bool
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool
is_local_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
		c == '-';
}

static inline bool
is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

static inline bool
is_token_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		c == '+' || c == '/';
}

/* The byte at p, or 0 past the end. */
#define AT(p) ((p) < n ? (unsigned char) s[(p)] : 0)

/*---- email ----*/

static size_t
try_email(const char *s, size_t n, size_t i)
{
	size_t		p = i;
	size_t		label_start;
	size_t		last_label_start = 0;
	size_t		end = 0;
	size_t		k;
	int			labels = 0;
	bool		alpha_tld;

	while (p < n && p - i <= EMAIL_LOCAL_MAX && is_local_char(AT(p)))
		p++;
	if (p == i || p - i > EMAIL_LOCAL_MAX || AT(p) != '@')
		return 0;
	if (AT(p - 1) == '.')
		return 0;
	p++;						/* '@' */
	label_start = p;
	for (;;)
	{
		size_t		ls = p;

		while (p < n && (is_alnum(AT(p)) || AT(p) == '-') && p - ls < 64)
			p++;
		if (p == ls || AT(ls) == '-' || AT(p - 1) == '-' ||
			p - label_start > EMAIL_DOMAIN_MAX)
			break;
		labels++;
		last_label_start = ls;
		end = p;
		if (AT(p) == '.' && is_alnum(AT(p + 1)))
		{
			p++;
			continue;
		}
		break;
	}
	if (labels < 2 || end - last_label_start < 2)
		return 0;
	alpha_tld = true;
	for (k = last_label_start; k < end; k++)
		alpha_tld &= is_alpha(AT(k));
	if (!alpha_tld)
		return 0;
	/* the domain must end the token */
	if (is_alnum(AT(end)) || AT(end) == '@' || AT(end) == '_')
		return 0;
	return end - i;
}

/*---- numbers: IPv4, SSN, card, phone ----*/

/* Parses up to three digits <= 255 at p; returns their count or 0. */
static size_t
ipv4_octet(const char *s, size_t n, size_t p)
{
	size_t		k = 0;
	int			v = 0;

	while (k < 3 && is_digit(AT(p + k)))
	{
		v = v * 10 + (AT(p + k) - '0');
		k++;
	}
	if (k == 0 || is_digit(AT(p + k)) || v > 255)
		return 0;
	return k;
}

static size_t
try_ipv4(const char *s, size_t n, size_t i)
{
	size_t		p = i;
	int			part;

	for (part = 0; part < 4; part++)
	{
		size_t		k = ipv4_octet(s, n, p);

		if (k == 0)
			return 0;
		p += k;
		if (part < 3)
		{
			if (AT(p) != '.')
				return 0;
			p++;
		}
	}
	/* not part of a longer dotted number or word */
	if (is_alnum(AT(p)) || (AT(p) == '.' && is_digit(AT(p + 1))))
		return 0;
	return p - i;
}

static size_t
try_ssn(const char *s, size_t n, size_t i)
{
	static const int groups[3] = {3, 2, 4};
	int			val[3] = {0, 0, 0};
	size_t		p = i;
	int			g,
				k;

	for (g = 0; g < 3; g++)
	{
		for (k = 0; k < groups[g]; k++)
		{
			if (!is_digit(AT(p)))
				return 0;
			val[g] = val[g] * 10 + (AT(p) - '0');
			p++;
		}
		if (g < 2)
		{
			if (AT(p) != '-')
				return 0;
			p++;
		}
	}
	if (is_alnum(AT(p)) || (AT(p) == '-' && is_digit(AT(p + 1))))
		return 0;
	if (val[0] == 0 || val[0] == 666 || val[0] >= 900 || val[1] == 0 ||
		val[2] == 0)
		return 0;
	return p - i;
}

static size_t
try_card(const char *s, size_t n, size_t i)
{
	char		digits[20];
	size_t		nd = 0;
	size_t		p = i;
	unsigned char sep = 0;

	if (AT(i) < '2' || AT(i) > '6')
		return 0;
	for (;;)
	{
		if (is_digit(AT(p)))
		{
			if (nd == 19)
				return 0;		/* too long to be a card */
			digits[nd++] = (char) AT(p);
			p++;
			continue;
		}
		if ((AT(p) == ' ' || AT(p) == '-') && is_digit(AT(p + 1)) &&
			(sep == 0 || sep == AT(p)))
		{
			sep = AT(p);
			p++;
			continue;
		}
		break;
	}
	if (nd < 13 || is_alpha(AT(p)))
		return 0;
	if (!ag_luhn_valid(digits, nd))
		return 0;
	return p - i;
}

/* Does the number continue at p in a way no phone number does (10.0.0.1)? */
static bool
is_other_number(const char *s, size_t n, size_t p)
{
	unsigned char c = AT(p);

	return (c == '.' || c == ':' || c == '-' || c == '/' || c == ',') &&
		is_digit(AT(p + 1));
}

/* "(212) 555-0123", "212-555-0123", "212.555.0123" */
static size_t
try_nanp(const char *s, size_t n, size_t i)
{
	size_t		p = i;
	int			k;
	unsigned char sep;

	if (AT(p) == '(')
	{
		p++;
		for (k = 0; k < 3; k++, p++)
			if (!is_digit(AT(p)))
				return 0;
		if (AT(p) != ')')
			return 0;
		p++;
		if (AT(p) == ' ')
			p++;
		sep = 0;
	}
	else
	{
		for (k = 0; k < 3; k++, p++)
			if (!is_digit(AT(p)))
				return 0;
		sep = AT(p);
		if (sep != '-' && sep != '.')
			return 0;
		p++;
	}
	if (AT(i) != '(' && AT(i) < '2')
		return 0;
	for (k = 0; k < 3; k++, p++)
		if (!is_digit(AT(p)))
			return 0;
	if (sep ? AT(p) != sep : (AT(p) != '-' && AT(p) != '.' && AT(p) != ' '))
		return 0;
	p++;
	for (k = 0; k < 4; k++, p++)
		if (!is_digit(AT(p)))
			return 0;
	if (is_alnum(AT(p)) || ((AT(p) == '-' || AT(p) == '.') && is_digit(AT(p + 1))))
		return 0;
	return p - i;
}

/* "+49 30 1234567", "+1 (212) 555-0123", "+44 (0)20 7946 0123" */
static size_t
try_intl_phone(const char *s, size_t n, size_t i)
{
	size_t		p = i + 1;
	size_t		end = 0;
	size_t		prev_end = 0;
	int			nd = 0;
	int			prev_nd = 0;
	bool		in_paren = false;
	char		seps = 0;

	if (AT(i) != '+' || !is_digit(AT(p)) || AT(p) == '0')
		return 0;
	while (p < n && nd <= 15)
	{
		unsigned char c = AT(p);

		if (is_digit(c))
		{
			nd++;
			p++;
			end = p;
			continue;
		}
		if (c == '(' && !in_paren && is_digit(AT(p + 1)))
		{
			in_paren = true;
			p++;
			continue;
		}
		if (c == ')' && in_paren)
		{
			in_paren = false;
			p++;
			if (AT(p) == ' ' && is_digit(AT(p + 1)))
				p++;
			continue;
		}
		if ((c == ' ' || c == '-' || c == '.') && !in_paren &&
			(is_digit(AT(p + 1)) || AT(p + 1) == '('))
		{
			/* dots only as the one separator: "+49 30 1234567 10.0.0.1" */
			if (seps != 0 && (c == '.') != (seps == '.'))
				break;
			seps = c == '.' ? '.' : ' ';
			prev_end = end;
			prev_nd = nd;
			p++;
			continue;
		}
		break;
	}
	/* a last group that belongs to a following number is not the phone's */
	if (prev_end > 0 && AT(end) != AT(prev_end) && is_other_number(s, n, end))
	{
		end = prev_end;
		nd = prev_nd;
	}
	if (nd < 8 || nd > 15 || in_paren || is_alpha(AT(end)))
		return 0;
	return end - i;
}

/* "030 1234567", "01 23 45 67 89", "020-1234567", "020 7946 0123" */
static size_t
try_trunk_phone(const char *s, size_t n, size_t i)
{
	size_t		p = i;
	size_t		first = 0;
	size_t		prev_end = 0;
	int			nd = 0;
	int			prev_nd = 0;
	int			groups = 1;
	unsigned char sep = 0;

	if (AT(i) != '0' || !is_digit(AT(i + 1)) || AT(i + 1) == '0')
		return 0;
	for (;;)
	{
		unsigned char c = AT(p);

		if (is_digit(c))
		{
			if (++nd > 11)
				return 0;
			if (groups == 1)
				first++;
			p++;
			continue;
		}
		if ((c == ' ' || c == '-' || c == '.' || c == '/') &&
			is_digit(AT(p + 1)) && (sep == 0 || sep == c))
		{
			sep = c;
			groups++;
			prev_end = p;
			prev_nd = nd;
			p++;
			continue;
		}
		break;
	}
	if (groups >= 2 && is_other_number(s, n, p) && AT(p) != sep)
	{
		p = prev_end;
		nd = prev_nd;
	}
	if (sep == 0 || nd < 9 || first < 2 || first > 5 || is_alpha(AT(p)))
		return 0;
	return p - i;
}

/*---- IBAN ----*/

static size_t
try_iban(const char *s, size_t n, size_t i)
{
	char		compact[34];
	size_t		ends[34];		/* ends[k]: byte end after k+1 compact chars */
	size_t		nc = 0;
	size_t		p = i;
	size_t		group = 0;
	bool		grouped = false;
	int			k;

	if (!is_upper(AT(i)) || !is_upper(AT(i + 1)) ||
		!is_digit(AT(i + 2)) || !is_digit(AT(i + 3)))
		return 0;
	for (;;)
	{
		unsigned char c = AT(p);

		if (is_upper(c) || is_digit(c))
		{
			if (nc == 34)
				break;
			if (grouped && group == 4)
				break;
			compact[nc] = (char) c;
			ends[nc] = p + 1;
			nc++;
			group++;
			p++;
			continue;
		}
		/* a single space is allowed only after a full group of four */
		if (c == ' ' && group == 4 && (nc == 4 || grouped) &&
			(is_upper(AT(p + 1)) || is_digit(AT(p + 1))))
		{
			grouped = true;
			group = 0;
			p++;
			continue;
		}
		break;
	}
	if (!grouped)
	{
		/* compact: the whole run, and it must end the token */
		if (is_alnum(AT(p)))
			return 0;
		return ag_iban_valid(compact, nc) ? p - i : 0;
	}
	/* grouped: the longest prefix that validates and ends a token */
	for (k = (int) nc; k >= 15; k--)
	{
		size_t		e = ends[k - 1];

		if (is_alnum(AT(e)))
			continue;
		if (ag_iban_valid(compact, (size_t) k))
			return e - i;
	}
	return 0;
}

/*---- IPv6 ----*/

static size_t
try_ipv6(const char *s, size_t n, size_t i)
{
	size_t		p = i;
	size_t		end = i;
	int			groups = 0;
	bool		dbl = false;

	if (AT(p) == ':')
	{
		if (AT(p + 1) != ':')
			return 0;
		dbl = true;
		p += 2;
		end = p;
	}
	for (;;)
	{
		size_t		h = 0;

		while (h < 5 && is_hex(AT(p + h)))
			h++;
		if (h == 0)
			break;
		if (h > 4)
			return 0;
		if (AT(p + h) == '.' && is_digit(AT(p + h + 1)))
		{
			/* an embedded IPv4 address ends the address */
			size_t		v4 = try_ipv4(s, n, p);

			if (v4 == 0 || groups > 6)
				return 0;
			groups += 2;
			end = p + v4;
			break;
		}
		groups++;
		p += h;
		end = p;
		if (groups >= 8)
			break;
		if (AT(p) == ':' && AT(p + 1) == ':')
		{
			if (dbl)
				break;
			dbl = true;
			p += 2;
			end = p;
			continue;
		}
		if (AT(p) == ':' && is_hex(AT(p + 1)))
		{
			p++;
			continue;
		}
		break;
	}
	if (dbl ? (groups < 2 || groups > 7) : groups != 8)
		return 0;
	if (dbl)
	{
		/* "a::b" in prose or C++ is not an address: want a digit, 6+ bytes */
		size_t		k;
		bool		digit = false;

		for (k = i; k < end; k++)
			digit |= is_digit(AT(k));
		if (!digit || end - i < 6)
			return 0;
	}
	if (is_alnum(AT(end)) || AT(end) == ':' || AT(end) == '_' ||
		(AT(end) == '.' && is_digit(AT(end + 1))))
		return 0;
	return end - i;
}

/*---- secrets ----*/

static bool
has_prefix(const char *s, size_t n, size_t i, const char *prefix)
{
	size_t		k = strlen(prefix);

	return n - i >= k && memcmp(s + i, prefix, k) == 0;
}

static bool
has_prefix_ci(const char *s, size_t n, size_t i, const char *prefix)
{
	size_t		k;

	for (k = 0; prefix[k]; k++)
	{
		unsigned char c = AT(i + k);

		if (i + k >= n)
			return false;
		if (is_upper(c))
			c = (unsigned char) (c - 'A' + 'a');
		if (c != (unsigned char) prefix[k])
			return false;
	}
	return true;
}

/* A run of at least min and at most max chars of class, ending the token. */
static size_t
run_of(const char *s, size_t n, size_t p, size_t min, size_t max,
	   bool (*cls) (unsigned char))
{
	size_t		k = 0;

	while (k <= max && cls(AT(p + k)))
		k++;
	if (k < min || k > max)
		return 0;
	return k;
}

static bool
is_upper_or_digit(unsigned char c)
{
	return is_upper(c) || is_digit(c);
}

static bool
is_alnum_fn(unsigned char c)
{
	return is_alnum(c);
}

static bool
is_b64url_fn(unsigned char c)
{
	return is_b64url(c);
}

static bool
is_slack_char(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

static size_t
try_access_key(const char *s, size_t n, size_t i)
{
	static const char *const aws[] = {"AKIA", "ASIA", "AGPA", "AIDA", "AROA",
	"ANPA", "ANVA", "AIPA"};
	static const char *const github[] = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
	size_t		k;
	size_t		r;
	unsigned	j;
	unsigned char c0 = AT(i);

	/* every prefix starts with one of these */
	if (c0 != 'A' && c0 != 'g' && c0 != 'x' && c0 != 's' && c0 != 'r')
		return 0;
	for (j = 0; j < sizeof(aws) / sizeof(aws[0]); j++)
		if (has_prefix(s, n, i, aws[j]) &&
			(r = run_of(s, n, i + 4, 16, 16, is_upper_or_digit)) != 0 &&
			!is_alnum(AT(i + 4 + r)))
			return 4 + r;
	if (has_prefix(s, n, i, "AIza") &&
		(r = run_of(s, n, i + 4, 35, 35, is_b64url_fn)) != 0)
		return 4 + r;
	for (j = 0; j < sizeof(github) / sizeof(github[0]); j++)
		if (has_prefix(s, n, i, github[j]) &&
			(r = run_of(s, n, i + 4, 36, 255, is_alnum_fn)) != 0)
			return 4 + r;
	if (has_prefix(s, n, i, "github_pat_") &&
		(r = run_of(s, n, i + 11, 22, 255, is_b64url_fn)) != 0)
		return 11 + r;
	if (has_prefix(s, n, i, "xox") && (AT(i + 3) == 'b' || AT(i + 3) == 'p' ||
									   AT(i + 3) == 'a' || AT(i + 3) == 'r') &&
		AT(i + 4) == '-' &&
		(r = run_of(s, n, i + 5, 10, 255, is_slack_char)) != 0)
		return 5 + r;
	for (k = 0; k < 2; k++)
	{
		const char *pre = k == 0 ? "sk_live_" : "rk_live_";

		if (has_prefix(s, n, i, pre) &&
			(r = run_of(s, n, i + 8, 16, 255, is_alnum_fn)) != 0)
			return 8 + r;
	}
	return 0;
}

/* JSON web token: three base64url parts, the first starting "eyJ". */
static size_t
try_jwt(const char *s, size_t n, size_t i, size_t *consumed)
{
	size_t		p = i;
	int			part;

	*consumed = 0;
	if (!has_prefix(s, n, i, "eyJ"))
		return 0;
	for (part = 0; part < 3; part++)
	{
		size_t		k = 0;

		while (is_b64url(AT(p + k)))
			k++;
		p += k;
		if (k < (part < 2 ? MIN_JWT_PART : 0) || (part < 2 && AT(p) != '.'))
		{
			*consumed = p - i;
			return 0;
		}
		if (part < 2)
			p++;
	}
	return p - i;
}

/* "Bearer <token>": the span is the token. */
static size_t
try_bearer(const char *s, size_t n, size_t i, size_t *token_start)
{
	size_t		p = i + 6;
	size_t		k = 0;

	if (!has_prefix_ci(s, n, i, "bearer") || (AT(p) != ' ' && AT(p) != '\t'))
		return 0;
	while (AT(p) == ' ' || AT(p) == '\t')
		p++;
	while (is_token_char(AT(p + k)))
		k++;
	while (AT(p + k) == '=')
		k++;
	/* a sentence ending right after the token: the dot is not the token's */
	while (k > 0 && AT(p + k - 1) == '.')
		k--;
	if (k < MIN_BEARER_TOKEN)
		return 0;
	*token_start = p;
	return k;
}

static const char *
find_bytes(const char *hay, size_t hlen, const char *needle)
{
	size_t		nlen = strlen(needle);
	size_t		k;

	if (hlen < nlen)
		return NULL;
	for (k = 0; k + nlen <= hlen; k++)
	{
		if (hay[k] == needle[0] && memcmp(hay + k, needle, nlen) == 0)
			return hay + k;
	}
	return NULL;
}

static size_t
try_private_key(const char *s, size_t n, size_t i, size_t *no_end_from)
{
	size_t		p = i + 11;		/* "-----BEGIN " */
	size_t		k = 0;
	const char *end_marker;

	if (!has_prefix(s, n, i, "-----BEGIN "))
		return 0;
	while (k < 40 && (is_upper(AT(p + k)) || AT(p + k) == ' '))
		k++;
	if (k < 11 || memcmp(s + p + k - 11, "PRIVATE KEY", 11) != 0 ||
		!has_prefix(s, n, p + k, "-----"))
		return 0;
	p += k + 5;
	if (p < *no_end_from)
	{
		end_marker = find_bytes(s + p, n - p, "-----END ");
		while (end_marker != NULL)
		{
			size_t		e = (size_t) (end_marker - s) + 9;
			size_t		m = 0;

			while (m < 40 && (is_upper(AT(e + m)) || AT(e + m) == ' '))
				m++;
			if (m >= 11 && memcmp(s + e + m - 11, "PRIVATE KEY", 11) == 0 &&
				has_prefix(s, n, e + m, "-----"))
				return e + m + 5 - i;
			end_marker = find_bytes(s + e, n - e, "-----END ");
		}
		*no_end_from = p;
	}
	/* no END line: the key runs to the end of its base64 block */
	while (p < n && (is_alnum(AT(p)) || AT(p) == '+' || AT(p) == '/' ||
					 AT(p) == '=' || AT(p) == '\n' || AT(p) == '\r' ||
					 AT(p) == ' ' || AT(p) == ':' || AT(p) == '-' ||
					 AT(p) == ','))
		p++;
	return p - i;
}

/*---- the scan ----*/

/* An IPv6 address has a ':' within its first five bytes. */
static inline bool
colon_near(const char *s, size_t n, size_t i)
{
	size_t		k;

	for (k = 0; k < 5 && i + k < n; k++)
		if (s[i + k] == ':')
			return true;
	return false;
}

size_t
ag_pii_scan(const char *s, size_t n, ag_pii_callback cb, void *arg)
{
	size_t		i = 0;
	size_t		count = 0;
	size_t		no_end_from = (size_t) -1;
	size_t		jwt_skip = 0;	/* a failed JWT covered up to here */
	size_t		next_at = 0;	/* the first '@' at or after i, or n */
	bool		next_at_known = false;

	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];
		unsigned char prev = i > 0 ? (unsigned char) s[i - 1] : ' ';
		ag_pii_finding f;
		size_t		m = 0;
		size_t		start = i;

		if (c == '-' && prev != '-')
		{
			m = try_private_key(s, n, i, &no_end_from);
			f.kind = AG_PII_PRIVATE_KEY;
		}
		else if (!is_alnum(prev) && prev != '_' && (c < 0x80))
		{
			if (is_alpha(c))
			{
				size_t		consumed = 0;

				if (c == 'B' || c == 'b')
				{
					m = try_bearer(s, n, i, &start);
					f.kind = AG_PII_BEARER_TOKEN;
				}
				if (m == 0 && c == 'e' && i >= jwt_skip &&
					prev != '-' && prev != '.')
				{
					m = try_jwt(s, n, i, &consumed);
					f.kind = AG_PII_BEARER_TOKEN;
					if (m == 0)
						jwt_skip = i + consumed;
				}
				if (m == 0)
				{
					m = try_access_key(s, n, i);
					f.kind = AG_PII_ACCESS_KEY;
				}
				if (m == 0 && is_upper(c))
				{
					m = try_iban(s, n, i);
					f.kind = AG_PII_IBAN;
				}
			}
			if (m == 0 && is_local_char(c) && c != '.' && !is_local_char(prev))
			{
				/* only worth trying with an '@' close enough ahead */
				if (!next_at_known || next_at < i)
				{
					const char *at = memchr(s + i, '@', n - i);

					next_at = at ? (size_t) (at - s) : n;
					next_at_known = true;
				}
				if (next_at < n && next_at - i <= EMAIL_LOCAL_MAX)
				{
					m = try_email(s, n, i);
					f.kind = AG_PII_EMAIL;
				}
			}
			if (m == 0 && prev != ':' && prev != '.' &&
				(is_hex(c) || c == ':') && colon_near(s, n, i))
			{
				m = try_ipv6(s, n, i);
				f.kind = AG_PII_IPV6;
			}
			if (m == 0 && is_digit(c) && prev != '.' && prev != '-' &&
				prev != '#')
			{
				m = try_ipv4(s, n, i);
				f.kind = AG_PII_IPV4;
				if (m == 0)
				{
					m = try_ssn(s, n, i);
					f.kind = AG_PII_SSN;
				}
				if (m == 0)
				{
					m = try_card(s, n, i);
					f.kind = AG_PII_CARD;
				}
				if (m == 0)
				{
					m = try_nanp(s, n, i);
					f.kind = AG_PII_PHONE;
				}
				if (m == 0)
				{
					m = try_trunk_phone(s, n, i);
					f.kind = AG_PII_PHONE;
				}
			}
			else if (m == 0 && (c == '+' || c == '('))
			{
				m = c == '+' ? try_intl_phone(s, n, i) : try_nanp(s, n, i);
				f.kind = AG_PII_PHONE;
			}
		}

		if (m > 0)
		{
			f.start = start;
			f.len = m;
			count++;
			if (!cb(&f, arg))
				break;
			i = start + m;
			continue;
		}
		i++;
		/* inside a word nothing starts: skip to its end */
		if (is_alnum(c))
			while (i < n && is_alnum((unsigned char) s[i]))
				i++;
	}
	return count;
}

static const char *const kind_names[AG_PII_NKINDS] = {
	"email", "phone", "card", "iban", "ipv4", "ipv6", "ssn",
	"private_key", "access_key", "bearer_token"
};
static const char *const kind_tags[AG_PII_NKINDS] = {
	"[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]", "[IPV4]", "[IPV6]", "[SSN]",
	"[PRIVATE_KEY]", "[ACCESS_KEY]", "[BEARER_TOKEN]"
};
static const char *const kind_classes[AG_PII_NKINDS] = {
	"email", "phone", "card", "iban", "ip", "ip", "ssn",
	"secret", "secret", "secret"
};

const char *
ag_pii_kind_name(ag_pii_kind kind)
{
	return (unsigned) kind < AG_PII_NKINDS ? kind_names[kind] : "unknown";
}

const char *
ag_pii_kind_tag(ag_pii_kind kind)
{
	return (unsigned) kind < AG_PII_NKINDS ? kind_tags[kind] : "[PII]";
}

const char *
ag_pii_kind_class(ag_pii_kind kind)
{
	return (unsigned) kind < AG_PII_NKINDS ? kind_classes[kind] : "other";
}
