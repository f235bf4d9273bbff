// SPDX-License-Identifier: GPL-2.0
/*
 * The "chimney" generic netlink family, its events group, and the
 * attribute helpers its handlers share.  Policies and the ops table are
 * generated from Documentation/netlink/specs/chimney.yaml (netlink-gen.c);
 * the handlers are in netlink-dev.c (devices, offload rules) and
 * netlink-obj.c (state objects, connections, terminates, target requests
 * and faults, statistics).  Every handler runs under RTNL, and every
 * refusal says why in the extack.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/ipv6.h>

#include "defs.h"
#include "dev.h"
#include "netlink.h"

/*
 * Events carry every connection's tuple: a listener needs CAP_NET_ADMIN
 * over the namespace the events are about.
 */
static const struct genl_multicast_group chim_nl_mcgrps[] = {
	[CHIMNEY_NLGRP_EVENTS] = {
		.name = CHIMNEY_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family chim_nl_family __ro_after_init = {
	.name = CHIMNEY_FAMILY_NAME,
	.version = CHIMNEY_FAMILY_VERSION,
	/*
	 * The requests' policy: attributes only replies and events carry
	 * (link-up) have no entry in it and are refused (strict validation
	 * takes no NLA_UNSPEC), those above it as unknown.
	 */
	.maxattr = ARRAY_SIZE(chimney_nl_policy) - 1,
	.policy = chimney_nl_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = chimney_nl_ops,
	.n_small_ops = ARRAY_SIZE(chimney_nl_ops),
	.resv_start_op = CHIMNEY_CMD_STATS_GET + 1,
	.mcgrps = chim_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(chim_nl_mcgrps),
};

/* The uapi enums are the kernel's, value for value. */
static_assert((int)CHIMNEY_REASON_HARDWARE_FAILURE == CHIM_REASON_HARDWARE_FAILURE);

static_assert((int)CHIMNEY_REASON_ABORT == CHIM_REASON_ABORT);

static_assert((int)CHIMNEY_STATUS_REQUEST_ABORTED == CHIM_STATUS_REQUEST_ABORTED);

static_assert((int)CHIMNEY_OBJ_STATE_DEAD == CHIM_STATE_DEAD);

static_assert((int)CHIMNEY_TCP_STATE_TIME_WAIT == CHIM_TCP_TIME_WAIT);

/* ---- attribute helpers ------------------------------------------------- */

/**
 * chim_nl_netdev() - the device of a request: CHIMNEY_A_IFINDEX and/or
 *	CHIMNEY_A_IFNAME, in the caller's namespace
 * @info: the request
 *
 * Context: RTNL held.
 * Return: the device, NULL when neither is given, or an ERR_PTR (with the
 * extack set).
 */
struct net_device *chim_nl_netdev(struct genl_info *info)
{
	struct nlattr *idx = info->attrs[CHIMNEY_A_IFINDEX];
	struct nlattr *name = info->attrs[CHIMNEY_A_IFNAME];
	struct net *net = genl_info_net(info);
	struct net_device *dev = NULL, *byname;

	if (idx) {
		dev = __dev_get_by_index(net, nla_get_u32(idx));
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(info->extack, idx, "no such device");
			return ERR_PTR(-ENODEV);
		}
	}
	if (name) {
		byname = __dev_get_by_name(net, nla_data(name));
		if (!byname) {
			NL_SET_ERR_MSG_ATTR(info->extack, name, "no such device");
			return ERR_PTR(-ENODEV);
		}
		if (dev && dev != byname) {
			NL_SET_ERR_MSG_ATTR(info->extack, name,
					    "ifindex and ifname name different devices");
			return ERR_PTR(-EINVAL);
		}
		dev = byname;
	}
	return dev;
}

/**
 * chim_nl_addr() - an address given as @v4 or @v6 (one of them)
 * @info: the request
 * @v4: the IPv4 attribute
 * @v6: the IPv6 attribute
 * @addr: receives the address, IPv4 v4-mapped
 * @family: receives AF_INET or AF_INET6
 *
 * Return: 0, -ENOENT when neither is given, -EINVAL (with the extack set).
 */
int chim_nl_addr(struct genl_info *info, int v4, int v6, struct in6_addr *addr,
		 u8 *family)
{
	struct nlattr *a4 = info->attrs[v4], *a6 = info->attrs[v6];

	if (a4 && a6) {
		NL_SET_ERR_MSG_ATTR(info->extack, a6,
				    "give an IPv4 or an IPv6 address, not both");
		return -EINVAL;
	}
	if (!a4 && !a6)
		return -ENOENT;
	if (a4) {
		ipv6_addr_set_v4mapped(nla_get_in_addr(a4), addr);
		*family = AF_INET;
	} else {
		*addr = nla_get_in6_addr(a6);
		*family = AF_INET6;
		if (ipv6_addr_v4mapped(addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a6,
					    "a v4-mapped address must be given as IPv4");
			return -EINVAL;
		}
	}
	return 0;
}

/**
 * chim_nl_tuple() - the 4-tuple of a request: both addresses, of one family,
 *	and both ports
 * @info: the request
 * @t: receives the tuple
 *
 * Return: 0 or -EINVAL (with the extack set).
 */
int chim_nl_tuple(struct genl_info *info, struct chim_tuple *t)
{
	struct in6_addr laddr, raddr;
	u8 lfam, rfam;
	int err;

	err = chim_nl_addr(info, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6, &laddr, &lfam);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "missing local address");
	if (err)
		return -EINVAL;
	err = chim_nl_addr(info, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6, &raddr, &rfam);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "missing remote address");
	if (err)
		return -EINVAL;
	if (lfam != rfam) {
		NL_SET_ERR_MSG(info->extack,
			       "local and remote addresses of different families");
		return -EINVAL;
	}
	if (GENL_REQ_ATTR_CHECK(info, CHIMNEY_A_LOCAL_PORT) ||
	    GENL_REQ_ATTR_CHECK(info, CHIMNEY_A_REMOTE_PORT))
		return -EINVAL;
	if (info->attrs[CHIMNEY_A_FAMILY] &&
	    nla_get_u8(info->attrs[CHIMNEY_A_FAMILY]) != lfam) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[CHIMNEY_A_FAMILY],
				    "family does not match the addresses");
		return -EINVAL;
	}
	memset(t, 0, sizeof(*t));
	t->laddr = laddr;
	t->raddr = raddr;
	t->lport = nla_get_be16(info->attrs[CHIMNEY_A_LOCAL_PORT]);
	t->rport = nla_get_be16(info->attrs[CHIMNEY_A_REMOTE_PORT]);
	t->family = lfam;
	if (!t->lport || !t->rport) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[t->lport ? CHIMNEY_A_REMOTE_PORT :
						CHIMNEY_A_LOCAL_PORT],
				    "port 0 names no connection");
		return -EINVAL;
	}
	return 0;
}

