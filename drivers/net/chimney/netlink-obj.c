// SPDX-License-Identifier: GPL-2.0
/*
 * The chimney family's handlers for state objects, connections (get,
 * dump, offload) and terminates.
 */
#include <linux/rtnetlink.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "defs.h"
#include "netlink.h"
#include "sock.h"

/* ---- state objects ----------------------------------------------------- */

static int fill_obj(struct sk_buff *skb, struct chim_dev *cd,
		    struct chim_obj *obj)
{
	if (chim_nl_put_dev(skb, cd) ||
	    nla_put_u32(skb, CHIMNEY_A_STATE, READ_ONCE(obj->state)) ||
	    nla_put_u32(skb, CHIMNEY_A_DEPENDENTS, obj->dependents))
		return -EMSGSIZE;
	if (obj->type == CHIM_OBJ_NEIGH) {
		struct chim_neigh *n = chim_obj_neigh(obj);
		u8 fam = ipv6_addr_v4mapped(&n->next_hop) ? AF_INET : AF_INET6;

		if (nla_put_u8(skb, CHIMNEY_A_FAMILY, fam) ||
		    chim_nl_put_addr(skb, CHIMNEY_A_NEXT_HOP_V4, CHIMNEY_A_NEXT_HOP_V6,
				     &n->next_hop, fam) ||
		    nla_put(skb, CHIMNEY_A_MAC, ETH_ALEN,
			    n->cached.dl_destination_address))
			return -EMSGSIZE;
	} else {
		struct chim_path *p = chim_obj_path(obj);

		if (nla_put_u8(skb, CHIMNEY_A_FAMILY, p->c.family) ||
		    chim_nl_put_addr(skb, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6,
				     &p->c.source_address, p->c.family) ||
		    chim_nl_put_addr(skb, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6,
				     &p->c.destination_address, p->c.family) ||
		    nla_put_u32(skb, CHIMNEY_A_MTU, p->cached.path_mtu))
			return -EMSGSIZE;
	}
	return 0;
}

static int fill_one_obj(struct sk_buff *skb, struct netlink_callback *cb,
			struct chim_dev *cd, struct chim_obj *obj)
{
	void *hdr = chim_nl_dump_put(skb, cb);

	if (!hdr)
		return -EMSGSIZE;
	if (fill_obj(skb, cd, obj)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * Neighbors, or paths, of one device, under host->lock.  These are few (a
 * path per peer), so resuming by position is cheap; connections, which may
 * be many, are dumped from the per-CPU table instead.
 */
static int dump_objs(struct sk_buff *skb, struct netlink_callback *cb,
		     struct chim_dev *cd, enum chim_obj_type type)
{
	struct chim_nl_dump_ctx *ctx = chim_nl_dump_ctx(cb);
	struct chim_host *host = cd->host;
	struct chim_obj *n, *p;
	unsigned int i = 0;
	int err = 0;

	mutex_lock(&host->lock);
	list_for_each_entry(n, &host->neighs, sibling) {
		struct list_head *objs = type == CHIM_OBJ_NEIGH ? NULL : &n->children;

		if (!objs) {
			if (n->state == CHIM_STATE_NEW || i++ < ctx->idx)
				continue;
			err = fill_one_obj(skb, cb, cd, n);
			if (err)
				break;
			ctx->idx++;
			continue;
		}
		list_for_each_entry(p, objs, sibling) {
			if (p->state == CHIM_STATE_NEW || i++ < ctx->idx)
				continue;
			err = fill_one_obj(skb, cb, cd, p);
			if (err)
				goto out;
			ctx->idx++;
		}
	}
out:
	mutex_unlock(&host->lock);
	return err;
}

static int dump_neighs(struct sk_buff *skb, struct netlink_callback *cb,
		       struct chim_dev *cd)
{
	return dump_objs(skb, cb, cd, CHIM_OBJ_NEIGH);
}

static int dump_paths(struct sk_buff *skb, struct netlink_callback *cb,
		      struct chim_dev *cd)
{
	return dump_objs(skb, cb, cd, CHIM_OBJ_PATH);
}

int chimney_nl_neigh_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return chim_nl_dump_devs(skb, cb, dump_neighs);
}

int chimney_nl_path_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return chim_nl_dump_devs(skb, cb, dump_paths);
}

/* ---- connections ------------------------------------------------------- */

/* What a reply about one connection says, taken while it is found. */
struct conn_snap {
	struct chim_tuple tuple;
	struct chim_conn *conn;		/* holds a reference */
	unsigned int cpu;
	u64 bytes_in;
	u64 bytes_out;
};

/* What a reply about @conn (held, handed to @snap) says, taken now. */
static void snap_take(struct conn_snap *snap, struct chim_dev *cd,
		      struct chim_conn *conn)
{
	struct chim_activity a;

