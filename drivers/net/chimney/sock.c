// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer: the TCP ULP "chimney", which hands a live connection
 * to the target and takes it back into the same socket.
 *
 * Offload (initiate): with the socket locked, the backlog is flushed, every
 * host timer stopped and the delegated state and a copy of every queued
 * byte go into the TCP object; the target inserts the connection in its
 * table (its receive hook steals the segments from then on) and, once the
 * initiate succeeded, the host queues are purged.  While the socket is
 * frozen its backlog is caught (held) instead of processed.
 *
 * Upload (terminate, Part 2): the host locks the socket before the target
 * stops the connection and keeps it locked until the socket is restored:
 * sequence numbers and windows written back, unread data requeued into the
 * receive queue and in-flight data into the retransmit queue (repair
 * mode), unsent data queued normally, congestion and RTT state, timers.
 * Segments caught meanwhile are then processed by the stock stack.
 *
 * Sockets do not pin the module: each socket that has the ULP is on a
 * list, and the module's exit (after every device was detached, so every
 * connection is back) gives each one its stock operations back and waits
 * for the calls still running in ours (counted).  `rmmod chimney` works
 * with connections open, which keep working.
 *
 * Application calls keep their meaning: a call that needs the stock stack
 * (send, a read of data the target holds, shutdown, close) first gets the
 * connection uploaded and waits for it; poll, SIOCINQ/SIOCOUTQ and
 * TCP_INFO read the frozen socket, whose counters are the delegated ones.
 */
#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/percpu-refcount.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uio.h>
#include <net/inet_common.h>
#include <net/ip6_route.h>
#include <net/mptcp.h>
#include <net/route.h>
#include <net/tcp.h>

#include "block.h"
#include "sock.h"

enum { CHIM_PROT_V4, CHIM_PROT_V6, CHIM_NR_PROTS };

/* A socket's protocol and socket operations with the ULP's calls. */
struct chim_prot_set {
	struct proto prot;
	/* a writable copy of the base operations (checkpatch wants const) */
	struct
	proto_ops ops;
};

static struct chim_prot_set chim_prots[CHIM_NR_PROTS];
static struct proto *chim_saved_prot[CHIM_NR_PROTS];
static const struct proto_ops *chim_saved_ops[CHIM_NR_PROTS];
static DEFINE_MUTEX(chim_prot_lock);

static struct tcp_ulp_ops chim_ulp_ops;
static const struct chim_conn_ops chim_sock_conn_ops;
static void chim_sock_put(struct chim_sock *csk);

/* Every socket with the ULP, for the module's exit. */
static LIST_HEAD(chim_socks);
static DEFINE_SPINLOCK(chim_socks_lock);
/* Calls running in our operations; the exit waits for the last one. */
static struct percpu_ref chim_calls;
static DECLARE_COMPLETION(chim_calls_done);
/* The sockets' work items (offload after an opt-in, upload requests). */
static struct workqueue_struct *chim_sock_wq;
/* The task attaching the ULP for an offload (under RTNL), or NULL. */
static struct task_struct *chim_attaching;
/* The module is going: opt-in work finds no device any more. */
static bool chim_stopping;

static void chim_enter(void)
{
	percpu_ref_get(&chim_calls);
}

static void chim_leave(void)
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
struct chim_blocked {
	struct list_head node;
	struct task_struct *task;
	int cpu;
	bool kicked;
};

struct chim_blocked_list {
	spinlock_t lock;		/* protects @calls */
	struct list_head calls;
};

static DEFINE_PER_CPU(struct chim_blocked_list, chim_blocked);

static void blocked_begin(struct chim_blocked *b)
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

