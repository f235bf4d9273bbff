// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: the dev and policy objects.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include "chimneyctl.h"

#define CAPACITY_MAX	1048576
#define PRIORITY_MAX	7

void usage_dev(FILE *f)
{
	fputs("Usage: chimneyctl dev attach DEV [ capacity N ] [ idle-timeout MS ]\n"
	      "                       [ idle-bytes N ] [ PARAM N ]...\n"
	      "                       [ accept-optional REASON[,REASON...] ] [ opt-in ]\n"
	      "                       [ engine { on | off } ]\n"
	      "       chimneyctl dev { detach | pause | resume } DEV\n"
	      "       chimneyctl [ -j ] [ -d ] dev show [ [ dev ] DEV ]\n"
	      "where  PARAM := { ticks | ack-frequency | delayed-ack-ticks |\n"
	      "                  max-retransmissions | doubt-reachability-retransmissions |\n"
	      "                  sws-prevention-ticks | dup-ack-threshold | push-ticks |\n"
	      "                  nce-stale-ticks }\n", f);
	usage_names(f, &reason_table, "REASON");
}

void usage_policy(FILE *f)
{
	fputs("Usage: chimneyctl policy add DEV [ lport PORT ] [ rport PORT ]\n"
	      "                         [ laddr ADDR ] [ raddr ADDR ] [ priority N ]\n"
	      "       chimneyctl policy del DEV ID\n"
	      "       chimneyctl [ -j ] policy show [ [ dev ] DEV ]\n"
	      "where  ADDR := { A.B.C.D | IPV6 }, N := 0..7\n", f);
}

/* ---- dev attach ---- */

/* The params attribute named by a keyword of `dev attach`, or 0. */
static unsigned int param_by_keyword(const char *kw)
{
	unsigned int i;

	for (i = 1; i < ARRAY_SIZE(params_attrs); i++) {
		const struct attr_name *p = &params_attrs[i];

		if (!strcmp(kw, p->name) || (p->keyword && !strcmp(kw, p->keyword)))
			return i;
	}
	return 0;
}

