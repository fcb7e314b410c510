/*
 * fuzz_sign.c
 *		libFuzzer target for src/core/sign.c: the parts of an anchor that
 *		ai-guard verify-chain reads from a file (hex keys and signatures,
 *		the head message's fields), any bytes, any length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "sign.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	uint8_t		pub[AG_ED25519_PUBLIC_LEN];
	uint8_t		sig[AG_ED25519_SIG_LEN];
	static const uint8_t seed[AG_ED25519_SEED_LEN] = {42};
	uint8_t		real[AG_ED25519_PUBLIC_LEN];
	char		msg[512];
	int			len;
	char	   *fields[4] = {s, "1", "h", "t"};
	char	   *nl;
	int			i;

	memcpy(s, data, size);
	s[size] = '\0';
	/* split at '|' into up to four fields */
	for (i = 1; i < 4 && (nl = strchr(fields[i - 1], '|')) != NULL; i++)
	{
		*nl = '\0';
		fields[i] = nl + 1;
	}
	len = ag_head_message(fields[0], strtoll(fields[1], NULL, 10), fields[2], fields[3],
						  msg, sizeof(msg));
	if (len >= 0 && (size_t) len >= sizeof(msg))
		abort();
	/* any key and signature bytes are checked without a crash */
	memset(pub, 0, sizeof(pub));
	memset(sig, 0, sizeof(sig));
	(void) ag_hex_decode(fields[2], pub, sizeof(pub));
	(void) ag_hex_decode(fields[3], sig, sizeof(sig));
	if (len >= 0)
		(void) ag_ed25519_verify(pub, msg, (size_t) len, sig);
	/* and no signature made of input verifies under a real key */
	if (!ag_ed25519_public(seed, real))
		abort();
	if (len >= 0 && ag_ed25519_verify(real, msg, (size_t) len, sig))
		abort();
	free(s);
	return 0;
}