static void blocked_end(struct chim_blocked *b)
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
	chim_leave();
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
			chim_enter();
			if (task_work_add(b->task, cb, TWA_SIGNAL)) {
				kfree(cb);
				chim_leave();
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

/* The context behind our protocol: set before it is installed, kept after. */
static struct chim_sock *csk_of(const struct sock *sk)
{
	return (__force struct chim_sock *)inet_csk(sk)->icsk_ulp_data;
}

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

static void csk_set_conn(struct chim_sock *csk, struct chim_conn *conn)
{
	spin_lock_bh(&csk->lock);
	csk->conn = conn;
	spin_unlock_bh(&csk->lock);
}

static bool csk_frozen(const struct chim_sock *csk)
{
	return READ_ONCE(csk->state) != CHIM_SK_HOST;
}

/* ---- application calls --------------------------------------------------- */

/*
 * RTNL; with @killable, for an application's call that may give up: on a
 * fatal signal, or at once when RTNL is busy and the task is exiting (its
 * SIGKILL is no longer pending then: no signal could end the wait).
 *
 * Return: 0 with RTNL held, -EINTR when given up.
 */
static int csk_rtnl_lock(bool killable)
{
	if (!killable) {
		rtnl_lock();
		return 0;
	}
	if (current->flags & PF_EXITING)
		return rtnl_trylock() ? 0 : -EINTR;
	return rtnl_lock_killable();
}

/*
 * Start the upload of the socket's connection, if it has one: with @ask a
 * Part 1 request is queued, as if the target had asked; with @terminate the
 * host terminates it itself when no request is queued.  With @killable,
 * the wait for RTNL may be given up (csk_rtnl_lock()).
 *
 * Return: 0, or -EINTR when given up.
 */
static int csk_start_upload(struct chim_sock *csk,
			    enum chim_upload_reason reason, bool ask,
			    bool terminate, bool killable)
{
	struct chim_conn *conn;
	struct chim_host *host;
	struct chim_obj *obj;
	bool asked = false;

	/* RTNL keeps the device, its host and its target alive. */
	if (csk_rtnl_lock(killable))
		return -EINTR;
	conn = chim_sock_get_conn(csk);
	if (conn) {
		host = conn->obj.host;
		obj = &conn->obj;
		if (ask)
			asked = chim_host_request(conn, reason);
		if (!asked && terminate)
			chim_host_terminate(host, &obj, 1, reason);
		chim_obj_put(obj);
	}
	rtnl_unlock();
	return 0;
}

/*
 * Get the connection back to the stock stack and wait until it is.  With
 * @ask_target the target is asked (Part 1, UploadRequested), else the host
 * terminates it itself.  With @killable, an application's call may be
 * killed meanwhile (RTNL may be held for long by others), and an exiting
 * task does not wait at all: the upload goes on without it.
 *
 * Return: 0 once with the stock stack, -EINTR when given up first.
 */
static int chim_sock_reclaim(struct sock *sk, struct chim_sock *csk,
			     enum chim_upload_reason reason, bool ask_target,
			     bool killable)
{
	if (!csk_frozen(csk))
		return 0;
	if (csk_start_upload(csk, reason, ask_target, true, killable))
		return -EINTR;
	if (!killable) {
		wait_event(csk->wq, !csk_frozen(csk));
		return 0;
	}
	if (current->flags & PF_EXITING)
		return csk_frozen(csk) ? -EINTR : 0;
	return wait_event_killable(csk->wq, !csk_frozen(csk)) ? -EINTR : 0;
}

/* Unread data the target holds (the frozen socket still counts it). */
static bool target_holds_rx(struct sock *sk, struct chim_sock *csk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return csk_frozen(csk) &&
	       READ_ONCE(tp->rcv_nxt) != READ_ONCE(tp->copied_seq);
}

/*
 * close and shutdown: no offload may start after this (offloads run under
 * RTNL and check @closing), then the connection comes back.  With
 * @killable, given up as chim_sock_reclaim() says.
 *
 * Return: 0 once with the stock stack, -EINTR when given up first.
 */
static int chim_sock_closing(struct sock *sk, struct chim_sock *csk,
			     bool killable)
{
	WRITE_ONCE(csk->closing, true);
	if (csk_rtnl_lock(killable))
		return -EINTR;
	rtnl_unlock();
	return chim_sock_reclaim(sk, csk, CHIM_REASON_CLOSE, false, killable);
}

/* The stock stack closes the socket, with its own operations. */
static void stock_close(struct sock *sk, struct chim_sock *csk, long timeout)
{
	struct proto *base = csk->base_prot;
	struct chim_blocked b;

	write_lock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_prot, base);
	if (sk->sk_socket)
		WRITE_ONCE(sk->sk_socket->ops, csk->base_ops);
	write_unlock_bh(&sk->sk_callback_lock);
	if (!timeout) {
		base->close(sk, 0);
		return;
	}
	/* It lingers: an interrupted wait ends the linger. */
	blocked_begin(&b);
	base->close(sk, timeout);
	blocked_end(&b);
}

