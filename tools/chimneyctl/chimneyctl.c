// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: control of chimney, the TCP chimney offload emulation, over
 * its generic netlink family.
 *
 *	chimneyctl [ OPTIONS ] OBJECT { COMMAND | help }
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chimneyctl.h"

struct ctl_opts opts;

noreturn void die(const char *fmt, ...)
{
	va_list ap;

	/* JSON cut short is not JSON: drop what is still buffered */
	if (!opts.json)
		fflush(stdout);
	fputs("chimneyctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (opts.json)
		_exit(1);
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("chimneyctl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The names of @t as "LHS := { a | b | ... }", wrapped at 80 columns. */
void usage_names(FILE *f, const struct name_table *t, const char *lhs)
{
	int indent = 7 + strlen(lhs) + 5;	/* "       LHS := {" */
	int col = indent;
	unsigned int i;

	fprintf(f, "       %s := {", lhs);
	for (i = 0; i < t->count; i++) {
		int len = strlen(t->names[i]);

		if (i && col + len + 3 > 79) {
			fprintf(f, " |\n%*s", indent, "");
			col = indent;
		} else if (i) {
			fputs(" |", f);
			col += 2;
		}
		fprintf(f, " %s", t->names[i]);
		col += len + 1;
	}
	fputs(" }\n", f);
}

static void usage(FILE *f)
{
	fputs("Usage: chimneyctl [ OPTIONS ] OBJECT { COMMAND | help }\n"
	      "       chimneyctl help [ OBJECT ]\n"
	      "where  OBJECT := { dev | policy | conn | target | stats | monitor }\n"
	      "       OPTIONS := { -j[son] | -p[retty] | -s[tatistics] | -d[etails] |\n"
	      "                    -t[imestamp] | -V[ersion] | -h[elp] }\n"
	      "Try \"chimneyctl OBJECT help\" for the commands of an object.\n", f);
}

static const struct object {
	const char *name;
	int (*run)(struct args *a);
	void (*usage)(FILE *f);
} objects[] = {
	{ "dev",	do_dev,		usage_dev },
	{ "policy",	do_policy,	usage_policy },
	{ "conn",	do_conn,	usage_conn },
	{ "target",	do_target,	usage_target },
	{ "stats",	do_stats,	usage_stats },
	{ "monitor",	do_monitor,	usage_monitor },
};

static const struct object *find_object(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(objects); i++)
		if (!strcmp(objects[i].name, name))
			return &objects[i];
	return NULL;
}

/* `help [ OBJECT ]` */
static int do_help(struct args *a)
{
	const struct object *obj;
	const char *name;

	if (!args_more(a)) {
		usage(stdout);
		return 0;
	}
	name = args_next(a, "object");
	obj = find_object(name);
	if (!obj)
		die("unknown object \"%s\" (try \"chimneyctl help\")", name);
	args_end(a);
	obj->usage(stdout);
	return 0;
}

static bool option_is(const char *arg, const char *shrt, const char *lng)
{
	/* -x, -long, --long */
	if (!strcmp(arg, shrt))
		return true;
	if (arg[1] == '-')
		arg++;
	return !strcmp(arg + 1, lng);
}

/* Single-letter flags may be combined: -jd. */
static bool short_flags(const char *arg)
{
	const char *p;

	if (arg[1] == '\0' || strspn(arg + 1, "jpsdt") != strlen(arg + 1))
		return false;
	for (p = arg + 1; *p; p++) {
		if (*p == 'j')
			opts.json = true;
		else if (*p == 'p')
			opts.pretty = true;
		else if (*p == 's')
			opts.stats = true;
		else if (*p == 't')
			opts.timestamp = true;
		else
			opts.details = true;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct args a = { argc - 1, argv + 1 };
	const struct object *obj;
	const char *name;

	while (args_more(&a) && a.argv[0][0] == '-' && a.argv[0][1]) {
		const char *opt = args_next(&a, "option");

		if (!strcmp(opt, "--"))
			break;
		if (option_is(opt, "-j", "json")) {
			opts.json = true;
		} else if (option_is(opt, "-p", "pretty")) {
			opts.pretty = true;
		} else if (option_is(opt, "-s", "statistics") ||
			   option_is(opt, "-s", "stats")) {
			opts.stats = true;
		} else if (option_is(opt, "-d", "details")) {
			opts.details = true;
		} else if (option_is(opt, "-t", "timestamp")) {
			opts.timestamp = true;
		} else if (option_is(opt, "-h", "help")) {
			usage(stdout);
			return 0;
		} else if (option_is(opt, "-V", "Version") ||
			   option_is(opt, "-V", "version")) {
			printf("chimneyctl, netlink family \"%s\" version %d\n",
			       CHIMNEY_FAMILY_NAME, CHIMNEY_FAMILY_VERSION);
			return 0;
		} else if (!short_flags(opt)) {
			die("unknown option \"%s\" (try \"chimneyctl help\")", opt);
		}
	}

	/* JSON goes out whole or not at all (see die()) */
	if (opts.json)
		setvbuf(stdout, NULL, _IOFBF, 0);

	name = args_next(&a, "object (try \"chimneyctl help\")");
	if (is_help(name))
		return do_help(&a);
	obj = find_object(name);
	if (!obj)
		die("unknown object \"%s\" (try \"chimneyctl help\")", name);
	return obj->run(&a);
}
