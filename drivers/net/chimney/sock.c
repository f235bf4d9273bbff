// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer: the TCP ULP "chimney", which hands a live connection
 * to the target and takes it back into the same socket.  This file holds
 * what the rest of the layer shares: a socket's context and its
 * references, the count of the calls running in our operations, the
 * calls waiting in the stock stack.  The rest of the layer:
 *
 *  - ulp.c: the ULP's life (init, release, the socket's work items) and
 *    the module's exit;
 *  - sock-calls.c: the application calls on a socket that has the ULP;
 *  - sock-offload.c: eligibility, freeze, snapshot and the offload;
 *  - sock-restore.c: the host's callbacks of an upload, the restore;
 *  - catch.c: a frozen socket's segments the target does not see.
 */
#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/percpu-refcount.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <net/tcp.h>

#include "sock.h"

/* Calls running in our operations; the exit waits for the last one. */
struct percpu_ref chim_calls;
DECLARE_COMPLETION(chim_calls_done);

/* The sockets' work items (offload after an opt-in, upload requests). */
struct workqueue_struct *chim_sock_wq;
/* The task attaching the ULP for an offload (under RTNL), or NULL. */
struct task_struct *chim_attaching;
/* Our ULP's operations (ulp.c), which tell our sockets apart. */
const struct tcp_ulp_ops *chim_ulp __read_mostly;

/**
 * chim_sock_enter() - count a call running in our operations
 *
 * The module's exit waits for the last one (chim_sock_uninit()).
 *
 * Context: any.
 */
void chim_sock_enter(void)
{
	percpu_ref_get(&chim_calls);
}

/**
 * chim_sock_leave() - a call counted by chim_sock_enter() returns
 *
 * Context: any.
 */
void chim_sock_leave(void)
{
	percpu_ref_put(&chim_calls);
}

/*
 * A call that may wait long in the stock stack (a read with nothing to
 * read, a send with no room, a lingering close) is listed while it does,
 * on the list of the CPU it started on.  The module's exit cannot free its
 * text while such a call will return through it: it interrupts each one
 * as a signal would, without a signal (a task work of ours that does
 * nothing), so that the call returns what it did (the system call then
 * restarts on the stock operations, or returns a partial count).
 */
struct chim_blocked_list {
	spinlock_t lock;		/* protects @calls */
	struct list_head calls;
};

static DEFINE_PER_CPU(struct chim_blocked_list, chim_blocked);

/**
 * chim_sock_blocked_init() - the per-CPU lists of blocked calls, empty
 *
 * Context: module init.
 */
void chim_sock_blocked_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct chim_blocked_list *l = per_cpu_ptr(&chim_blocked, cpu);

		spin_lock_init(&l->lock);
		INIT_LIST_HEAD(&l->calls);
	}
}

/**
 * chim_sock_blocked_begin() - list a call about to wait in the stock stack
 * @b: on the caller's stack, listed until chim_sock_blocked_end()
 *
 * Context: process, in a call counted by chim_sock_enter(); takes the
 * CPU's blocked-call list lock.
 */
void chim_sock_blocked_begin(struct chim_blocked *b)
{
	struct chim_blocked_list *l;

	b->task = current;
	b->kicked = false;
	b->cpu = raw_smp_processor_id();
	l = per_cpu_ptr(&chim_blocked, b->cpu);
	spin_lock(&l->lock);
	list_add_tail(&b->node, &l->calls);
	spin_unlock(&l->lock);
}

/**
 * chim_sock_blocked_end() - the listed call is back from the stock stack
 * @b: as listed by chim_sock_blocked_begin()
 *
 * Context: process; takes the blocked-call list lock of the CPU @b is on.
 */
void chim_sock_blocked_end(struct chim_blocked *b)
{
	struct chim_blocked_list *l = per_cpu_ptr(&chim_blocked, b->cpu);

	spin_lock(&l->lock);
	list_del(&b->node);
	spin_unlock(&l->lock);
}

/* The task work of an interrupted call: its call has returned. */
static void blocked_kicked(struct callback_head *cb)
{
	kfree(cb);
	chim_sock_leave();
}

/*
 * Interrupt each listed call not interrupted yet (a task work with
 * TWA_SIGNAL wakes an interruptible wait as a signal does).
 *
 * Return: how many calls are listed.
 */