/* A close given up by a killed or exiting task, finished by a work item. */
struct chim_close_job {
	struct work_struct work;
	struct sock *sk;
	struct chim_sock *csk;
};

static void chim_close_work(struct work_struct *work)
{
	struct chim_close_job *job = container_of(work, struct chim_close_job,
						  work);
	struct chim_sock *csk = job->csk;
	struct sock *sk = job->sk;

	kfree(job);
	chim_sock_closing(sk, csk, false);
	/* No task waits for it (a linger time is for the one closing). */
	stock_close(sk, csk, 0);
	chim_sock_put(csk);
}

/*
 * Hand the close of @sk to a work item, which gets the reference the file
 * had, and one of @csk (the module's exit may strip the socket first).  The
 * socket leaves its struct socket now (which is freed when we return) but
 * is not orphaned yet: the stock close does that.
 *
 * Return: false without memory.
 */
static bool close_later(struct sock *sk, struct chim_sock *csk)
{
	struct chim_close_job *job = kmalloc(sizeof(*job), GFP_KERNEL);

	if (!job)
		return false;
	INIT_WORK(&job->work, chim_close_work);
	job->sk = sk;
	job->csk = csk;
	refcount_inc(&csk->ref);
	write_lock_bh(&sk->sk_callback_lock);
	sk_set_socket(sk, NULL);
	sk->sk_wq = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
	queue_work(chim_sock_wq, &job->work);
	return true;
}

static void chim_close(struct sock *sk, long timeout)
{
	struct chim_sock *csk = csk_of(sk);

	chim_enter();
	/*
	 * A killed task (or one exiting) does not wait for RTNL and the
	 * upload: its close is finished later; without memory, it waits.
	 */
	if (!chim_sock_closing(sk, csk, true)) {
		stock_close(sk, csk, timeout);
	} else if (!close_later(sk, csk)) {
		chim_sock_closing(sk, csk, false);
		stock_close(sk, csk, timeout);
	}
	chim_leave();
}

/*
 * The stock send, but never on a frozen socket: the state is checked with
 * the socket locked, and the wait for buffer space (which drops the lock,
 * so an offload may happen meanwhile) is done here, between two checks.
 */
static int chim_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct chim_sock *csk = csk_of(sk);
	unsigned int flags = msg->msg_flags;
	long timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	int copied = 0, err = 0;
	struct chim_blocked b;

	chim_enter();
	for (;;) {
		err = chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
					true, true);
		if (err)
			break;
		lock_sock(sk);
		if (csk_frozen(csk)) {
			release_sock(sk);
			continue;
		}
		msg->msg_flags = flags | MSG_DONTWAIT;
		err = tcp_sendmsg_locked(sk, msg, msg_data_left(msg));
		msg->msg_flags = flags;
		if (err > 0) {
			copied += err;
			err = 0;
		}
		if (!msg_data_left(msg) || (err && err != -EAGAIN) || !timeo) {
			release_sock(sk);
			break;
		}
		blocked_begin(&b);
		err = sk_stream_wait_memory(sk, &timeo);
		blocked_end(&b);
		release_sock(sk);
		if (err)
			break;
	}
	chim_leave();
	return copied ?: err;
}

static int chim_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			int flags, int *addr_len)
{
	struct chim_sock *csk = csk_of(sk);
	struct chim_blocked b;
	int ret;

	chim_enter();
	/*
	 * With nothing held by the target, the stock call waits for data,
	 * which arrives after the upload the next segment causes.
	 */
	ret = target_holds_rx(sk, csk) ?
	      chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
				true, true) : 0;
	if (!ret) {
		blocked_begin(&b);
		ret = csk->base_prot->recvmsg(sk, msg, len, flags, addr_len);
		blocked_end(&b);
	}
	chim_leave();
	return ret;
}

static void chim_splice_eof(struct socket *sock)
{
	struct chim_sock *csk = csk_of(sock->sk);

	chim_enter();
	chim_sock_reclaim(sock->sk, csk, CHIM_REASON_UPLOAD_REQUESTED, true, true);
	if (csk->base_prot->splice_eof)
		csk->base_prot->splice_eof(sock);
	chim_leave();
}

/* Called with the socket locked: the target's keepalive runs meanwhile. */
static void chim_keepalive(struct sock *sk, int valbool)
{
	struct chim_sock *csk = csk_of(sk);

	chim_enter();
	if (!csk_frozen(csk) && csk->base_prot->keepalive)
		csk->base_prot->keepalive(sk, valbool);
	chim_leave();
}

