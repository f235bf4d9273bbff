// SPDX-License-Identifier: GPL-2.0
/*
 * The chimney family's handlers for devices (attach, detach, pause,
 * resume, get) and their offload rules, and the helpers every handler
 * that works on one device shares: the device of a request, resolved
 * once, and a dump over the namespace's devices.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/ipv6.h>

#include "defs.h"
#include "net.h"
#include "netlink.h"

/**
 * chim_nl_dev() - the attached device of a request that needs one
 * @info: the request
 *
 * Context: RTNL held.
 * Return: the binding, or an ERR_PTR (with the extack set).
 */
struct chim_dev *chim_nl_dev(struct genl_info *info)
{
	struct net_device *dev = chim_nl_netdev(info);
	struct chim_dev *cd;

	if (IS_ERR(dev))
		return ERR_CAST(dev);
	if (!dev) {
		NL_SET_ERR_MSG(info->extack, "missing device (ifindex or ifname)");
		return ERR_PTR(-EINVAL);
	}
	cd = chim_dev_lookup(dev);
	if (!cd) {
		NL_SET_ERR_MSG(info->extack,
			       "no offload target is attached to this device");
		return ERR_PTR(-ENOENT);
	}
	return cd;
}

/* ---- devices ----------------------------------------------------------- */

static int nl_params(struct genl_info *info, struct chim_params *p)
{
	struct nlattr *tb[CHIMNEY_A_PARAMS_MAX + 1];
	struct nlattr *nest = info->attrs[CHIMNEY_A_PARAMS];
	static const struct {
		int attr;
		size_t off;
		u32 min, max;
	} fields[] = {
#define F(a, f, lo, hi) { CHIMNEY_A_PARAMS_##a, offsetof(struct chim_params, f), lo, hi }
		F(TICKS_PER_SECOND, ticks_per_second, 10, 1000),
		F(ACK_FREQUENCY, ack_frequency, 1, 255),
		F(DELAYED_ACK_TICKS, delayed_ack_ticks, 1, 600000),
		F(MAX_RETRANSMISSIONS, max_retransmissions, 1, 255),
		F(DOUBT_REACHABILITY_RETRANSMISSIONS,
		  doubt_reachability_retransmissions, 1, 255),
		F(SWS_PREVENTION_TICKS, sws_prevention_ticks, 1, 600000),
		F(DUP_ACK_THRESHOLD, dup_ack_threshold, 1, 255),
		F(PUSH_TICKS, push_ticks, 1, 600000),
		F(NCE_STALE_TICKS, nce_stale_ticks, 1, 600000),
#undef F
	};
	unsigned int i;
	int err;

	if (!nest)
		return 0;
	err = nla_parse_nested(tb, CHIMNEY_A_PARAMS_MAX, nest,
			       chimney_params_nl_policy, info->extack);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		struct nlattr *a = tb[fields[i].attr];
		u32 v;

		if (!a)
			continue;
		v = nla_get_u32(a);
		if (v < fields[i].min || v > fields[i].max) {
			NL_SET_ERR_MSG_ATTR_FMT(info->extack, a,
						"out of range %u-%u",
						fields[i].min, fields[i].max);
			return -ERANGE;
		}
		*(u32 *)((u8 *)p + fields[i].off) = v;
	}
	if (p->ticks_per_second != 10 && p->ticks_per_second != 100 &&
	    p->ticks_per_second != 1000) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[CHIMNEY_A_PARAMS_TICKS_PER_SECOND],
				    "ticks-per-second must be 10, 100 or 1000");
		return -EINVAL;
	}
	return 0;
}