/**
 * chim_nl_reason() - the upload reason of a request (CHIMNEY_A_REASON)
 * @info: the request
 * @dflt: when it gives none
 *
 * Return: the reason, not checked.
 */
enum chim_upload_reason chim_nl_reason(struct genl_info *info,
				       enum chim_upload_reason dflt)
{
	struct nlattr *a = info->attrs[CHIMNEY_A_REASON];

	return a ? nla_get_u32(a) : dflt;
}

/**
 * chim_nl_put_addr() - put an address as @v4 or @v6, by @family
 * @skb: the message
 * @v4: the IPv4 attribute
 * @v6: the IPv6 attribute
 * @addr: the address, IPv4 v4-mapped
 * @family: AF_INET or AF_INET6
 *
 * Return: 0 or -EMSGSIZE.
 */
int chim_nl_put_addr(struct sk_buff *skb, int v4, int v6,
		     const struct in6_addr *addr, u8 family)
{
	if (family == AF_INET)
		return nla_put_in_addr(skb, v4, addr->s6_addr32[3]);
	return nla_put_in6_addr(skb, v6, addr);
}

/**
 * chim_nl_put_tuple() - put a 4-tuple (family, addresses, ports)
 * @skb: the message
 * @t: the tuple
 *
 * Return: 0 or -EMSGSIZE.
 */
int chim_nl_put_tuple(struct sk_buff *skb, const struct chim_tuple *t)
{
	if (nla_put_u8(skb, CHIMNEY_A_FAMILY, t->family) ||
	    chim_nl_put_addr(skb, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6,
			     &t->laddr, t->family) ||
	    chim_nl_put_addr(skb, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6,
			     &t->raddr, t->family) ||
	    nla_put_be16(skb, CHIMNEY_A_LOCAL_PORT, t->lport) ||
	    nla_put_be16(skb, CHIMNEY_A_REMOTE_PORT, t->rport))
		return -EMSGSIZE;
	return 0;
}

/**
 * chim_nl_put_dev() - put a device's ifindex and name
 * @skb: the message
 * @cd: the binding
 *
 * Return: 0 or -EMSGSIZE.
 */
int chim_nl_put_dev(struct sk_buff *skb, struct chim_dev *cd)
{
	if (nla_put_u32(skb, CHIMNEY_A_IFINDEX, cd->dev->ifindex) ||
	    nla_put_string(skb, CHIMNEY_A_IFNAME, netdev_name(cd->dev)))
		return -EMSGSIZE;
	return 0;
}

