// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer: the TCP ULP "chimney", which hands a live connection
 * to the target and takes it back into the same socket.  This file holds
 * the ULP's life: its context, its init and release, the socket's work
 * items, and the module's exit.  The rest of the layer:
 *
 *  - sock-calls.c: the application calls on a socket that has the ULP;
 *  - sock-offload.c: eligibility, freeze, snapshot and the offload;
 *  - sock-restore.c: the host's callbacks of an upload, the restore;
 *  - catch.c: a frozen socket's segments the target does not see.
 *
 * Sockets do not pin the module: each socket that has the ULP is on a
 * list, and the module's exit (after every device was detached, so every
 * connection is back) gives each one its stock operations back and waits
 * for the calls still running in ours (counted).  `rmmod chimney` works
 * with connections open, which keep working.
 */
#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/percpu-refcount.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <net/tcp.h>

#include "sock.h"

static struct tcp_ulp_ops chim_ulp_ops;

/* Every socket with the ULP, for the module's exit. */
static LIST_HEAD(chim_socks);
static DEFINE_SPINLOCK(chim_socks_lock);
/* Calls running in our operations; the exit waits for the last one. */
static struct percpu_ref chim_calls;
static DECLARE_COMPLETION(chim_calls_done);
/* The sockets' work items (offload after an opt-in, upload requests). */
struct workqueue_struct *chim_sock_wq;
/* The task attaching the ULP for an offload (under RTNL), or NULL. */
static struct task_struct *chim_attaching;
/* The module is going: opt-in work finds no device any more. */
static bool chim_stopping;

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
static unsigned int kick_blocked(void)
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

	if (icsk->icsk_ulp_ops != &chim_ulp_ops)
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
	if (READ_ONCE(inet_csk(sk)->icsk_ulp_ops) != &chim_ulp_ops)
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
	if (ops != &chim_ulp_ops)
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

static void chim_sock_ask_work(struct work_struct *work)
{
	struct chim_sock *csk = container_of(work, struct chim_sock, ask_work);
	struct sock *sk = csk->sk;

	chim_sock_start_upload(csk, CHIM_REASON_UPLOAD_REQUESTED, true, false, false);
	lock_sock(sk);
	csk->ask_queued = false;
	release_sock(sk);
	sock_put(sk);
	chim_sock_put(csk);
}

/* An application opted in with setsockopt(TCP_ULP, "chimney"). */
static void chim_sock_optin_work(struct work_struct *work)
{
	struct chim_sock *csk = container_of(work, struct chim_sock, work);
	const struct chim_policy *p;
	struct sock *sk = csk->sk;
	struct chim_dev *cd;
	struct chim_tuple t;

	rtnl_lock();
	cd = READ_ONCE(chim_stopping) ? NULL : chim_sock_route_dev(sk, false);
	/* Only where the administrator lets applications take capacity. */
	if (cd && cd->opt_in && !csk->attempted && !chim_dev_refuses(cd) &&
	    chim_sock_ctx(sk) == csk) {
		chim_sock_tuple(sk, &t);
		p = chim_dev_match(cd, &t);
		chim_sock_offload(sk, cd, p ? p->priority : 0, NULL);
	}
	rtnl_unlock();
	sock_put(sk);
	chim_sock_put(csk);
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

	if (ulp == &chim_ulp_ops)
		return 0;
	if (ulp) {
		NL_SET_ERR_MSG_FMT(extack, "the socket has another TCP ULP (%s)",
				   ulp->name);
		return -EBUSY;
	}
	/* Ours, not an application's opt-in: no work item (RTNL serializes). */
	WRITE_ONCE(chim_attaching, current);
	err = sk->sk_prot->setsockopt(sk, SOL_TCP, TCP_ULP,
				      KERNEL_SOCKPTR(chim_ulp_ops.name),
				      strlen(chim_ulp_ops.name));
	WRITE_ONCE(chim_attaching, NULL);
	if (err)
		NL_SET_ERR_MSG_FMT(extack, "cannot attach the chimney ULP (%d)",
				   err);
	return err;
}

