// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: the conn and target objects.
 */
#include <net/if.h>
#include <string.h>

#include "chimneyctl.h"

#define PRIORITY_MAX		7
#define COMPLETE_DELAY_MAX	100
#define FAULT_COUNT_MAX		1000000

void usage_conn(FILE *f)
{
	fputs("Usage: chimneyctl [ -j ] [ -s ] [ -d ] conn show [ dev DEV ]\n"
	      "       chimneyctl conn offload LADDR:LPORT RADDR:RPORT [ priority N ]\n"
	      "       chimneyctl conn terminate { all | LADDR:LPORT RADDR:RPORT |\n"
	      "                                   path RADDR | neigh NEXTHOP }\n"
	      "                                 [ dev DEV ] [ reason REASON ]\n"
	      "where  LADDR:LPORT := { A.B.C.D:PORT | [IPV6]:PORT }, N := 0..7\n", f);
	usage_names(f, &reason_table, "REASON");
}

void usage_target(FILE *f)
{
	fputs("Usage: chimneyctl target request DEV { retrieve LADDR:LPORT RADDR:RPORT\n"
	      "                                         reason REASON | upload-all }\n"
	      "       chimneyctl target fault DEV { [ terminate-fail N ]\n"
	      "                                     [ initiate-fail N STATUS ]\n"
	      "                                     [ complete-delay MS ] | clear }\n"
	      "where  LADDR:LPORT := { A.B.C.D:PORT | [IPV6]:PORT }, MS := 0..100\n", f);
	usage_names(f, &reason_table, "REASON");
	usage_names(f, &status_table, "STATUS");
}

/* ---- conn show ---- */

static void conn_delegated_json(const struct nlattr **dtb)
{
	unsigned int i;

	json_obj_open("delegated");
	for (i = 1; i < __CHIMNEY_A_DELEGATED_MAX; i++) {
		char key[64];

		if (!dtb[i])
			continue;
		if (i == CHIMNEY_A_DELEGATED_TCP_STATE) {
			snake_case(key, sizeof(key), delegated_attrs[i].name);
			json_name(key, &tcp_state_table, mnl_attr_get_u32(dtb[i]));
		} else {
			json_attr_key(delegated_attrs[i].name, mnl_attr_get_u32(dtb[i]));
		}
	}
	json_obj_close();
}

static void conn_delegated_text(const struct nlattr **dtb)
{
	struct text_line l;
	unsigned int i;

	tl_begin(&l, 4);
	for (i = 1; i < __CHIMNEY_A_DELEGATED_MAX; i++) {
		if (!dtb[i])
			continue;
		if (i == CHIMNEY_A_DELEGATED_TCP_STATE)
			tl_name(&l, delegated_attrs[i].name, &tcp_state_table,
				mnl_attr_get_u32(dtb[i]));
		else
			tl_uint(&l, delegated_attrs[i].name, mnl_attr_get_u32(dtb[i]));
	}
	tl_end(&l);
}

static void conn_show_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	const struct nlattr *dtb[__CHIMNEY_A_DELEGATED_MAX];
	char local[INET6_ADDRSTRLEN + 8] = "-", remote[INET6_ADDRSTRLEN + 8] = "-";
	const struct nlattr *bytes_in, *bytes_out;
	char buf[IF_NAMESIZE];
	struct addr addr;
	const char *dev;

	(void)data;
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	dev = get_ifname(tb, buf);
	if (get_addr(tb[CHIMNEY_A_LOCAL_V4], tb[CHIMNEY_A_LOCAL_V6],
		     tb[CHIMNEY_A_LOCAL_PORT], &addr))
		format_addr(local, sizeof(local), &addr, true);
	if (get_addr(tb[CHIMNEY_A_REMOTE_V4], tb[CHIMNEY_A_REMOTE_V6],
		     tb[CHIMNEY_A_REMOTE_PORT], &addr))
		format_addr(remote, sizeof(remote), &addr, true);
	bytes_in = tb[CHIMNEY_A_BYTES_IN];
	bytes_out = tb[CHIMNEY_A_BYTES_OUT];
	if (tb[CHIMNEY_A_DELEGATED])
		nl_parse_nested(tb[CHIMNEY_A_DELEGATED], dtb, delegated_policy,
				ARRAY_SIZE(dtb));

	if (opts.json) {
		json_obj_open(NULL);
		json_dev(dev);
		json_str("local", local);
		json_str("remote", remote);
		if (tb[CHIMNEY_A_STATE])
			json_name("state", &state_table, mnl_attr_get_u32(tb[CHIMNEY_A_STATE]));
		if (tb[CHIMNEY_A_CPU])
			json_uint("cpu", mnl_attr_get_u32(tb[CHIMNEY_A_CPU]));
		if (tb[CHIMNEY_A_PRIORITY])
			json_uint("priority", mnl_attr_get_u8(tb[CHIMNEY_A_PRIORITY]));
		if (bytes_in)
			json_uint("bytes_in", mnl_attr_get_u64(bytes_in));
		if (bytes_out)
			json_uint("bytes_out", mnl_attr_get_u64(bytes_out));
		if (tb[CHIMNEY_A_DELEGATED])
			conn_delegated_json(dtb);
		json_obj_close();
		return;
	}

	printf("%s %s %s", dev ? dev : "-", local, remote);
	if (tb[CHIMNEY_A_STATE]) {
		uint32_t state = mnl_attr_get_u32(tb[CHIMNEY_A_STATE]);
		const char *name = name_of(&state_table, state);

		if (name)
			printf(" %s", name);
		else
			printf(" state %u", state);
	}
	if (tb[CHIMNEY_A_CPU])
		printf(" cpu %u", mnl_attr_get_u32(tb[CHIMNEY_A_CPU]));
	if (tb[CHIMNEY_A_PRIORITY])
		printf(" priority %u", mnl_attr_get_u8(tb[CHIMNEY_A_PRIORITY]));
	if (opts.stats && bytes_in)
		printf(" bytes-in %llu", (unsigned long long)mnl_attr_get_u64(bytes_in));
	if (opts.stats && bytes_out)
		printf(" bytes-out %llu", (unsigned long long)mnl_attr_get_u64(bytes_out));
	putchar('\n');
	if (opts.details && tb[CHIMNEY_A_DELEGATED])
		conn_delegated_text(dtb);
}

