/*
 * fuzz_digest.c
 *		libFuzzer target for src/core/digest.c: COPY escaping round-trips
 *		through the field parser, the parser survives any bytes, streaming
 *		SHA-256 equals one-shot, and purpose syntax never reads out of range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	char	   *esc = malloc(2 * size + 1);
	char	   *back = malloc(size + 1);
	char	   *any = malloc(size + 1);
	size_t		n,
				m;
	char		one[65],
				two[65];
	ag_sha256  *h;

	if (!esc || !back || !any)
		abort();

	/* escape, then parse: the original bytes come back */
	n = ag_copy_escape(s, size, esc);
	if (n > 2 * size || n < size)
		abort();
	if (!ag_copy_unescape(esc, n, back, &m) || m != size ||
		(size > 0 && memcmp(back, s, size) != 0))
		abort();
	/* the escaped form never holds a raw tab, newline or CR */
	if (memchr(esc, '\t', n) || memchr(esc, '\n', n) || memchr(esc, '\r', n))
		abort();

	/* the parser on arbitrary bytes: no crash, output never longer */
	if (ag_copy_unescape(s, size, any, &m) && m > size)
		abort();

	/* streaming in two uneven parts equals one shot */
	h = ag_sha256_new();
	if (h == NULL)
		abort();
	if (!ag_sha256_update(h, s, size / 3) ||
		!ag_sha256_update(h, s + size / 3, size - size / 3) ||
		!ag_sha256_final_hex(h, one) || !ag_sha256_hex(s, size, two) ||
		strcmp(one, two) != 0)
		abort();
	ag_sha256_free(h);

	{
		int			c = ag_purpose_class_len(s, size);

		if (c > 63 || (c >= 0 && (size_t) c > size))
			abort();
	}

	free(esc);
	free(back);
	free(any);
	return 0;
}