static int chim_ulp_init(struct sock *sk)
{
	int i = sk->sk_family == AF_INET6 ? CHIM_PROT_V6 : CHIM_PROT_V4;
	struct chim_sock *csk;
	int err;

	if (sk->sk_state != TCP_ESTABLISHED || !sk->sk_socket)
		return -ENOTCONN;
	chim_sock_enter();
	err = chim_sock_build_prot(sk, i);
	if (err)
		goto out;
	err = -ENOMEM;
	csk = kzalloc(sizeof(*csk), GFP_KERNEL);
	if (!csk)
		goto out;
	csk->sk = sk;
	refcount_set(&csk->ref, 1);
	spin_lock_init(&csk->lock);
	skb_queue_head_init(&csk->held);
	spin_lock_init(&csk->catch_lock);
	skb_queue_head_init(&csk->caught);
	init_waitqueue_head(&csk->wq);
	INIT_WORK(&csk->work, chim_sock_optin_work);
	INIT_WORK(&csk->ask_work, chim_sock_ask_work);
	csk->base_prot = sk->sk_prot;
	csk->base_ops = sk->sk_socket->ops;
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, csk);

	write_lock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_prot, &chim_prots[i].prot);
	WRITE_ONCE(sk->sk_socket->ops, &chim_prots[i].ops);
	write_unlock_bh(&sk->sk_callback_lock);

	spin_lock_bh(&chim_socks_lock);
	list_add_tail(&csk->node, &chim_socks);
	spin_unlock_bh(&chim_socks_lock);

	/* An application opted in: offload it if its device has a target. */
	if (READ_ONCE(chim_attaching) != current) {
		refcount_inc(&csk->ref);
		sock_hold(sk);
		queue_work(chim_sock_wq, &csk->work);
	}
	err = 0;
out:
	chim_sock_leave();
	return err;
}

/* The socket is destroyed: it is with the stock stack (close uploaded it). */
static void chim_ulp_release(struct sock *sk)
{
	struct chim_sock *csk = csk_of(sk);

	if (!csk)
		return;
	chim_sock_enter();
	spin_lock_bh(&chim_socks_lock);
	list_del_init(&csk->node);
	spin_unlock_bh(&chim_socks_lock);
	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_prot != csk->base_prot) {
		WRITE_ONCE(sk->sk_prot, csk->base_prot);
		if (sk->sk_socket)
			WRITE_ONCE(sk->sk_socket->ops, csk->base_ops);
	}
	write_unlock_bh(&sk->sk_callback_lock);
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, NULL);
	skb_queue_purge(&csk->held);
	skb_queue_purge(&csk->caught);
	chim_sock_put(csk);
	chim_sock_leave();
}

/* tcp_diag, without the socket lock: the context may go meanwhile. */
static int chim_ulp_get_info(struct sock *sk, struct sk_buff *skb)
{
	struct chim_sock *csk;
	struct nlattr *nest;
	int err = 0;

	rcu_read_lock();
	csk = rcu_dereference(inet_csk(sk)->icsk_ulp_data);
	if (!csk)
		goto out;
	err = -EMSGSIZE;
	nest = nla_nest_start_noflag(skb, CHIMNEY_ULP_INFO);
	if (!nest)
		goto out;
	if (nla_put_u8(skb, CHIMNEY_ULP_INFO_STATE, READ_ONCE(csk->state)) ||
	    nla_put_u32(skb, CHIMNEY_ULP_INFO_IFINDEX, READ_ONCE(csk->ifindex)) ||
	    nla_put_u32(skb, CHIMNEY_ULP_INFO_OFFLOADS, READ_ONCE(csk->offloads)) ||
	    nla_put_u32(skb, CHIMNEY_ULP_INFO_UPLOADS, READ_ONCE(csk->uploads))) {
		nla_nest_cancel(skb, nest);
		goto out;
	}
	nla_nest_end(skb, nest);
	err = 0;
out:
	rcu_read_unlock();
	return err;
}

static size_t chim_ulp_get_info_size(const struct sock *sk)
{
	return nla_total_size(0) + nla_total_size(sizeof(u8)) +
	       3 * nla_total_size(sizeof(u32));
}

static struct tcp_ulp_ops chim_ulp_ops __read_mostly = {
	.name = "chimney",
	/* No owner: sockets do not pin the module (see the top). */
	.init = chim_ulp_init,
	.release = chim_ulp_release,
	.get_info = chim_ulp_get_info,
	.get_info_size = chim_ulp_get_info_size,
};

static void chim_calls_release(struct percpu_ref *ref)
{
	complete(&chim_calls_done);
}

/**
 * chim_sock_init() - register the ULP
 *
 * Return: 0 or a negative errno.
 */