	/* Zero while it is on its way in or out. */
	chim_host_conn_activity(cd->host, conn, &a);
	snap->conn = conn;
	snap->tuple = conn->index.tuple;
	snap->cpu = conn->index.cpu;
	snap->bytes_in = a.bytes_in;
	snap->bytes_out = a.bytes_out;
}

static int fill_delegated(struct sk_buff *skb, struct chim_dev *cd,
			  struct chim_conn *conn)
{
	struct chim_tcp_delegated d;
	struct nlattr *nest;

	/* Gone meanwhile: report the connection without its variables. */
	if (chim_host_query(cd->host, conn, &d))
		return 0;
	nest = nla_nest_start(skb, CHIMNEY_A_DELEGATED);
	if (!nest ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_TCP_STATE, d.state) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SND_UNA, d.snd_una) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SND_NXT, d.snd_nxt) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SND_MAX, d.snd_max) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SND_WND, d.snd_wnd) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_MAX_SND_WND, d.max_snd_wnd) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SEND_WL1, d.send_wl1) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RCV_NXT, d.rcv_nxt) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RCV_WND, d.rcv_wnd) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_CWND, d.cwnd) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SS_THRESH, d.ss_thresh) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SRTT, d.srtt) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RTT_VAR, d.rtt_var) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_TS_RECENT, d.ts_recent) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_TS_RECENT_AGE, d.ts_recent_age) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_TS_TIME, d.ts_time) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_TOTAL_RT, d.total_rt) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_DUP_ACK_COUNT, d.dup_ack_count) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SND_WND_PROBE_COUNT,
			d.snd_wnd_probe_count) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_KA_PROBE_COUNT,
			d.keepalive.probe_count) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_KA_TIMEOUT_DELTA,
			d.keepalive.timeout_delta) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RT_COUNT, d.retransmit.count) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RT_TIMEOUT_DELTA,
			d.retransmit.timeout_delta) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_SEND_BACKLOG_SIZE,
			d.send_backlog_size) ||
	    nla_put_u32(skb, CHIMNEY_A_DELEGATED_RECEIVE_BACKLOG_SIZE,
			d.receive_backlog_size))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int fill_conn(struct sk_buff *skb, struct chim_dev *cd,
		     const struct conn_snap *snap, bool delegated)
{
	if (chim_nl_put_dev(skb, cd) || chim_nl_put_tuple(skb, &snap->tuple) ||
	    nla_put_u32(skb, CHIMNEY_A_STATE, READ_ONCE(snap->conn->obj.state)) ||
	    nla_put_u32(skb, CHIMNEY_A_CPU, snap->cpu) ||
	    nla_put_u8(skb, CHIMNEY_A_PRIORITY, snap->conn->priority) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_BYTES_IN, snap->bytes_in,
			      CHIMNEY_A_PAD) ||
	    nla_put_u64_64bit(skb, CHIMNEY_A_BYTES_OUT, snap->bytes_out,
			      CHIMNEY_A_PAD))
		return -EMSGSIZE;
	return delegated ? fill_delegated(skb, cd, snap->conn) : 0;
}

/*
 * Connections of one device, from the host's index, resumed where the
 * last message ended (chim_host_conn_next()).
 */
static int dump_conns(struct sk_buff *skb, struct netlink_callback *cb,
		      struct chim_dev *cd)
{
	struct chim_nl_dump_ctx *ctx = chim_nl_dump_ctx(cb);
	struct nlattr **attrs = chim_dump_attrs(cb);
	bool delegated = attrs && attrs[CHIMNEY_A_WITH_DELEGATED];
	struct chim_table_pos pos = {
		.cpu = ctx->cpu, .bucket = ctx->bucket, .idx = ctx->idx,
	};
	struct chim_conn *conn;

	while ((conn = chim_host_conn_next(cd->host, &pos))) {
		struct conn_snap snap;
		void *hdr;
		int err;

		snap_take(&snap, cd, conn);
		hdr = chim_nl_dump_put(skb, cb);
		err = hdr ? fill_conn(skb, cd, &snap, delegated) : -EMSGSIZE;
		chim_obj_put(&conn->obj);
		if (err) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			return err;	/* resumed at this one */
		}
		genlmsg_end(skb, hdr);
		ctx->cpu = pos.cpu;
		ctx->bucket = pos.bucket;
		ctx->idx = pos.idx;
	}
	return 0;
}

/*
 * Exact sequence numbers are what a blind injection needs (TCP_REPAIR
 * asks the same privilege): CAP_NET_ADMIN in the initial namespace.
 */
