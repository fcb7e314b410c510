/*
 * input.c
 *		Input files of ai-guard's commands (manifests, anchors), read whole
 *		with a size limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * The contents of path, NUL-terminated, in *len bytes (malloc'd); NULL after
 * reporting the error if it cannot be read or is larger than max bytes.
 * what names the file in messages ("manifest ", or "" for none).
 */
char *
cli_read_file(const char *path, const char *what, size_t max, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *text;

	if (f == NULL)
	{
		pg_log_error("could not open %s\"%s\": %s", what, path, strerror(errno));
		return NULL;
	}
	text = malloc(max + 1);
	*len = fread(text, 1, max + 1, f);
	fclose(f);
	if (*len > max)
	{
		pg_log_error("%s\"%s\" is larger than %zu bytes", what, path, max);
		free(text);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}