/*
 * `ss -K` (SOCK_DESTROY): the connection comes back first, so that the
 * target forgets its tuple, then the stock stack aborts it.
 */
static int chim_diag_destroy(struct sock *sk, int err)
{
	struct chim_sock *csk = csk_of(sk);
	int ret;

	chim_enter();
	ret = chim_sock_reclaim(sk, csk, CHIM_REASON_ADMIN, false, true);
	if (!ret)
		ret = csk->base_prot->diag_destroy(sk, err);
	chim_leave();
	return ret;
}

/*
 * Called with the socket locked (connect(AF_UNSPEC)): chim_connect()
 * uploaded the connection; offloaded again since (a rule), it is busy.
 */
static int chim_disconnect(struct sock *sk, int flags)
{
	struct chim_sock *csk = csk_of(sk);
	int ret = -EBUSY;

	chim_enter();
	if (!csk_frozen(csk))
		ret = csk->base_prot->disconnect(sk, flags);
	chim_leave();
	return ret;
}

static int chim_setsockopt(struct sock *sk, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct chim_sock *csk = csk_of(sk);
	int err = -EBUSY;

	chim_enter();
	if (level == SOL_TCP && csk_frozen(csk) &&
	    (optname == TCP_REPAIR || optname == TCP_REPAIR_QUEUE ||
	     optname == TCP_REPAIR_WINDOW || optname == TCP_REPAIR_OPTIONS ||
	     optname == TCP_QUEUE_SEQ))
		goto out;
	/*
	 * TCP_KEEPIDLE arms the host's keepalive timer at once (even to fire
	 * now): the connection comes back first.  Offloaded again meanwhile
	 * (a rule), the timer is taken away again below.
	 */
	if (level == SOL_TCP && optname == TCP_KEEPIDLE) {
		err = chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
					true, true);
		if (err)
			goto out;
	}
	err = csk->base_prot->setsockopt(sk, level, optname, optval, optlen);
	if (level == SOL_TCP && optname == TCP_KEEPIDLE && csk_frozen(csk)) {
		lock_sock(sk);
		if (csk_frozen(csk))
			inet_csk_delete_keepalive_timer(sk);
		release_sock(sk);
	}
out:
	chim_leave();
	return err;
}

/*
 * connect(AF_UNSPEC) disconnects: the connection comes back first (the
 * stock disconnect, called with the socket locked, cannot wait for it).
 */
static int chim_connect(struct socket *sock, struct sockaddr *uaddr,
			int addr_len, int flags)
{
	struct chim_sock *csk = csk_of(sock->sk);
	int ret = 0;

	chim_enter();
	if (addr_len >= sizeof(uaddr->sa_family) &&
	    uaddr->sa_family == AF_UNSPEC)
		ret = chim_sock_reclaim(sock->sk, csk, CHIM_REASON_CLOSE, false,
					true);
	if (!ret)
		ret = csk->base_ops->connect(sock, uaddr, addr_len, flags);
	chim_leave();
	return ret;
}

static int chim_shutdown(struct socket *sock, int how)
{
	struct chim_sock *csk = csk_of(sock->sk);
	int ret;

	chim_enter();
	ret = chim_sock_closing(sock->sk, csk, true);
	if (!ret)
		ret = csk->base_ops->shutdown(sock, how);
	chim_leave();
	return ret;
}

static ssize_t chim_splice_read(struct socket *sock, loff_t *ppos,
				struct pipe_inode_info *pipe, size_t len,
				unsigned int flags)
{
	struct chim_sock *csk = csk_of(sock->sk);
	struct chim_blocked b;
	ssize_t ret;

	chim_enter();
	ret = target_holds_rx(sock->sk, csk) ?
	      chim_sock_reclaim(sock->sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
				true, true) : 0;
	if (!ret) {
		blocked_begin(&b);
		ret = csk->base_ops->splice_read(sock, ppos, pipe, len, flags);
		blocked_end(&b);
	}
	chim_leave();
	return ret;
}

/*
 * A frozen socket has no send buffer (freeze()), so the stock poll never
 * reports it writable, yet a send on it is taken: the send brings the
 * connection back first.  An event-loop application waits for EPOLLOUT
 * before it writes, so report what the stock poll would report with the
 * send buffer the socket had.  Racy by nature, as every poll is: the
 * state is read again by the send itself.
 */
