// SPDX-License-Identifier: GPL-2.0
/*
 * The socket layer's application calls: the protocol and the socket
 * operations of a socket that has the ULP, built once per family.
 *
 * Application calls keep their meaning: a send goes to the target's engine
 * while it runs the connection; a call that needs the stock stack (a send
 * the engine does not take, a read of data the target holds, shutdown,
 * close) first gets the connection uploaded and waits for it; poll,
 * SIOCINQ/SIOCOUTQ and TCP_INFO read the frozen socket, whose counters
 * are the delegated ones.
 */
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/tcp.h>

#include "sock.h"

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

/**
 * chim_sock_start_upload() - start the upload of a socket's connection
 * @csk: the socket's context
 * @reason: the upload's reason
 * @ask: queue a Part 1 request, as if the target had asked
 * @terminate: the host terminates it itself when no request is queued
 * @killable: the wait for RTNL may be given up (csk_rtnl_lock())
 *
 * Nothing happens when the socket has no connection.
 *
 * Context: process, socket not locked (a terminate locks it).
 * Return: 0, or -EINTR when given up.
 */
int chim_sock_start_upload(struct chim_sock *csk,
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
	if (chim_sock_start_upload(csk, reason, ask_target, true, killable))
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

	/* Unread data the offload took (data the engine delivered is here). */
	return csk_frozen(csk) &&
	       READ_ONCE(tp->rcv_nxt) != READ_ONCE(tp->copied_seq) &&
	       skb_queue_empty_lockless(&sk->sk_receive_queue);
}

/*
 * target_holds_rx() once the socket is free: the offloader, which emptied
 * the queue, gives the data that the target indicates back meanwhile to
 * the queue as it releases the socket.
 */
static bool target_holds_rx_locked(struct sock *sk, struct chim_sock *csk)
{
	bool held;

	lock_sock(sk);
	held = target_holds_rx(sk, csk);
	release_sock(sk);
	return held;
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
	chim_sock_blocked_begin(&b);
	base->close(sk, timeout);
	chim_sock_blocked_end(&b);
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

	chim_sock_enter();
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
	chim_sock_leave();
}

/* Room the target leaves in the send buffer the socket had. */
static int offload_room(const struct chim_sock *csk)
{
	return READ_ONCE(csk->snap.sndbuf) - atomic_read(&csk->tx_queued);
}

/*
 * Wait, socket locked (dropped meanwhile), until the target has room, the
 * connection is no longer offloaded, or an error or a signal comes.
 */