int chim_sock_init(void)
{
	int err, cpu;

	for_each_possible_cpu(cpu) {
		struct chim_blocked_list *l = per_cpu_ptr(&chim_blocked, cpu);

		spin_lock_init(&l->lock);
		INIT_LIST_HEAD(&l->calls);
	}
	err = percpu_ref_init(&chim_calls, chim_calls_release, 0, GFP_KERNEL);
	if (err)
		return err;
	chim_sock_wq = alloc_workqueue("chimney_sock", 0, 0);
	if (!chim_sock_wq) {
		err = -ENOMEM;
		goto err_ref;
	}
	err = tcp_register_ulp(&chim_ulp_ops);
	if (err)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(chim_sock_wq);
err_ref:
	percpu_ref_exit(&chim_calls);
	return err;
}

/**
 * chim_sock_stop() - no new socket takes the ULP
 *
 * Context: module exit, before the devices are detached.
 */
void chim_sock_stop(void)
{
	/* Waits for the lookups in progress too. */
	tcp_unregister_ulp(&chim_ulp_ops);
	/*
	 * Opt-in work looks devices up in the per-namespace state, which
	 * the devices' exit frees: none may run after this.
	 */
	WRITE_ONCE(chim_stopping, true);
	flush_workqueue(chim_sock_wq);
}

/*
 * Give a socket, with the stock stack, its own operations back.  Its
 * reference on @csk goes to @stripped: a call still running in our
 * operations may use @csk until it returns.
 */
static void chim_sock_strip(struct sock *sk, struct chim_sock *csk,
			    struct list_head *stripped)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	lock_sock(sk);
	if (icsk->icsk_ulp_ops == &chim_ulp_ops && csk_of(sk) == csk) {
		write_lock_bh(&sk->sk_callback_lock);
		WRITE_ONCE(sk->sk_prot, csk->base_prot);
		if (sk->sk_socket)
			WRITE_ONCE(sk->sk_socket->ops, csk->base_ops);
		write_unlock_bh(&sk->sk_callback_lock);
		rcu_assign_pointer(icsk->icsk_ulp_data, NULL);
		WRITE_ONCE(icsk->icsk_ulp_ops, NULL);
		skb_queue_purge(&csk->held);
		skb_queue_purge(&csk->caught);
		list_add_tail(&csk->node, stripped);	/* the socket's ref */
	}
	release_sock(sk);
}

/**
 * chim_sock_uninit() - no socket depends on the module any more
 *
 * Every socket with the ULP gets its stock operations back (the devices
 * are detached: each connection is with the stock stack), the work items
 * end, and the calls still running in our operations return.
 *
 * Context: module exit, after the devices were detached.
 */
void chim_sock_uninit(void)
{
	struct chim_sock *csk, *tmp;
	LIST_HEAD(stripped);
	struct sock *sk;
	bool live;

	for (;;) {
		spin_lock_bh(&chim_socks_lock);
		csk = list_first_entry_or_null(&chim_socks, struct chim_sock,
					       node);
		if (csk) {
			list_del_init(&csk->node);
			sk = csk->sk;
			live = refcount_inc_not_zero(&sk->sk_refcnt);
			if (live)
				refcount_inc(&csk->ref);
		}
		spin_unlock_bh(&chim_socks_lock);
		if (!csk)
			break;
		/* Else it is being destroyed: its release is a counted call. */
		if (live) {
			chim_sock_strip(sk, csk, &stripped);
			chim_sock_put(csk);
			sock_put(sk);
		}
	}
	destroy_workqueue(chim_sock_wq);
	/* The calls waiting in the stock stack return; new ones are stock. */
	while (kick_blocked())
		msleep(20);
	/*
	 * A call may have found our operations just before they were
	 * taken away: it is counted once it runs, which it does before its
	 * CPU (or, preemptible, its task) passes a quiescent state.
	 */
#ifdef CONFIG_TASKS_RCU
	synchronize_rcu_tasks();
#endif
	synchronize_rcu();
	percpu_ref_kill(&chim_calls);
	wait_for_completion(&chim_calls_done);
	list_for_each_entry_safe(csk, tmp, &stripped, node) {
		list_del(&csk->node);
		chim_sock_put(csk);
	}
	/*
	 * The last put completed chim_calls_done from our own text and is
	 * returning through it: let every task leave it before it goes.
	 */
#ifdef CONFIG_TASKS_RCU
	synchronize_rcu_tasks();
#endif
	synchronize_rcu();
	percpu_ref_exit(&chim_calls);
}
