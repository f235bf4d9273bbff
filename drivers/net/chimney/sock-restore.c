// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer's upload: the thaw, the host's callbacks of a terminate
 * and the restore.
 *
 * Upload (terminate, Part 2): the host locks the socket before the target
 * stops the connection and keeps it locked until the socket is restored:
 * sequence numbers and windows written back, unread data requeued into the
 * receive queue and in-flight data into the retransmit queue (repair
 * mode), unsent data queued normally, congestion and RTT state, timers.
 * Segments caught meanwhile are then processed by the stock stack.
 */
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/tcp.h>

#include "sock.h"

/* ---- thaw ---------------------------------------------------------------- */

/* Timers the stock stack runs on a live connection, armed again. */
static void rearm_timers(struct sock *sk, struct chim_sock *csk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);

	if (tp->packets_out && !icsk->icsk_pending)
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, icsk->icsk_rto,
					  TCP_RTO_MAX);
	else if (tcp_send_head(sk))
		tcp_check_probe_timer(sk);
	if (csk->snap.ack_owed) {
		icsk->icsk_ack.pending |= ICSK_ACK_SCHED;
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_DACK, TCP_DELACK_MIN,
					  TCP_RTO_MAX);
	}
	if (sock_flag(sk, SOCK_KEEPOPEN))
		inet_csk_reset_keepalive_timer(sk, keepalive_time_when(tp));
}

/* The send buffer back (unless SO_SNDBUF set one meanwhile). */
static void open_sndbuf(struct sock *sk, struct chim_sock *csk)
{
	if (!sk->sk_sndbuf)
		WRITE_ONCE(sk->sk_sndbuf, csk->snap.sndbuf);
}

/**
 * chim_sock_thaw() - stop holding the backlog; what was held goes to the
 *	stock stack now
 * @sk: a frozen socket, restored or never offloaded
 * @csk: its context
 *
 * The send buffer comes back and the stock stack's timers are armed again.
 *
 * Context: process, socket locked.
 */
void chim_sock_thaw(struct sock *sk, struct chim_sock *csk)
{
	struct sk_buff *skb;

	open_sndbuf(sk, csk);
	while ((skb = __skb_dequeue(&csk->held)))
		csk->base_backlog_rcv(sk, skb);
	sk->sk_backlog_rcv = csk->base_backlog_rcv;
	rearm_timers(sk, csk);
}

/* ---- the host's callbacks --------------------------------------------------------- */

static void sock_upload_begin(struct chim_conn *conn)
{
	struct chim_sock *csk = conn->owner;

	lock_sock(csk->sk);
	WRITE_ONCE(csk->state, CHIM_SK_UPLOADING);
	/* The restore may send; the socket is owned until it is done. */
	chim_sock_stop_catching(csk);
}

/* Drop @n bytes from the head of @q. */
static void consume(struct sk_buff_head *q, u32 n)
{
	while (n) {
		struct sk_buff *skb = skb_peek(q);
		u32 c = min(n, skb->len);

		__skb_pull(skb, c);
		if (!skb->len)
			kfree_skb(__skb_dequeue(q));
		n -= c;
	}
}

/*
 * Queue @len bytes from @q (consumed) through tcp_sendmsg_locked(), all in
 * one call where the socket takes them: the stock stack cuts them into
 * skbs and segments as it cuts an application's data.
 */
static int requeue(struct sock *sk, struct sk_buff_head *q, u32 len)
{
	struct sk_buff *skb;
	struct kvec *kv;
	int err = 0;

	if (!len)
		return 0;
	kv = kvmalloc_array(skb_queue_len(q), sizeof(*kv), GFP_KERNEL);
	if (!kv)
		return -ENOMEM;
	while (len) {
		/* EOR: the last skb is never corked or appended to. */
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_EOR };
		unsigned int nr = 0;
		u32 left = len;
		int n;

		skb_queue_walk(q, skb) {
			if (!left)
				break;
			if (skb_linearize(skb)) {
				err = -ENOMEM;
				goto out;
			}
			kv[nr].iov_base = skb->data;
			kv[nr].iov_len = min(left, skb->len);
			left -= kv[nr++].iov_len;
		}
		if (left) {
			err = -EPROTO;
			break;
		}
		iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, kv, nr, len);
		n = tcp_sendmsg_locked(sk, &msg, len);
		if (n <= 0) {
			err = n ?: -ENOBUFS;
			break;
		}
		consume(q, n);
		len -= n;
	}
