/*
 * label.c
 *		Strict parser of ai_guard security labels (grammar in label.h).
 *
 * The parser is a hand-written recursive-descent reader over a bounded
 * string; it never allocates and rejects anything outside the grammar, so a
 * label can never carry SQL into the masked views built from it.
 */
#include <stdlib.h>
#include <string.h>

#include "label.h"

typedef struct fn_sig
{
	const char *name;
	ag_label_fn fn;
	const char *sig;			/* one letter per argument: n number, s string */
	const char *alt;			/* an alternative signature, or NULL */
} fn_sig;

static const fn_sig functions[] = {
	{"mask_email", AG_FN_MASK_EMAIL, "", NULL},
	{"mask_phone", AG_FN_MASK_PHONE, "", "n"},
	{"mask_card", AG_FN_MASK_CARD, "", NULL},
	{"mask_iban", AG_FN_MASK_IBAN, "", NULL},
	{"partial", AG_FN_PARTIAL, "nsn", NULL},
	{"generalize", AG_FN_GENERALIZE, "s", "n"},
	{"noise", AG_FN_NOISE, "n", NULL},
	{"pseudonymize", AG_FN_PSEUDONYMIZE, "s", NULL},
	{"redact_pii", AG_FN_REDACT_PII, "", NULL},
};

#define NFUNCS (sizeof(functions) / sizeof(functions[0]))

static bool
fail(const char **err, const char *msg)
{
	*err = msg;
	return false;
}

static bool
starts(const char *s, size_t len, size_t p, const char *lit)
{
	size_t		k = strlen(lit);

	return p <= len && len - p >= k && memcmp(s + p, lit, k) == 0;
}

static bool
parse_number(const char *s, size_t len, size_t *p, ag_label_arg *a)
{
	size_t		q = *p;
	size_t		d = 0;
	char		buf[40];

	if (q < len && s[q] == '-')
		q++;
	while (q < len && s[q] >= '0' && s[q] <= '9' && d <= 15)
		q++, d++;
	if (d == 0 || d > 15)
		return false;
	if (q < len && s[q] == '.')
	{
		q++;
		d = 0;
		while (q < len && s[q] >= '0' && s[q] <= '9' && d <= 15)
			q++, d++;
		if (d == 0 || d > 15)
			return false;
	}
	a->is_string = false;
	a->start = *p;
	a->len = q - *p;
	memcpy(buf, s + *p, a->len);
	buf[a->len] = '\0';
	a->number = strtod(buf, NULL);
	*p = q;
	return true;
}

static bool
parse_string(const char *s, size_t len, size_t *p, ag_label_arg *a,
			 const char **err)
{
	size_t		q = *p + 1;		/* after the opening quote */
	size_t		bytes = 0;

	for (;;)
	{
		unsigned char c;

		if (q >= len)
			return fail(err, "A string argument is not terminated.");
		c = (unsigned char) s[q];
		if (c == '\'')
		{
			if (q + 1 < len && s[q + 1] == '\'')
			{
				q += 2;
				bytes++;
				continue;
			}
			break;
		}
		if (c < 0x20 || c == 0x7f)
			return fail(err, "A string argument may not contain control characters.");
		q++;
		bytes++;
	}
	if (bytes > AG_LABEL_MAX_STRING)
		return fail(err, "A string argument may be at most 256 bytes long.");
	a->is_string = true;
	a->start = *p + 1;
	a->len = q - (*p + 1);
	a->number = 0;
	*p = q + 1;
	return true;
}

static bool
matches_sig(const ag_label *l, const char *sig)
{
	int			k;

	if (sig == NULL || (int) strlen(sig) != l->nargs)
		return false;
	for (k = 0; k < l->nargs; k++)
		if (l->args[k].is_string != (sig[k] == 's'))
			return false;
	return true;
}

static bool
is_whole(double v, double lo, double hi)
{
	return v >= lo && v <= hi && v == (double) (long) v;
}

static bool
check_args(const char *s, ag_label *l, const char **err)
{
	const ag_label_arg *a = l->args;

	switch (l->fn)
	{
		case AG_FN_MASK_PHONE:
			if (l->nargs == 1 && !is_whole(a[0].number, 0, 15))
				return fail(err, "mask_phone keeps 0 to 15 digits.");
			break;
		case AG_FN_PARTIAL:
			if (!is_whole(a[0].number, 0, 1000) || !is_whole(a[2].number, 0, 1000))
				return fail(err, "partial keeps 0 to 1000 characters at each end.");
			break;
		case AG_FN_GENERALIZE:
			if (a[0].is_string)
			{
				if (!((a[0].len == 4 && memcmp(s + a[0].start, "year", 4) == 0) ||
					  (a[0].len == 5 && memcmp(s + a[0].start, "month", 5) == 0) ||
					  (a[0].len == 6 && memcmp(s + a[0].start, "decade", 6) == 0)))
					return fail(err, "generalize takes 'year', 'month', 'decade' or a positive bucket width.");
			}
			else if (!(a[0].number > 0))
				return fail(err, "generalize takes 'year', 'month', 'decade' or a positive bucket width.");
			break;
		case AG_FN_NOISE:
			if (!(a[0].number > 0 && a[0].number <= 1))
				return fail(err, "noise takes a ratio greater than 0 and at most 1.");
			break;
		case AG_FN_PSEUDONYMIZE:
			if (a[0].len == 0)
				return fail(err, "pseudonymize takes a key name.");
			break;
		default:
			break;
	}
	return true;
}