static int delegated_allowed(const struct sk_buff *skb, struct nlattr *attr,
			     struct netlink_ext_ack *extack)
{
	if (!attr || netlink_capable(skb, CAP_NET_ADMIN))
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "with-delegated needs CAP_NET_ADMIN in the initial user namespace");
	return -EPERM;
}

int chimney_nl_conn_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = chim_dump_attrs(cb);
	int err;

	if (!chim_nl_dump_ctx(cb)->started && attrs) {
		err = delegated_allowed(cb->skb, attrs[CHIMNEY_A_WITH_DELEGATED],
					cb->extack);
		if (err)
			return err;
	}
	return chim_nl_dump_devs(skb, cb, dump_conns);
}

/*
 * Find an offloaded connection by tuple on @only, or on every device of the
 * namespace.  Return: its device, with @snap holding a reference, or NULL.
 */
static struct chim_dev *find_conn(struct net *net, struct chim_dev *only,
				  const struct chim_tuple *t,
				  struct conn_snap *snap)
{
	struct chim_conn *conn;
	struct chim_dev *cd;

	ASSERT_RTNL();
	list_for_each_entry(cd, &chim_net(net)->devs, node) {
		if (only && cd != only)
			continue;
		conn = chim_host_conn_lookup(cd->host, t);
		if (conn) {
			snap_take(snap, cd, conn);
			return cd;
		}
	}
	return NULL;
}

/* The optional device of a request, as a binding (NULL: all of them). */
static struct chim_dev *nl_opt_chim_dev(struct genl_info *info)
{
	if (!info->attrs[CHIMNEY_A_IFINDEX] && !info->attrs[CHIMNEY_A_IFNAME])
		return NULL;
	return chim_nl_dev(info);
}

struct conn_reply {
	struct chim_dev *cd;
	struct conn_snap *snap;
	bool delegated;
};

static int fill_conn_reply(struct sk_buff *skb, void *arg)
{
	struct conn_reply *r = arg;

	return fill_conn(skb, r->cd, r->snap, r->delegated);
}

int chimney_nl_conn_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct conn_reply r = {
		.delegated = info->attrs[CHIMNEY_A_WITH_DELEGATED],
	};
	struct conn_snap snap;
	struct chim_tuple t;
	struct chim_dev *only;
	int err;

	err = delegated_allowed(skb, info->attrs[CHIMNEY_A_WITH_DELEGATED],
				info->extack);
	if (err)
		return err;
	err = chim_nl_tuple(info, &t);
	if (err)
		return err;
	rtnl_lock();
	only = nl_opt_chim_dev(info);
	if (IS_ERR(only)) {
		err = PTR_ERR(only);
		goto out;
	}
	r.cd = find_conn(genl_info_net(info), only, &t, &snap);
	if (!r.cd) {
		NL_SET_ERR_MSG(info->extack,
			       "no offloaded connection with this 4-tuple");
		err = -ENOENT;
		goto out;
	}
	r.snap = &snap;
	err = chim_nl_reply(info, fill_conn_reply, &r);
	chim_obj_put(&snap.conn->obj);
out:
	rtnl_unlock();
	return err;
}

/* The established TCP socket with this tuple, with a reference, or NULL. */
static struct sock *lookup_established(struct net *net,
				       const struct chim_tuple *t)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;
	struct sock *sk = NULL;

	rcu_read_lock();
	if (t->family == AF_INET)
		sk = __inet_lookup_established(net, hinfo, t->raddr.s6_addr32[3],
					       t->rport, t->laddr.s6_addr32[3],
					       ntohs(t->lport), 0, 0);
#if IS_ENABLED(CONFIG_IPV6)
	else
		sk = __inet6_lookup_established(net, hinfo, &t->raddr, t->rport,
						&t->laddr, ntohs(t->lport), 0, 0);
#endif
	rcu_read_unlock();
	if (sk && sk->sk_state != TCP_ESTABLISHED) {
		sock_gen_put(sk);
		sk = NULL;
	}
	return sk;
}

/* The priority asked for, else the one of the first rule it matches. */
static u8 nl_priority(struct genl_info *info, struct chim_dev *cd,
		      const struct chim_tuple *t)
{
	const struct chim_policy *p;

	if (info->attrs[CHIMNEY_A_PRIORITY])
		return nla_get_u8(info->attrs[CHIMNEY_A_PRIORITY]);
	p = chim_dev_match(cd, t);
	return p ? p->priority : 0;
}

int chimney_nl_conn_offload_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct chim_dev *cd;
	struct chim_tuple t;
	struct sock *sk;
	int err;

	err = chim_nl_tuple(info, &t);
	if (err)
		return err;
	sk = lookup_established(net, &t);
	if (!sk) {
		NL_SET_ERR_MSG(info->extack,
			       "no established TCP connection with this 4-tuple");
		return -ENOENT;
	}
	rtnl_lock();
	cd = chim_sock_route_dev(sk, true);
	if (!cd) {
		NL_SET_ERR_MSG(info->extack,
			       "the connection does not leave through a device with an offload target");
		err = -ENODEV;
	} else {
		err = chim_sock_offload(sk, cd, nl_priority(info, cd, &t),
					info->extack);
	}
	rtnl_unlock();
	sock_gen_put(sk);
	return err;
}