unsigned int chim_sock_kick_blocked(void)
{
	struct chim_blocked_list *l;
	struct callback_head *cb;
	struct chim_blocked *b;
	unsigned int n = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		l = per_cpu_ptr(&chim_blocked, cpu);
		spin_lock(&l->lock);
		list_for_each_entry(b, &l->calls, node) {
			n++;
			if (b->kicked)
				continue;
			cb = kmalloc(sizeof(*cb), GFP_ATOMIC);
			if (!cb)
				continue;	/* the next pass tries again */
			init_task_work(cb, blocked_kicked);
			chim_sock_enter();
			if (task_work_add(b->task, cb, TWA_SIGNAL)) {
				kfree(cb);
				chim_sock_leave();
				continue;
			}
			b->kicked = true;
		}
		spin_unlock(&l->lock);
	}
	return n;
}

/**
 * chim_sock_ctx() - the ULP context of a socket
 * @sk: a TCP socket
 *
 * Return: the context, or NULL when the socket has another ULP or none.
 */
struct chim_sock *chim_sock_ctx(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	if (icsk->icsk_ulp_ops != chim_ulp)
		return NULL;
	return (__force struct chim_sock *)icsk->icsk_ulp_data;
}
EXPORT_SYMBOL_IF_KUNIT(chim_sock_ctx);

/**
 * chim_sock_ctx_rcu() - the ULP context of a socket its caller does not own
 * @sk: a full TCP socket
 *
 * Context: RCU read side.
 * Return: the context, valid until the read section ends, or NULL when the
 * socket has another ULP or none.
 */
struct chim_sock *chim_sock_ctx_rcu(const struct sock *sk)
{
	if (READ_ONCE(inet_csk(sk)->icsk_ulp_ops) != chim_ulp)
		return NULL;
	return rcu_dereference(inet_csk(sk)->icsk_ulp_data);
}

/**
 * chim_sock_may_offload() - whether a rule may offload a socket now
 * @sk: a TCP socket
 *
 * Return: true when it is a user's socket and has no ULP, or ours and is
 * with the stock stack and not closing (uploaded earlier: rules apply
 * again after a link flap, a pause, or when a rule is added).
 */
bool chim_sock_may_offload(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_ulp_ops *ops = READ_ONCE(icsk->icsk_ulp_ops);
	struct chim_sock *csk;

	if (sk->sk_kern_sock)
		return false;
	if (!ops)
		return true;
	if (ops != chim_ulp)
		return false;
	csk = (__force struct chim_sock *)READ_ONCE(icsk->icsk_ulp_data);
	return csk && READ_ONCE(csk->state) == CHIM_SK_HOST &&
	       !READ_ONCE(csk->closing);
}
EXPORT_SYMBOL_IF_KUNIT(chim_sock_may_offload);

/* The connection the socket is offloaded as, held; NULL when it is not. */
struct chim_conn *chim_sock_get_conn(struct chim_sock *csk)
{
	struct chim_conn *conn;

	spin_lock_bh(&csk->lock);
	conn = csk->conn;
	if (conn)
		chim_obj_hold(&conn->obj);
	spin_unlock_bh(&csk->lock);
	return conn;
}
EXPORT_SYMBOL_IF_KUNIT(chim_sock_get_conn);

/* ---- the socket's work items --------------------------------------------- */

/**
 * chim_sock_queue_ask() - ask for the upload of a frozen socket that got a
 *	segment the target never saw
 * @sk: the socket
 * @csk: its context
 *
 * Queues @csk's ask_work (a Part 1 request), with the references it drops.
 *
 * Context: softirq (the catch) or process (the socket's backlog).
 * Return: false when it was queued already (that one asks).
 */
bool chim_sock_queue_ask(struct sock *sk, struct chim_sock *csk)
{
	refcount_inc(&csk->ref);
	sock_hold(sk);
	if (queue_work(chim_sock_wq, &csk->ask_work))
		return true;
	sock_put(sk);
	chim_sock_put(csk);
	return false;
}

/* ---- the ULP --------------------------------------------------------------- */

/**
 * chim_sock_put() - drop a reference on a socket's ULP context
 * @csk: the context
 *
 * tcp_diag reads the context under RCU only: the last reference frees it
 * after a grace period.
 *
 * Context: any.
 */
void chim_sock_put(struct chim_sock *csk)
{
	if (refcount_dec_and_test(&csk->ref))
		kfree_rcu(csk, rcu);
}

/**
 * chim_sock_attach_ulp() - give a socket the chimney ULP for an offload
 * @sk: a TCP socket
 * @extack: receives the reason of a refusal
 *
 * Context: process, RTNL held, socket not locked.
 * Return: 0 when the socket has our ULP (it had it, or has it now), else a
 * negative errno (with @extack set): -EBUSY for another ULP, the error of
 * the attach.
 */
