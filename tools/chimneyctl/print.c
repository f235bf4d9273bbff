// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: text output helpers.  Continuation lines of "key value" pairs
 * are wrapped at 80 columns under an indent.
 */
#include <string.h>

#include "chimneyctl.h"

#define TEXT_COLS	80

void tl_begin(struct text_line *l, int indent)
{
	l->indent = indent;
	l->col = 0;
}

/* A label at @indent, followed by the pairs; wrapped lines go under l->indent. */
void tl_label(struct text_line *l, int indent, const char *label)
{
	printf("%*s%s", indent, "", label);
	l->col = indent + strlen(label);
}

/* "KEY VALUE", on a new line if it does not fit on this one. */
void tl_pair(struct text_line *l, const char *key, const char *value)
{
	int len = strlen(key) + 1 + strlen(value);

	if (l->col && l->col + 1 + len > TEXT_COLS) {
		putchar('\n');
		l->col = 0;
	}
	if (!l->col) {
		printf("%*s", l->indent, "");
		l->col = l->indent;
	} else {
		putchar(' ');
		l->col++;
	}
	printf("%s %s", key, value);
	l->col += len;
}

void tl_uint(struct text_line *l, const char *key, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	tl_pair(l, key, buf);
}

/* An enum value by name; a value without a name is printed as a number. */
void tl_name(struct text_line *l, const char *key, const struct name_table *t,
	     uint32_t value)
{
	const char *name = name_of(t, value);

	if (name)
		tl_pair(l, key, name);
	else
		tl_uint(l, key, value);
}

void tl_end(struct text_line *l)
{
	if (l->col)
		putchar('\n');
	l->col = 0;
}

/* " KEY NAME" on one line; a value without a name as " KEY VALUE". */
void print_name(const char *key, const struct name_table *t, uint32_t value)
{
	const char *name = name_of(t, value);

	if (name)
		printf(" %s %s", key, name);
	else
		printf(" %s %u", key, value);
}

/* A mask of 1 << reason as "a,b,c", or "none" when empty. */
void print_reason_mask(struct text_line *l, const char *key, uint32_t mask)
{
	char buf[1024];
	size_t off = 0;
	uint32_t r;

	buf[0] = '\0';
	for (r = 0; r < 32 && off < sizeof(buf); r++) {
		const char *name = name_of(&reason_table, r);

		if (!(mask & (1U << r)))
			continue;
		if (name)
			off += snprintf(buf + off, sizeof(buf) - off, "%s%s",
					off ? "," : "", name);
		else
			off += snprintf(buf + off, sizeof(buf) - off, "%s%u",
					off ? "," : "", r);
	}
	tl_pair(l, key, off ? buf : "none");
}

/* A mask of 1 << reason as an array of reason names. */
void json_reason_mask(const char *key, uint32_t mask)
{
	uint32_t r;

	json_arr_open(key);
	for (r = 0; r < 32; r++)
		if (mask & (1U << r))
			json_name(NULL, &reason_table, r);
	json_arr_close();
}

/* Run a get or a dump whose replies @cb prints; JSON output is one array. */
void run_show(struct nlmsghdr *nlh, nl_reply_cb cb)
{
	if (opts.json) {
		json_begin(stdout, opts.pretty);
		json_arr_open(NULL);
	}
	nl_talk(nlh, cb, NULL);
	if (opts.json) {
		json_arr_close();
		json_finish();
	}
}

/* The "dev" key of an object: the device's name, null if unknown. */
void json_dev(const char *dev)
{
	if (dev)
		json_str("dev", dev);
	else
		json_null("dev");
}