int chimney_nl_dev_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct chim_dev_config cfg;
	struct net_device *dev;
	struct chim_dev *cd;
	struct nlattr *a;
	int err;

	chim_dev_config_init(&cfg);
	a = info->attrs[CHIMNEY_A_CAPACITY];
	if (a) {
		cfg.capacity = nla_get_u32(a);
		if (!cfg.capacity || cfg.capacity > CHIM_MAX_CAPACITY) {
			NL_SET_ERR_MSG_ATTR_FMT(info->extack, a,
						"capacity must be 1 to %u",
						CHIM_MAX_CAPACITY);
			return -ERANGE;
		}
	}
	if (info->attrs[CHIMNEY_A_IDLE_TIMEOUT])
		cfg.idle_timeout_ms = nla_get_u32(info->attrs[CHIMNEY_A_IDLE_TIMEOUT]);
	if (info->attrs[CHIMNEY_A_IDLE_BYTES])
		cfg.idle_bytes = nla_get_u64(info->attrs[CHIMNEY_A_IDLE_BYTES]);
	if (info->attrs[CHIMNEY_A_OPT_IN])
		cfg.opt_in = nla_get_u8(info->attrs[CHIMNEY_A_OPT_IN]);
	if (info->attrs[CHIMNEY_A_ENGINE])
		cfg.engine = nla_get_u8(info->attrs[CHIMNEY_A_ENGINE]);
	a = info->attrs[CHIMNEY_A_ACCEPT_OPTIONAL];
	if (a) {
		u32 bits = nla_get_u32(a), r;

		for (r = 0; r < 32; r++)
			if ((bits & BIT(r)) &&
			    (r < 1 || r > CHIM_REASON_TARGET_MAX ||
			     chim_reason_is_mandatory(r))) {
				NL_SET_ERR_MSG_ATTR(info->extack, a,
						    "accept-optional may only name optional reasons");
				return -EINVAL;
			}
		cfg.accept_optional = bits;
	}
	err = nl_params(info, &cfg.params);
	if (err)
		return err;

	rtnl_lock();
	dev = chim_nl_netdev(info);
	err = PTR_ERR(dev);
	if (IS_ERR(dev))
		goto out;
	err = -EINVAL;
	if (!dev) {
		NL_SET_ERR_MSG(info->extack, "missing device (ifindex or ifname)");
		goto out;
	}
	err = -EOPNOTSUPP;
	if (dev->type != ARPHRD_ETHER || (dev->flags & IFF_LOOPBACK) ||
	    dev->addr_len != ETH_ALEN) {
		NL_SET_ERR_MSG(info->extack,
			       "an offload target needs an Ethernet device");
		goto out;
	}
	err = -EEXIST;
	if (chim_dev_lookup(dev)) {
		NL_SET_ERR_MSG(info->extack,
			       "a target is already attached to this device");
		goto out;
	}
	cd = chim_net_attach(dev, &cfg);
	err = PTR_ERR_OR_ZERO(cd);
out:
	rtnl_unlock();
	return err;
}

/**
 * chim_nl_dev_op() - run a handler's work on the device of its request
 * @info: the request (CHIMNEY_A_IFINDEX and/or CHIMNEY_A_IFNAME)
 * @op: the work, called under RTNL with the device's binding
 * @arg: for @op
 *
 * The device is resolved once, here, for every handler that works on one.
 *
 * Return: @op's result, or why the device has no binding.
 */
int chim_nl_dev_op(struct genl_info *info, chim_nl_dev_fn op, void *arg)
{
	struct chim_dev *cd;
	int err;

	rtnl_lock();
	cd = chim_nl_dev(info);
	err = IS_ERR(cd) ? PTR_ERR(cd) : op(cd, info, arg);
	rtnl_unlock();
	return err;
}

static int op_detach(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	chim_net_detach(cd);
	return 0;
}

static int op_pause(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	if (cd->paused_by & CHIM_PAUSE_ADMIN) {
		NL_SET_ERR_MSG(info->extack, "device already paused");
		return -EALREADY;
	}
	chim_dev_pause(cd, CHIM_PAUSE_ADMIN, CHIM_REASON_PAUSE);
	return 0;
}

static int op_resume(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	if (!chim_dev_paused(cd)) {
		NL_SET_ERR_MSG(info->extack, "device not paused");
		return -EALREADY;
	}
	if (cd->paused_by == CHIM_PAUSE_PORT) {
		NL_SET_ERR_MSG(info->extack, CHIM_PORT_REFUSAL " until released");
		return -EBUSY;
	}
	chim_auto_resume(cd, CHIM_PAUSE_ADMIN);
	return 0;
}

int chimney_nl_dev_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	return chim_nl_dev_op(info, op_detach, NULL);
}

