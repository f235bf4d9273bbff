// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer's offload: eligibility, freeze and snapshot, the
 * connection's objects, the initiate and its completion.
 *
 * Offload (initiate): with the socket locked, the backlog is flushed, every
 * host timer stopped and the delegated state and a copy of every queued
 * byte go into the TCP object; the target inserts the connection in its
 * table (its receive hook steals the segments from then on) and, once the
 * initiate succeeded, the host queues are purged.  While the socket is
 * frozen its backlog is caught (held) instead of processed.
 */
#include <kunit/visibility.h>
#include <linux/rtnetlink.h>
#include <net/ip6_route.h>
#include <net/mptcp.h>
#include <net/route.h>
#include <net/tcp.h>

#include "block.h"
#include "sock.h"

/* ---- freeze and snapshot ----------------------------------------------------- */

/*
 * The frozen socket's backlog: hold it for the stock stack, after the
 * upload.  The target never sees such a segment, so it is asked for the
 * upload its own receive path would have asked for.
 */
static int chim_backlog_catch(struct sock *sk, struct sk_buff *skb)
{
	struct chim_sock *csk = csk_of(sk);

	chim_sock_enter();
	__skb_queue_tail(&csk->held, skb);
	if (READ_ONCE(csk->state) == CHIM_SK_OFFLOADED && !csk->ask_queued)
		csk->ask_queued = chim_sock_queue_ask(sk, csk);
	chim_sock_leave();
	return 0;
}

static void freeze(struct sock *sk, struct chim_sock *csk,
		   struct chim_host *host)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	/* From here, the stock stack neither receives nor sends for it. */
	spin_lock_bh(&csk->catch_lock);
	csk->catch_host = host;
	WRITE_ONCE(csk->catching, true);
	spin_unlock_bh(&csk->catch_lock);

	csk->snap.ack_owed = inet_csk_ack_scheduled(sk);
	/* Retransmit, loss probe, RACK, zero window, delayed ACK, pacing, compressed ACK. */
	tcp_clear_xmit_timers(sk);
	inet_csk_delete_keepalive_timer(sk);
	/*
	 * No room to send: a send that entered the stock tcp_sendmsg()
	 * before the ULP was installed (and sleeps for memory, or waits
	 * for the lock) must not queue data into the frozen socket.  It
	 * waits for the upload, which gives the room back.
	 */
	WRITE_ONCE(csk->snap.sndbuf, sk->sk_sndbuf);
	WRITE_ONCE(sk->sk_sndbuf, 0);
	/* The send chain goes to the target: its send queue now. */
	atomic_set(&csk->tx_queued, tcp_sk(sk)->write_seq - tcp_sk(sk)->snd_una);
	tcp_sk(sk)->compressed_ack = 0;
	icsk->icsk_ack.pending = 0;
	csk->base_backlog_rcv = sk->sk_backlog_rcv;
	sk->sk_backlog_rcv = chim_backlog_catch;
	/*
	 * Receive-buffer autotuning (tcp_rcv_space_adjust(), at each read)
	 * needs the receiver's RTT, which the stock stack measures on the
	 * segments it receives; the target's engine receives them now.  A
	 * connection that received nothing yet takes its send RTT.
	 */
	if (!tcp_sk(sk)->rcv_rtt_est.rtt_us)
		tcp_sk(sk)->rcv_rtt_est.rtt_us = tcp_sk(sk)->srtt_us;
}

/* Append @len bytes of @skb from @off to @q, in linear chunks. */
static int copy_bytes(struct sk_buff_head *q, const struct sk_buff *skb,
		      u32 off, u32 len)
{
	while (len) {
		u32 n = min_t(u32, len, CHIM_DATA_CHUNK);
		struct sk_buff *c = alloc_skb(n, GFP_KERNEL);

		if (!c)
			return -ENOMEM;
		if (skb_copy_bits(skb, off, skb_put(c, n), n)) {
			kfree_skb(c);
			return -EFAULT;
		}
		__skb_queue_tail(q, c);
		off += n;
		len -= n;
	}
	return 0;
}

