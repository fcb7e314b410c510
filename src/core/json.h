/*
 * json.h
 *		A small, strict JSON reader for the files ai_guard's client reads back
 *		(pull manifests). Pure C, no PostgreSQL headers; fuzzed.
 *
 * RFC 8259 syntax, UTF-8 text; strings are decoded (escapes, \u surrogate
 * pairs) into NUL-terminated UTF-8; numbers are kept as their source text.
 * Nesting deeper than AG_JSON_MAX_DEPTH and NUL bytes inside strings are
 * refused, so a hostile file cannot exhaust the stack or truncate a value.
 */
#ifndef AI_GUARD_JSON_H
#define AI_GUARD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define AG_JSON_MAX_DEPTH 64

typedef enum ag_json_type
{
	AG_JSON_NULL,
	AG_JSON_FALSE,
	AG_JSON_TRUE,
	AG_JSON_NUMBER,
	AG_JSON_STRING,
	AG_JSON_ARRAY,
	AG_JSON_OBJECT
} ag_json_type;

typedef struct ag_json
{
	ag_json_type type;
	char	   *text;			/* STRING: decoded; NUMBER: as written */
	size_t		len;			/* bytes in text */
	size_t		n;				/* ARRAY, OBJECT: number of members */
	char	  **keys;			/* OBJECT: member names, decoded */
	struct ag_json **items;		/* ARRAY, OBJECT: members */
} ag_json;

/*
 * Parses text[0..len). Returns NULL on error, with a message naming the byte
 * offset in err (which is always NUL-terminated when errlen > 0).
 */
extern ag_json *ag_json_parse(const char *text, size_t len,
							  char *err, size_t errlen);
extern void ag_json_free(ag_json *v);

/* The member named key of an object (the last one if repeated), or NULL. */
extern const ag_json *ag_json_get(const ag_json *obj, const char *key);

/* The string of a STRING or the text of a NUMBER member, or NULL. */
extern const char *ag_json_get_text(const ag_json *obj, const char *key);

#endif							/* AI_GUARD_JSON_H */
