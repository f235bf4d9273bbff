// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: command-line arguments.  Every error names the token at fault
 * and exits.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "chimneyctl.h"

bool args_more(const struct args *a)
{
	return a->argc > 0;
}

bool args_is(const struct args *a, const char *word)
{
	return a->argc > 0 && !strcmp(a->argv[0], word);
}

/* The next argument, which must be there: @what names it when it is not. */
const char *args_next(struct args *a, const char *what)
{
	if (a->argc <= 0)
		die("missing %s", what);
	a->argc--;
	return *a->argv++;
}

/* The value that follows @keyword (already consumed). */
const char *args_value(struct args *a, const char *keyword)
{
	if (a->argc <= 0)
		die("missing value for \"%s\"", keyword);
	a->argc--;
	return *a->argv++;
}

/* Nothing may be left. */
void args_end(const struct args *a)
{
	if (a->argc > 0)
		die("unknown argument \"%s\"", a->argv[0]);
}

bool is_help(const char *word)
{
	return !strcmp(word, "help") || !strcmp(word, "-h") ||
	       !strcmp(word, "-help") || !strcmp(word, "--help");
}

void check_once(bool *seen, const char *keyword)
{
	if (*seen)
		die("duplicate argument \"%s\"", keyword);
	*seen = true;
}

/*
 * An unsigned number, decimal or 0x hexadecimal, in [@min, @max].  No sign,
 * no blanks, no octal: "010" is ten.
 */
uint64_t parse_uint(const char *s, const char *what, uint64_t min, uint64_t max)
{
	unsigned long long v;
	const char *p = s;
	int base = 10;
	char *end;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		die("invalid %s \"%s\"", what, s);
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno || *end || v < min || v > max)
		die("invalid %s \"%s\"", what, s);
	return v;
}

/* A device name as the kernel takes it (dev_valid_name()). */
const char *parse_ifname(const char *s)
{
	const char *p;

	if (!*s || strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		die("invalid device name \"%s\"", s);
	for (p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			die("invalid device name \"%s\"", s);
	return s;
}

/* @s of length @len as an IPv4 or IPv6 address; false if it is neither. */
static bool addr_from(const char *s, size_t len, struct addr *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &addr->v4) == 1) {
		addr->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, &addr->v6) == 1) {
		addr->family = AF_INET6;
		return true;
	}
	return false;
}

/* An address without a port: A.B.C.D, IPV6 or [IPV6]. */
void parse_addr(const char *s, const char *what, struct addr *addr)
{
	size_t len = strlen(s);
	bool ok;

	memset(addr, 0, sizeof(*addr));
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		ok = addr_from(s + 1, len - 2, addr) && addr->family == AF_INET6;
	else
		ok = addr_from(s, len, addr);
	if (!ok)
		die("invalid %s \"%s\"", what, s);
}

/* An endpoint: A.B.C.D:PORT or [IPV6]:PORT. */
void parse_endpoint(const char *s, const char *what, struct addr *addr)
{
	const char *host = s, *colon, *port;
	size_t len;

	memset(addr, 0, sizeof(*addr));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			die("invalid %s \"%s\" (expected [IPV6]:PORT)", what, s);
		host = s + 1;
		len = close - host;
		port = close + 2;
		if (!addr_from(host, len, addr) || addr->family != AF_INET6)
			die("invalid address \"%.*s\" in \"%s\"", (int)len, host, s);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			die("invalid %s \"%s\" (expected ADDRESS:PORT)", what, s);
		len = colon - host;
		port = colon + 1;
		if (memchr(host, ':', len))
			die("invalid %s \"%s\" (expected [IPV6]:PORT)", what, s);
		if (!addr_from(host, len, addr) || addr->family != AF_INET)
			die("invalid address \"%.*s\" in \"%s\"", (int)len, host, s);
	}
	if (!*port)
		die("missing port in \"%s\"", s);
	addr->port = parse_uint(port, "port", 0, 65535);
}

/* LADDR:LPORT RADDR:RPORT, of one address family. */
void parse_tuple(struct args *a, struct addr *local, struct addr *remote)
{
	const char *l = args_next(a, "local endpoint (LADDR:LPORT)");
	const char *r;

	parse_endpoint(l, "local endpoint", local);
	r = args_next(a, "remote endpoint (RADDR:RPORT)");
	parse_endpoint(r, "remote endpoint", remote);
	if (local->family != remote->family)
		die("endpoints \"%s\" and \"%s\" are of different address families",
		    l, r);
}

/* "10.0.0.1", "fd00::1", with @port "10.0.0.1:80", "[fd00::1]:80". */
void format_addr(char *buf, size_t len, const struct addr *addr, bool port)
{
	const void *a = addr->family == AF_INET6 ? (const void *)&addr->v6 : &addr->v4;
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(addr->family, a, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	if (!port)
		snprintf(buf, len, "%s", host);
	else if (addr->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, addr->port);
	else
		snprintf(buf, len, "%s:%u", host, addr->port);
}

/* `[ [ dev ] DEV ]` of a show command: the device, or NULL for all. */
const char *parse_show_dev(struct args *a)
{
	const char *dev = NULL;

	if (args_is(a, "dev")) {
		const char *kw = args_next(a, "keyword");

		dev = parse_ifname(args_value(a, kw));
	} else if (args_more(a)) {
		dev = parse_ifname(args_next(a, "device name"));
	}
	args_end(a);
	return dev;
}