static bool frozen_writable(const struct sock *sk, const struct chim_sock *csk)
{
	int queued = READ_ONCE(sk->sk_wmem_queued);

	return csk_frozen(csk) &&
	       (1 << READ_ONCE(sk->sk_state)) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT) &&
	       !(READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) &&
	       READ_ONCE(csk->snap.sndbuf) - queued >= queued / 2;
}

static __poll_t chim_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct chim_sock *csk = csk_of(sock->sk);
	__poll_t mask;

	chim_enter();
	mask = csk->base_ops->poll(file, sock, wait);
	if (!(mask & EPOLLOUT) && frozen_writable(sock->sk, csk))
		mask |= EPOLLOUT | EPOLLWRNORM;
	chim_leave();
	return mask;
}

/* The socket just became writable for chim_poll(): wake its pollers. */
static void wake_writers(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	rcu_read_unlock();
}

#ifdef CHIM_HAVE_PROTO_SENDPAGE
static int chim_sendpage(struct sock *sk, struct page *page, int offset,
			 size_t size, int flags)
{
	struct chim_sock *csk = csk_of(sk);
	int ret;

	chim_enter();
	ret = chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED, true, true);
	if (!ret)
		ret = csk->base_prot->sendpage(sk, page, offset, size, flags);
	chim_leave();
	return ret;
}
#endif

/*
 * The socket's protocol with the calls above, built once per family from
 * the first socket's own protocol (tcp_prot, tcpv6_prot).
 */
static int chim_build_prot(struct sock *sk, int i)
{
	struct proto *base = READ_ONCE(sk->sk_prot);
	const struct proto_ops *ops = sk->sk_socket->ops;

	/*
	 * Only the family's own TCP protocol is taken as the base: a copy
	 * another layer made (sockmap's BPF protocol) is refused, not latched
	 * (every later plain socket would be refused).
	 */
	if (base->close != tcp_close || base->sendmsg != tcp_sendmsg)
		return -EOPNOTSUPP;
	/* Pairs with the release below: a published set is complete. */
	if (smp_load_acquire(&chim_saved_prot[i]) != base) {
		mutex_lock(&chim_prot_lock);
		if (!chim_saved_prot[i]) {
			struct chim_prot_set *set = &chim_prots[i];
			struct proto *p = &set->prot;

			*p = *base;
			p->close = chim_close;
			p->sendmsg = chim_sendmsg;
			p->recvmsg = chim_recvmsg;
			p->splice_eof = chim_splice_eof;
			p->keepalive = chim_keepalive;
			p->disconnect = chim_disconnect;
			if (base->diag_destroy)
				p->diag_destroy = chim_diag_destroy;
			p->setsockopt = chim_setsockopt;
#ifdef CHIM_HAVE_PROTO_SENDPAGE
			p->sendpage = chim_sendpage;
#endif
			set->ops = *ops;
			set->ops.shutdown = chim_shutdown;
			set->ops.connect = chim_connect;
			set->ops.splice_read = chim_splice_read;
			set->ops.poll = chim_poll;
			chim_saved_ops[i] = ops;
			/* Publish the set only once it is complete. */
			smp_store_release(&chim_saved_prot[i], base);
		}
		mutex_unlock(&chim_prot_lock);
	}
	/* Another layer (sockmap, a BPF protocol) changed it: not ours. */
	if (chim_saved_prot[i] != base || chim_saved_ops[i] != ops)
		return -EOPNOTSUPP;
	return 0;
}

/* ---- the catch (catch.c's hooks call these) -------------------------------- */

/*
 * The catch takes what the stock stack would process for a frozen socket
 * outside its device's ingress hook (IP fragments reassembled, IPv6
 * extension headers, VLAN-tagged frames, another ingress device): were the
 * stock stack to process such a segment, the restore would rewind the
 * state it moved (rcv_nxt, snd_una).  Held segments go back into the stack
 * once the socket is restored; the peer retransmits what is dropped.
 */

/*
 * Queue @csk's ask_work (a Part 1 request for a segment the target never
 * saw), with the references it drops.  Return: false when it was queued
 * already (that one asks).
 */