int chimney_nl_dev_pause_doit(struct sk_buff *skb, struct genl_info *info)
{
	return chim_nl_dev_op(info, op_pause, NULL);
}

int chimney_nl_dev_resume_doit(struct sk_buff *skb, struct genl_info *info)
{
	return chim_nl_dev_op(info, op_resume, NULL);
}

/* The faults the target still has to inject, as target-fault set them. */
static int put_faults(struct sk_buff *skb, struct chim_dev *cd)
{
	struct chim_faults f = {};

	if (cd->drv->get_faults)
		cd->drv->get_faults(cd->target, &f);
	if (nla_put_u32(skb, CHIMNEY_A_TERMINATE_FAIL, f.terminate_fail) ||
	    nla_put_u32(skb, CHIMNEY_A_INITIATE_FAIL, f.initiate_fail) ||
	    nla_put_u32(skb, CHIMNEY_A_COMPLETE_DELAY, f.complete_delay_ms))
		return -EMSGSIZE;
	if (f.initiate_fail &&
	    nla_put_u32(skb, CHIMNEY_A_INITIATE_STATUS, f.initiate_status))
		return -EMSGSIZE;
	return 0;
}

static int fill_dev(struct sk_buff *skb, void *arg)
{
	struct chim_dev *cd = arg;
	const struct chim_params *p = &cd->params;
	struct nlattr *nest;

	if (chim_nl_put_dev(skb, cd) ||
	    nla_put_u32(skb, CHIMNEY_A_CAPACITY, cd->target->capacity) ||
	    nla_put_u32(skb, CHIMNEY_A_IDLE_TIMEOUT, cd->idle_timeout_ms) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_IDLE_BYTES, cd->idle_bytes,
			      CHIMNEY_A_PAD) ||
	    nla_put_u8(skb, CHIMNEY_A_PAUSED, chim_dev_paused(cd)) ||
	    nla_put_u8(skb, CHIMNEY_A_LINK_UP, !cd->link_down) ||
	    nla_put_u32(skb, CHIMNEY_A_OFFLOADED,
			atomic_read(&cd->host->conns.count)) ||
	    nla_put_u32(skb, CHIMNEY_A_ACCEPT_OPTIONAL,
			READ_ONCE(cd->host->accept_optional)) ||
	    nla_put_u8(skb, CHIMNEY_A_OPT_IN, cd->opt_in) ||
	    nla_put_u8(skb, CHIMNEY_A_ENGINE, cd->engine) ||
	    put_faults(skb, cd))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, CHIMNEY_A_PARAMS);
	if (!nest ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_TICKS_PER_SECOND, p->ticks_per_second) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_ACK_FREQUENCY, p->ack_frequency) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_DELAYED_ACK_TICKS, p->delayed_ack_ticks) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_MAX_RETRANSMISSIONS,
			p->max_retransmissions) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_DOUBT_REACHABILITY_RETRANSMISSIONS,
			p->doubt_reachability_retransmissions) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_SWS_PREVENTION_TICKS,
			p->sws_prevention_ticks) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_DUP_ACK_THRESHOLD, p->dup_ack_threshold) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_PUSH_TICKS, p->push_ticks) ||
	    nla_put_u32(skb, CHIMNEY_A_PARAMS_NCE_STALE_TICKS, p->nce_stale_ticks))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int op_get(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	return chim_nl_reply(info, fill_dev, cd);
}

int chimney_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return chim_nl_dev_op(info, op_get, NULL);
}

/* Dump filters: the device, given by ifindex or ifname. */
static int dump_filter(struct netlink_callback *cb)
{
	struct nlattr **attrs = chim_dump_attrs(cb);
	struct chim_nl_dump_ctx *ctx = chim_nl_dump_ctx(cb);
	struct net *net = sock_net(cb->skb->sk);
	struct net_device *dev = NULL;
	struct nlattr *a = NULL;

	ctx->started = true;
	if (!attrs)
		return 0;
	rcu_read_lock();
	if (attrs[CHIMNEY_A_IFINDEX]) {
		a = attrs[CHIMNEY_A_IFINDEX];
		dev = dev_get_by_index_rcu(net, nla_get_u32(a));
	} else if (attrs[CHIMNEY_A_IFNAME]) {
		a = attrs[CHIMNEY_A_IFNAME];
		dev = dev_get_by_name_rcu(net, nla_data(a));
	}
	if (dev)
		ctx->ifindex = dev->ifindex;
	rcu_read_unlock();
	if (a && !dev) {
		NL_SET_ERR_MSG_ATTR(cb->extack, a, "no such device");
		return -ENODEV;
	}
	return 0;
}

