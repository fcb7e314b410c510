/*
 * fuzz_label.c
 *		libFuzzer target for the security label parser (src/core/label.c).
 *
 * Checks, besides memory safety: an accepted label has a known function and
 * an argument count within bounds, its arguments lie inside the label, and no
 * accepted label contains a byte outside the grammar's alphabet (so nothing
 * like ';' or a bare identifier can reach generated SQL outside a string).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	ag_label	l;
	const char *err = NULL;
	int			k;
	size_t		i;
	char		buf[AG_LABEL_MAX_LEN + 1];

	if (!ag_label_parse(s, size, &l, &err))
	{
		if (err == NULL)
			abort();
		return 0;
	}
	if (size == 0 || size > AG_LABEL_MAX_LEN || l.nargs < 0 ||
		l.nargs > AG_LABEL_MAX_ARGS)
		abort();
	if (l.fn != AG_FN_NONE && ag_label_fn_name(l.fn) == NULL)
		abort();
	for (k = 0; k < l.nargs; k++)
	{
		ag_label_arg *a = &l.args[k];

		if (a->start + a->len > size)
			abort();
		if (a->is_string)
		{
			size_t		n = ag_label_unquote(s, a, buf);

			if (n > AG_LABEL_MAX_STRING || memchr(buf, '\0', n) != NULL)
				abort();
		}
		else
		{
			for (i = 0; i < a->len; i++)
				if (!((s[a->start + i] >= '0' && s[a->start + i] <= '9') ||
					  s[a->start + i] == '.' || s[a->start + i] == '-'))
					abort();
		}
	}
	/* outside string arguments only the grammar's characters appear */
	{
		bool		in_string = false;

		for (i = 0; i < size; i++)
		{
			unsigned char c = (unsigned char) s[i];

			if (c == '\'')
			{
				in_string = !in_string;
				continue;
			}
			if (in_string)
				continue;
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				  c == '_' || c == ':' || c == ' ' || c == '=' || c == '(' ||
				  c == ')' || c == ',' || c == '.' || c == '-'))
				abort();
		}
		if (in_string)
			abort();
	}
	return 0;
}