/* Bytes [@from, @to) of a queue whose skbs carry TCP_SKB_CB sequence numbers. */
static int copy_seq(struct sk_buff_head *q, struct sk_buff *skb, u32 *from,
		    u32 to)
{
	u32 seq = TCP_SKB_CB(skb)->seq, end = seq + skb->len;
	u32 off;

	if (!before(*from, end) || !after(to, seq))
		return 0;
	off = after(*from, seq) ? *from - seq : 0;
	if (after(end, to))
		end = to;
	if (copy_bytes(q, skb, off, end - seq - off))
		return -ENOMEM;
	*from = end;
	return 0;
}

static int snapshot_data(struct sock *sk, struct chim_tcp_delegated *d)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct sk_buff *skb;
	struct rb_node *p;
	u32 seq;

	/* The send chain: from SndUna, first what was sent, then the rest. */
	seq = tp->snd_una;
	for (p = rb_first(&sk->tcp_rtx_queue); p; p = rb_next(p))
		if (copy_seq(&d->send_data, rb_to_skb(p), &seq, tp->write_seq))
			return -ENOMEM;
	skb_queue_walk(&sk->sk_write_queue, skb)
		if (copy_seq(&d->send_data, skb, &seq, tp->write_seq))
			return -ENOMEM;
	if (seq != tp->write_seq)
		return -EPROTO;

	/* BufferedData: received, acknowledged, not read yet. */
	seq = tp->copied_seq;
	skb_queue_walk(&sk->sk_receive_queue, skb)
		if (copy_seq(&d->buffered_data, skb, &seq, tp->rcv_nxt))
			return -ENOMEM;
	if (seq != tp->rcv_nxt)
		return -EPROTO;
	return 0;
}

static u32 clamp_mul(u32 a, u32 b)
{
	return min_t(u64, (u64)a * b, U32_MAX);
}

/*
 * The TTL or hop limit the socket's segments carry: its own option, else
 * its route's (the socket option is -1 then, not a value to copy).
 */
static u8 conn_ttl(struct sock *sk)
{
	struct dst_entry *dst = __sk_dst_get(sk);
	int ttl;

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		ttl = inet6_sk(sk)->hop_limit;
		if (ttl < 0)
			ttl = dst ? ip6_dst_hoplimit(dst) :
			      READ_ONCE(sock_net(sk)->ipv6.devconf_all->hop_limit);
		return ttl;
	}
#endif
	ttl = inet_sk(sk)->uc_ttl;
	if (ttl < 0)
		ttl = dst ? ip4_dst_hoplimit(dst) :
		      READ_ONCE(sock_net(sk)->ipv4.sysctl_ip_default_ttl);
	return ttl;
}