int chim_sock_attach_ulp(struct sock *sk, struct netlink_ext_ack *extack)
{
	const struct tcp_ulp_ops *ulp = inet_csk(sk)->icsk_ulp_ops;
	int err;

	if (ulp == chim_ulp)
		return 0;
	if (ulp) {
		NL_SET_ERR_MSG_FMT(extack, "the socket has another TCP ULP (%s)",
				   ulp->name);
		return -EBUSY;
	}
	/* Ours, not an application's opt-in: no work item (RTNL serializes). */
	WRITE_ONCE(chim_attaching, current);
	err = sk->sk_prot->setsockopt(sk, SOL_TCP, TCP_ULP,
				      KERNEL_SOCKPTR(CHIM_ULP_NAME),
				      strlen(CHIM_ULP_NAME));
	WRITE_ONCE(chim_attaching, NULL);
	if (err)
		NL_SET_ERR_MSG_FMT(extack, "cannot attach the chimney ULP (%d)",
				   err);
	return err;
}

/**
 * chim_sock_frozen_writable() - whether poll reports a frozen socket writable
 * @sk: the socket
 * @csk: its context
 *
 * A frozen socket has no send buffer (freeze()), so the stock poll never
 * reports it writable, yet a send on it is taken: the send brings the
 * connection back first.  An event-loop application waits for EPOLLOUT
 * before it writes, so report what the stock poll would report with the
 * send buffer the socket had.  Racy by nature, as every poll is: the
 * state is read again by the send itself.
 *
 * Context: any, lockless.
 * Return: true when the socket is frozen and the stock poll would report
 * it writable with the send buffer it had.
 */
bool chim_sock_frozen_writable(const struct sock *sk,
			       const struct chim_sock *csk)
{
	int queued = READ_ONCE(sk->sk_wmem_queued) +
		     atomic_read(&csk->tx_queued);

	return csk_frozen(csk) &&
	       (1 << READ_ONCE(sk->sk_state)) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT) &&
	       !(READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) &&
	       READ_ONCE(csk->snap.sndbuf) - queued >= queued / 2;
}

/**
 * chim_sock_wake_writers() - wake what waits to write on a frozen socket
 * @sk: the socket
 *
 * A frozen socket has no send buffer, so the stock write-space callback
 * never wakes anyone: poll and senders waiting for the target's room are
 * woken here (chim_poll(), the offloaded send).
 *
 * Context: any.
 */
void chim_sock_wake_writers(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	rcu_read_unlock();
	sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT);
}

/**
 * chim_sock_deliver() - data the target's engine received, into the
 *	application's receive queue
 * @sk: a frozen socket
 * @skb: the payload, charged to @sk already (skb_set_owner_r())
 *
 * RcvNxt moves with it (back, for the unread data the offload took and
 * the target now indicates again: the queue was purged at the offload, so
 * RcvNxt is again where the queue ends); rcv_wup too, and the window is
 * the largest TCP can advertise, so that a read never finds it grown
 * enough to make the frozen socket send an ACK of its own
 * (__tcp_cleanup_rbuf(): twice the window now must not fit window_clamp;
 * a connection offloaded with its window closed sent one at its first
 * read).  The engine acknowledges; the upload restores all three.
 *
 * Context: sk_lock.slock held, or the socket owned.
 */
void chim_sock_deliver(struct sock *sk, struct sk_buff *skb)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u32 end = TCP_SKB_CB(skb)->end_seq;

	__skb_queue_tail(&sk->sk_receive_queue, skb);
	/* Unread data the offload took comes back first: received before. */
	if (after(end, tp->rcv_nxt))
		tp->bytes_received += end - tp->rcv_nxt;
	WRITE_ONCE(tp->rcv_nxt, end);
	tp->rcv_wup = end;
	tp->rcv_wnd = MAX_TCP_WINDOW << TCP_MAX_WSCALE;
}

/**
 * chim_sock_drain_pending() - deliver what the engine indicated while the
 *	socket was owned
 * @sk: the socket
 * @csk: its context
 *
 * Context: sk_lock.slock held.
 * Return: true when something was delivered (wake the readers).
 */
bool chim_sock_drain_pending(struct sock *sk, struct chim_sock *csk)
{
	struct sk_buff *skb;
	bool any = false;

	while ((skb = __skb_dequeue(&csk->pending))) {
		/*
		 * Charged now, by the owner.  The target acknowledged it and
		 * it fit the receive buffer when indicated: past the memory
		 * limits (as TCP forces a FIN's charge), it is charged anyway.
		 */
		sk_rmem_schedule(sk, skb, skb->truesize);
		skb_set_owner_r(skb, sk);
		chim_sock_deliver(sk, skb);
		any = true;
	}
	csk->pending_size = 0;
	return any;
}
