/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_SOCK_H
#define _CHIMNEY_SOCK_H

#include <linux/netlink.h>
#include <linux/skbuff.h>
#include <linux/wait.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>

#include "dev.h"
#include "object.h"

/*
 * Where a socket with the chimney ULP stands.  Only a socket owner (the
 * thread holding lock_sock) changes it; application calls read it without
 * the lock and wait on &chim_sock.wq for HOST.
 */
enum chim_sock_state {
	CHIM_SK_HOST = 0,	/* the stock stack runs it */
	CHIM_SK_OFFLOADING,	/* frozen, the initiate is running */
	CHIM_SK_OFFLOADED,	/* frozen, the target runs it */
	CHIM_SK_UPLOADING,	/* locked by a terminate until restored */
};

/**
 * struct chim_sock_snap - the host's exact values at freeze time, for the
 *	fields the seed's delegated state carries in other units; restored
 *	as they were when the target did not change them
 * @rcv_nxt: tp->rcv_nxt
 * @rcv_wup: tp->rcv_wup
 * @rcv_wnd: tp->rcv_wnd
 * @snd_cwnd: tp->snd_cwnd (segments)
 * @snd_ssthresh: tp->snd_ssthresh (segments)
 * @srtt_us: tp->srtt_us (<<3)
 * @mdev_us: tp->mdev_us
 * @mdev_max_us: tp->mdev_max_us
 * @rttvar_us: tp->rttvar_us
 * @rtt_seq: tp->rtt_seq
 * @ts_recent: tp->rx_opt.ts_recent
 * @ts_recent_stamp: tp->rx_opt.ts_recent_stamp
 * @rto: icsk->icsk_rto
 * @ack_owed: a delayed ACK was pending
 * @sndbuf: sk->sk_sndbuf, 0 while frozen
 * @sent: the delegated variables as handed to the target
 */
struct chim_sock_snap {
	u32 rcv_nxt;
	u32 rcv_wup;
	u32 rcv_wnd;
	u32 snd_cwnd;
	u32 snd_ssthresh;
	u32 srtt_us;
	u32 mdev_us;
	u32 mdev_max_us;
	u32 rttvar_us;
	u32 rtt_seq;
	u32 ts_recent;
	u32 ts_recent_stamp;
	u32 rto;
	bool ack_owed;
	int sndbuf;
	struct chim_tcp_delegated sent;
};

/**
 * struct chim_sock - the chimney ULP's context of one TCP socket
 * @sk: the socket
 * @ref: the socket's reference (dropped when it is destroyed), the TCP
 *	object's while offloaded, the opt-in work's
 * @state: see enum chim_sock_state
 * @base_prot: the socket's protocol before the ULP (tcp_prot, tcpv6_prot)
 * @base_ops: its socket operations before the ULP
 * @base_backlog_rcv: sk->sk_backlog_rcv while the socket is frozen
 * @lock: protects @conn
 * @conn: the TCP object while offloaded, holding a reference
 * @held: segments the stock stack queued to the frozen socket's backlog,
 *	replayed into it once restored; socket owner only
 * @wq: application calls waiting for an upload
 * @snap: the freeze-time values
 * @freeze_locked: the offloader still holds the socket lock
 * @closing: the application closes it: no more offloads
 * @attempted: an offload was tried (the opt-in work does nothing then)
 * @offloads: completed offloads of this socket
 * @uploads: completed uploads
 * @last_err: why the last offload was refused (a negative errno)
 * @ifindex: device of the last offload
 * @work: offloads a socket that opted in with setsockopt(TCP_ULP)
 * @ask_work: asks the target for an upload (Part 1) for a segment the
 *	frozen socket's backlog caught: the target never saw it
 * @ask_queued: @ask_work is queued; socket owner only
 * @node: entry in the list of sockets with the ULP (for the module's exit)
 * @rcu: frees the context after tcp_diag's readers (chim_ulp_get_info())
 * @catch_lock: protects @catching, @catch_host, @caught and @caught_size;
 *	taken in softirq
 * @catching: the socket is frozen: the catch (catch.c) takes the segments
 *	the stock receive path would give it, and drops what it would send
 * @catch_host: the host of the offload, counting what the catch does
 * @caught: segments the catch took, reinjected after the upload
 * @caught_size: their truesize, bounded by the receive buffer
 * @pending: data the target's engine indicated while the socket was
 *	owned, delivered by the protocol's release_cb; sk_lock.slock.  Not
 *	charged to the socket until then (its memory accounting is the
 *	owner's meanwhile)
 * @pending_size: their truesize; sk_lock.slock
 * @stock_asked: chim_release_cb() asked for this offload's upload, for a
 *	call stuck in the stock stack; socket owner only
 * @reoffload: it came back for a send stuck in the stock stack, or its
 *	first offload was put off for a call under way in the stock stack:
 *	a rule that matches it offloads it again at its next segment out
 * @tx_queued: bytes of the send chain the target holds (handed over at
 *	the offload or sent since, not acknowledged yet): the frozen
 *	socket's send queue, bounded by @snap.sndbuf
 */
struct chim_sock {
	struct sock *sk;
	refcount_t ref;
	enum chim_sock_state state;
	struct proto *base_prot;
	const struct proto_ops *base_ops;
	int (*base_backlog_rcv)(struct sock *sk, struct sk_buff *skb);
	spinlock_t lock;	/* see @lock above */
	struct chim_conn *conn;
	struct sk_buff_head held;
	wait_queue_head_t wq;
	struct chim_sock_snap snap;
	bool freeze_locked;
	bool closing;
	bool attempted;
	u32 offloads;
	u32 uploads;
	int last_err;
	int ifindex;
	struct work_struct work;
	struct work_struct ask_work;
	bool ask_queued;
	struct list_head node;
	struct rcu_head rcu;
	spinlock_t catch_lock;	/* see @catch_lock above */
	bool catching;
	struct chim_host *catch_host;
	struct sk_buff_head caught;
	unsigned int caught_size;
	struct sk_buff_head pending;
	unsigned int pending_size;
	bool stock_asked;
	bool reoffload;
	atomic_t tx_queued;
};