static void snapshot_state(struct sock *sk, struct chim_sock *csk,
			   struct chim_conn *conn)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	struct chim_tcp_delegated *d = &conn->d;
	struct chim_sock_snap *s = &csk->snap;
	u32 mss = tp->mss_cache;

	conn->c.flags = (tp->rx_opt.tstamp_ok ? CHIM_TCP_FLAG_TIMESTAMP_ENABLED : 0) |
			(tp->rx_opt.sack_ok ? CHIM_TCP_FLAG_SACK_ENABLED : 0) |
			(tp->rx_opt.wscale_ok ?
			 CHIM_TCP_FLAG_WINDOW_SCALING_ENABLED : 0);
	conn->c.snd_wind_scale = tp->rx_opt.snd_wscale;
	conn->c.rcv_wind_scale = tp->rx_opt.rcv_wscale;
	conn->c.remote_mss = tp->rx_opt.mss_clamp;
	conn->cached.flags =
		(sock_flag(sk, SOCK_KEEPOPEN) ? CHIM_TCP_FLAG_KEEP_ALIVE_ENABLED : 0) |
		(tp->nonagle & TCP_NAGLE_OFF ? 0 : CHIM_TCP_FLAG_NAGLING_ENABLED);
	conn->cached.initial_rcv_wnd = tp->rcv_wnd;
	conn->cached.ka_probe_count = keepalive_probes(tp);
	conn->cached.ka_timeout = jiffies_to_msecs(keepalive_time_when(tp));
	conn->cached.ka_interval = jiffies_to_msecs(keepalive_intvl_when(tp));
	conn->cached.ttl_or_hop_limit = conn_ttl(sk);
	conn->cached.tos_or_traffic_class = inet_sk(sk)->tos;
	conn->cached.user_priority = sk->sk_priority;

	d->state = CHIM_TCP_ESTABLISHED;
	d->rcv_nxt = tp->rcv_nxt;
	d->rcv_wnd = tp->rcv_wnd;
	d->snd_una = tp->snd_una;
	d->snd_nxt = tp->snd_nxt;
	d->snd_max = tp->snd_nxt;
	d->snd_wnd = tp->snd_wnd;
	d->max_snd_wnd = tp->max_window;
	d->send_wl1 = tp->snd_wl1;
	d->cwnd = clamp_mul(tcp_snd_cwnd(tp), mss);
	d->ss_thresh = clamp_mul(tp->snd_ssthresh, mss);
	/* SRtt and RttVar in milliseconds, scaled by 8 and 4. */
	d->srtt = min_t(u32, tp->srtt_us / USEC_PER_MSEC, U16_MAX);
	d->rtt_var = min_t(u32, tp->rttvar_us / USEC_PER_MSEC, U16_MAX);
	d->ts_recent = tp->rx_opt.ts_recent;
	d->ts_recent_age = ktime_get_seconds() - tp->rx_opt.ts_recent_stamp;
	/* The target's TSval is the host clock plus this, as the host's is. */
	d->ts_time = tp->tsoffset;
	d->total_rt = tp->total_retrans;
	d->snd_wnd_probe_count = icsk->icsk_probes_out;
	d->keepalive.probe_count = 0;
	d->keepalive.timeout_delta = sock_flag(sk, SOCK_KEEPOPEN) ?
		jiffies_to_msecs(keepalive_time_when(tp)) : CHIM_TIMER_NOT_RUNNING;
	d->retransmit.count = icsk->icsk_retransmits;
	d->retransmit.timeout_delta = icsk->icsk_pending == ICSK_TIME_RETRANS ?
		jiffies_to_msecs(max_t(long, icsk->icsk_timeout - jiffies, 0)) :
		CHIM_TIMER_NOT_RUNNING;
	d->send_backlog_size = s->sndbuf;
	d->receive_backlog_size = READ_ONCE(sk->sk_rcvbuf);

	s->rcv_nxt = tp->rcv_nxt;
	s->rcv_wup = tp->rcv_wup;
	s->rcv_wnd = tp->rcv_wnd;
	s->snd_cwnd = tcp_snd_cwnd(tp);
	s->snd_ssthresh = tp->snd_ssthresh;
	s->srtt_us = tp->srtt_us;
	s->mdev_us = tp->mdev_us;
	s->mdev_max_us = tp->mdev_max_us;
	s->rttvar_us = tp->rttvar_us;
	s->rtt_seq = tp->rtt_seq;
	s->ts_recent = tp->rx_opt.ts_recent;
	s->ts_recent_stamp = tp->rx_opt.ts_recent_stamp;
	s->rto = icsk->icsk_rto;
	s->sent = *d;
	skb_queue_head_init(&s->sent.send_data);
	skb_queue_head_init(&s->sent.buffered_data);
}

/* The host's queues now live in the target: free them, with accounting. */
static void purge_queues(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct sk_buff *skb;
	struct rb_node *p;

	while ((skb = __skb_dequeue(&sk->sk_write_queue))) {
		tcp_skb_tsorted_anchor_cleanup(skb);
		tcp_wmem_free_skb(sk, skb);
	}
	p = rb_first(&sk->tcp_rtx_queue);
	while (p) {
		skb = rb_to_skb(p);
		p = rb_next(p);
		tcp_rtx_queue_unlink(skb, sk);
		tcp_wmem_free_skb(sk, skb);
	}
	INIT_LIST_HEAD(&tp->tsorted_sent_queue);
	tcp_clear_all_retrans_hints(tp);
	tp->highest_sack = NULL;
	tp->packets_out = 0;
	inet_csk(sk)->icsk_backoff = 0;
	__skb_queue_purge(&sk->sk_receive_queue);
	sk_mem_reclaim(sk);
}