static int conn_show(struct args *a)
{
	const char *dev = NULL;
	struct nlmsghdr *nlh;

	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");

		if (!strcmp(kw, "dev")) {
			if (dev)
				die("duplicate argument \"%s\"", kw);
			dev = parse_ifname(args_value(a, kw));
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}

	nlh = nl_request(CHIMNEY_CMD_CONN_GET, true);
	if (dev)
		put_ifname(nlh, dev);
	if (opts.details)
		mnl_attr_put(nlh, CHIMNEY_A_WITH_DELEGATED, 0, NULL);
	run_show(nlh, conn_show_cb);
	return 0;
}

/* ---- conn offload ---- */

static int conn_offload(struct args *a)
{
	struct addr local, remote;
	struct nlmsghdr *nlh;
	bool seen_prio = false;
	uint8_t prio = 0;

	parse_tuple(a, &local, &remote);
	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");

		if (!strcmp(kw, "priority")) {
			check_once(&seen_prio, kw);
			prio = parse_uint(args_value(a, kw), kw, 0, PRIORITY_MAX);
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}

	nlh = nl_request(CHIMNEY_CMD_CONN_OFFLOAD, false);
	put_tuple(nlh, &local, &remote);
	if (seen_prio)
		mnl_attr_put_u8(nlh, CHIMNEY_A_PRIORITY, prio);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

/* ---- conn terminate ---- */

static int conn_terminate(struct args *a)
{
	uint32_t reason = CHIMNEY_REASON_ADMIN;
	struct addr local, remote, target;
	const char *dev = NULL, *what;
	bool seen_reason = false;
	struct nlmsghdr *nlh;
	uint32_t scope;

	if (!args_more(a))
		die("missing what to terminate (all, LADDR:LPORT RADDR:RPORT, path or neigh)");
	if (args_is(a, "all")) {
		args_next(a, "all");
		scope = CHIMNEY_SCOPE_ALL;
	} else if (args_is(a, "path") || args_is(a, "neigh")) {
		what = args_next(a, "path or neigh");
		scope = !strcmp(what, "path") ? CHIMNEY_SCOPE_PATH : CHIMNEY_SCOPE_NEIGH;
		parse_addr(args_value(a, what), "address", &target);
	} else {
		scope = CHIMNEY_SCOPE_CONN;
		parse_tuple(a, &local, &remote);
	}
	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");

		if (!strcmp(kw, "dev")) {
			if (dev)
				die("duplicate argument \"%s\"", kw);
			dev = parse_ifname(args_value(a, kw));
		} else if (!strcmp(kw, "reason")) {
			check_once(&seen_reason, kw);
			reason = parse_name(&reason_table, args_value(a, kw));
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}

	nlh = nl_request(CHIMNEY_CMD_CONN_TERMINATE, false);
	if (dev)
		put_ifname(nlh, dev);
	mnl_attr_put_u32(nlh, CHIMNEY_A_SCOPE, scope);
	switch (scope) {
	case CHIMNEY_SCOPE_CONN:
		put_tuple(nlh, &local, &remote);
		break;
	case CHIMNEY_SCOPE_PATH:
		mnl_attr_put_u8(nlh, CHIMNEY_A_FAMILY, target.family);
		put_addr(nlh, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6, &target);
		break;
	case CHIMNEY_SCOPE_NEIGH:
		mnl_attr_put_u8(nlh, CHIMNEY_A_FAMILY, target.family);
		put_addr(nlh, CHIMNEY_A_NEXT_HOP_V4, CHIMNEY_A_NEXT_HOP_V6, &target);
		break;
	}
	mnl_attr_put_u32(nlh, CHIMNEY_A_REASON, reason);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

int do_conn(struct args *a)
{
	const char *cmd;

	if (!args_more(a))
		return conn_show(a);
	cmd = args_next(a, "command");
	if (is_help(cmd) || (args_more(a) && is_help(a->argv[0]))) {
		usage_conn(stdout);
		return 0;
	}
	if (!strcmp(cmd, "show") || !strcmp(cmd, "list"))
		return conn_show(a);
	if (!strcmp(cmd, "offload"))
		return conn_offload(a);
	if (!strcmp(cmd, "terminate"))
		return conn_terminate(a);
	die("unknown command \"%s\" for \"conn\" (try \"chimneyctl conn help\")", cmd);
}

/* ---- target ---- */

static int target_request(struct args *a)
{
	const char *dev = parse_ifname(args_next(a, "device name"));
	const char *what = args_next(a, "request (retrieve or upload-all)");
	struct addr local, remote;
	const char *kw;
	struct nlmsghdr *nlh;
	uint32_t reason = 0;
	bool retrieve;

	if (!strcmp(what, "retrieve")) {
		retrieve = true;
		parse_tuple(a, &local, &remote);
		kw = args_next(a, "reason");
		if (strcmp(kw, "reason"))
			die("unknown argument \"%s\"", kw);
		reason = parse_name(&reason_table, args_value(a, "reason"));
	} else if (!strcmp(what, "upload-all")) {
		retrieve = false;
	} else {
		die("unknown request \"%s\" (retrieve or upload-all)", what);
	}
	args_end(a);

	nlh = nl_request(CHIMNEY_CMD_TARGET_REQUEST, false);
	put_ifname(nlh, dev);
	if (retrieve) {
		put_tuple(nlh, &local, &remote);
		mnl_attr_put_u32(nlh, CHIMNEY_A_REASON, reason);
	} else {
		mnl_attr_put(nlh, CHIMNEY_A_UPLOAD_ALL, 0, NULL);
	}
	nl_talk(nlh, NULL, NULL);
	return 0;
}

static int target_fault(struct args *a)
{
	const char *dev = parse_ifname(args_next(a, "device name"));
	bool seen_term = false, seen_init = false, seen_delay = false;
	uint32_t term = 0, init = 0, status = 0, delay = 0;
	bool clear = false;
	struct nlmsghdr *nlh;

	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");

		if (!strcmp(kw, "terminate-fail")) {
			check_once(&seen_term, kw);
			term = parse_uint(args_value(a, kw), kw, 0, FAULT_COUNT_MAX);
		} else if (!strcmp(kw, "initiate-fail")) {
			check_once(&seen_init, kw);
			init = parse_uint(args_value(a, kw), kw, 0, FAULT_COUNT_MAX);
			status = parse_name(&status_table, args_next(a, "status of initiate-fail"));
		} else if (!strcmp(kw, "complete-delay")) {
			check_once(&seen_delay, kw);
			delay = parse_uint(args_value(a, kw), kw, 0, COMPLETE_DELAY_MAX);
		} else if (!strcmp(kw, "clear")) {
			check_once(&clear, kw);
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}
	if (!clear && !seen_term && !seen_init && !seen_delay)
		die("missing fault (terminate-fail, initiate-fail, complete-delay or clear)");
	if (clear && (seen_term || seen_init || seen_delay))
		die("\"clear\" cannot be combined with other faults");

	nlh = nl_request(CHIMNEY_CMD_TARGET_FAULT, false);
	put_ifname(nlh, dev);
	if (seen_term)
		mnl_attr_put_u32(nlh, CHIMNEY_A_TERMINATE_FAIL, term);
	if (seen_init) {
		mnl_attr_put_u32(nlh, CHIMNEY_A_INITIATE_FAIL, init);
		mnl_attr_put_u32(nlh, CHIMNEY_A_INITIATE_STATUS, status);
	}
	if (seen_delay)
		mnl_attr_put_u32(nlh, CHIMNEY_A_COMPLETE_DELAY, delay);
	if (clear)
		mnl_attr_put(nlh, CHIMNEY_A_FAULT_CLEAR, 0, NULL);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

int do_target(struct args *a)
{
	const char *cmd = args_next(a, "command (try \"chimneyctl target help\")");

	if (is_help(cmd) || (args_more(a) && is_help(a->argv[0]))) {
		usage_target(stdout);
		return 0;
	}
	if (!strcmp(cmd, "request"))
		return target_request(a);
	if (!strcmp(cmd, "fault"))
		return target_fault(a);
	die("unknown command \"%s\" for \"target\" (try \"chimneyctl target help\")", cmd);
}
