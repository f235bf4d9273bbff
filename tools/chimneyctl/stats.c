// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: the stats and monitor objects.
 */
#include <net/if.h>
#include <string.h>
#include <time.h>

#include "chimneyctl.h"

void usage_stats(FILE *f)
{
	fputs("Usage: chimneyctl [ -j ] [ -s ] [ -d ] stats [ show ] [ [ dev ] DEV ]\n"
	      "       -s: every reason counter, -d: per-CPU target statistics\n", f);
}

void usage_monitor(FILE *f)
{
	fputs("Usage: chimneyctl [ -j ] [ -t ] monitor\n"
	      "       one line (with -j one JSON object) per event, until killed;\n"
	      "       -t: each with the time it was received\n", f);
}

/* ---- stats ---- */

static uint64_t get_u64(const struct nlattr *attr)
{
	return attr ? mnl_attr_get_u64(attr) : 0;
}

/* The counters of a reason-counts nest, indexed by reason. */
static void reason_counts(const struct nlattr *nest, uint64_t *counts)
{
	const struct nlattr *rtb[__CHIMNEY_A_REASON_COUNTS_MAX];
	uint32_t r;

	nl_parse_nested(nest, rtb, reason_counts_policy, ARRAY_SIZE(rtb));
	for (r = 0; r < reason_table.count; r++)
		counts[r] = reason_count_attr[r] ? get_u64(rtb[reason_count_attr[r]]) : 0;
}

static void reason_counts_json(const char *key, const struct nlattr *nest)
{
	uint64_t counts[ARRAY_SIZE(reason_count_attr)];
	uint32_t r;

	reason_counts(nest, counts);
	json_obj_open(key);
	for (r = 0; r < reason_table.count; r++)
		if (reason_count_attr[r])
			json_uint(name_of(&reason_table, r), counts[r]);
	json_obj_close();
}

/* "    terminates 3: admin 2 link-down 1"; every reason with -s */
static void reason_counts_text(const char *label, const struct nlattr *nest)
{
	uint64_t counts[ARRAY_SIZE(reason_count_attr)], total = 0;
	struct text_line l;
	char buf[64];
	uint32_t r;

	reason_counts(nest, counts);
	for (r = 0; r < reason_table.count; r++)
		total += counts[r];
	snprintf(buf, sizeof(buf), "%s %llu%s", label, (unsigned long long)total,
		 total || opts.stats ? ":" : "");
	tl_begin(&l, 8);
	tl_label(&l, 4, buf);
	for (r = 0; r < reason_table.count; r++)
		if (reason_count_attr[r] && (counts[r] || opts.stats))
			tl_uint(&l, name_of(&reason_table, r), counts[r]);
	tl_end(&l);
}

/* The counters of an offload-stats nest: "key": value or "key value". */
static void offload_stats(const struct nlattr *nest, const char *label)
{
	const struct nlattr *otb[__CHIMNEY_A_OFFLOAD_STATS_MAX];
	struct text_line l;
	unsigned int i;

	nl_parse_nested(nest, otb, offload_stats_policy, ARRAY_SIZE(otb));
	if (opts.json) {
		if (!label) {
			json_obj_open("target");
		} else {
			json_obj_open(NULL);
			json_uint("cpu", otb[CHIMNEY_A_OFFLOAD_STATS_CPU] ?
				  mnl_attr_get_u32(otb[CHIMNEY_A_OFFLOAD_STATS_CPU]) : 0);
		}
		for (i = CHIMNEY_A_OFFLOAD_STATS_CPU + 1; i < ARRAY_SIZE(otb); i++)
			json_attr_key(offload_stats_attrs[i].name, get_u64(otb[i]));
		json_obj_close();
		return;
	}

	tl_begin(&l, 8);
	if (!label) {
		tl_label(&l, 4, "target:");
	} else {
		char buf[32];

		snprintf(buf, sizeof(buf), "cpu %u:", otb[CHIMNEY_A_OFFLOAD_STATS_CPU] ?
			 mnl_attr_get_u32(otb[CHIMNEY_A_OFFLOAD_STATS_CPU]) : 0);
		tl_label(&l, 4, buf);
	}
	for (i = CHIMNEY_A_OFFLOAD_STATS_CPU + 1; i < ARRAY_SIZE(otb); i++)
		tl_uint(&l, offload_stats_attrs[i].name, get_u64(otb[i]));
	tl_end(&l);
}