static int eligible(struct sock *sk, struct chim_sock *csk,
		    struct chim_dev *cd, struct netlink_ext_ack *extack)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct dst_entry *dst;
	bool same_dev;

	if (sk->sk_state != TCP_ESTABLISHED) {
		NL_SET_ERR_MSG(extack, "the connection is not established");
		return -ENOTCONN;
	}
	if (csk->state != CHIM_SK_HOST || csk->closing) {
		NL_SET_ERR_MSG(extack, "the connection is already offloaded or closing");
		return -EALREADY;
	}
	if (tp->repair || tp->urg_data || sk_is_mptcp(sk) ||
	    rcu_access_pointer(tp->fastopen_rsk)) {
		NL_SET_ERR_MSG(extack,
			       "the connection uses repair mode, urgent data, MPTCP or Fast Open");
		return -EOPNOTSUPP;
	}
#ifdef CONFIG_TCP_MD5SIG
	if (rcu_access_pointer(tp->md5sig_info)) {
		NL_SET_ERR_MSG(extack, "the connection uses TCP-MD5 signatures");
		return -EOPNOTSUPP;
	}
#endif
	if (sock_flag(sk, SOCK_ZEROCOPY) || sock_flag(sk, SOCK_TXTIME)) {
		NL_SET_ERR_MSG(extack, "the socket uses zerocopy or SO_TXTIME");
		return -EOPNOTSUPP;
	}
	if (inet_csk(sk)->icsk_ca_state != TCP_CA_Open || tp->sacked_out ||
	    tp->lost_out || tp->retrans_out ||
	    !RB_EMPTY_ROOT(&tp->out_of_order_queue)) {
		NL_SET_ERR_MSG(extack,
			       "the connection is recovering losses or holds out-of-order data");
		return -EBUSY;
	}
	/* A route dropped meanwhile (the device went down) is looked up again. */
	inet_csk(sk)->icsk_af_ops->rebuild_header(sk);
	dst = __sk_dst_get(sk);
	same_dev = dst && dst->dev == cd->dev;
	if (!same_dev) {
		NL_SET_ERR_MSG(extack,
			       "the connection's route does not leave through the device");
		return -EXDEV;
	}
	return 0;
}

/* ---- objects --------------------------------------------------------------- */

/* The neighbor and path below which @sk's connection goes, found or new. */
static struct chim_path *sock_path(struct sock *sk, struct chim_dev *cd,
				   const struct chim_tuple *t)
{
	struct dst_entry *dst = __sk_dst_get(sk);
	struct chim_neigh_cached ncached = {};
	struct chim_neigh_const nc = {};
	struct chim_path_cached pcached = { .path_mtu = dst_mtu(dst) };
	struct chim_path_const pc = {
		.source_address = t->laddr,
		.destination_address = t->raddr,
		.family = t->family,
	};
	struct in6_addr nh;
	struct neighbour *n;

	if (t->family == AF_INET) {
		struct rtable *rt = container_of(dst, struct rtable, dst);
		__be32 gw = rt_nexthop(rt, inet_sk(sk)->inet_daddr);

		ipv6_addr_set_v4mapped(gw, &nh);
	} else {
		struct rt6_info *rt = container_of(dst, struct rt6_info, dst);

		nh = *rt6_nexthop(rt, &sk->sk_v6_daddr);
	}
	ether_addr_copy(nc.dl_source_address, cd->dev->dev_addr);
	n = dst_neigh_lookup(dst, t->family == AF_INET ?
			     (void *)&nh.s6_addr32[3] : (void *)&nh);
	if (n) {
		neigh_ha_snapshot(ncached.dl_destination_address, n, cd->dev);
		neigh_release(n);
	}

	return chim_path_lookup(cd->host, &nh, &nc, &ncached, &pc, &pcached);
}

/**
 * chim_sock_tuple() - the 4-tuple of a TCP socket, seen from it
 * @sk: the socket
 * @t: filled in (an IPv4-mapped IPv6 socket gives an IPv4 tuple)
 */
void chim_sock_tuple(const struct sock *sk, struct chim_tuple *t)
{
	const struct inet_sock *inet = inet_sk(sk);

	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr))
		chim_tuple_init6(t, &sk->sk_v6_rcv_saddr, inet->inet_sport,
				 &sk->sk_v6_daddr, inet->inet_dport);
	else
		chim_tuple_init4(t, inet->inet_rcv_saddr, inet->inet_sport,
				 inet->inet_daddr, inet->inet_dport);
}