static int offload_wait_room(struct sock *sk, struct chim_sock *csk,
			     long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct chim_blocked b;

	if (!*timeo)
		return -EAGAIN;
	chim_sock_blocked_begin(&b);
	add_wait_queue(sk_sleep(sk), &wait);
	sk_wait_event(sk, timeo, offload_room(csk) > 0 ||
		      READ_ONCE(csk->state) != CHIM_SK_OFFLOADED ||
		      READ_ONCE(sk->sk_err) ||
		      signal_pending(current), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
	chim_sock_blocked_end(&b);
	if (sk->sk_err)
		return sock_error(sk);
	if (signal_pending(current))
		return sock_intr_errno(*timeo);
	return 0;
}

/*
 * The stock send's wait for memory (sk_stream_wait_memory()), socket
 * locked (dropped meanwhile), which also ends when the connection is
 * offloaded: the send then goes to the target.  It does not count in
 * sk_write_pending, which marks a send stuck in the stock stack
 * (chim_release_cb()).  Errors are the stock send's to report.
 *
 * Return: 0 to try again, -EAGAIN once the timeout ran out, or the
 * errno of a signal.
 */
static int host_wait_memory(struct sock *sk, struct chim_sock *csk,
			    long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	if (!*timeo)
		return -EAGAIN;
	sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	add_wait_queue(sk_sleep(sk), &wait);
	sk_wait_event(sk, timeo, sk_stream_memory_free(sk) ||
		      READ_ONCE(csk->state) != CHIM_SK_HOST ||
		      READ_ONCE(sk->sk_err) ||
		      (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
		      signal_pending(current), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
	if (signal_pending(current))
		return sock_intr_errno(*timeo);
	return 0;
}

/*
 * Up to @len bytes of @msg, copied into linear skbs on @q; fewer without
 * memory or on a fault (the message's position then follows the copy).
 *
 * Return: the bytes copied, or -ENOMEM or -EFAULT when none was.
 */
static int offload_copy(struct sock *sk, struct msghdr *msg, size_t len,
			struct sk_buff_head *q)
{
	size_t done = 0;
	int err = 0;

	while (done < len) {
		u32 n = min_t(size_t, len - done, CHIM_DATA_CHUNK);
		struct sk_buff *skb = alloc_skb(n, sk->sk_allocation);
		size_t left = msg_data_left(msg);

		if (!skb) {
			err = -ENOMEM;
			break;
		}
		skb_put(skb, n);
		if (skb_copy_datagram_from_iter(skb, 0, &msg->msg_iter, n)) {
			/* What this chunk took from the message goes back. */
			iov_iter_revert(&msg->msg_iter, left - msg_data_left(msg));
			kfree_skb(skb);
			err = -EFAULT;
			break;
		}
		__skb_queue_tail(q, skb);
		done += n;
	}
	return done ?: err;
}

/*
 * The send of an offloaded connection, socket locked: the data goes to the
 * target's engine (NdisOffloadTcpSend), as much as the send buffer the
 * socket had takes, waiting for room as the stock send waits for memory.
 *
 * Return: 0 with all of @msg sent (*@copied counts it), -EOPNOTSUPP when
 * the target does not run the connection or it is no longer offloaded
 * (the rest goes through the stock stack), another negative errno.
 */
static int offload_send(struct sock *sk, struct chim_sock *csk,
			struct msghdr *msg, long *timeo, int *copied)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct sk_buff_head q;
	int room, n, err;

	__skb_queue_head_init(&q);
	while (msg_data_left(msg)) {
		if (csk->state != CHIM_SK_OFFLOADED || !csk->conn)
			return -EOPNOTSUPP;
		if (sk->sk_err)
			return sock_error(sk);
		room = offload_room(csk);
		if (room <= 0) {
			err = offload_wait_room(sk, csk, timeo);
			if (err)
				return err;
			continue;
		}
		n = offload_copy(sk, msg, min_t(size_t, room, msg_data_left(msg)),
				 &q);
		if (n < 0)
			return n;
		/* Before the target has it: its completions subtract. */
		atomic_add(n, &csk->tx_queued);
		err = chim_host_conn_send(csk->conn, &q);
		if (err) {
			atomic_sub(n, &csk->tx_queued);
			__skb_queue_purge(&q);
			iov_iter_revert(&msg->msg_iter, n);
			return err;
		}
		WRITE_ONCE(tp->write_seq, tp->write_seq + n);
		tp->bytes_sent += n;
		*copied += n;
	}
	return 0;
}

/*
 * The send: to the target's engine while it runs the connection, else the
 * stock send, but never on a frozen socket: the state is checked with the
 * socket locked, and the wait for buffer space (which drops the lock, so
 * an offload may happen meanwhile) is done here, between two checks.
 * Urgent data brings the connection back (the engine sends none).
 */
static int chim_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct chim_sock *csk = csk_of(sk);
	unsigned int flags = msg->msg_flags;
	long timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	bool engine = !(flags & MSG_OOB);
	int copied = 0, err = 0;
	struct chim_blocked b;

	chim_sock_enter();
	for (;;) {
		/* An offload in progress holds the lock until it completes. */
		lock_sock(sk);
		if (engine && csk->state == CHIM_SK_OFFLOADED) {
			err = offload_send(sk, csk, msg, &timeo, &copied);
			release_sock(sk);
			if (err != -EOPNOTSUPP)
				break;
			/* The rest through the stock stack. */
			engine = false;
			continue;
		}
		if (csk_frozen(csk)) {
			release_sock(sk);
			err = chim_sock_reclaim(sk, csk,
						CHIM_REASON_UPLOAD_REQUESTED,
						true, true);
			if (err)
				break;
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
		chim_sock_blocked_begin(&b);
		err = host_wait_memory(sk, csk, &timeo);
		chim_sock_blocked_end(&b);
		release_sock(sk);
		if (err)
			break;
	}
	chim_sock_leave();
	return copied ?: err;
}

/*
 * A read made room: the target's engine may open the window it advertised
 * (a window update, so that the peer need not probe a closed window).
 * Under the socket lock, an offloaded connection is one no terminate has
 * begun on.
 */
static void room_after_read(struct sock *sk, struct chim_sock *csk)
{
	if (READ_ONCE(csk->state) != CHIM_SK_OFFLOADED)
		return;
	lock_sock(sk);
	if (csk->state == CHIM_SK_OFFLOADED && csk->conn)
		chim_host_conn_room(csk->conn, tcp_space(sk));
	release_sock(sk);
}

static int chim_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			int flags, int *addr_len)
{
	struct chim_sock *csk = csk_of(sk);
	struct chim_blocked b;
	int ret;

	chim_sock_enter();
	/*
	 * With nothing held by the target, the stock call waits for data,
	 * which arrives after the upload the next segment causes.  Seen
	 * without the lock, the data may be on its way back: an offload
	 * that holds the socket delivers it at its release.
	 */
	ret = target_holds_rx(sk, csk) && target_holds_rx_locked(sk, csk) ?
	      chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
				true, true) : 0;
	if (!ret) {
		chim_sock_blocked_begin(&b);
		ret = csk->base_prot->recvmsg(sk, msg, len, flags, addr_len);
		chim_sock_blocked_end(&b);
		if (ret > 0 && !(flags & MSG_PEEK))
			room_after_read(sk, csk);
	}
	chim_sock_leave();
	return ret;
}