/**
 * chim_nl_reply() - reply to a request with one message built by @fill
 * @info: the request
 * @fill: puts the attributes, returns 0 or -EMSGSIZE
 * @arg: for @fill
 *
 * Context: process.
 * Return: 0 or a negative errno.
 */
int chim_nl_reply(struct genl_info *info,
		  int (*fill)(struct sk_buff *skb, void *arg), void *arg)
{
	struct sk_buff *rsp;
	void *hdr;
	int err;

	rsp = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!rsp)
		return -ENOMEM;
	hdr = genlmsg_put_reply(rsp, info, &chim_nl_family, 0, info->genlhdr->cmd);
	if (!hdr)
		goto err_size;
	err = fill(rsp, arg);
	if (err)
		goto err_size;
	genlmsg_end(rsp, hdr);
	return genlmsg_reply(rsp, info);

err_size:
	nlmsg_free(rsp);
	return -EMSGSIZE;
}

/* ---- events ------------------------------------------------------------ */

static void nl_event(struct chim_dev *cd, enum chimney_event_type type,
		     const struct chim_host_event *ev, gfp_t gfp)
{
	struct net *net = dev_net(cd->dev);
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&chim_nl_family, net, CHIMNEY_NLGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, gfp);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &chim_nl_family, 0, CHIMNEY_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u32(skb, CHIMNEY_A_EVENT, type) || chim_nl_put_dev(skb, cd))
		goto err;
	if (ev && (chim_nl_put_tuple(skb, &ev->conn->index.tuple) ||
		   nla_put_u32(skb, CHIMNEY_A_STATUS, ev->status) ||
		   (ev->reason && nla_put_u32(skb, CHIMNEY_A_REASON, ev->reason))))
		goto err;
	if (ev && type == CHIMNEY_EVENT_TYPE_TERMINATE_DONE &&
	    (nla_put_u32(skb, CHIMNEY_A_SEND_BYTES, ev->send_bytes) ||
	     nla_put_u32(skb, CHIMNEY_A_RECV_BYTES, ev->recv_bytes)))
		goto err;
	if (!ev && (nla_put_u8(skb, CHIMNEY_A_PAUSED, chim_dev_paused(cd)) ||
		    nla_put_u8(skb, CHIMNEY_A_LINK_UP, !cd->link_down)))
		goto err;
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&chim_nl_family, net, skb, 0,
				CHIMNEY_NLGRP_EVENTS, gfp);
	return;
err:
	nlmsg_free(skb);
}

/**
 * chim_nl_notify_dev() - report a device event (attach, detach, pause,
 *	resume, link, fault) on the events group
 * @cd: the device
 * @type: the event
 * @gfp: allocation context
 *
 * Context: any (with a matching @gfp).
 */
void chim_nl_notify_dev(struct chim_dev *cd, enum chimney_event_type type,
			gfp_t gfp)
{
	nl_event(cd, type, NULL, gfp);
}

/**
 * chim_nl_notify_host() - &chim_host.notify: report a connection event
 * @host: the host of a device
 * @ev: the event
 * @gfp: allocation context
 *
 * Context: any (with a matching @gfp).
 */
void chim_nl_notify_host(struct chim_host *host,
			 const struct chim_host_event *ev, gfp_t gfp)
{
	nl_event(host->priv, ev->type, ev, gfp);
}

/**
 * chim_nl_dump_ctx() - a dump's resume state, kept in @cb->ctx
 * @cb: the dump
 *
 * Return: the state, zeroed when the dump starts.
 */
struct chim_nl_dump_ctx *chim_nl_dump_ctx(struct netlink_callback *cb)
{
	NL_ASSERT_DUMP_CTX_FITS(struct chim_nl_dump_ctx);
	return (struct chim_nl_dump_ctx *)cb->ctx;
}

/**
 * chim_nl_dump_put() - start one message of a dump
 * @skb: the dump's buffer
 * @cb: the dump
 *
 * Return: the genetlink header, or NULL when @skb is full.
 */
void *chim_nl_dump_put(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genlmsghdr *ghdr = nlmsg_data(cb->nlh);

	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &chim_nl_family, NLM_F_MULTI, ghdr->cmd);
}

/**
 * chim_nl_init() - register the family
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int chim_nl_init(void)
{
	return genl_register_family(&chim_nl_family);
}

/**
 * chim_nl_uninit() - unregister the family
 *
 * Context: module exit.
 */
void chim_nl_uninit(void)
{
	genl_unregister_family(&chim_nl_family);
}