static int dev_attach(struct args *a)
{
	bool seen_capacity = false, seen_timeout = false, seen_bytes = false;
	bool seen_accept = false, seen_param[__CHIMNEY_A_PARAMS_MAX] = {};
	bool opt_in = false, seen_engine = false, engine = false;
	uint32_t capacity = 0, idle_timeout = 0, accept = 0;
	uint32_t params[__CHIMNEY_A_PARAMS_MAX] = {};
	bool have_params = false;
	uint64_t idle_bytes = 0;
	struct nlmsghdr *nlh;
	const char *dev;
	unsigned int i;

	dev = parse_ifname(args_next(a, "device name"));
	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");
		unsigned int param = param_by_keyword(kw);

		if (!strcmp(kw, "capacity")) {
			check_once(&seen_capacity, kw);
			capacity = parse_uint(args_value(a, kw), kw, 1, CAPACITY_MAX);
		} else if (!strcmp(kw, "idle-timeout")) {
			check_once(&seen_timeout, kw);
			idle_timeout = parse_uint(args_value(a, kw), kw, 0, UINT32_MAX);
		} else if (!strcmp(kw, "idle-bytes")) {
			check_once(&seen_bytes, kw);
			idle_bytes = parse_uint(args_value(a, kw), kw, 0, UINT64_MAX);
		} else if (!strcmp(kw, "accept-optional")) {
			check_once(&seen_accept, kw);
			accept = parse_reason_mask(args_value(a, kw));
		} else if (!strcmp(kw, "opt-in")) {
			check_once(&opt_in, kw);
		} else if (!strcmp(kw, "engine")) {
			const char *v = args_value(a, kw);

			check_once(&seen_engine, kw);
			if (strcmp(v, "on") && strcmp(v, "off"))
				die("engine: \"%s\" is neither on nor off", v);
			engine = !strcmp(v, "on");
		} else if (param) {
			check_once(&seen_param[param], kw);
			params[param] = parse_uint(args_value(a, kw), kw, 0, UINT32_MAX);
			have_params = true;
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}

	nlh = nl_request(CHIMNEY_CMD_DEV_ATTACH, false);
	put_ifname(nlh, dev);
	if (seen_capacity)
		mnl_attr_put_u32(nlh, CHIMNEY_A_CAPACITY, capacity);
	if (seen_timeout)
		mnl_attr_put_u32(nlh, CHIMNEY_A_IDLE_TIMEOUT, idle_timeout);
	if (seen_bytes)
		mnl_attr_put_u64(nlh, CHIMNEY_A_IDLE_BYTES, idle_bytes);
	if (have_params) {
		struct nlattr *nest = mnl_attr_nest_start(nlh, CHIMNEY_A_PARAMS);

		for (i = 1; i < ARRAY_SIZE(params); i++)
			if (seen_param[i])
				mnl_attr_put_u32(nlh, i, params[i]);
		mnl_attr_nest_end(nlh, nest);
	}
	if (seen_accept)
		mnl_attr_put_u32(nlh, CHIMNEY_A_ACCEPT_OPTIONAL, accept);
	if (opt_in)
		mnl_attr_put_u8(nlh, CHIMNEY_A_OPT_IN, 1);
	if (seen_engine)
		mnl_attr_put_u8(nlh, CHIMNEY_A_ENGINE, engine);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

/* dev detach, pause, resume: DEV only */
static int dev_simple(struct args *a, uint8_t cmd)
{
	const char *dev = parse_ifname(args_next(a, "device name"));
	struct nlmsghdr *nlh;

	args_end(a);
	nlh = nl_request(cmd, false);
	put_ifname(nlh, dev);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

/* ---- dev show ---- */

static uint32_t get_u32(const struct nlattr *attr)
{
	return attr ? mnl_attr_get_u32(attr) : 0;
}

static void dev_show_json(const struct nlattr **tb, const char *dev)
{
	const struct nlattr *ptb[__CHIMNEY_A_PARAMS_MAX];
	unsigned int i;

	json_obj_open(NULL);
	json_dev(dev);
	json_uint("ifindex", get_u32(tb[CHIMNEY_A_IFINDEX]));
	json_uint("capacity", get_u32(tb[CHIMNEY_A_CAPACITY]));
	json_uint("offloaded", get_u32(tb[CHIMNEY_A_OFFLOADED]));
	json_bool("paused", tb[CHIMNEY_A_PAUSED] && mnl_attr_get_u8(tb[CHIMNEY_A_PAUSED]));
	json_bool("link_up", !tb[CHIMNEY_A_LINK_UP] || mnl_attr_get_u8(tb[CHIMNEY_A_LINK_UP]));
	json_uint("idle_timeout", get_u32(tb[CHIMNEY_A_IDLE_TIMEOUT]));
	json_uint("idle_bytes", tb[CHIMNEY_A_IDLE_BYTES] ?
		  mnl_attr_get_u64(tb[CHIMNEY_A_IDLE_BYTES]) : 0);

	nl_parse_nested(tb[CHIMNEY_A_PARAMS], ptb, params_policy, ARRAY_SIZE(ptb));
	json_obj_open("params");
	for (i = 1; i < ARRAY_SIZE(ptb); i++)
		if (ptb[i])
			json_attr_key(params_attrs[i].name, mnl_attr_get_u32(ptb[i]));
	json_obj_close();

	json_reason_mask("accept_optional", get_u32(tb[CHIMNEY_A_ACCEPT_OPTIONAL]));
	json_bool("opt_in", tb[CHIMNEY_A_OPT_IN] && mnl_attr_get_u8(tb[CHIMNEY_A_OPT_IN]));
	json_bool("engine", tb[CHIMNEY_A_ENGINE] && mnl_attr_get_u8(tb[CHIMNEY_A_ENGINE]));
	json_obj_open("faults");
	json_uint("terminate_fail", get_u32(tb[CHIMNEY_A_TERMINATE_FAIL]));
	json_uint("initiate_fail", get_u32(tb[CHIMNEY_A_INITIATE_FAIL]));
	if (tb[CHIMNEY_A_INITIATE_STATUS])
		json_name("initiate_status", &status_table,
			  mnl_attr_get_u32(tb[CHIMNEY_A_INITIATE_STATUS]));
	json_uint("complete_delay", get_u32(tb[CHIMNEY_A_COMPLETE_DELAY]));
	json_obj_close();
	json_obj_close();
}

/* The faults the target has left to inject, in `target fault` words. */
static void dev_show_faults(const struct nlattr **tb)
{
	uint32_t term = get_u32(tb[CHIMNEY_A_TERMINATE_FAIL]);
	uint32_t init = get_u32(tb[CHIMNEY_A_INITIATE_FAIL]);
	uint32_t delay = get_u32(tb[CHIMNEY_A_COMPLETE_DELAY]);

	if (!term && !init && !delay)
		return;
	printf("    faults:");
	if (term)
		printf(" terminate-fail %u", term);
	if (init) {
		uint32_t st = get_u32(tb[CHIMNEY_A_INITIATE_STATUS]);
		const char *name = name_of(&status_table, st);

		printf(" initiate-fail %u", init);
		if (name)
			printf(" %s", name);
		else
			printf(" %u", st);
	}
	if (delay)
		printf(" complete-delay %u", delay);
	putchar('\n');
}

static void dev_show_text(const struct nlattr **tb, const char *dev)
{
	const struct nlattr *ptb[__CHIMNEY_A_PARAMS_MAX];
	struct text_line l;
	unsigned int i;

	printf("%s:", dev ? dev : "-");
	if (tb[CHIMNEY_A_CAPACITY])
		printf(" capacity %u", mnl_attr_get_u32(tb[CHIMNEY_A_CAPACITY]));
	if (tb[CHIMNEY_A_OFFLOADED])
		printf(" offloaded %u", mnl_attr_get_u32(tb[CHIMNEY_A_OFFLOADED]));
	if (tb[CHIMNEY_A_IDLE_TIMEOUT])
		printf(" idle-timeout %u", mnl_attr_get_u32(tb[CHIMNEY_A_IDLE_TIMEOUT]));
	if (tb[CHIMNEY_A_IDLE_BYTES])
		printf(" idle-bytes %llu",
		       (unsigned long long)mnl_attr_get_u64(tb[CHIMNEY_A_IDLE_BYTES]));
	if (tb[CHIMNEY_A_PAUSED] && mnl_attr_get_u8(tb[CHIMNEY_A_PAUSED]))
		printf(" paused");
	if (tb[CHIMNEY_A_LINK_UP] && !mnl_attr_get_u8(tb[CHIMNEY_A_LINK_UP]))
		printf(" link-down");
	if (tb[CHIMNEY_A_OPT_IN] && mnl_attr_get_u8(tb[CHIMNEY_A_OPT_IN]))
		printf(" opt-in");
	if (tb[CHIMNEY_A_ENGINE] && mnl_attr_get_u8(tb[CHIMNEY_A_ENGINE]))
		printf(" engine");
	putchar('\n');
	if (!opts.details)
		return;

	/* the keywords of `dev attach`, so that the line can be reused */
	nl_parse_nested(tb[CHIMNEY_A_PARAMS], ptb, params_policy, ARRAY_SIZE(ptb));
	tl_begin(&l, 4);
	for (i = 1; i < ARRAY_SIZE(ptb); i++) {
		const struct attr_name *p = &params_attrs[i];

		if (ptb[i])
			tl_uint(&l, p->keyword ? p->keyword : p->name,
				mnl_attr_get_u32(ptb[i]));
	}
	tl_end(&l);
	if (tb[CHIMNEY_A_ACCEPT_OPTIONAL]) {
		print_reason_mask(&l, "accept-optional",
				  mnl_attr_get_u32(tb[CHIMNEY_A_ACCEPT_OPTIONAL]));
		tl_end(&l);
	}
	dev_show_faults(tb);
}

static void dev_show_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	char buf[IF_NAMESIZE];
	const char *dev;

	(void)data;
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	dev = get_ifname(tb, buf);
	if (opts.json)
		dev_show_json(tb, dev);
	else
		dev_show_text(tb, dev);
}

static int dev_show(struct args *a)
{
	const char *dev = parse_show_dev(a);
	struct nlmsghdr *nlh;

	nlh = nl_request(CHIMNEY_CMD_DEV_GET, !dev);
	if (dev)
		put_ifname(nlh, dev);
	run_show(nlh, dev_show_cb);
	return 0;
}

int do_dev(struct args *a)
{
	const char *cmd;

	if (!args_more(a))
		return dev_show(a);
	cmd = args_next(a, "command");
	if (is_help(cmd) || (args_more(a) && is_help(a->argv[0]))) {
		usage_dev(stdout);
		return 0;
	}
	if (!strcmp(cmd, "attach"))
		return dev_attach(a);
	if (!strcmp(cmd, "detach"))
		return dev_simple(a, CHIMNEY_CMD_DEV_DETACH);
	if (!strcmp(cmd, "pause"))
		return dev_simple(a, CHIMNEY_CMD_DEV_PAUSE);
	if (!strcmp(cmd, "resume"))
		return dev_simple(a, CHIMNEY_CMD_DEV_RESUME);
	if (!strcmp(cmd, "show") || !strcmp(cmd, "list"))
		return dev_show(a);
	die("unknown command \"%s\" for \"dev\" (try \"chimneyctl dev help\")", cmd);
}

/* ---- policy ---- */

static void policy_add_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	uint32_t id;

	(void)data;
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	if (!tb[CHIMNEY_A_POLICY_ID])
		return;
	id = mnl_attr_get_u32(tb[CHIMNEY_A_POLICY_ID]);
	if (opts.json) {
		json_begin(stdout, opts.pretty);
		json_obj_open(NULL);
		json_uint("id", id);
		json_obj_close();
		json_finish();
	} else {
		printf("id %u\n", id);
	}
}