out:
	kvfree(kv);
	return err;
}

/* Part 2 done: the connection goes on in the stock stack, in this socket. */
static int restore(struct sock *sk, struct chim_sock *csk,
		   struct chim_tcp_delegated *d)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	const struct chim_tcp_delegated *sent = &csk->snap.sent;
	const struct chim_sock_snap *s = &csk->snap;
	struct tcp_sock *tp = tcp_sk(sk);
	u32 rx = chim_skb_queue_bytes(&d->buffered_data);
	u32 tx = chim_skb_queue_bytes(&d->send_data);
	u32 inflight = d->snd_nxt - d->snd_una;
	u32 sock_end;
	int sndbuf = s->sndbuf, rcvbuf = sk->sk_rcvbuf;
	u64 now;
	int err;

	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return -ENOTCONN;
	/*
	 * I1: the send chain is everything from SndUna the socket handed
	 * over (at the offload and since), and what was sent is in it.
	 */
	if (inflight > tx || d->snd_una + tx != tp->write_seq ||
	    d->snd_nxt != d->snd_max)
		return -EPROTO;
	/* What the engine indicated while the socket was owned, first. */
	spin_lock_bh(&sk->sk_lock.slock);
	chim_sock_drain_pending(sk, csk);
	spin_unlock_bh(&sk->sk_lock.slock);
	/*
	 * The socket's data ends where the application's queue ends (data
	 * the engine delivered), or where it stopped reading when the offload
	 * took its unread data; the target's RcvNxt is that plus what it
	 * buffered.  Anything else would lose or repeat bytes: reset.
	 */
	sock_end = skb_queue_empty(&sk->sk_receive_queue) ? tp->copied_seq :
							 tp->rcv_nxt;
	if (sock_end + rx != d->rcv_nxt)
		return -EPROTO;
	/*
	 * The queues take back what they held before, whatever the buffers
	 * (truesize: an skb of a 1,228-byte MSS costs about twice its bytes,
	 * so twice was not always enough: EAGAIN, a reset).  The receive
	 * queue may hold the engine's deliveries already, up to and past a
	 * buffer the application shrank: the kept data comes on top.
	 */
	WRITE_ONCE(sk->sk_sndbuf, max_t(int, sndbuf, 4 * tx + SOCK_MIN_SNDBUF));
	WRITE_ONCE(sk->sk_rcvbuf, max_t(int, rcvbuf,
					atomic_read(&sk->sk_rmem_alloc) +
					2 * rx + SOCK_MIN_RCVBUF));

	/* The clock repair-mode stamps skbs with. */
	now = tcp_clock_ns();
	tp->tcp_clock_cache = now;
	tp->tcp_mstamp = div_u64(now, NSEC_PER_USEC);

	/* Windows, timestamps, congestion and RTT state. */
	tp->snd_wl1 = d->send_wl1;
	tp->snd_wnd = d->snd_wnd;
	tp->max_window = d->max_snd_wnd;
	tp->rcv_wnd = d->rcv_nxt == s->rcv_nxt && d->rcv_wnd == sent->rcv_wnd ?
		      s->rcv_wnd : d->rcv_wnd;
	if (d->ts_recent == sent->ts_recent) {
		tp->rx_opt.ts_recent = s->ts_recent;
		tp->rx_opt.ts_recent_stamp = s->ts_recent_stamp;
	} else {
		tp->rx_opt.ts_recent = d->ts_recent;
		tp->rx_opt.ts_recent_stamp = ktime_get_seconds();
	}
	tcp_snd_cwnd_set(tp, d->cwnd == sent->cwnd ? s->snd_cwnd :
			 max_t(u32, d->cwnd / tp->mss_cache, 1));
	tp->snd_ssthresh = d->ss_thresh == sent->ss_thresh ? s->snd_ssthresh :
			   max_t(u32, d->ss_thresh / tp->mss_cache, 2);
	tp->snd_cwnd_stamp = tcp_jiffies32;
	if (d->srtt == sent->srtt && d->rtt_var == sent->rtt_var) {
		tp->srtt_us = s->srtt_us;
		tp->mdev_us = s->mdev_us;
		tp->mdev_max_us = s->mdev_max_us;
		tp->rttvar_us = s->rttvar_us;
		icsk->icsk_rto = s->rto;
		tp->rtt_seq = s->rtt_seq;
	} else {
		tp->srtt_us = d->srtt * USEC_PER_MSEC;
		tp->rttvar_us = max_t(u32, d->rtt_var * USEC_PER_MSEC,
				      tcp_rto_min_us(sk));
		tp->mdev_us = tp->rttvar_us;
		tp->mdev_max_us = tp->rttvar_us;
		icsk->icsk_rto = __tcp_set_rto(tp);
		tcp_bound_rto(sk);
		tp->rtt_seq = d->snd_nxt;
	}

	/* Unread data back into the receive queue, ending at RcvNxt. */
	tp->rcv_nxt = sock_end;
	tp->rcv_wup = tp->rcv_nxt;
	tp->repair = 1;
	tp->repair_queue = TCP_RECV_QUEUE;
	err = requeue(sk, &d->buffered_data, rx);
	if (!err && tp->rcv_nxt != d->rcv_nxt)
		err = -EPROTO;
	tp->rcv_wup = d->rcv_nxt == s->rcv_nxt ? s->rcv_wup : d->rcv_nxt;

	/* In-flight data into the retransmit queue, as sent. */
	tp->snd_una = d->snd_una;
	tp->snd_sml = d->snd_una;
	tp->snd_nxt = d->snd_una;
	tp->snd_up = d->snd_una;
	tp->pushed_seq = d->snd_una;
	WRITE_ONCE(tp->write_seq, d->snd_una);
	tp->repair_queue = TCP_SEND_QUEUE;
	if (!err)
		err = requeue(sk, &d->send_data, inflight);
	if (!err && (tp->snd_nxt != d->snd_nxt || tcp_send_head(sk)))
		err = -EPROTO;
	tp->repair = 0;
	tp->repair_queue = TCP_NO_QUEUE;

	/* Idle and auxiliary state, as if the host had run it all along. */
	tp->lsndtime = tcp_jiffies32;
	tp->rcv_tstamp = tcp_jiffies32;
	icsk->icsk_ack.lrcvtime = tcp_jiffies32;
	tp->rcvq_space.seq = tp->copied_seq;
	tp->rcvq_space.time = tp->tcp_mstamp;
	tp->tlp_high_seq = 0;
	icsk->icsk_probes_out = 0;

	/*
	 * The retransmit timer goes on from what the target left of it: armed
	 * afresh at each upload, a timer shorter than the time between two
	 * handoffs would never fire, and a lost segment never be resent.
	 */
	if (tp->packets_out &&
	    d->retransmit.timeout_delta != CHIM_TIMER_NOT_RUNNING)
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS,
					  msecs_to_jiffies(d->retransmit.timeout_delta),
					  TCP_RTO_MAX);

	/* Never-sent data, queued (and sent) by the stock stack. */
	if (!err)
		err = requeue(sk, &d->send_data, tx - inflight);
	WRITE_ONCE(sk->sk_sndbuf, sndbuf);
	WRITE_ONCE(sk->sk_rcvbuf, rcvbuf);
	tcp_fast_path_check(sk);
	if (rx)
		sk->sk_data_ready(sk);
	return err;
}

