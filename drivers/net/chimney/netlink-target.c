// SPDX-License-Identifier: GPL-2.0
/*
 * The chimney family's handlers for a device's target: requests and
 * faults made on demand (through the driver, driver.h), and the
 * statistics of the host and of the target.
 */
#include <linux/rtnetlink.h>

#include "defs.h"
#include "netlink.h"

/* ---- target requests and faults ---------------------------------------- */

struct target_request {
	enum chim_upload_reason reason;
	struct chim_tuple t;
};

/* Under RTNL: make the device's target ask (@arg, or upload-all). */
static int target_request(struct chim_dev *cd, struct genl_info *info,
			  void *arg)
{
	struct target_request *r = arg;
	int err;

	if (!cd->drv->request) {
		NL_SET_ERR_MSG(info->extack, "this target takes no requests");
		return -EOPNOTSUPP;
	}
	err = cd->drv->request(cd->target,
			       info->attrs[CHIMNEY_A_UPLOAD_ALL] ? NULL : &r->t,
			       r->reason);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack,
			       "the target does not run this connection");
	return err;
}

int chimney_nl_target_request_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct target_request r = {};
	int err;

	if (!info->attrs[CHIMNEY_A_UPLOAD_ALL]) {
		if (GENL_REQ_ATTR_CHECK(info, CHIMNEY_A_REASON))
			return -EINVAL;
		r.reason = chim_nl_reason(info, CHIM_REASON_NONE);
		if (r.reason < CHIM_REASON_LOW_ACTIVITY ||
		    r.reason > CHIM_REASON_TARGET_MAX) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[CHIMNEY_A_REASON],
					    "a target can only give a TCP_UPLOAD_REASON (1-11)");
			return -EINVAL;
		}
		err = chim_nl_tuple(info, &r.t);
		if (err)
			return err;
	}
	return chim_nl_dev_op(info, target_request, &r);
}

/* A count of blocks to fail, when given, must fit the target's counter. */
static bool fault_count_invalid(const struct nlattr *attr,
				struct netlink_ext_ack *extack)
{
	if (!attr || nla_get_u32(attr) <= CHIM_MAX_FAULT_COUNT)
		return false;
	NL_SET_ERR_MSG_ATTR_FMT(extack, attr, "a fault count must be at most %u",
				CHIM_MAX_FAULT_COUNT);
	return true;
}

/* Under RTNL: set or clear the faults of the device's target. */
static int target_fault(struct chim_dev *cd, struct genl_info *info,
			void *arg)
{
	struct nlattr **a = info->attrs;
	struct chim_faults f = {
		.initiate_status = a[CHIMNEY_A_INITIATE_STATUS] ?
			nla_get_u32(a[CHIMNEY_A_INITIATE_STATUS]) :
			CHIM_STATUS_FAILURE,
	};
	unsigned int which = 0;
	int err;

	if (!cd->drv->set_faults) {
		NL_SET_ERR_MSG(info->extack, "this target injects no faults");
		return -EOPNOTSUPP;
	}
	/* A clear comes first, so that a fault given with it is kept. */
	if (a[CHIMNEY_A_FAULT_CLEAR])
		which |= CHIM_FAULT_CLEAR;
	if (a[CHIMNEY_A_INITIATE_FAIL]) {
		which |= CHIM_FAULT_INITIATE;
		f.initiate_fail = nla_get_u32(a[CHIMNEY_A_INITIATE_FAIL]);
	}
	if (a[CHIMNEY_A_TERMINATE_FAIL]) {
		which |= CHIM_FAULT_TERMINATE;
		f.terminate_fail = nla_get_u32(a[CHIMNEY_A_TERMINATE_FAIL]);
	}
	if (a[CHIMNEY_A_COMPLETE_DELAY]) {
		which |= CHIM_FAULT_DELAY;
		f.complete_delay_ms = nla_get_u32(a[CHIMNEY_A_COMPLETE_DELAY]);
	}
	err = cd->drv->set_faults(cd->target, which, &f);
	if (err) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[CHIMNEY_A_INITIATE_STATUS],
				    "not a failure status of an initiate");
		return err;
	}
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_FAULT, GFP_KERNEL);
	return 0;
}

int chimney_nl_target_fault_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;

	if (!a[CHIMNEY_A_TERMINATE_FAIL] && !a[CHIMNEY_A_INITIATE_FAIL] &&
	    !a[CHIMNEY_A_COMPLETE_DELAY] && !a[CHIMNEY_A_FAULT_CLEAR]) {
		NL_SET_ERR_MSG(info->extack, "no fault given");
		return -EINVAL;
	}
	if (a[CHIMNEY_A_COMPLETE_DELAY] &&
	    nla_get_u32(a[CHIMNEY_A_COMPLETE_DELAY]) > CHIM_MAX_COMPLETE_DELAY_MS) {
		NL_SET_ERR_MSG_ATTR_FMT(info->extack, a[CHIMNEY_A_COMPLETE_DELAY],
					"complete-delay must be at most %u ms",
					CHIM_MAX_COMPLETE_DELAY_MS);
		return -ERANGE;
	}
	if (fault_count_invalid(a[CHIMNEY_A_TERMINATE_FAIL], info->extack) ||
	    fault_count_invalid(a[CHIMNEY_A_INITIATE_FAIL], info->extack))
		return -ERANGE;
	if (a[CHIMNEY_A_INITIATE_STATUS] && !a[CHIMNEY_A_INITIATE_FAIL]) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[CHIMNEY_A_INITIATE_STATUS],
				    "initiate-status goes with initiate-fail");
		return -EINVAL;
	}
	return chim_nl_dev_op(info, target_fault, NULL);
}

/* ---- statistics -------------------------------------------------------- */