static void stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	const struct nlattr *htb[__CHIMNEY_A_HOST_STATS_MAX];
	const struct nlattr *attr;
	char buf[IF_NAMESIZE];
	struct text_line l;
	const char *dev;
	uint64_t offloaded;

	(void)data;
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	nl_parse_nested(tb[CHIMNEY_A_HOST_STATS], htb, host_stats_policy, ARRAY_SIZE(htb));
	dev = get_ifname(tb, buf);
	offloaded = htb[CHIMNEY_A_HOST_STATS_OFFLOADED] ?
		    mnl_attr_get_u32(htb[CHIMNEY_A_HOST_STATS_OFFLOADED]) : 0;

	if (opts.json) {
		json_obj_open(NULL);
		json_dev(dev);
		json_uint("offloaded", offloaded);
		json_uint("offloads", get_u64(htb[CHIMNEY_A_HOST_STATS_OFFLOADS]));
		json_uint("offload_failures",
			  get_u64(htb[CHIMNEY_A_HOST_STATS_OFFLOAD_FAILURES]));
		reason_counts_json("terminates", htb[CHIMNEY_A_HOST_STATS_TERMINATES]);
		json_uint("terminate_failures",
			  get_u64(htb[CHIMNEY_A_HOST_STATS_TERMINATE_FAILURES]));
		reason_counts_json("retrieves", htb[CHIMNEY_A_HOST_STATS_RETRIEVES]);
		reason_counts_json("retrieves_declined",
				   htb[CHIMNEY_A_HOST_STATS_RETRIEVES_DECLINED]);
		json_uint("retrieves_ignored",
			  get_u64(htb[CHIMNEY_A_HOST_STATS_RETRIEVES_IGNORED]));
		json_uint("upload_all", get_u64(htb[CHIMNEY_A_HOST_STATS_UPLOAD_ALL]));
		json_uint("frozen_caught", get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_CAUGHT]));
		json_uint("frozen_dropped", get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_DROPPED]));
		json_uint("frozen_tx_dropped",
			  get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_TX_DROPPED]));
		offload_stats(tb[CHIMNEY_A_OFFLOAD_STATS], NULL);
		if (opts.details) {
			json_arr_open("cpus");
			mnl_attr_for_each(attr, nlh, GENL_HDRLEN)
				if (mnl_attr_get_type(attr) == CHIMNEY_A_CPU_STATS &&
				    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
					offload_stats(attr, "cpu");
			json_arr_close();
		}
		json_obj_close();
		return;
	}

	printf("%s:\n", dev ? dev : "-");
	tl_begin(&l, 4);
	tl_uint(&l, "offloaded", offloaded);
	tl_uint(&l, "offloads", get_u64(htb[CHIMNEY_A_HOST_STATS_OFFLOADS]));
	tl_uint(&l, "offload-failures", get_u64(htb[CHIMNEY_A_HOST_STATS_OFFLOAD_FAILURES]));
	tl_end(&l);
	tl_uint(&l, "terminate-failures",
		get_u64(htb[CHIMNEY_A_HOST_STATS_TERMINATE_FAILURES]));
	tl_uint(&l, "retrieves-ignored",
		get_u64(htb[CHIMNEY_A_HOST_STATS_RETRIEVES_IGNORED]));
	tl_uint(&l, "upload-all", get_u64(htb[CHIMNEY_A_HOST_STATS_UPLOAD_ALL]));
	tl_end(&l);
	tl_uint(&l, "frozen-caught", get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_CAUGHT]));
	tl_uint(&l, "frozen-dropped", get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_DROPPED]));
	tl_uint(&l, "frozen-tx-dropped",
		get_u64(htb[CHIMNEY_A_HOST_STATS_FROZEN_TX_DROPPED]));
	tl_end(&l);
	reason_counts_text("terminates", htb[CHIMNEY_A_HOST_STATS_TERMINATES]);
	reason_counts_text("retrieves", htb[CHIMNEY_A_HOST_STATS_RETRIEVES]);
	reason_counts_text("retrieves-declined",
			   htb[CHIMNEY_A_HOST_STATS_RETRIEVES_DECLINED]);
	offload_stats(tb[CHIMNEY_A_OFFLOAD_STATS], NULL);
	if (opts.details)
		mnl_attr_for_each(attr, nlh, GENL_HDRLEN)
			if (mnl_attr_get_type(attr) == CHIMNEY_A_CPU_STATS &&
			    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
				offload_stats(attr, "cpu");
}

int do_stats(struct args *a)
{
	struct nlmsghdr *nlh;
	const char *dev;

	if (args_more(a) && (is_help(a->argv[0]) ||
			     (a->argc > 1 && is_help(a->argv[1])))) {
		usage_stats(stdout);
		return 0;
	}
	if (args_is(a, "show") || args_is(a, "list"))
		args_next(a, "command");
	dev = parse_show_dev(a);

	nlh = nl_request(CHIMNEY_CMD_STATS_GET, !dev);
	if (dev)
		put_ifname(nlh, dev);
	if (opts.details)
		mnl_attr_put(nlh, CHIMNEY_A_PER_CPU, 0, NULL);
	run_show(nlh, stats_cb);
	return 0;
}