/*
 * The device of @net with the lowest ifindex above @after, or NULL: a dump
 * goes through the devices in ifindex order, so that it resumes at the
 * right one whatever was attached or detached between its parts.
 */
static struct chim_dev *dev_after(struct net *net, int after)
{
	struct chim_dev *cd, *next = NULL;

	list_for_each_entry(cd, &chim_net(net)->devs, node)
		if (cd->dev->ifindex > after &&
		    (!next || cd->dev->ifindex < next->dev->ifindex))
			next = cd;
	return next;
}

/**
 * chim_nl_dump_devs() - call @fill for each device of the namespace (or the one the
 *	request names), from the resume position on
 * @skb: the dump's buffer
 * @cb: the dump
 * @fill: dumps one device's objects, returns 0 or -EMSGSIZE when full
 *
 * Context: takes RTNL.
 * Return: @skb->len to be called again, 0 when done, or a negative errno.
 */
int chim_nl_dump_devs(struct sk_buff *skb, struct netlink_callback *cb,
		      chim_nl_dump_fn fill)
{
	struct chim_nl_dump_ctx *ctx = chim_nl_dump_ctx(cb);
	struct net *net = sock_net(skb->sk);
	struct chim_dev *cd;
	int err = 0;

	if (!ctx->started) {
		err = dump_filter(cb);
		if (err)
			return err;
	}
	rtnl_lock();
	while ((cd = dev_after(net, ctx->dev_done))) {
		int ifindex = cd->dev->ifindex;

		if (ctx->ifindex && ifindex != ctx->ifindex) {
			ctx->dev_done = ifindex;
			continue;
		}
		/* The device the positions were for may be gone: start over. */
		if (ctx->dev_cur != ifindex) {
			ctx->dev_cur = ifindex;
			ctx->cpu = 0;
			ctx->bucket = 0;
			ctx->idx = 0;
		}
		err = fill(skb, cb, cd);
		if (err)
			break;
		ctx->dev_done = ifindex;
	}
	rtnl_unlock();
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err;
}

static int dump_one_dev(struct sk_buff *skb, struct netlink_callback *cb,
			struct chim_dev *cd)
{
	void *hdr = chim_nl_dump_put(skb, cb);

	if (!hdr)
		return -EMSGSIZE;
	if (fill_dev(skb, cd)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int chimney_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return chim_nl_dump_devs(skb, cb, dump_one_dev);
}

/* ---- offload rules ----------------------------------------------------- */

static int fill_policy_id(struct sk_buff *skb, void *arg)
{
	const struct chim_policy *p = arg;

	return nla_put_u32(skb, CHIMNEY_A_POLICY_ID, p->id);
}

struct policy_add {
	struct chim_policy *p;
	bool added;
};

/* Under RTNL: a new rule joins the device's, which then owns it. */
static int policy_add(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	struct policy_add *pa = arg;
	struct chim_policy *p = pa->p;
	int err;

	if (cd->nr_policies >= CHIM_MAX_POLICIES) {
		NL_SET_ERR_MSG_FMT(info->extack, "at most %d offload rules per device",
				   CHIM_MAX_POLICIES);
		return -ENOSPC;
	}
	p->id = cd->next_policy_id++;
	list_add_tail(&p->node, &cd->policies);
	cd->nr_policies++;
	pa->added = true;
	chim_auto_update(genl_info_net(info));
	err = chim_nl_reply(info, fill_policy_id, p);
	/* Connections the rule matches already: a walk offloads them. */
	if (!chim_dev_refuses(cd))
		chim_auto_scan(cd);
	return err;
}

int chimney_nl_policy_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct policy_add pa = {};
	struct chim_policy *p;
	u8 lfam = 0, rfam = 0;
	int err;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	err = chim_nl_addr(info, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6, &p->laddr, &lfam);
	if (err && err != -ENOENT)
		goto err_free;
	p->has_laddr = !err;
	err = chim_nl_addr(info, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6, &p->raddr, &rfam);
	if (err && err != -ENOENT)
		goto err_free;
	p->has_raddr = !err;
	err = -EINVAL;
	if (lfam && rfam && lfam != rfam) {
		NL_SET_ERR_MSG(info->extack,
			       "local and remote addresses of different families");
		goto err_free;
	}
	p->family = lfam ?: rfam;
	if (info->attrs[CHIMNEY_A_LOCAL_PORT])
		p->lport = nla_get_be16(info->attrs[CHIMNEY_A_LOCAL_PORT]);
	if (info->attrs[CHIMNEY_A_REMOTE_PORT])
		p->rport = nla_get_be16(info->attrs[CHIMNEY_A_REMOTE_PORT]);
	if (info->attrs[CHIMNEY_A_PRIORITY])
		p->priority = nla_get_u8(info->attrs[CHIMNEY_A_PRIORITY]);