static int policy_add(struct args *a)
{
	bool seen_lport = false, seen_rport = false, seen_prio = false;
	bool seen_laddr = false, seen_raddr = false;
	uint16_t lport = 0, rport = 0;
	struct addr laddr, raddr;
	const char *laddr_s = NULL, *raddr_s = NULL;
	struct nlmsghdr *nlh;
	const char *dev;
	uint8_t prio = 0;

	dev = parse_ifname(args_next(a, "device name"));
	while (args_more(a)) {
		const char *kw = args_next(a, "keyword");

		if (!strcmp(kw, "lport")) {
			check_once(&seen_lport, kw);
			lport = parse_uint(args_value(a, kw), "port", 0, 65535);
		} else if (!strcmp(kw, "rport")) {
			check_once(&seen_rport, kw);
			rport = parse_uint(args_value(a, kw), "port", 0, 65535);
		} else if (!strcmp(kw, "laddr")) {
			check_once(&seen_laddr, kw);
			laddr_s = args_value(a, kw);
			parse_addr(laddr_s, "address", &laddr);
		} else if (!strcmp(kw, "raddr")) {
			check_once(&seen_raddr, kw);
			raddr_s = args_value(a, kw);
			parse_addr(raddr_s, "address", &raddr);
		} else if (!strcmp(kw, "priority")) {
			check_once(&seen_prio, kw);
			prio = parse_uint(args_value(a, kw), kw, 0, PRIORITY_MAX);
		} else {
			die("unknown argument \"%s\"", kw);
		}
	}
	if (seen_laddr && seen_raddr && laddr.family != raddr.family)
		die("addresses \"%s\" and \"%s\" are of different address families",
		    laddr_s, raddr_s);

	nlh = nl_request(CHIMNEY_CMD_POLICY_ADD, false);
	put_ifname(nlh, dev);
	if (seen_lport)
		mnl_attr_put_u16(nlh, CHIMNEY_A_LOCAL_PORT, htons(lport));
	if (seen_rport)
		mnl_attr_put_u16(nlh, CHIMNEY_A_REMOTE_PORT, htons(rport));
	if (seen_laddr)
		put_addr(nlh, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6, &laddr);
	if (seen_raddr)
		put_addr(nlh, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6, &raddr);
	if (seen_prio)
		mnl_attr_put_u8(nlh, CHIMNEY_A_PRIORITY, prio);
	nl_talk(nlh, policy_add_cb, NULL);
	return 0;
}