static void upload_done(struct sock *sk, struct chim_sock *csk)
{
	struct chim_conn *conn = csk->conn;

	atomic_set(&csk->tx_queued, 0);
	WRITE_ONCE(csk->state, CHIM_SK_HOST);
	csk_set_conn(csk, NULL);
	release_sock(sk);
	chim_sock_release_caught(sk, csk, false);
	wake_up_all(&csk->wq);
	sk->sk_write_space(sk);
	/* A send waiting for the target's room goes on with the stock stack. */
	chim_sock_wake_writers(sk);
	chim_obj_put(&conn->obj);
	sock_put(sk);
	chim_sock_put(csk);
}

/*
 * The state is lost: reset the connection (the application sees
 * ECONNRESET, the peer an RST).  With @by_peer, the peer reset it: end it
 * as the stock stack ends a connection on an RST (tcp_reset()), without
 * an answer; the data already in the receive queue stays readable first.
 */
static void sock_reset(struct sock *sk, struct chim_sock *csk, bool by_peer)
{
	struct sk_buff *skb;

	chim_sock_stop_catching(csk);
	chim_sock_release_caught(sk, csk, true);
	while ((skb = __skb_dequeue(&csk->held)))
		kfree_skb(skb);
	sk->sk_backlog_rcv = csk->base_backlog_rcv;
	open_sndbuf(sk, csk);
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return;
	if (!by_peer || sock_flag(sk, SOCK_DEAD)) {
		tcp_disconnect(sk, 0);
		return;
	}
	/* Its queues went to the target at the offload: nothing to purge. */
	WRITE_ONCE(sk->sk_err, sk->sk_state == TCP_CLOSE_WAIT ? EPIPE : ECONNRESET);
	smp_wmb();	/* as tcp_done_with_error(), for tcp_poll() */
	tcp_done(sk);
	sk_error_report(sk);
}