static bool queue_ask(struct sock *sk, struct chim_sock *csk)
{
	refcount_inc(&csk->ref);
	sock_hold(sk);
	if (queue_work(chim_sock_wq, &csk->ask_work))
		return true;
	sock_put(sk);
	chim_sock_put(csk);
	return false;
}

static struct chim_sock *catch_ctx_rcu(const struct sock *sk)
{
	if (READ_ONCE(inet_csk(sk)->icsk_ulp_ops) != &chim_ulp_ops)
		return NULL;
	return rcu_dereference(inet_csk(sk)->icsk_ulp_data);
}

/**
 * chim_sock_catch() - take a segment the stock receive path would give a
 *	frozen socket
 * @sk: the established socket the segment belongs to
 * @skb: the segment, its data at the network header (NF_INET_LOCAL_IN)
 * @drop: hold nothing, drop it (an IPv6 first fragment: its reassembly
 *	would come to the socket without passing the catch again)
 *
 * Context: softirq, RCU read side.
 * Return: true when the segment was taken (held or freed), false when
 * @sk is not frozen and the stock stack may have it.
 */
bool chim_sock_catch(struct sock *sk, struct sk_buff *skb, bool drop)
{
	struct chim_sock *csk = catch_ctx_rcu(sk);
	bool ask;

	if (!csk || !READ_ONCE(csk->catching))
		return false;
	spin_lock(&csk->catch_lock);
	if (!csk->catching) {
		spin_unlock(&csk->catch_lock);
		return false;
	}
	if (drop || csk->caught_size + skb->truesize > READ_ONCE(sk->sk_rcvbuf)) {
		atomic64_inc(&csk->catch_host->frozen_dropped);
		spin_unlock(&csk->catch_lock);
		kfree_skb(skb);
		return true;
	}
	/* Nothing may tie it to this pass: it goes through the stack again. */
	skb_orphan(skb);
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	csk->caught_size += skb->truesize;
	__skb_queue_tail(&csk->caught, skb);
	atomic64_inc(&csk->catch_host->frozen_caught);
	/* The target never saw it: ask it for the upload it would ask. */
	ask = skb_queue_len(&csk->caught) == 1;
	spin_unlock(&csk->catch_lock);
	if (ask)
		queue_ask(sk, csk);
	return true;
}

/**
 * chim_sock_guard() - whether a segment a socket sends must be dropped
 * @sk: the sending socket, a full TCP socket
 *
 * A frozen socket must stay silent: the target runs its connection.
 * Nothing known sends from one; this catches what would, and counts it
 * (the tests assert the count stays 0).
 *
 * Context: any but hardirq, RCU read side.
 * Return: true when it is frozen (the segment is counted and must be
 * dropped).
 */
bool chim_sock_guard(const struct sock *sk)
{
	struct chim_sock *csk = catch_ctx_rcu(sk);
	bool frozen;

	if (!csk || !READ_ONCE(csk->catching))
		return false;
	spin_lock_bh(&csk->catch_lock);
	frozen = csk->catching;
	if (frozen)
		atomic64_inc(&csk->catch_host->frozen_tx_dropped);
	spin_unlock_bh(&csk->catch_lock);
	if (frozen)
		net_warn_ratelimited("chimney: a frozen socket sent a segment (dropped)\n");
	return frozen;
}

/* The connection comes back: the catch lets go of the socket. */
static void stop_catching(struct chim_sock *csk)
{
	spin_lock_bh(&csk->catch_lock);
	WRITE_ONCE(csk->catching, false);
	spin_unlock_bh(&csk->catch_lock);
}

/*
 * What the catch held goes through the stack again, now that the socket
 * is restored (or @drop: reset), each from the device it came in on.
 */
static void release_caught(struct sock *sk, struct chim_sock *csk, bool drop)
{
	struct sk_buff_head q;
	struct net_device *dev;
	struct sk_buff *skb;

	__skb_queue_head_init(&q);
	spin_lock_bh(&csk->catch_lock);
	skb_queue_splice_init(&csk->caught, &q);
	csk->caught_size = 0;
	spin_unlock_bh(&csk->catch_lock);
	rcu_read_lock();
	while ((skb = __skb_dequeue(&q))) {
		dev = drop ? NULL : dev_get_by_index_rcu(sock_net(sk), skb->skb_iif);
		if (!dev) {
			kfree_skb(skb);
			continue;
		}
		skb->dev = dev;
		netif_rx(skb);
	}
	rcu_read_unlock();
}