static void chim_splice_eof(struct socket *sock)
{
	struct chim_sock *csk = csk_of(sock->sk);

	chim_sock_enter();
	chim_sock_reclaim(sock->sk, csk, CHIM_REASON_UPLOAD_REQUESTED, true, true);
	if (csk->base_prot->splice_eof)
		csk->base_prot->splice_eof(sock);
	chim_sock_leave();
}

/* Called with the socket locked: the target's keepalive runs meanwhile. */
static void chim_keepalive(struct sock *sk, int valbool)
{
	struct chim_sock *csk = csk_of(sk);

	chim_sock_enter();
	if (!csk_frozen(csk) && csk->base_prot->keepalive)
		csk->base_prot->keepalive(sk, valbool);
	chim_sock_leave();
}

/*
 * `ss -K` (SOCK_DESTROY): the connection comes back first, so that the
 * target forgets its tuple, then the stock stack aborts it.
 */
static int chim_diag_destroy(struct sock *sk, int err)
{
	struct chim_sock *csk = csk_of(sk);
	int ret;

	chim_sock_enter();
	ret = chim_sock_reclaim(sk, csk, CHIM_REASON_ADMIN, false, true);
	if (!ret)
		ret = csk->base_prot->diag_destroy(sk, err);
	chim_sock_leave();
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

	chim_sock_enter();
	if (!csk_frozen(csk))
		ret = csk->base_prot->disconnect(sk, flags);
	chim_sock_leave();
	return ret;
}

static int chim_setsockopt(struct sock *sk, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct chim_sock *csk = csk_of(sk);
	int err = -EBUSY;

	chim_sock_enter();
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
	chim_sock_leave();
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

	chim_sock_enter();
	if (addr_len >= sizeof(uaddr->sa_family) &&
	    uaddr->sa_family == AF_UNSPEC)
		ret = chim_sock_reclaim(sock->sk, csk, CHIM_REASON_CLOSE, false,
					true);
	if (!ret)
		ret = csk->base_ops->connect(sock, uaddr, addr_len, flags);
	chim_sock_leave();
	return ret;
}

static int chim_shutdown(struct socket *sock, int how)
{
	struct chim_sock *csk = csk_of(sock->sk);
	int ret;

	chim_sock_enter();
	ret = chim_sock_closing(sock->sk, csk, true);
	if (!ret)
		ret = csk->base_ops->shutdown(sock, how);
	chim_sock_leave();
	return ret;
}

static ssize_t chim_splice_read(struct socket *sock, loff_t *ppos,
				struct pipe_inode_info *pipe, size_t len,
				unsigned int flags)
{
	struct chim_sock *csk = csk_of(sock->sk);
	struct chim_blocked b;
	ssize_t ret;

	chim_sock_enter();
	ret = target_holds_rx(sock->sk, csk) &&
	      target_holds_rx_locked(sock->sk, csk) ?
	      chim_sock_reclaim(sock->sk, csk, CHIM_REASON_UPLOAD_REQUESTED,
				true, true) : 0;
	if (!ret) {
		chim_sock_blocked_begin(&b);
		ret = csk->base_ops->splice_read(sock, ppos, pipe, len, flags);
		chim_sock_blocked_end(&b);
		if (ret > 0)
			room_after_read(sock->sk, csk);
	}
	chim_sock_leave();
	return ret;
}