static void sock_uploaded(struct chim_conn *conn, struct chim_tcp_delegated *d)
{
	struct chim_sock *csk = conn->owner;
	struct sock *sk = csk->sk;
	int err;

	err = restore(sk, csk, d);
	skb_queue_purge(&d->send_data);
	skb_queue_purge(&d->buffered_data);
	if (err) {
		/* No way back mid-restore: reset rather than corrupt. */
		net_warn_ratelimited("chimney: restore of a connection failed (%d), resetting it\n",
				     err);
		sock_reset(sk, csk, false);
	} else {
		chim_sock_thaw(sk, csk);
		WRITE_ONCE(csk->uploads, csk->uploads + 1);
	}
	upload_done(sk, csk);
}

static void sock_aborted(struct chim_conn *conn, enum chim_status status)
{
	struct chim_sock *csk = conn->owner;

	sock_reset(csk->sk, csk, status == CHIM_STATUS_REQUEST_ABORTED);
	upload_done(csk->sk, csk);
}

/*
 * ->receive, any context: in-order data the engine received goes into
 * the application's queue, as the stock stack would put it there.  Only
 * while offloaded, or while the offload's completion is processed (the
 * engine runs from the target's completion on; the offloader owns the
 * socket then, and the data waits on csk->pending until its release, after
 * the offload purged the queue), and only while the receive buffer is not
 * full (the data is within the window the engine advertised from its
 * room): a refused indication stays the target's.  An owned socket takes
 * it at its release_cb.
 */
static bool sock_receive(struct chim_conn *conn, struct sk_buff *skb,
			 int *room)
{
	struct chim_sock *csk = conn->owner;
	struct sock *sk = csk->sk;
	enum chim_sock_state state;
	bool taken = false, now = false;

	bh_lock_sock(sk);
	state = READ_ONCE(csk->state);
	/*
	 * As the stock stack: in-window data fits while the buffer is not
	 * full.  An owned socket's memory accounting is its owner's: the
	 * data waits uncharged (the stock stack's backlog does the same).
	 */
	if (skb && (state == CHIM_SK_OFFLOADED ||
		    (state == CHIM_SK_OFFLOADING && sock_owned_by_user(sk))) &&
	    atomic_read(&sk->sk_rmem_alloc) + csk->pending_size <=
	    READ_ONCE(sk->sk_rcvbuf)) {
		if (sock_owned_by_user(sk)) {
			skb_dst_drop(skb);
			__skb_queue_tail(&csk->pending, skb);
			csk->pending_size += skb->truesize;
			taken = true;
		} else if (sk_rmem_schedule(sk, skb, skb->truesize)) {
			skb_dst_drop(skb);
			skb_set_owner_r(skb, sk);
			chim_sock_deliver(sk, skb);
			taken = true;
			now = true;
		}
	}
	*room = tcp_space(sk) - csk->pending_size;
	bh_unlock_sock(sk);
	if (now)
		sk->sk_data_ready(sk);
	return taken;
}

/*
 * ->sent, any context: the peer acknowledged @bytes more of what the
 * socket handed to the target: room in its send buffer again.
 */
static void sock_sent(struct chim_conn *conn, u32 snd_una, u32 bytes)
{
	struct chim_sock *csk = conn->owner;
	struct sock *sk = csk->sk;

	atomic_sub(bytes, &csk->tx_queued);
	WRITE_ONCE(tcp_sk(sk)->snd_una, snd_una);
	if (chim_sock_frozen_writable(sk, csk))
		chim_sock_wake_writers(sk);
}

/* The host's callbacks of a socket's connection (chim_sock_offload()). */
const struct chim_conn_ops chim_sock_conn_ops = {
	.offloaded = chim_sock_offloaded,
	.upload_begin = sock_upload_begin,
	.uploaded = sock_uploaded,
	.aborted = sock_aborted,
	.receive = sock_receive,
	.sent = sock_sent,
	.one_per_tree = true,
};