static int put_reason_counts(struct sk_buff *skb, int attr, const u64 *counts)
{
	struct nlattr *nest = nla_nest_start(skb, attr);
	int r;

	if (!nest)
		return -EMSGSIZE;
	/* reason-counts has one attribute per reason, in reason order. */
	BUILD_BUG_ON(CHIMNEY_A_REASON_COUNTS_LOW_ACTIVITY != 2);
	BUILD_BUG_ON(CHIMNEY_A_REASON_COUNTS_ABORT - CHIM_REASON_ABORT != 1);
	for (r = CHIM_REASON_LOW_ACTIVITY; r < __CHIM_REASON_MAX; r++)
		if (nla_put_u64_64bit(skb, r + 1, counts[r],
				      CHIMNEY_A_REASON_COUNTS_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int put_host_stats(struct sk_buff *skb, struct chim_host *host)
{
	struct chim_host_stats st;
	struct nlattr *nest;

	mutex_lock(&host->lock);
	spin_lock_irq(&host->req_lock);
	st = host->stats;
	spin_unlock_irq(&host->req_lock);
	mutex_unlock(&host->lock);

	nest = nla_nest_start(skb, CHIMNEY_A_HOST_STATS);
	if (!nest ||
	    nla_put_u32(skb, CHIMNEY_A_HOST_STATS_OFFLOADED, READ_ONCE(host->offloaded)) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_OFFLOADS, st.offloads,
			      CHIMNEY_A_HOST_STATS_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_OFFLOAD_FAILURES,
			      st.offload_failures, CHIMNEY_A_HOST_STATS_PAD) ||
	    put_reason_counts(skb, CHIMNEY_A_HOST_STATS_TERMINATES, st.terminates) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_TERMINATE_FAILURES,
			      st.terminate_failures, CHIMNEY_A_HOST_STATS_PAD) ||
	    put_reason_counts(skb, CHIMNEY_A_HOST_STATS_RETRIEVES, st.retrieves) ||
	    put_reason_counts(skb, CHIMNEY_A_HOST_STATS_RETRIEVES_DECLINED,
			      st.retrieves_declined) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_RETRIEVES_IGNORED,
			      st.retrieves_ignored, CHIMNEY_A_HOST_STATS_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_UPLOAD_ALL, st.upload_all,
			      CHIMNEY_A_HOST_STATS_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_FROZEN_CAUGHT,
			      atomic64_read(&host->frozen_caught),
			      CHIMNEY_A_HOST_STATS_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_FROZEN_DROPPED,
			      atomic64_read(&host->frozen_dropped),
			      CHIMNEY_A_HOST_STATS_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_HOST_STATS_FROZEN_TX_DROPPED,
			      atomic64_read(&host->frozen_tx_dropped),
			      CHIMNEY_A_HOST_STATS_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int put_offload_stats(struct sk_buff *skb, int attr,
			     struct chim_target *target, int cpu)
{
	struct chim_offload_stats st = {};
	struct nlattr *nest;
	const u64 *v;
	int i;

	/* offload-stats lists TCP_OFFLOAD_STATS, IP_OFFLOAD_STATS, then ours. */
	BUILD_BUG_ON(CHIMNEY_A_OFFLOAD_STATS_TERMINATED - CHIMNEY_A_OFFLOAD_STATS_IN_SEGMENTS + 1 !=
		     sizeof(st) / sizeof(u64));
	if (target->ops->stats)
		target->ops->stats(target, cpu, &st);
	nest = nla_nest_start(skb, attr);
	if (!nest || (cpu >= 0 && nla_put_u32(skb, CHIMNEY_A_OFFLOAD_STATS_CPU, cpu)))
		return -EMSGSIZE;
	v = (const u64 *)&st.tcp;
	for (i = CHIMNEY_A_OFFLOAD_STATS_IN_SEGMENTS;
	     i <= CHIMNEY_A_OFFLOAD_STATS_TERMINATED; i++, v++)
		if (nla_put_u64_64bit(skb, i, *v, CHIMNEY_A_OFFLOAD_STATS_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int fill_stats(struct sk_buff *skb, struct chim_dev *cd, bool per_cpu)
{
	int cpu;

	if (chim_nl_put_dev(skb, cd) || put_host_stats(skb, cd->host) ||
	    put_offload_stats(skb, CHIMNEY_A_OFFLOAD_STATS, cd->target, -1))
		return -EMSGSIZE;
	if (per_cpu)
		for_each_possible_cpu(cpu)
			if (put_offload_stats(skb, CHIMNEY_A_CPU_STATS, cd->target, cpu))
				return -EMSGSIZE;
	return 0;
}

struct stats_reply {
	struct chim_dev *cd;
	bool per_cpu;
};

static int fill_stats_reply(struct sk_buff *skb, void *arg)
{
	struct stats_reply *r = arg;

	return fill_stats(skb, r->cd, r->per_cpu);
}

/* Under RTNL: the device's statistics, @arg saying how. */
static int stats_reply(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	struct stats_reply *r = arg;

	r->cd = cd;
	return chim_nl_reply(info, fill_stats_reply, r);
}

int chimney_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct stats_reply r = { .per_cpu = info->attrs[CHIMNEY_A_PER_CPU] };

	return chim_nl_dev_op(info, stats_reply, &r);
}

static int dump_one_stats(struct sk_buff *skb, struct netlink_callback *cb,
			  struct chim_dev *cd)
{
	struct nlattr **attrs = chim_dump_attrs(cb);
	void *hdr = chim_nl_dump_put(skb, cb);

	if (!hdr)
		return -EMSGSIZE;
	if (fill_stats(skb, cd, attrs && attrs[CHIMNEY_A_PER_CPU])) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int chimney_nl_stats_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return chim_nl_dump_devs(skb, cb, dump_one_stats);
}