/*
 * What the ULP reports in `ss -ti` (tcp_diag's INET_DIAG_ULP_INFO): a
 * nest of its own type, ignored by readers that do not know it.
 */
#define CHIMNEY_ULP_INFO		0x4300
enum {
	CHIMNEY_ULP_INFO_UNSPEC,
	CHIMNEY_ULP_INFO_STATE,		/* u8, enum chim_sock_state */
	CHIMNEY_ULP_INFO_IFINDEX,	/* u32, device of the last offload */
	CHIMNEY_ULP_INFO_OFFLOADS,	/* u32 */
	CHIMNEY_ULP_INFO_UPLOADS,	/* u32 */
};

int chim_sock_offload(struct sock *sk, struct chim_dev *cd, u8 priority,
		      struct netlink_ext_ack *extack);
struct chim_sock *chim_sock_ctx(const struct sock *sk);
struct chim_conn *chim_sock_get_conn(struct chim_sock *csk);
void chim_sock_tuple(const struct sock *sk, struct chim_tuple *t);
bool chim_sock_may_offload(const struct sock *sk);
struct chim_dev *chim_sock_route_dev(struct sock *sk, bool reroute);
int chim_sock_init(void);
void chim_sock_stop(void);
void chim_sock_uninit(void);

int chim_catch_update(struct net *net);

/* ---- internal: between the socket layer's files --------------------- */

/*
 * sock.c (what the layer shares: contexts, counted calls), ulp.c (the
 * ULP's life, the module's exit), sock-calls.c (the application calls),
 * sock-offload.c (freeze, snapshot, offload), sock-restore.c (the host's
 * callbacks, the restore) and catch.c (a frozen socket's other segments).
 * Nothing outside them uses what follows.
 */

enum { CHIM_PROT_V4, CHIM_PROT_V6, CHIM_NR_PROTS };

/* A socket's protocol and socket operations with the ULP's calls. */
struct chim_prot_set {
	struct proto prot;
	/* a writable copy of the base operations (checkpatch wants const) */
	struct
	proto_ops ops;
};

/* sock-calls.c: built by chim_sock_build_prot(), one per family */
extern struct chim_prot_set chim_prots[CHIM_NR_PROTS];
/* sock.c: runs the sockets' work items (opt-in, upload requests, close) */
extern struct workqueue_struct *chim_sock_wq;
/* sock-restore.c: the host's callbacks of a socket's connection */
extern const struct chim_conn_ops chim_sock_conn_ops;

/**
 * struct chim_blocked - one of our calls, waiting in the stock stack
 * @node: entry in the list of the CPU it started on
 * @task: the caller
 * @cpu: that CPU
 * @kicked: the module's exit interrupted it
 */
struct chim_blocked {
	struct list_head node;
	struct task_struct *task;
	int cpu;
	bool kicked;
};

/* The context behind our protocol: set before it is installed, kept after. */
static inline struct chim_sock *csk_of(const struct sock *sk)
{
	return (__force struct chim_sock *)inet_csk(sk)->icsk_ulp_data;
}

static inline void csk_set_conn(struct chim_sock *csk, struct chim_conn *conn)
{
	spin_lock_bh(&csk->lock);
	csk->conn = conn;
	spin_unlock_bh(&csk->lock);
}

static inline bool csk_frozen(const struct chim_sock *csk)
{
	return READ_ONCE(csk->state) != CHIM_SK_HOST;
}

/* sock.c */
#define CHIM_ULP_NAME "chimney"
extern struct percpu_ref chim_calls;
extern struct completion chim_calls_done;
extern struct task_struct *chim_attaching;
extern const struct tcp_ulp_ops *chim_ulp;
void chim_sock_enter(void);
void chim_sock_leave(void);
void chim_sock_blocked_init(void);
void chim_sock_blocked_begin(struct chim_blocked *b);
void chim_sock_blocked_end(struct chim_blocked *b);
unsigned int chim_sock_kick_blocked(void);
struct chim_sock *chim_sock_ctx_rcu(const struct sock *sk);
bool chim_sock_queue_ask(struct sock *sk, struct chim_sock *csk);
void chim_sock_put(struct chim_sock *csk);
int chim_sock_attach_ulp(struct sock *sk, struct netlink_ext_ack *extack);
bool chim_sock_frozen_writable(const struct sock *sk,
			       const struct chim_sock *csk);
void chim_sock_deliver(struct sock *sk, struct sk_buff *skb);
void chim_sock_wake_writers(struct sock *sk);
bool chim_sock_drain_pending(struct sock *sk, struct chim_sock *csk);

/* sock-calls.c */
int chim_sock_start_upload(struct chim_sock *csk,
			   enum chim_upload_reason reason, bool ask,
			   bool terminate, bool killable);
int chim_sock_build_prot(struct sock *sk, int i);

/* sock-offload.c */
void chim_sock_offloaded(struct chim_conn *conn, enum chim_status status,
			 struct chim_tcp_delegated *d);

/* sock-restore.c */
void chim_sock_thaw(struct sock *sk, struct chim_sock *csk);

/* catch.c */
void chim_sock_stop_catching(struct chim_sock *csk);
void chim_sock_release_caught(struct sock *sk, struct chim_sock *csk,
			      bool drop);

#endif /* _CHIMNEY_SOCK_H */