	pa.p = p;
	err = chim_nl_dev_op(info, policy_add, &pa);
	if (!pa.added)
		kfree(p);
	return err;

err_free:
	kfree(p);
	return err;
}

/* Under RTNL: the rule whose id @arg points to goes. */
static int policy_del(struct chim_dev *cd, struct genl_info *info, void *arg)
{
	u32 id = *(u32 *)arg;
	struct chim_policy *p;

	list_for_each_entry(p, &cd->policies, node) {
		if (p->id != id)
			continue;
		list_del(&p->node);
		cd->nr_policies--;
		kfree(p);
		chim_auto_update(genl_info_net(info));
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[CHIMNEY_A_POLICY_ID],
			    "no offload rule with this id on this device");
	return -ENOENT;
}

int chimney_nl_policy_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	u32 id;

	if (GENL_REQ_ATTR_CHECK(info, CHIMNEY_A_POLICY_ID))
		return -EINVAL;
	id = nla_get_u32(info->attrs[CHIMNEY_A_POLICY_ID]);
	return chim_nl_dev_op(info, policy_del, &id);
}

static int fill_policy(struct sk_buff *skb, struct chim_dev *cd,
		       const struct chim_policy *p)
{
	if (chim_nl_put_dev(skb, cd) || nla_put_u32(skb, CHIMNEY_A_POLICY_ID, p->id) ||
	    nla_put_u8(skb, CHIMNEY_A_PRIORITY, p->priority))
		return -EMSGSIZE;
	if (p->family && nla_put_u8(skb, CHIMNEY_A_FAMILY, p->family))
		return -EMSGSIZE;
	if (p->has_laddr && chim_nl_put_addr(skb, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6,
					     &p->laddr, p->family))
		return -EMSGSIZE;
	if (p->has_raddr && chim_nl_put_addr(skb, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6,
					     &p->raddr, p->family))
		return -EMSGSIZE;
	if ((p->lport && nla_put_be16(skb, CHIMNEY_A_LOCAL_PORT, p->lport)) ||
	    (p->rport && nla_put_be16(skb, CHIMNEY_A_REMOTE_PORT, p->rport)))
		return -EMSGSIZE;
	return 0;
}

static int dump_policies(struct sk_buff *skb, struct netlink_callback *cb,
			 struct chim_dev *cd)
{
	struct chim_nl_dump_ctx *ctx = chim_nl_dump_ctx(cb);
	struct chim_policy *p;
	unsigned int i = 0;

	list_for_each_entry(p, &cd->policies, node) {
		void *hdr;

		if (i++ < ctx->idx)
			continue;
		hdr = chim_nl_dump_put(skb, cb);
		if (!hdr)
			return -EMSGSIZE;
		if (fill_policy(skb, cd, p)) {
			genlmsg_cancel(skb, hdr);
			return -EMSGSIZE;
		}
		genlmsg_end(skb, hdr);
		ctx->idx++;
	}
	return 0;
}

int chimney_nl_policy_get_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	return chim_nl_dump_devs(skb, cb, dump_policies);
}