static int policy_del(struct args *a)
{
	const char *dev = parse_ifname(args_next(a, "device name"));
	struct nlmsghdr *nlh;
	uint32_t id;

	id = parse_uint(args_next(a, "policy id"), "policy id", 0, UINT32_MAX);
	args_end(a);
	nlh = nl_request(CHIMNEY_CMD_POLICY_DEL, false);
	put_ifname(nlh, dev);
	mnl_attr_put_u32(nlh, CHIMNEY_A_POLICY_ID, id);
	nl_talk(nlh, NULL, NULL);
	return 0;
}

static void policy_show_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	const struct nlattr *lport, *rport;
	struct addr laddr, raddr;
	bool have_laddr, have_raddr;
	char lbuf[INET6_ADDRSTRLEN], rbuf[INET6_ADDRSTRLEN];
	char buf[IF_NAMESIZE];
	const char *dev;

	(void)data;
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	dev = get_ifname(tb, buf);
	lport = tb[CHIMNEY_A_LOCAL_PORT];
	rport = tb[CHIMNEY_A_REMOTE_PORT];
	have_laddr = get_addr(tb[CHIMNEY_A_LOCAL_V4], tb[CHIMNEY_A_LOCAL_V6], NULL, &laddr);
	have_raddr = get_addr(tb[CHIMNEY_A_REMOTE_V4], tb[CHIMNEY_A_REMOTE_V6], NULL, &raddr);
	if (have_laddr)
		format_addr(lbuf, sizeof(lbuf), &laddr, false);
	if (have_raddr)
		format_addr(rbuf, sizeof(rbuf), &raddr, false);

	if (opts.json) {
		json_obj_open(NULL);
		json_dev(dev);
		if (tb[CHIMNEY_A_POLICY_ID])
			json_uint("id", mnl_attr_get_u32(tb[CHIMNEY_A_POLICY_ID]));
		if (lport)
			json_uint("lport", ntohs(mnl_attr_get_u16(lport)));
		if (rport)
			json_uint("rport", ntohs(mnl_attr_get_u16(rport)));
		if (have_laddr)
			json_str("laddr", lbuf);
		if (have_raddr)
			json_str("raddr", rbuf);
		if (tb[CHIMNEY_A_PRIORITY])
			json_uint("priority", mnl_attr_get_u8(tb[CHIMNEY_A_PRIORITY]));
		json_obj_close();
		return;
	}

	printf("%s", dev ? dev : "-");
	if (tb[CHIMNEY_A_POLICY_ID])
		printf(" id %u", mnl_attr_get_u32(tb[CHIMNEY_A_POLICY_ID]));
	if (lport)
		printf(" lport %u", ntohs(mnl_attr_get_u16(lport)));
	if (rport)
		printf(" rport %u", ntohs(mnl_attr_get_u16(rport)));
	if (have_laddr)
		printf(" laddr %s", lbuf);
	if (have_raddr)
		printf(" raddr %s", rbuf);
	if (tb[CHIMNEY_A_PRIORITY])
		printf(" priority %u", mnl_attr_get_u8(tb[CHIMNEY_A_PRIORITY]));
	putchar('\n');
}

static int policy_show(struct args *a)
{
	const char *dev = parse_show_dev(a);
	struct nlmsghdr *nlh;

	nlh = nl_request(CHIMNEY_CMD_POLICY_GET, true);
	if (dev)
		put_ifname(nlh, dev);
	run_show(nlh, policy_show_cb);
	return 0;
}

int do_policy(struct args *a)
{
	const char *cmd;

	if (!args_more(a))
		return policy_show(a);
	cmd = args_next(a, "command");
	if (is_help(cmd) || (args_more(a) && is_help(a->argv[0]))) {
		usage_policy(stdout);
		return 0;
	}
	if (!strcmp(cmd, "add"))
		return policy_add(a);
	if (!strcmp(cmd, "del") || !strcmp(cmd, "delete"))
		return policy_del(a);
	if (!strcmp(cmd, "show") || !strcmp(cmd, "list"))
		return policy_show(a);
	die("unknown command \"%s\" for \"policy\" (try \"chimneyctl policy help\")", cmd);
}
