/*
 * pii.h
 *		Single-pass, linear-time detection of PII and secrets in free text.
 *
 * Pure C, no PostgreSQL headers: used by masking_sql.c (detect_pii,
 * redact_pii, scan_table), the unit tests and the fuzzer.
 *
 * The scanner walks the input once.  At each token start it tries a fixed
 * set of hand-written detectors whose work is bounded by a constant (or, for
 * unbounded tokens, that consume what they read), so the total work is
 * linear in the input length; there is no regular expression engine and no
 * backtracking.  Findings never overlap and are reported in order.
 */
#ifndef AI_GUARD_PII_H
#define AI_GUARD_PII_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ag_pii_kind
{
	AG_PII_EMAIL = 0,
	AG_PII_PHONE,
	AG_PII_CARD,
	AG_PII_IBAN,
	AG_PII_IPV4,
	AG_PII_IPV6,
	AG_PII_SSN,
	AG_PII_PRIVATE_KEY,
	AG_PII_ACCESS_KEY,
	AG_PII_BEARER_TOKEN,
	AG_PII_NKINDS
} ag_pii_kind;

typedef struct ag_pii_finding
{
	ag_pii_kind kind;
	size_t		start;			/* byte offset, 0-based */
	size_t		len;			/* bytes */
} ag_pii_finding;

/* Called once per finding, in order; return false to stop the scan. */
typedef bool (*ag_pii_callback) (const ag_pii_finding *f, void *arg);

/*
 * Scans text[0..len) and reports each finding to cb.  Returns the number of
 * findings reported.  text need not be NUL-terminated and may contain NULs.
 */
extern size_t ag_pii_scan(const char *text, size_t len,
						  ag_pii_callback cb, void *arg);

/* "email", "phone", ... (the kind column of detect_pii) */
extern const char *ag_pii_kind_name(ag_pii_kind kind);

/* "[EMAIL]", "[PHONE]", ... (what redact_pii writes) */
extern const char *ag_pii_kind_tag(ag_pii_kind kind);

/* The classification kind a finding suggests: "email", "ip", "secret", ... */
extern const char *ag_pii_kind_class(ag_pii_kind kind);

#endif							/* AI_GUARD_PII_H */