/* The base protocols our sets were built from, one per family. */
static struct proto *chim_saved_prot[CHIM_NR_PROTS];

/*
 * release_sock(), sk_lock.slock held: what the engine indicated while the
 * socket was owned goes into its receive queue, then the stock callback.
 *
 * A write that entered the stock tcp_sendmsg() before the offload (it read
 * the stock protocol before the ULP was installed, or the socket was the
 * host's then) waits in sk_stream_wait_memory() for room the frozen socket
 * never gets (freeze()), and only the upload gives it back: ask for it.
 * Its wait releases the socket each time it looks, and the offload
 * releases it once offloaded, so one of them sees sk_write_pending here.
 * Once it is back the send goes on, and the sends after it come through
 * chim_sendmsg(): a rule that matches it may offload it again.
 */
static void chim_release_cb(struct sock *sk)
{
	int i = sk->sk_family == AF_INET6 ? CHIM_PROT_V6 : CHIM_PROT_V4;
	struct chim_sock *csk = csk_of(sk);
	bool more = csk && chim_sock_drain_pending(sk, csk);

	if (csk && sk->sk_write_pending && !csk->stock_asked &&
	    READ_ONCE(csk->state) == CHIM_SK_OFFLOADED) {
		csk->stock_asked = true;
		if (!csk->ask_queued)
			csk->ask_queued = chim_sock_queue_ask(sk, csk);
		/* Its next sends come here: a rule may offload it again. */
		WRITE_ONCE(csk->reoffload, true);
	}
	/*
	 * The same for a read that entered the stock tcp_recvmsg() before
	 * the ULP: woken for data the offload then took, it sleeps again in
	 * sk_wait_data() with the queue empty, and only the upload gives the
	 * data back.  It releases the socket as it goes to sleep, on the
	 * socket's wait queue (the offload's own release is not one).
	 */
	if (csk && !csk->stock_asked && !csk->freeze_locked &&
	    READ_ONCE(csk->state) == CHIM_SK_OFFLOADED &&
	    target_holds_rx(sk, csk) &&
	    skwq_has_sleeper(rcu_dereference_raw(sk->sk_wq))) {
		csk->stock_asked = true;
		if (!csk->ask_queued)
			csk->ask_queued = chim_sock_queue_ask(sk, csk);
	}
	chim_saved_prot[i]->release_cb(sk);
	if (more)
		sk->sk_data_ready(sk);
}

static __poll_t chim_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct chim_sock *csk = csk_of(sock->sk);
	__poll_t mask;

	chim_sock_enter();
	mask = csk->base_ops->poll(file, sock, wait);
	if (!(mask & EPOLLOUT) && chim_sock_frozen_writable(sock->sk, csk))
		mask |= EPOLLOUT | EPOLLWRNORM;
	chim_sock_leave();
	return mask;
}

#ifdef CHIM_HAVE_PROTO_SENDPAGE
static int chim_sendpage(struct sock *sk, struct page *page, int offset,
			 size_t size, int flags)
{
	struct chim_sock *csk = csk_of(sk);
	int ret;

	chim_sock_enter();
	ret = chim_sock_reclaim(sk, csk, CHIM_REASON_UPLOAD_REQUESTED, true, true);
	if (!ret)
		ret = csk->base_prot->sendpage(sk, page, offset, size, flags);
	chim_sock_leave();
	return ret;
}
#endif

/* The socket's protocol and socket operations with the calls above. */
struct chim_prot_set chim_prots[CHIM_NR_PROTS];
static const struct proto_ops *chim_saved_ops[CHIM_NR_PROTS];
static DEFINE_MUTEX(chim_prot_lock);

/**
 * chim_sock_build_prot() - the socket's protocol with the calls above
 * @sk: a TCP socket getting the ULP, with a struct socket
 * @i: its family's set in chim_prots (CHIM_PROT_V4, CHIM_PROT_V6)
 *
 * The set is built once per family, from the first socket's own protocol
 * (tcp_prot, tcpv6_prot).
 *
 * Context: process, socket locked (the ULP's init); takes chim_prot_lock.
 * Return: 0 when chim_prots[@i] has the socket's own protocol and socket
 * operations with our calls, -EOPNOTSUPP when another layer changed them.
 */
int chim_sock_build_prot(struct sock *sk, int i)
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
			p->release_cb = chim_release_cb;
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
