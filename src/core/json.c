/*
 * json.c
 *		A small, strict JSON reader (see json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser
{
	const char *s;
	size_t		len;
	size_t		pos;
	char	   *err;
	size_t		errlen;
	bool		failed;
} parser;

static ag_json *parse_value(parser *p, int depth);

static void
fail(parser *p, const char *what)
{
	if (!p->failed && p->errlen > 0)
		snprintf(p->err, p->errlen, "%s at byte %zu", what, p->pos);
	p->failed = true;
}

static void
skip_ws(parser *p)
{
	while (p->pos < p->len)
	{
		char		c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static ag_json *
new_value(parser *p, ag_json_type type)
{
	ag_json    *v = calloc(1, sizeof(ag_json));

	if (v == NULL)
		fail(p, "out of memory");
	else
		v->type = type;
	return v;
}

static bool
literal(parser *p, const char *word)
{
	size_t		n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

/* A growable byte buffer for decoded strings. */
typedef struct buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} buf;

static bool
buf_put(buf *b, const char *bytes, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 32;
		char	   *d;

		while (b->len + n + 1 > cap)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return false;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

static int
hex4(parser *p)
{
	int			v = 0;
	int			i;

	if (p->len - p->pos < 4)
		return -1;
	for (i = 0; i < 4; i++)
	{
		char		c = p->s[p->pos + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	p->pos += 4;
	return v;
}

static size_t
utf8_encode(unsigned cp, char out[4])
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 if invalid. */
static size_t
utf8_valid_len(const unsigned char *s, size_t avail)
{
	size_t		n,
				i;
	unsigned	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		(cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Parses a string at p->pos (the opening quote); returns it decoded. */
static char *
parse_string(parser *p, size_t *lenp)
{
	buf			b = {NULL, 0, 0};

	p->pos++;					/* opening quote */
	if (!buf_put(&b, "", 0))
		goto oom;
	for (;;)
	{
		unsigned char c;

		if (p->pos >= p->len)
		{
			fail(p, "unterminated string");
			goto bad;
		}
		c = (unsigned char) p->s[p->pos];
		if (c == '"')
		{
			p->pos++;
			*lenp = b.len;
			return b.data;
		}
		if (c < 0x20)
		{
			fail(p, "control character in string");
			goto bad;
		}
		if (c == '\\')
		{
			char		esc;
			char		out[4];
			size_t		n = 1;

			if (++p->pos >= p->len)
			{
				fail(p, "unterminated string");
				goto bad;
			}
			esc = p->s[p->pos++];
			switch (esc)
			{
				case '"':
				case '\\':
				case '/':
					out[0] = esc;
					break;
				case 'b':
					out[0] = '\b';
					break;
				case 'f':
					out[0] = '\f';
					break;
				case 'n':
					out[0] = '\n';
					break;
				case 'r':
					out[0] = '\r';
					break;
				case 't':
					out[0] = '\t';
					break;
				case 'u':
					{
						int			hi = hex4(p);
						unsigned	cp;

						if (hi < 0)
						{
							fail(p, "invalid \\u escape");
							goto bad;
						}
						cp = (unsigned) hi;
						if (cp >= 0xD800 && cp <= 0xDBFF)
						{
							int			lo;

							if (!literal(p, "\\u") || (lo = hex4(p)) < 0xDC00 || lo > 0xDFFF)
							{
								fail(p, "unpaired surrogate in \\u escape");
								goto bad;
							}
							cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned) lo - 0xDC00);
						}
						else if (cp >= 0xDC00 && cp <= 0xDFFF)
						{
							fail(p, "unpaired surrogate in \\u escape");
							goto bad;
						}
						if (cp == 0)
						{
							fail(p, "NUL character in string");
							goto bad;
						}
						n = utf8_encode(cp, out);
					}
					break;
				default:
					fail(p, "invalid escape in string");
					goto bad;
			}
			if (!buf_put(&b, out, n))
				goto oom;
			continue;
		}
		{
			size_t		n = utf8_valid_len((const unsigned char *) p->s + p->pos,
										   p->len - p->pos);

			if (n == 0)
			{
				fail(p, "invalid UTF-8 in string");
				goto bad;
			}
			if (!buf_put(&b, p->s + p->pos, n))
				goto oom;
			p->pos += n;
		}
	}
oom:
	fail(p, "out of memory");
bad:
	free(b.data);
	return NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static ag_json *
parse_number(parser *p)
{
	size_t		start = p->pos;
	ag_json    *v;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(p->s[p->pos]))
	{
		fail(p, "invalid number");
		return NULL;
	}
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.')
	{
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		{
			fail(p, "invalid number");
			return NULL;
		}
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
	{
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		{
			fail(p, "invalid number");
			return NULL;
		}
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	v = new_value(p, AG_JSON_NUMBER);
	if (v == NULL)
		return NULL;
	v->len = p->pos - start;
	v->text = malloc(v->len + 1);
	if (v->text == NULL)
	{
		free(v);
		fail(p, "out of memory");
		return NULL;
	}
	memcpy(v->text, p->s + start, v->len);
	v->text[v->len] = '\0';
	return v;
}

/* Appends a member to an array or object value. */
static bool
add_member(parser *p, ag_json *v, char *key, ag_json *item)
{
	if ((v->n & (v->n - 1)) == 0)	/* 0, 1, 2, 4, ...: grow */
	{
		size_t		cap = v->n ? v->n * 2 : 1;
		ag_json   **items = realloc(v->items, cap * sizeof(ag_json *));

		if (items == NULL)
			goto oom;
		v->items = items;
		if (v->type == AG_JSON_OBJECT)
		{
			char	  **keys = realloc(v->keys, cap * sizeof(char *));

			if (keys == NULL)
				goto oom;
			v->keys = keys;
		}
	}
	v->items[v->n] = item;
	if (v->type == AG_JSON_OBJECT)
		v->keys[v->n] = key;
	v->n++;
	return true;
oom:
	fail(p, "out of memory");
	return false;
}

static ag_json *
parse_container(parser *p, int depth, bool object)
{
	ag_json    *v = new_value(p, object ? AG_JSON_OBJECT : AG_JSON_ARRAY);
	char		close = object ? '}' : ']';

	if (v == NULL)
		return NULL;
	p->pos++;					/* opening bracket */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close)
	{
		p->pos++;
		return v;
	}
	for (;;)
	{
		char	   *key = NULL;
		ag_json    *item;

		skip_ws(p);
		if (object)
		{
			size_t		klen;

			if (p->pos >= p->len || p->s[p->pos] != '"')
			{
				fail(p, "expected a member name");
				goto bad;
			}
			key = parse_string(p, &klen);
			if (key == NULL)
				goto bad;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
			{
				free(key);
				fail(p, "expected \":\"");
				goto bad;
			}
			p->pos++;
		}
		item = parse_value(p, depth + 1);
		if (item == NULL || !add_member(p, v, key, item))
		{
			free(key);
			ag_json_free(item);
			goto bad;
		}
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close)
		{
			p->pos++;
			return v;
		}
		fail(p, object ? "expected \",\" or \"}\"" : "expected \",\" or \"]\"");
		goto bad;
	}
bad:
	ag_json_free(v);
	return NULL;
}

static ag_json *
parse_value(parser *p, int depth)
{
	ag_json    *v;

	if (depth > AG_JSON_MAX_DEPTH)
	{
		fail(p, "nesting too deep");
		return NULL;
	}
	skip_ws(p);
	if (p->pos >= p->len)
	{
		fail(p, "unexpected end of input");
		return NULL;
	}
	switch (p->s[p->pos])
	{
		case '{':
			return parse_container(p, depth, true);
		case '[':
			return parse_container(p, depth, false);
		case '"':
			v = new_value(p, AG_JSON_STRING);
			if (v == NULL)
				return NULL;
			v->text = parse_string(p, &v->len);
			if (v->text == NULL)
			{
				free(v);
				return NULL;
			}
			return v;
		case 't':
			if (literal(p, "true"))
				return new_value(p, AG_JSON_TRUE);
			break;
		case 'f':
			if (literal(p, "false"))
				return new_value(p, AG_JSON_FALSE);
			break;
		case 'n':
			if (literal(p, "null"))
				return new_value(p, AG_JSON_NULL);
			break;
		default:
			if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
				return parse_number(p);
			break;
	}
	fail(p, "unexpected character");
	return NULL;
}

ag_json *
ag_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	parser		p = {text, len, 0, err, errlen, false};
	ag_json    *v;

	if (errlen > 0)
		err[0] = '\0';
	v = parse_value(&p, 0);
	if (v == NULL)
		return NULL;
	skip_ws(&p);
	if (p.pos != p.len)
	{
		fail(&p, "trailing characters after the value");
		ag_json_free(v);
		return NULL;
	}
	return v;
}

void
ag_json_free(ag_json *v)
{
	size_t		i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
	{
		ag_json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->text);
	free(v);
}

const ag_json *
ag_json_get(const ag_json *obj, const char *key)
{
	size_t		i;

	if (obj == NULL || obj->type != AG_JSON_OBJECT)
		return NULL;
	for (i = obj->n; i > 0; i--)
		if (strcmp(obj->keys[i - 1], key) == 0)
			return obj->items[i - 1];
	return NULL;
}

const char *
ag_json_get_text(const ag_json *obj, const char *key)
{
	const ag_json *v = ag_json_get(obj, key);

	if (v == NULL || (v->type != AG_JSON_STRING && v->type != AG_JSON_NUMBER))
		return NULL;
	return v->text;
}