/* ---- offload ------------------------------------------------------------------- */

/* The binding of the device @sk's cached route leaves by, or NULL. */
static struct chim_dev *cached_route_dev(struct sock *sk)
{
	struct dst_entry *dst = sk_dst_get(sk);
	struct chim_dev *cd = NULL;

	if (dst && dst->dev)
		cd = chim_dev_lookup(dst->dev);
	dst_release(dst);
	return cd;
}

/**
 * chim_sock_route_dev() - the target a connection leaves by
 * @sk: a TCP socket
 * @reroute: when the cached route leads to no target, look it up again
 *	(takes the socket lock): an idle connection still caches the route
 *	its device dropped when it went down
 *
 * Context: RTNL held.
 * Return: the binding of the device, or NULL.
 */
struct chim_dev *chim_sock_route_dev(struct sock *sk, bool reroute)
{
	struct chim_dev *cd = cached_route_dev(sk);

	if (cd || !reroute)
		return cd;
	lock_sock(sk);
	inet_csk(sk)->icsk_af_ops->rebuild_header(sk);
	release_sock(sk);
	return cached_route_dev(sk);
}

/* A connection object that never reached the target goes away. */
static void drop_new_conn(struct chim_conn *conn)
{
	struct chim_host *host = conn->obj.host;

	mutex_lock(&host->lock);
	if (conn->obj.state == CHIM_STATE_NEW) {
		chim_obj_set_state(&conn->obj, CHIM_STATE_DEAD);
		chim_obj_unlink(&conn->obj);
	}
	mutex_unlock(&host->lock);
}

/* The offload did not happen: the stock stack goes on, nothing changed. */
static void offload_undo(struct sock *sk, struct chim_sock *csk)
{
	struct chim_conn *conn = csk->conn;

	chim_sock_stop_catching(csk);
	chim_sock_thaw(sk, csk);
	atomic_set(&csk->tx_queued, 0);
	WRITE_ONCE(csk->state, CHIM_SK_HOST);
	csk_set_conn(csk, NULL);
	csk->freeze_locked = false;
	release_sock(sk);
	chim_sock_release_caught(sk, csk, false);
	if (conn) {
		drop_new_conn(conn);
		skb_queue_purge(&conn->d.send_data);
		skb_queue_purge(&conn->d.buffered_data);
		chim_obj_put(&conn->obj);
		chim_sock_put(csk);
		sock_put(sk);
	}
	wake_up_all(&csk->wq);
}

/**
 * chim_sock_offload() - hand a live TCP connection to a device's target
 * @sk: an established TCP socket, referenced by the caller
 * @cd: the device its route leaves through
 * @priority: 0 (lowest) to 7
 * @extack: receives the reason of a refusal
 *
 * Attaches the chimney ULP when the socket has none, freezes the socket,
 * and runs the initiate.  A refused or failed offload leaves the socket to
 * the stock stack, untouched.
 *
 * Context: process, RTNL held, socket not locked.
 * Return: 0 when offloaded, else a negative errno (with @extack set).
 */
int chim_sock_offload(struct sock *sk, struct chim_dev *cd, u8 priority,
		      struct netlink_ext_ack *extack)
{
	struct chim_sock *csk;
	struct chim_path *path;
	struct chim_conn *conn;
	struct chim_tuple t;
	bool fresh;
	int err;

