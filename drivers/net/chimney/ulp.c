// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP ULP "chimney": its init (an application's opt-in, or ours for
 * an offload) and release, the socket's work items (the offload after an
 * opt-in, the upload a frozen socket asks for), and the module's exit.
 *
 * Sockets do not pin the module: each socket that has the ULP is on a
 * list, and the module's exit (after every device was detached, so every
 * connection is back) gives each one its stock operations back and waits
 * for the calls still running in ours (counted).  `rmmod chimney` works
 * with connections open, which keep working.
 */
#include <linux/delay.h>
#include <linux/percpu-refcount.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/tcp.h>

#include "sock.h"

static struct tcp_ulp_ops chim_ulp_ops;

/* Every socket with the ULP, for the module's exit. */
static LIST_HEAD(chim_socks);
static DEFINE_SPINLOCK(chim_socks_lock);
/* The module is going: opt-in work finds no device any more. */
static bool chim_stopping;

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
	skb_queue_head_init(&csk->pending);
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
	skb_queue_purge(&csk->pending);
	csk->pending_size = 0;
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
	.name = CHIM_ULP_NAME,
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
	int err;

	chim_sock_blocked_init();
	err = percpu_ref_init(&chim_calls, chim_calls_release, 0, GFP_KERNEL);
	if (err)
		return err;
	chim_sock_wq = alloc_workqueue("chimney_sock", 0, 0);
	if (!chim_sock_wq) {
		err = -ENOMEM;
		goto err_ref;
	}
	chim_ulp = &chim_ulp_ops;
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
		skb_queue_purge(&csk->pending);
		csk->pending_size = 0;
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
	while (chim_sock_kick_blocked())
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
