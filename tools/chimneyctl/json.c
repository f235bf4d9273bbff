// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: a small streaming JSON writer.  Values are written as they
 * come; the writer only tracks the nesting, for commas and indentation.
 */
#include <string.h>

#include "chimneyctl.h"

#define JSON_MAX_DEPTH	16

static struct {
	FILE *f;
	bool pretty;
	int depth;
	bool has_items[JSON_MAX_DEPTH];
} jw;

void json_begin(FILE *f, bool pretty)
{
	jw.f = f;
	jw.pretty = pretty;
	jw.depth = 0;
	jw.has_items[0] = false;
}

/* After the top-level value: end the line. */
void json_finish(void)
{
	fputc('\n', jw.f);
	fflush(jw.f);
}

static void json_indent(void)
{
	int i;

	fputc('\n', jw.f);
	for (i = 0; i < jw.depth; i++)
		fputs("  ", jw.f);
}

/* Length of the valid UTF-8 sequence at @s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', jw.f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			fputs("\\\"", jw.f);
			break;
		case '\\':
			fputs("\\\\", jw.f);
			break;
		case '\b':
			fputs("\\b", jw.f);
			break;
		case '\f':
			fputs("\\f", jw.f);
			break;
		case '\n':
			fputs("\\n", jw.f);
			break;
		case '\r':
			fputs("\\r", jw.f);
			break;
		case '\t':
			fputs("\\t", jw.f);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(jw.f, "\\u%04x", *s);
				break;
			}
			n = utf8_len(s);
			if (!n) {
				/* not UTF-8: replacement character */
				fputs("\\ufffd", jw.f);
				break;
			}
			fwrite(s, 1, n, jw.f);
			s += n;
			continue;
		}
		s++;
	}
	fputc('"', jw.f);
}

/* Comma, newline and indentation before a value; then its key, if any. */
static void json_prefix(const char *key)
{
	if (jw.depth > 0) {
		if (jw.has_items[jw.depth])
			fputc(',', jw.f);
		jw.has_items[jw.depth] = true;
		if (jw.pretty)
			json_indent();
	}
	if (key) {
		json_string(key);
		fputs(jw.pretty ? ": " : ":", jw.f);
	}
}

static void json_open(const char *key, char c)
{
	json_prefix(key);
	fputc(c, jw.f);
	if (jw.depth + 1 >= JSON_MAX_DEPTH)
		die("JSON output nested too deep");
	jw.has_items[++jw.depth] = false;
}

static void json_close(char c)
{
	bool had_items = jw.has_items[jw.depth];

	jw.depth--;
	if (jw.pretty && had_items)
		json_indent();
	fputc(c, jw.f);
}

void json_obj_open(const char *key)
{
	json_open(key, '{');
}

void json_obj_close(void)
{
	json_close('}');
}

void json_arr_open(const char *key)
{
	json_open(key, '[');
}

void json_arr_close(void)
{
	json_close(']');
}

void json_str(const char *key, const char *value)
{
	json_prefix(key);
	json_string(value);
}

void json_uint(const char *key, uint64_t value)
{
	json_prefix(key);
	fprintf(jw.f, "%llu", (unsigned long long)value);
}

void json_bool(const char *key, bool value)
{
	json_prefix(key);
	fputs(value ? "true" : "false", jw.f);
}

void json_null(const char *key)
{
	json_prefix(key);
	fputs("null", jw.f);
}

/* An enum value by name; a value without a name is written as a number. */
void json_name(const char *key, const struct name_table *t, uint32_t value)
{
	const char *name = name_of(t, value);

	if (name)
		json_str(key, name);
	else
		json_uint(key, value);
}

/* A counter keyed by a spec name (kebab case), as "snake_case": value. */
void json_attr_key(const char *kebab, uint64_t value)
{
	char key[64];

	snake_case(key, sizeof(key), kebab);
	json_uint(key, value);
}