	ASSERT_RTNL();
	/*
	 * A kernel socket (NFS, iSCSI, a tunnel) may send from memory
	 * reclaim or with locks held: never make it wait for an upload.
	 */
	if (sk->sk_kern_sock) {
		NL_SET_ERR_MSG(extack, "a kernel socket is never offloaded");
		return -EPERM;
	}
	err = chim_dev_admit(cd, extack);
	if (err)
		return err;
	fresh = !chim_sock_ctx(sk);
	err = chim_sock_attach_ulp(sk, extack);
	if (err)
		return err;
	csk = chim_sock_ctx(sk);
	lock_sock(sk);
	csk->attempted = true;
	WRITE_ONCE(csk->reoffload, false);
	csk->stock_asked = false;
	sk_flush_backlog(sk);
	/*
	 * A call that waits for the lock on a socket that had no ULP entered
	 * the stock stack before ours: frozen under it, a send would wait for
	 * room and a read for data the target took (chim_release_cb() then
	 * asks for the upload).  Not now: its next segment out lets a rule
	 * try again, and the calls after it come through ours.
	 */
	if (fresh && waitqueue_active(&sk->sk_lock.wq)) {
		NL_SET_ERR_MSG(extack,
			       "an application call on the socket is under way; try again");
		WRITE_ONCE(csk->reoffload, true);
		err = -EAGAIN;
		goto out_unlock;
	}
	err = eligible(sk, csk, cd, extack);
	if (!err && chim_host_full(cd->host)) {
		/* One socket lock at a time: the victim's restore takes its own. */
		release_sock(sk);
		err = chim_host_make_room(cd->host, priority);
		if (err)
			NL_SET_ERR_MSG(extack,
				       "the target is full and runs no connection of a lower priority");
		lock_sock(sk);
		if (!err)
			err = eligible(sk, csk, cd, extack);
	}
	if (err)
		goto out_unlock;

	chim_sock_tuple(sk, &t);
	err = -ENOMEM;
	path = sock_path(sk, cd, &t);
	if (!path)
		goto out_unlock;
	conn = chim_conn_create(path, &t);
	chim_obj_put(&path->obj);
	if (!conn)
		goto out_unlock;
	conn->priority = priority;
	conn->ops = &chim_sock_conn_ops;
	conn->owner = csk;
	refcount_inc(&csk->ref);	/* the connection's */
	sock_hold(sk);

	freeze(sk, csk, cd->host);
	snapshot_state(sk, csk, conn);
	err = snapshot_data(sk, &conn->d);
	csk_set_conn(csk, conn);
	WRITE_ONCE(csk->state, CHIM_SK_OFFLOADING);
	csk->freeze_locked = true;
	csk->ifindex = cd->dev->ifindex;
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot copy the connection's queued data");
		offload_undo(sk, csk);
		return err;
	}

	/* ->offloaded() releases the socket; the target may upload it at once. */
	err = chim_host_offload_conn(cd->host, conn);
	if (csk->freeze_locked)
		offload_undo(sk, csk);
	if (err)
		NL_SET_ERR_MSG_FMT(extack, "the target refused the connection (%d)",
				   err);
	csk->last_err = err;
	return err;

out_unlock:
	csk->last_err = err;
	release_sock(sk);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_sock_offload);

/* ---- the initiate's completion ------------------------------------------- */

/**
 * chim_sock_offloaded() - the host's ->offloaded(): the initiate completed
 * @conn: the socket's connection
 * @status: the initiate's status
 * @d: the delegated state handed over (not read: the socket has its own)
 *
 * On success the host queues are purged (the target has a copy of every
 * byte); on failure the offload is undone.  Either way, the socket lock
 * chim_sock_offload() took is released.
 *
 * Context: process, in chim_sock_offload()'s initiate, socket locked.
 */
void chim_sock_offloaded(struct chim_conn *conn, enum chim_status status,
			 struct chim_tcp_delegated *d)
{
	struct chim_sock *csk = conn->owner;
	struct sock *sk = csk->sk;

	if (!chim_status_ok(status)) {
		offload_undo(sk, csk);
		return;
	}
	/* The target has the state and a copy of every byte. */
	purge_queues(sk);
	WRITE_ONCE(csk->state, CHIM_SK_OFFLOADED);
	WRITE_ONCE(csk->offloads, csk->offloads + 1);
	/*
	 * The room of the emptied buffer: a target that runs the connection
	 * indicates the unread data back (it waits on csk->pending until the
	 * release below), so that a reader never waits for it.
	 */
	chim_host_conn_room(conn, tcp_space(sk));
	/* Cleared after: chim_release_cb() tells this release from others. */
	release_sock(sk);
	csk->freeze_locked = false;
	/* Its send queue went to the target: room to write (chim_poll()). */
	if (chim_sock_frozen_writable(sk, csk))
		chim_sock_wake_writers(sk);
}