/* ---- the ULP --------------------------------------------------------------- */

/* tcp_diag reads the context under RCU only: free it after a grace period. */
static void chim_sock_put(struct chim_sock *csk)
{
	if (refcount_dec_and_test(&csk->ref))
		kfree_rcu(csk, rcu);
}

static void chim_sock_optin_work(struct work_struct *work);
static void chim_sock_ask_work(struct work_struct *work);

static int chim_ulp_init(struct sock *sk)
{
	int i = sk->sk_family == AF_INET6 ? CHIM_PROT_V6 : CHIM_PROT_V4;
	struct chim_sock *csk;
	int err;

	if (sk->sk_state != TCP_ESTABLISHED || !sk->sk_socket)
		return -ENOTCONN;
	chim_enter();
	err = chim_build_prot(sk, i);
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
	chim_leave();
	return err;
}

/* The socket is destroyed: it is with the stock stack (close uploaded it). */
static void chim_ulp_release(struct sock *sk)
{
	struct chim_sock *csk = csk_of(sk);

	if (!csk)
		return;
	chim_enter();
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
	chim_leave();
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

/* ---- freeze and snapshot ----------------------------------------------------- */

/*
 * The frozen socket's backlog: hold it for the stock stack, after the
 * upload.  The target never sees such a segment, so it is asked for the
 * upload its own receive path would have asked for.
 */
static int chim_backlog_catch(struct sock *sk, struct sk_buff *skb)
{
	struct chim_sock *csk = csk_of(sk);

	chim_enter();
	__skb_queue_tail(&csk->held, skb);
	if (READ_ONCE(csk->state) == CHIM_SK_OFFLOADED && !csk->ask_queued)
		csk->ask_queued = queue_ask(sk, csk);
	chim_leave();
	return 0;
}

static void chim_sock_ask_work(struct work_struct *work)
{
	struct chim_sock *csk = container_of(work, struct chim_sock, ask_work);
	struct sock *sk = csk->sk;

	csk_start_upload(csk, CHIM_REASON_UPLOAD_REQUESTED, true, false, false);
	lock_sock(sk);
	csk->ask_queued = false;
	release_sock(sk);
	sock_put(sk);
	chim_sock_put(csk);
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
	tcp_sk(sk)->compressed_ack = 0;
	icsk->icsk_ack.pending = 0;
	csk->base_backlog_rcv = sk->sk_backlog_rcv;
	sk->sk_backlog_rcv = chim_backlog_catch;
}

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

/* Stop holding the backlog; what was held goes to the stock stack now. */
static void thaw(struct sock *sk, struct chim_sock *csk)
{
	struct sk_buff *skb;

	open_sndbuf(sk, csk);
	while ((skb = __skb_dequeue(&csk->held)))
		csk->base_backlog_rcv(sk, skb);
	sk->sk_backlog_rcv = csk->base_backlog_rcv;
	rearm_timers(sk, csk);
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
	conn->cached.ttl_or_hop_limit = sk->sk_family == AF_INET6 ?
					inet6_sk(sk)->hop_limit :
					inet_sk(sk)->uc_ttl;
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

static struct chim_neigh *find_neigh(struct chim_host *host,
				     const struct in6_addr *next_hop)
{
	struct chim_obj *obj;

	list_for_each_entry(obj, &host->neighs, sibling)
		if ((obj->state == CHIM_STATE_NEW ||
		     obj->state == CHIM_STATE_OFFLOADED) &&
		    ipv6_addr_equal(&chim_obj_neigh(obj)->next_hop, next_hop)) {
			chim_obj_hold(obj);
			return chim_obj_neigh(obj);
		}
	return NULL;
}

static struct chim_path *find_path(struct chim_neigh *neigh,
				   const struct chim_path_const *c)
{
	struct chim_obj *obj;

	list_for_each_entry(obj, &neigh->obj.children, sibling) {
		struct chim_path *path = chim_obj_path(obj);

		if ((obj->state == CHIM_STATE_NEW ||
		     obj->state == CHIM_STATE_OFFLOADED) &&
		    ipv6_addr_equal(&path->c.source_address, &c->source_address) &&
		    ipv6_addr_equal(&path->c.destination_address,
				    &c->destination_address)) {
			chim_obj_hold(obj);
			return path;
		}
	}
	return NULL;
}

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
	struct chim_host *host = cd->host;
	struct chim_neigh *neigh;
	struct chim_path *path;
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

	mutex_lock(&host->lock);
	neigh = find_neigh(host, &nh);
	path = neigh ? find_path(neigh, &pc) : NULL;
	mutex_unlock(&host->lock);
	if (!neigh) {
		neigh = chim_neigh_create(host, &nh, &nc, &ncached);
		if (!neigh)
			return NULL;
	}
	if (!path)
		path = chim_path_create(neigh, &pc, &pcached);
	chim_obj_put(&neigh->obj);
	return path;
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

static int attach_ulp(struct sock *sk, struct netlink_ext_ack *extack)
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

	stop_catching(csk);
	thaw(sk, csk);
	WRITE_ONCE(csk->state, CHIM_SK_HOST);
	csk_set_conn(csk, NULL);
	csk->freeze_locked = false;
	release_sock(sk);
	release_caught(sk, csk, false);
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
	err = attach_ulp(sk, extack);
	if (err)
		return err;
	csk = chim_sock_ctx(sk);
	lock_sock(sk);
	csk->attempted = true;
	sk_flush_backlog(sk);
	err = eligible(sk, csk, cd, extack);
	if (!err && chim_host_full(cd->host)) {
		/* One socket lock at a time: the victim's restore takes its own. */
		release_sock(sk);
		err = chim_trigger_make_room(cd, priority, extack);
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

/* ---- the host's callbacks --------------------------------------------------------- */

static void sock_offloaded(struct chim_conn *conn, enum chim_status status,
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
	csk->freeze_locked = false;
	release_sock(sk);
	/* Its send queue went to the target: room to write (chim_poll()). */
	if (frozen_writable(sk, csk))
		wake_writers(sk);
}

static void sock_upload_begin(struct chim_conn *conn)
{
	struct chim_sock *csk = conn->owner;

	lock_sock(csk->sk);
	WRITE_ONCE(csk->state, CHIM_SK_UPLOADING);
	/* The restore may send; the socket is owned until it is done. */
	stop_catching(csk);
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
	int sndbuf = s->sndbuf, rcvbuf = sk->sk_rcvbuf;
	u64 now;
	int err;

	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return -ENOTCONN;
	if (inflight > tx)
		return -EPROTO;
	/* The queues take back what they held before, whatever the buffers. */
	WRITE_ONCE(sk->sk_sndbuf, max_t(int, sndbuf, 2 * tx + SOCK_MIN_SNDBUF));
	WRITE_ONCE(sk->sk_rcvbuf, max_t(int, rcvbuf, 2 * rx + SOCK_MIN_RCVBUF));

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
	tp->rcv_nxt = d->rcv_nxt - rx;
	tp->copied_seq = tp->rcv_nxt;
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

	WRITE_ONCE(csk->state, CHIM_SK_HOST);
	csk_set_conn(csk, NULL);
	release_sock(sk);
	release_caught(sk, csk, false);
	wake_up_all(&csk->wq);
	sk->sk_write_space(sk);
	chim_obj_put(&conn->obj);
	sock_put(sk);
	chim_sock_put(csk);
}

/* The state is lost: reset the connection (the application sees ECONNRESET). */
static void sock_reset(struct sock *sk, struct chim_sock *csk)
{
	struct sk_buff *skb;

	stop_catching(csk);
	release_caught(sk, csk, true);
	while ((skb = __skb_dequeue(&csk->held)))
		kfree_skb(skb);
	sk->sk_backlog_rcv = csk->base_backlog_rcv;
	open_sndbuf(sk, csk);
	if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
		tcp_disconnect(sk, 0);
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
		sock_reset(sk, csk);
	} else {
		thaw(sk, csk);
		WRITE_ONCE(csk->uploads, csk->uploads + 1);
	}
	upload_done(sk, csk);
}

static void sock_aborted(struct chim_conn *conn)
{
	struct chim_sock *csk = conn->owner;

	sock_reset(csk->sk, csk);
	upload_done(csk->sk, csk);
}

static const struct chim_conn_ops chim_sock_conn_ops = {
	.offloaded = sock_offloaded,
	.upload_begin = sock_upload_begin,
	.uploaded = sock_uploaded,
	.aborted = sock_aborted,
	.one_per_tree = true,
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