/*
 * The ifindexes of @only, or of every device of @net with a target (@n
 * of them): `conn terminate all` uploads them one after the other.
 */
static int *bound_ifindexes(struct net *net, struct chim_dev *only,
			    unsigned int *n)
{
	struct chim_dev *cd;
	int *ifindexes;

	ASSERT_RTNL();
	*n = 0;
	list_for_each_entry(cd, &chim_net(net)->devs, node)
		(*n)++;
	ifindexes = kmalloc_array(max(*n, 1U), sizeof(*ifindexes), GFP_KERNEL);
	*n = 0;
	if (ifindexes)
		list_for_each_entry(cd, &chim_net(net)->devs, node)
			if (!only || cd == only)
				ifindexes[(*n)++] = cd->dev->ifindex;
	return ifindexes;
}

int chimney_nl_conn_terminate_doit(struct sk_buff *skb, struct genl_info *info)
{
	enum chim_upload_reason reason = chim_nl_reason(info, CHIM_REASON_ADMIN);
	struct net *net = genl_info_net(info);
	struct chim_dev *only, *cd;
	unsigned int n = 0, i;
	int *ifindexes = NULL;
	struct in6_addr addr;
	struct conn_snap snap;
	struct chim_tuple t;
	u32 scope;
	int err = 0, found = 0;
	u8 fam;

	if (GENL_REQ_ATTR_CHECK(info, CHIMNEY_A_SCOPE))
		return -EINVAL;
	scope = nla_get_u32(info->attrs[CHIMNEY_A_SCOPE]);
	if (reason == CHIM_REASON_NONE) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[CHIMNEY_A_REASON],
				    "give a reason other than none");
		return -EINVAL;
	}
	if (scope == CHIMNEY_SCOPE_CONN) {
		err = chim_nl_tuple(info, &t);
	} else if (scope == CHIMNEY_SCOPE_PATH) {
		err = chim_nl_addr(info, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6,
				   &addr, &fam);
		if (err == -ENOENT)
			NL_SET_ERR_MSG(info->extack, "missing the path's remote address");
	} else if (scope == CHIMNEY_SCOPE_NEIGH) {
		err = chim_nl_addr(info, CHIMNEY_A_NEXT_HOP_V4, CHIMNEY_A_NEXT_HOP_V6,
				   &addr, &fam);
		if (err == -ENOENT)
			NL_SET_ERR_MSG(info->extack, "missing the neighbor's address");
	}
	if (err)
		return -EINVAL;

	rtnl_lock();
	only = nl_opt_chim_dev(info);
	if (IS_ERR(only)) {
		err = PTR_ERR(only);
		goto out;
	}
	if (scope == CHIMNEY_SCOPE_CONN) {
		cd = find_conn(net, only, &t, &snap);
		if (!cd) {
			NL_SET_ERR_MSG(info->extack,
				       "no offloaded connection with this 4-tuple");
			err = -ENOENT;
			goto out;
		}
		err = chim_host_terminate(cd->host, (struct chim_obj *[]){
			&snap.conn->obj }, 1, reason);
		chim_obj_put(&snap.conn->obj);
		if (err == -EALREADY)
			NL_SET_ERR_MSG(info->extack, "connection already uploading");
		else if (err == -EINPROGRESS)
			err = 0;	/* runs when its offload completes */
		goto out;
	}
	if (scope == CHIMNEY_SCOPE_ALL) {
		ifindexes = bound_ifindexes(net, only, &n);
		err = ifindexes ? 0 : -ENOMEM;
		goto out;
	}
	list_for_each_entry(cd, &chim_net(net)->devs, node) {
		if (!only || cd == only)
			found += chim_host_terminate_addr(cd->host,
					scope == CHIMNEY_SCOPE_PATH ?
					CHIM_OBJ_PATH : CHIM_OBJ_NEIGH,
					&addr, reason);
	}
	if (!found) {
		if (scope == CHIMNEY_SCOPE_PATH)
			NL_SET_ERR_MSG(info->extack, "no offloaded path to this address");
		else
			NL_SET_ERR_MSG(info->extack,
				       "no offloaded neighbor with this address");
		err = -ENOENT;
	}
out:
	rtnl_unlock();
	for (i = 0; ifindexes && i < n; i++)
		chim_dev_terminate_all(net, ifindexes[i], reason);
	kfree(ifindexes);
	return err;
}