bool
ag_label_parse(const char *s, size_t len, ag_label *out, const char **err)
{
	size_t		p = 0;
	size_t		k;
	const fn_sig *sig = NULL;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return fail(err, "A label may not be empty.");
	if (len > AG_LABEL_MAX_LEN)
		return fail(err, "A label may be at most 1024 bytes long.");
	if (memchr(s, '\0', len) != NULL)
		return fail(err, "A label may not contain NUL bytes.");

	/* classification */
	if (starts(s, len, 0, "public") && (len == 6 || s[6] == ' '))
	{
		out->cls = AG_CLASS_PUBLIC;
		p = 6;
	}
	else if (starts(s, len, 0, "internal") && (len == 8 || s[8] == ' '))
	{
		out->cls = AG_CLASS_INTERNAL;
		p = 8;
	}
	else if (starts(s, len, 0, "pii:"))
	{
		out->cls = AG_CLASS_PII;
		p = 4;
		out->kind_start = p;
		if (p >= len || !(s[p] >= 'a' && s[p] <= 'z'))
			return fail(err, "A PII kind starts with a lower-case letter, as in \"pii:email\".");
		while (p < len && ((s[p] >= 'a' && s[p] <= 'z') ||
						   (s[p] >= '0' && s[p] <= '9') || s[p] == '_'))
			p++;
		out->kind_len = p - out->kind_start;
		if (out->kind_len > 63)
			return fail(err, "A PII kind may be at most 63 characters long.");
		if (p < len && s[p] != ' ')
			return fail(err, "A PII kind may contain only lower-case letters, digits and \"_\".");
	}
	else
		return fail(err, "A label starts with \"public\", \"internal\" or \"pii:<kind>\".");

	/* the data-subject key: the column that says whose row it is */
	if (starts(s, len, p, " subject") && (p + 8 == len || s[p + 8] == ' '))
	{
		out->subject = true;
		p += 8;
	}
	if (p == len)
		return true;

	/* masking rule */
	if (!starts(s, len, p, " mask="))
		return fail(err, "A classification may only be followed by \" subject\" and \" mask=<function>(<arguments>)\".");
	p += 6;
	for (k = 0; k < NFUNCS; k++)
	{
		size_t		nl = strlen(functions[k].name);

		if (starts(s, len, p, functions[k].name) && p + nl < len && s[p + nl] == '(')
		{
			sig = &functions[k];
			p += nl + 1;
			break;
		}
	}
	if (sig == NULL)
		return fail(err, "The masking function must be one of mask_email, mask_phone, mask_card, mask_iban, partial, generalize, noise, pseudonymize, redact_pii, followed by \"(\".");
	out->fn = sig->fn;

	if (p < len && s[p] != ')')
	{
		for (;;)
		{
			ag_label_arg *a;

			if (out->nargs == AG_LABEL_MAX_ARGS)
				return fail(err, "A masking function takes at most 3 arguments.");
			a = &out->args[out->nargs];
			if (p < len && s[p] == '\'')
			{
				if (!parse_string(s, len, &p, a, err))
					return false;
			}
			else if (!parse_number(s, len, &p, a))
				return fail(err, "Arguments must be numbers or single-quoted strings.");
			out->nargs++;
			if (p < len && s[p] == ',')
			{
				p++;
				if (p < len && s[p] == ' ')
					p++;
				continue;
			}
			break;
		}
	}
	if (p >= len || s[p] != ')')
		return fail(err, "The argument list must end with \")\".");
	p++;
	if (p != len)
		return fail(err, "Nothing may follow the masking function's \")\".");
	if (!matches_sig(out, sig->sig) && !matches_sig(out, sig->alt))
		return fail(err, "The arguments do not match the masking function's signature.");
	return check_args(s, out, err);
}

bool
ag_label_shown_as_stored(const ag_label *l)
{
	return l->fn == AG_FN_NONE && l->cls != AG_CLASS_PII;
}

const char *
ag_label_fn_name(ag_label_fn fn)
{
	size_t		k;

	for (k = 0; k < NFUNCS; k++)
		if (functions[k].fn == fn)
			return functions[k].name;
	return NULL;
}

size_t
ag_label_unquote(const char *label, const ag_label_arg *a, char *out)
{
	size_t		k;
	size_t		o = 0;

	for (k = 0; k < a->len; k++)
	{
		out[o++] = label[a->start + k];
		if (label[a->start + k] == '\'')
			k++;				/* '' -> ' */
	}
	out[o] = '\0';
	return o;
}
