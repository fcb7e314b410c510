/*
 * fuzz_json.c
 *		libFuzzer target for src/core/json.c: any bytes must either parse or
 *		fail with a message; a parsed value must be walkable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const ag_json *v)
{
	size_t		n = 1,
				i;

	if (v->text && strlen(v->text) != v->len)
		abort();				/* decoded text never hides a NUL */
	for (i = 0; i < v->n; i++)
		n += walk(v->items[i]);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		err[128];
	ag_json    *v = ag_json_parse((const char *) data, size, err, sizeof(err));

	if (v == NULL)
	{
		if (err[0] == '\0')
			abort();
		return 0;
	}
	walk(v);
	(void) ag_json_get_text(v, "digest");
	ag_json_free(v);
	return 0;
}