/* ---- monitor ---- */

static void event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[__CHIMNEY_A_MAX];
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8];
	bool have_local, have_remote;
	char buf[IF_NAMESIZE];
	uint32_t event = 0;
	struct timespec now;
	struct addr addr;
	const char *dev;

	(void)data;
	clock_gettime(CLOCK_REALTIME, &now);
	nl_parse(nlh, tb, chimney_policy, ARRAY_SIZE(tb));
	dev = get_ifname(tb, buf);
	if (tb[CHIMNEY_A_EVENT])
		event = mnl_attr_get_u32(tb[CHIMNEY_A_EVENT]);
	have_local = get_addr(tb[CHIMNEY_A_LOCAL_V4], tb[CHIMNEY_A_LOCAL_V6],
			      tb[CHIMNEY_A_LOCAL_PORT], &addr);
	if (have_local)
		format_addr(local, sizeof(local), &addr, tb[CHIMNEY_A_LOCAL_PORT]);
	have_remote = get_addr(tb[CHIMNEY_A_REMOTE_V4], tb[CHIMNEY_A_REMOTE_V6],
			       tb[CHIMNEY_A_REMOTE_PORT], &addr);
	if (have_remote)
		format_addr(remote, sizeof(remote), &addr, tb[CHIMNEY_A_REMOTE_PORT]);

	if (opts.json) {
		/* one compact object per line, whatever -p says */
		json_begin(stdout, false);
		json_obj_open(NULL);
		if (opts.timestamp)
			json_uint("time_us", (uint64_t)now.tv_sec * 1000000 +
				  now.tv_nsec / 1000);
		json_name("event", &event_table, event);
		json_dev(dev);
		if (have_local)
			json_str("local", local);
		if (have_remote)
			json_str("remote", remote);
		if (tb[CHIMNEY_A_REASON])
			json_name("reason", &reason_table,
				  mnl_attr_get_u32(tb[CHIMNEY_A_REASON]));
		if (tb[CHIMNEY_A_STATUS])
			json_name("status", &status_table,
				  mnl_attr_get_u32(tb[CHIMNEY_A_STATUS]));
		if (tb[CHIMNEY_A_SEND_BYTES])
			json_uint("send_bytes", mnl_attr_get_u32(tb[CHIMNEY_A_SEND_BYTES]));
		if (tb[CHIMNEY_A_RECV_BYTES])
			json_uint("recv_bytes", mnl_attr_get_u32(tb[CHIMNEY_A_RECV_BYTES]));
		if (tb[CHIMNEY_A_PAUSED])
			json_bool("paused", mnl_attr_get_u8(tb[CHIMNEY_A_PAUSED]));
		if (tb[CHIMNEY_A_LINK_UP])
			json_bool("link_up", mnl_attr_get_u8(tb[CHIMNEY_A_LINK_UP]));
		json_obj_close();
		json_finish();
		return;
	}

	if (opts.timestamp) {
		char when[32];

		strftime(when, sizeof(when), "%FT%T", localtime(&now.tv_sec));
		printf("[%s.%06ld] ", when, now.tv_nsec / 1000);
	}
	if (name_of(&event_table, event))
		printf("%s", name_of(&event_table, event));
	else
		printf("event %u", event);
	printf(" %s", dev ? dev : "-");
	if (have_local)
		printf(" %s", local);
	if (have_remote)
		printf(" %s", remote);
	if (tb[CHIMNEY_A_REASON])
		print_name("reason", &reason_table, mnl_attr_get_u32(tb[CHIMNEY_A_REASON]));
	if (tb[CHIMNEY_A_STATUS])
		print_name("status", &status_table, mnl_attr_get_u32(tb[CHIMNEY_A_STATUS]));
	if (tb[CHIMNEY_A_SEND_BYTES])
		printf(" send %u", mnl_attr_get_u32(tb[CHIMNEY_A_SEND_BYTES]));
	if (tb[CHIMNEY_A_RECV_BYTES])
		printf(" recv %u", mnl_attr_get_u32(tb[CHIMNEY_A_RECV_BYTES]));
	if (tb[CHIMNEY_A_PAUSED])
		printf(" paused %s", mnl_attr_get_u8(tb[CHIMNEY_A_PAUSED]) ? "yes" : "no");
	if (tb[CHIMNEY_A_LINK_UP])
		printf(" link %s", mnl_attr_get_u8(tb[CHIMNEY_A_LINK_UP]) ? "up" : "down");
	putchar('\n');
	fflush(stdout);
}

int do_monitor(struct args *a)
{
	if (args_more(a) && is_help(a->argv[0])) {
		usage_monitor(stdout);
		return 0;
	}
	args_end(a);
	nl_monitor(event_cb, NULL);
	return 0;
}
