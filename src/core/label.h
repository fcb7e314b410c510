/*
 * label.h
 *		The grammar of ai_guard security labels, and its strict parser.
 *
 * Pure C, no PostgreSQL headers: used by the label provider in
 * masking_sql.c, the unit tests and the fuzzer.
 *
 *	label	:= class [ " subject" ] [ " mask=" fn "(" [ arg { "," [" "] arg } ] ")" ]
 *	class	:= "public" | "internal" | "pii:" kind
 *	kind	:= [a-z] [a-z0-9_]{0,62}
 *	fn		:= mask_email | mask_phone | mask_card | mask_iban | partial
 *			 | generalize | noise | pseudonymize | redact_pii
 *	arg		:= number | string
 *	number	:= ["-"] [0-9]{1,15} [ "." [0-9]{1,15} ]
 *	string	:= "'" { any byte >= 0x20 except "'" | "''" } "'"	(<= 256 bytes)
 *
 * " subject" marks the data-subject key (whose row it is: a customer id),
 * which ai_guard.subject_exposure() searches.
 *
 * Nothing else is accepted: no other whitespace, no identifiers as
 * arguments, no nested calls, at most 1024 bytes.  Each function also has a
 * fixed signature (see ag_label_parse), checked here.
 */
#ifndef AI_GUARD_LABEL_H
#define AI_GUARD_LABEL_H

#include <stdbool.h>
#include <stddef.h>

#define AG_LABEL_MAX_LEN 1024
#define AG_LABEL_MAX_ARGS 3
#define AG_LABEL_MAX_STRING 256

typedef enum ag_label_class
{
	AG_CLASS_PUBLIC,
	AG_CLASS_INTERNAL,
	AG_CLASS_PII
} ag_label_class;

typedef enum ag_label_fn
{
	AG_FN_NONE = 0,
	AG_FN_MASK_EMAIL,
	AG_FN_MASK_PHONE,
	AG_FN_MASK_CARD,
	AG_FN_MASK_IBAN,
	AG_FN_PARTIAL,
	AG_FN_GENERALIZE,
	AG_FN_NOISE,
	AG_FN_PSEUDONYMIZE,
	AG_FN_REDACT_PII
} ag_label_fn;

typedef struct ag_label_arg
{
	bool		is_string;
	size_t		start;			/* offset into the label text */
	size_t		len;			/* number: its text; string: between quotes */
	double		number;			/* value of a number */
} ag_label_arg;

typedef struct ag_label
{
	ag_label_class cls;
	size_t		kind_start;		/* for AG_CLASS_PII */
	size_t		kind_len;
	bool		subject;		/* the data-subject key */
	ag_label_fn fn;
	int			nargs;
	ag_label_arg args[AG_LABEL_MAX_ARGS];
} ag_label;

/*
 * Parses label[0..len).  On success fills *out and returns true; otherwise
 * returns false and sets *err to a static sentence saying what is wrong.
 */
extern bool ag_label_parse(const char *label, size_t len, ag_label *out,
						   const char **err);

/* "mask_email", ...; NULL for AG_FN_NONE */
extern const char *ag_label_fn_name(ag_label_fn fn);

/*
 * Does a column with this label appear in masked views as stored (public
 * or internal, without a mask)?  Its statistics may be kept too.
 */
extern bool ag_label_shown_as_stored(const ag_label *l);

/*
 * Copies string argument a of label into out (capacity at least a->len + 1),
 * turning '' into ', and NUL-terminates it.  Returns its length.
 */
extern size_t ag_label_unquote(const char *label, const ag_label_arg *a,
							   char *out);

#endif							/* AI_GUARD_LABEL_H */
