/*
 * json_out.c
 *		Writing JSON strings for manifests.
 */
#include "cli.h"

/* Writes s as a JSON string literal; NULL becomes null. */
void
json_write_string(FILE *f, const char *s)
{
	if (s == NULL)
	{
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '"':
				fputs("\\\"", f);
				break;
			case '\\':
				fputs("\\\\", f);
				break;
			case '\n':
				fputs("\\n", f);
				break;
			case '\r':
				fputs("\\r", f);
				break;
			case '\t':
				fputs("\\t", f);
				break;
			default:
				if (c < 0x20 || c == 0x7f)
					fprintf(f, "\\u%04x", c);
				else
					fputc(c, f);
		}
	}
	fputc('"', f);
}
