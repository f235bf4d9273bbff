// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_sock: a real in-kernel TCP connection over the
 * loopback device, with data waiting in every queue, is offloaded into a
 * target attached to "lo" and uploaded back; every field the upload
 * restores is compared with its value before the offload, and the data
 * then flows on with nothing lost.
 *
 * The peer is kept silent while the connection is away: a helper thread
 * owns its socket, so what reaches it waits in its backlog, unacknowledged.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/in6.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/rtnetlink.h>
#include <net/tcp.h>

#include "emu/emu.h"
#include "host.h"
#include "net.h"
#include "sock.h"

#define SOCK_TEST_PEER_BYTES	(10 << 10)	/* peer to us: left unread */
#define SOCK_TEST_SEND_BYTES	(512 << 10)	/* us to peer: at most */
#define SOCK_TEST_WAIT_MS	5000

/* The byte at @off of a stream: distinct on each direction. */
static u8 pattern(u32 off, u8 seed)
{
	return (u8)(off * 7 + (off >> 8) * 13 + seed);
}

struct sock_test_pair {
	struct socket *listener;
	struct socket *client;	/* the one offloaded */
	struct socket *server;	/* its peer */
};

static int send_pattern(struct socket *sock, u32 off, u32 len, u8 seed)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	struct kvec kv;
	u8 *buf;
	u32 i;
	int n;

	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++)
		buf[i] = pattern(off + i, seed);
	kv.iov_base = buf;
	kv.iov_len = len;
	n = kernel_sendmsg(sock, &msg, &kv, 1, len);
	kvfree(buf);
	return n;
}

/* Read the stream's bytes @from to @to and check them against the pattern. */
static void recv_pattern_from(struct kunit *test, struct socket *sock,
			      u32 from, u32 to, u8 seed)
{
	u32 got = from, i, bad = 0;
	u8 *buf;

	buf = kunit_kmalloc(test, 64 << 10, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	while (got < to) {
		struct msghdr msg = {};
		struct kvec kv = { buf, min_t(u32, to - got, 64 << 10) };
		int n = kernel_recvmsg(sock, &msg, &kv, 1, kv.iov_len, 0);

		KUNIT_ASSERT_GT_MSG(test, n, 0, "after %u of %u bytes", got, to);
		for (i = 0; i < n; i++)
			bad += buf[i] != pattern(got + i, seed);
		got += n;
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0u, "bytes differing from the stream");
}

/* Read exactly @len bytes and check them against the pattern. */
static void recv_pattern(struct kunit *test, struct socket *sock, u32 len,
			 u8 seed)
{
	recv_pattern_from(test, sock, 0, len, seed);
}

static void pair_release(void *arg)
{
	struct sock_test_pair *p = arg;
	struct socket **s[] = { &p->client, &p->server, &p->listener };
	int i;

	for (i = 0; i < ARRAY_SIZE(s); i++) {
		if (!*s[i])
			continue;
		/* Abortive close: the sockets go at once, and so the ULP. */
		sock_no_linger((*s[i])->sk);
		sock_release(*s[i]);
		*s[i] = NULL;
	}
}

/*
 * A connected pair over loopback.  User sockets (sock_create(), in the
 * test thread's namespace) unless @kern: kernel sockets are never
 * offloaded.
 */
static struct sock_test_pair *__pair_create(struct kunit *test, int family,
					    bool kern)
{
	struct sockaddr_storage ss = { .ss_family = family };
	struct sock_test_pair *p;
	int len, err;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, pair_release, p), 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	}
	err = __sock_create(&init_net, family, SOCK_STREAM, IPPROTO_TCP,
			    &p->listener, kern);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, kernel_bind(p->listener, (struct sockaddr *)&ss, len), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(p->listener, 1), 0);
	KUNIT_ASSERT_GT(test, kernel_getsockname(p->listener, (struct sockaddr *)&ss), 0);
	err = __sock_create(&init_net, family, SOCK_STREAM, IPPROTO_TCP,
			    &p->client, kern);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, kernel_connect(p->client, (struct sockaddr *)&ss, len, 0), 0);
	KUNIT_ASSERT_EQ(test, kernel_accept(p->listener, &p->server, 0), 0);
	/* No call of the test blocks for ever. */
	p->client->sk->sk_rcvtimeo = 10 * HZ;
	p->server->sk->sk_rcvtimeo = 10 * HZ;
	return p;
}

static struct sock_test_pair *pair_create(struct kunit *test, int family)
{
	return __pair_create(test, family, false);
}

/* Owns a socket from another thread, so its backlog holds what arrives. */
struct sock_holder {
	struct sock *sk;
	struct completion locked;
	struct completion release;
	struct completion done;
};

static int holder_fn(void *arg)
{
	struct sock_holder *h = arg;

	lock_sock(h->sk);
	complete(&h->locked);
	wait_for_completion(&h->release);
	release_sock(h->sk);
	kthread_complete_and_exit(&h->done, 0);
}

static void holder_stop(void *arg)
{
	struct sock_holder *h = arg;

	complete(&h->release);
	wait_for_completion(&h->done);
}

static void hold_peer(struct kunit *test, struct sock_holder *h, struct sock *sk)
{
	struct task_struct *t;

	h->sk = sk;
	init_completion(&h->locked);
	init_completion(&h->release);
	init_completion(&h->done);
	t = kthread_run(holder_fn, h, "chimney-kunit-hold");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	wait_for_completion(&h->locked);
}

/* Every field the upload writes back, and what every queue holds. */
enum tcp_field {
	F_SND_UNA,
	F_SND_NXT,
	F_WRITE_SEQ,
	F_SND_WL1,
	F_SND_WND,
	F_MAX_WINDOW,
	F_RCV_NXT,
	F_COPIED_SEQ,
	F_RCV_WUP,
	F_RCV_WND,
	F_SND_CWND,
	F_SND_SSTHRESH,
	F_SRTT_US,
	F_MDEV_US,
	F_MDEV_MAX_US,
	F_RTTVAR_US,
	F_RTT_SEQ,
	F_RTO,
	F_TS_RECENT,
	F_TS_RECENT_STAMP,
	F_TSOFFSET,
	F_MSS_CACHE,
	F_PACKETS_OUT,
	F_SNDBUF,
	F_RCVBUF,
	F_RTX_TIMER,
	F_RTX_BYTES,
	F_WRITE_BYTES,
	F_RECV_BYTES,
	F_BAD_BYTES,
	F_NR
};

static const char * const field_names[F_NR] = {
	[F_SND_UNA] = "snd_una",
	[F_SND_NXT] = "snd_nxt",
	[F_WRITE_SEQ] = "write_seq",
	[F_SND_WL1] = "snd_wl1",
	[F_SND_WND] = "snd_wnd",
	[F_MAX_WINDOW] = "max_window",
	[F_RCV_NXT] = "rcv_nxt",
	[F_COPIED_SEQ] = "copied_seq",
	[F_RCV_WUP] = "rcv_wup",
	[F_RCV_WND] = "rcv_wnd",
	[F_SND_CWND] = "snd_cwnd",
	[F_SND_SSTHRESH] = "snd_ssthresh",
	[F_SRTT_US] = "srtt_us",
	[F_MDEV_US] = "mdev_us",
	[F_MDEV_MAX_US] = "mdev_max_us",
	[F_RTTVAR_US] = "rttvar_us",
	[F_RTT_SEQ] = "rtt_seq",
	[F_RTO] = "rto",
	[F_TS_RECENT] = "ts_recent",
	[F_TS_RECENT_STAMP] = "ts_recent_stamp",
	[F_TSOFFSET] = "tsoffset",
	[F_MSS_CACHE] = "mss_cache",
	[F_PACKETS_OUT] = "packets_out",
	[F_SNDBUF] = "sndbuf",
	[F_RCVBUF] = "rcvbuf",
	[F_RTX_TIMER] = "rtx_timer",
	[F_RTX_BYTES] = "rtx_bytes",
	[F_WRITE_BYTES] = "write_bytes",
	[F_RECV_BYTES] = "recv_bytes",
	[F_BAD_BYTES] = "bad_bytes",
};

struct tcp_fields {
	u32 v[F_NR];
};

/* Bytes of a queue from @seq, checked against the pattern at @base. */
static u32 check_skb(const struct sk_buff *skb, u32 *seq, u32 base, u8 seed,
		     u32 *bad)
{
	u32 i;
	u8 b;

	if (TCP_SKB_CB(skb)->seq != *seq)
		(*bad)++;
	for (i = 0; i < skb->len; i++)
		if (skb_copy_bits(skb, i, &b, 1) ||
		    b != pattern(*seq + i - base, seed))
			(*bad)++;
	*seq += skb->len;
	return skb->len;
}

static void read_fields(struct sock *sk, struct tcp_fields *f, u32 tx_base,
			u32 rx_base)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct sk_buff *skb;
	struct rb_node *n;
	u32 *v = f->v;
	u32 seq;

	memset(f, 0, sizeof(*f));
	lock_sock(sk);
	v[F_SND_UNA] = tp->snd_una;
	v[F_SND_NXT] = tp->snd_nxt;
	v[F_WRITE_SEQ] = tp->write_seq;
	v[F_SND_WL1] = tp->snd_wl1;
	v[F_SND_WND] = tp->snd_wnd;
	v[F_MAX_WINDOW] = tp->max_window;
	v[F_RCV_NXT] = tp->rcv_nxt;
	v[F_COPIED_SEQ] = tp->copied_seq;
	v[F_RCV_WUP] = tp->rcv_wup;
	v[F_RCV_WND] = tp->rcv_wnd;
	v[F_SND_CWND] = tcp_snd_cwnd(tp);
	v[F_SND_SSTHRESH] = tp->snd_ssthresh;
	v[F_SRTT_US] = tp->srtt_us;
	v[F_MDEV_US] = tp->mdev_us;
	v[F_MDEV_MAX_US] = tp->mdev_max_us;
	v[F_RTTVAR_US] = tp->rttvar_us;
	v[F_RTT_SEQ] = tp->rtt_seq;
	v[F_RTO] = icsk->icsk_rto;
	v[F_TS_RECENT] = tp->rx_opt.ts_recent;
	v[F_TS_RECENT_STAMP] = tp->rx_opt.ts_recent_stamp;
	v[F_TSOFFSET] = tp->tsoffset;
	v[F_MSS_CACHE] = tp->mss_cache;
	v[F_PACKETS_OUT] = tp->packets_out;
	v[F_SNDBUF] = sk->sk_sndbuf;
	v[F_RCVBUF] = sk->sk_rcvbuf;
	v[F_RTX_TIMER] = icsk->icsk_pending == ICSK_TIME_RETRANS;
	seq = tp->snd_una;
	for (n = rb_first(&sk->tcp_rtx_queue); n; n = rb_next(n))
		v[F_RTX_BYTES] += check_skb(rb_to_skb(n), &seq, tx_base, 1,
					    &v[F_BAD_BYTES]);
	skb_queue_walk(&sk->sk_write_queue, skb)
		v[F_WRITE_BYTES] += check_skb(skb, &seq, tx_base, 1,
					      &v[F_BAD_BYTES]);
	seq = tp->copied_seq;
	skb_queue_walk(&sk->sk_receive_queue, skb)
		v[F_RECV_BYTES] += check_skb(skb, &seq, rx_base, 2,
					     &v[F_BAD_BYTES]);
	release_sock(sk);
}

static void expect_same(struct kunit *test, const struct tcp_fields *a,
			const struct tcp_fields *b)
{
	int i;

	for (i = 0; i < F_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, a->v[i], b->v[i], "%s", field_names[i]);
}

static bool wait_until(struct sock *sk, bool (*cond)(struct sock *sk))
{
	int ms;

	for (ms = 0; ms < SOCK_TEST_WAIT_MS; ms++) {
		if (cond(sk))
			return true;
		usleep_range(1000, 2000);
	}
	return cond(sk);
}

static bool peer_bytes_arrived(struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return READ_ONCE(tp->rcv_nxt) - READ_ONCE(tp->copied_seq) ==
	       SOCK_TEST_PEER_BYTES && READ_ONCE(tp->snd_una) == READ_ONCE(tp->snd_nxt);
}

static bool urgent_arrived(struct sock *sk)
{
	return READ_ONCE(tcp_sk(sk)->urg_data);
}

static void detach_lo(void *arg)
{
	rtnl_lock();
	chim_net_detach(arg);
	rtnl_unlock();
}

static struct chim_dev *__attach_lo(struct kunit *test, bool engine)
{
	struct chim_dev_config cfg;
	struct net_device *lo = init_net.loopback_dev;
	struct chim_dev *cd;

	chim_dev_config_init(&cfg);
	cfg.engine = engine;
	rtnl_lock();
	if (!(lo->flags & IFF_UP))
		dev_change_flags(lo, lo->flags | IFF_UP, NULL);
	cd = chim_dev_lookup(lo) ? ERR_PTR(-EBUSY) : chim_net_attach(lo, &cfg);
	rtnl_unlock();
	KUNIT_ASSERT_FALSE(test, IS_ERR(cd));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, detach_lo, cd), 0);
	return cd;
}

/* The frozen model: the target holds the connection, runs nothing. */
static struct chim_dev *attach_lo(struct kunit *test)
{
	return __attach_lo(test, false);
}

static int offload(struct sock *sk, struct chim_dev *cd)
{
	int err;

	rtnl_lock();
	err = chim_sock_offload(sk, cd, 3, NULL);
	rtnl_unlock();
	return err;
}

static int upload(struct chim_dev *cd, struct chim_sock *csk)
{
	struct chim_conn *conn = chim_sock_get_conn(csk);
	struct chim_obj *obj;
	int err;

	if (!conn)
		return -ENOENT;
	obj = &conn->obj;
	err = chim_host_terminate(cd->host, &obj, 1, CHIM_REASON_ADMIN);
	chim_obj_put(obj);
	return err;
}

static void handoff_keeps_every_field(struct kunit *test, int family)
{
	struct chim_dev *cd = attach_lo(test);
	struct sock_test_pair *p = pair_create(test, family);
	struct sock *sk = p->client->sk;
	struct tcp_fields before, frozen, after;
	struct sock_holder *h;
	struct chim_conn *conn;
	struct chim_sock *csk;
	u32 tx_base, rx_base;
	int sent;

	/* Unread: the peer's bytes, acknowledged, not read by us. */
	rx_base = tcp_sk(sk)->rcv_nxt;
	KUNIT_ASSERT_EQ(test, send_pattern(p->server, 0, SOCK_TEST_PEER_BYTES, 2),
			SOCK_TEST_PEER_BYTES);
	KUNIT_ASSERT_TRUE(test, wait_until(sk, peer_bytes_arrived));

	/*
	 * Unacknowledged and unsent: the silent peer's window takes part of
	 * what we send.  A long RTO, and no SACK (so no loss probe), keep the
	 * timers out of it.
	 */
	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	hold_peer(test, h, p->server->sk);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, holder_stop, h), 0);
	lock_sock(sk);
	inet_csk(sk)->icsk_rto = 60 * HZ;
	tcp_sk(sk)->rx_opt.sack_ok = 0;
	tx_base = tcp_sk(sk)->write_seq;
	release_sock(sk);
	sent = send_pattern(p->client, 0, SOCK_TEST_SEND_BYTES, 1);
	KUNIT_ASSERT_GT(test, sent, 0);

	read_fields(sk, &before, tx_base, rx_base);
	KUNIT_ASSERT_GT(test, before.v[F_RTX_BYTES], 0u);
	KUNIT_ASSERT_GT(test, before.v[F_WRITE_BYTES], 0u);
	KUNIT_ASSERT_EQ(test, before.v[F_RECV_BYTES], SOCK_TEST_PEER_BYTES);
	KUNIT_ASSERT_EQ(test, before.v[F_RTX_BYTES] + before.v[F_WRITE_BYTES], (u32)sent);
	KUNIT_ASSERT_EQ(test, before.v[F_BAD_BYTES], 0u);

	KUNIT_ASSERT_EQ(test, offload(sk, cd), 0);
	csk = chim_sock_ctx(sk);
	KUNIT_ASSERT_NOT_NULL(test, csk);
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->state), CHIM_SK_OFFLOADED);
	/* The TTL or hop limit its segments carry: the route's default. */
	conn = chim_sock_get_conn(csk);
	KUNIT_ASSERT_NOT_NULL(test, conn);
	KUNIT_EXPECT_EQ(test, conn->cached.ttl_or_hop_limit, 64);
	chim_obj_put(&conn->obj);
	/* The host's queues are in the target now; the counters stay. */
	read_fields(sk, &frozen, tx_base, rx_base);
	KUNIT_EXPECT_EQ(test, frozen.v[F_RTX_BYTES] + frozen.v[F_WRITE_BYTES] +
			frozen.v[F_RECV_BYTES], 0u);
	KUNIT_EXPECT_EQ(test, frozen.v[F_PACKETS_OUT], 0u);
	KUNIT_EXPECT_FALSE(test, frozen.v[F_RTX_TIMER]);
	KUNIT_EXPECT_EQ(test, sk->sk_wmem_queued, 0);
	/* No room for a stock send while frozen. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(sk->sk_sndbuf), 0);
	KUNIT_EXPECT_EQ(test, tcp_inq(sk), SOCK_TEST_PEER_BYTES);
	KUNIT_EXPECT_EQ(test, frozen.v[F_WRITE_SEQ], before.v[F_WRITE_SEQ]);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_target_emu(cd->target)->table.count), 1);
	/* A second offload is refused and changes nothing. */
	KUNIT_EXPECT_EQ(test, offload(sk, cd), -EALREADY);

	KUNIT_ASSERT_EQ(test, upload(cd, csk), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->state), CHIM_SK_HOST);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_target_emu(cd->target)->table.count), 0);
	read_fields(sk, &after, tx_base, rx_base);
	expect_same(test, &before, &after);
	KUNIT_EXPECT_EQ(test, csk->offloads, 1u);
	KUNIT_EXPECT_EQ(test, csk->uploads, 1u);

	/* The peer wakes up: every byte arrives, in order, both ways. */
	holder_stop(h);
	kunit_remove_action(test, holder_stop, h);
	recv_pattern(test, p->server, sent, 1);
	recv_pattern(test, p->client, SOCK_TEST_PEER_BYTES, 2);
}

static void handoff_v4_keeps_every_field(struct kunit *test)
{
	handoff_keeps_every_field(test, AF_INET);
}

static void handoff_v6_keeps_every_field(struct kunit *test)
{
	handoff_keeps_every_field(test, AF_INET6);
}

/* A connection that is not established, or has urgent data, is refused. */
static void ineligible_is_refused_untouched(struct kunit *test)
{
	struct chim_dev *cd = attach_lo(test);
	struct sock_test_pair *p = pair_create(test, AF_INET);
	struct sock *sk = p->client->sk;
	struct tcp_fields before, after;
	struct msghdr msg = { .msg_flags = MSG_OOB };
	struct kvec kv = { "!", 1 };

	/* Urgent data from the peer. */
	KUNIT_ASSERT_EQ(test, kernel_sendmsg(p->server, &msg, &kv, 1, 1), 1);
	KUNIT_ASSERT_TRUE(test, wait_until(sk, urgent_arrived));
	read_fields(sk, &before, 0, 0);
	KUNIT_EXPECT_EQ(test, offload(sk, cd), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, READ_ONCE(chim_sock_ctx(sk)->state), CHIM_SK_HOST);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_target_emu(cd->target)->table.count), 0);
	read_fields(sk, &after, 0, 0);
	KUNIT_EXPECT_EQ(test, before.v[F_RCV_NXT], after.v[F_RCV_NXT]);
	KUNIT_EXPECT_EQ(test, before.v[F_SND_NXT], after.v[F_SND_NXT]);
	/* A listener takes no ULP without a clone method. */
	KUNIT_EXPECT_EQ(test, offload(p->listener->sk, cd), -ENOTCONN);
}

/* D10: a kernel socket is refused before it gets the ULP. */
static void kernel_socket_is_refused(struct kunit *test)
{
	struct chim_dev *cd = attach_lo(test);
	struct sock_test_pair *p = __pair_create(test, AF_INET, true);
	struct sock *sk = p->client->sk;

	KUNIT_ASSERT_TRUE(test, sk->sk_kern_sock);
	KUNIT_EXPECT_FALSE(test, chim_sock_may_offload(sk));
	KUNIT_EXPECT_EQ(test, offload(sk, cd), -EPERM);
	KUNIT_EXPECT_NULL(test, chim_sock_ctx(sk));
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_target_emu(cd->target)->table.count), 0);
}

struct bg_close {
	struct socket *sock;
	atomic_t done;
};

static int bg_close_fn(void *arg)
{
	struct bg_close *bc = arg;

	sock_no_linger(bc->sock->sk);
	sock_release(bc->sock);
	atomic_set(&bc->done, 1);
	return 0;
}

/*
 * D14: tcp_diag reads the ULP data without the socket lock, as `ss -ti`
 * does here: load it under RCU, read it a while later.  A close that frees
 * it meanwhile must wait for such readers (KASAN fails the test if not).
 */
static void ulp_info_reader_outlives_close(struct kunit *test)
{
	struct chim_dev *cd = attach_lo(test);
	struct sock_test_pair *p = pair_create(test, AF_INET);
	struct sock *sk = p->client->sk;
	struct msghdr msg = { .msg_flags = MSG_OOB };
	struct kvec kv = { "!", 1 };
	struct bg_close bc = { .sock = p->client };
	struct chim_sock *csk;
	struct task_struct *t;
	u32 offloads = 1;
	int i;

	/* Refused for its urgent data: the ULP stays, with nothing pending. */
	KUNIT_ASSERT_EQ(test, kernel_sendmsg(p->server, &msg, &kv, 1, 1), 1);
	KUNIT_ASSERT_TRUE(test, wait_until(sk, urgent_arrived));
	KUNIT_ASSERT_EQ(test, offload(sk, cd), -EOPNOTSUPP);
	KUNIT_ASSERT_NOT_NULL(test, chim_sock_ctx(sk));

	atomic_set(&bc.done, 0);
	t = kthread_create(bg_close_fn, &bc, "chim-close");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	sock_hold(sk);
	p->client = NULL;	/* the thread closes it */

	rcu_read_lock();
	csk = rcu_dereference(inet_csk(sk)->icsk_ulp_data);
	wake_up_process(t);
	for (i = 0; csk && i < 5000 && !atomic_read(&bc.done); i++)
		mdelay(1);
	if (csk)
		offloads = READ_ONCE(csk->offloads);
	rcu_read_unlock();

	for (i = 0; i < 500 && !atomic_read(&bc.done); i++)
		msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&bc.done), 1);
	KUNIT_EXPECT_NOT_NULL(test, csk);
	KUNIT_EXPECT_EQ(test, offloads, 0u);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(inet_csk(sk)->icsk_ulp_data));
	sock_put(sk);
}

/* A blocking sender on its own thread: the test thread reads the peer. */
struct bg_send {
	struct socket *sock;
	u32 len;
	u8 seed;
	bool started;
	int sent;	/* bytes, or a negative errno */
	struct completion done;
};

static int bg_send_fn(void *arg)
{
	struct bg_send *bs = arg;
	u32 chunk = 64 << 10, off = 0, i;
	int n = -ENOMEM;
	u8 *buf;

	buf = kvmalloc(chunk, GFP_KERNEL);
	while (buf && off < bs->len) {
		struct msghdr msg = {};
		struct kvec kv = { buf, min(chunk, bs->len - off) };

		for (i = 0; i < kv.iov_len; i++)
			buf[i] = pattern(off + i, bs->seed);
		n = kernel_sendmsg(bs->sock, &msg, &kv, 1, kv.iov_len);
		if (n <= 0)
			break;
		off += n;
	}
	kvfree(buf);
	bs->sent = off == bs->len ? off : n < 0 ? n : -EIO;
	complete(&bs->done);
	return 0;
}

/* Registered after the sockets: a test that stops early unblocks it. */
static void bg_send_wait(void *arg)
{
	struct bg_send *bs = arg;

	if (!bs->started)
		return;
	kernel_sock_shutdown(bs->sock, SHUT_RDWR);
	wait_for_completion(&bs->done);
}

static struct bg_send *bg_send_prepare(struct kunit *test)
{
	struct bg_send *bs = kunit_kzalloc(test, sizeof(*bs), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, bs);
	init_completion(&bs->done);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bg_send_wait, bs), 0);
	return bs;
}

static void bg_send_start(struct kunit *test, struct bg_send *bs,
			  struct socket *sock, u32 len, u8 seed)
{
	struct task_struct *t;

	bs->sock = sock;
	bs->len = len;
	bs->seed = seed;
	sock->sk->sk_sndtimeo = 30 * HZ;
	t = kthread_run(bg_send_fn, bs, "chimney-kunit-send");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	bs->started = true;
}

static void bg_send_end(struct kunit *test, struct bg_send *bs)
{
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&bs->done, 60 * HZ));
	bs->started = false;
	KUNIT_EXPECT_EQ(test, bs->sent, (int)bs->len);
}

#define SOCK_TEST_ENGINE_BYTES	(4 << 20)

/*
 * The engine over loopback with a real Linux peer: 4 MiB each way at once
 * while offloaded, with no upload and every byte counted by the engine;
 * then 4 MiB more each way with an upload after the first MiB the peer
 * reads, the rest with the stock stack.  Every byte is checked.
 */
static void engine_carries_with_linux_peer(struct kunit *test, int family)
{
	struct chim_dev *cd = __attach_lo(test, true);
	struct sock_test_pair *p = pair_create(test, family);
	struct bg_send *up = bg_send_prepare(test), *down = bg_send_prepare(test);
	struct sock *sk = p->client->sk;
	struct chim_activity act;
	struct chim_conn *conn;
	struct chim_sock *csk;

	KUNIT_ASSERT_EQ(test, offload(sk, cd), 0);
	csk = chim_sock_ctx(sk);
	KUNIT_ASSERT_NOT_NULL(test, csk);
	KUNIT_ASSERT_EQ(test, READ_ONCE(csk->state), CHIM_SK_OFFLOADED);

	bg_send_start(test, up, p->client, SOCK_TEST_ENGINE_BYTES, 1);
	bg_send_start(test, down, p->server, SOCK_TEST_ENGINE_BYTES, 2);
	recv_pattern(test, p->server, SOCK_TEST_ENGINE_BYTES, 1);
	recv_pattern(test, p->client, SOCK_TEST_ENGINE_BYTES, 2);
	bg_send_end(test, up);
	bg_send_end(test, down);

	/* Still offloaded, never uploaded, the bytes the engine's. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->state), CHIM_SK_OFFLOADED);
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->uploads), 0u);
	conn = chim_sock_get_conn(csk);
	KUNIT_ASSERT_NOT_NULL(test, conn);
	KUNIT_EXPECT_TRUE(test, chim_host_conn_activity(cd->host, conn, &act));
	chim_obj_put(&conn->obj);
	KUNIT_EXPECT_EQ(test, act.bytes_in, (u64)SOCK_TEST_ENGINE_BYTES);
	KUNIT_EXPECT_EQ(test, act.bytes_out, (u64)SOCK_TEST_ENGINE_BYTES);

	/* An upload in the middle of a transfer each way. */
	bg_send_start(test, up, p->client, SOCK_TEST_ENGINE_BYTES, 3);
	bg_send_start(test, down, p->server, SOCK_TEST_ENGINE_BYTES, 4);
	recv_pattern(test, p->server, 1 << 20, 3);
	KUNIT_ASSERT_EQ(test, upload(cd, csk), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->state), CHIM_SK_HOST);
	KUNIT_EXPECT_EQ(test, READ_ONCE(csk->uploads), 1u);
	recv_pattern_from(test, p->server, 1 << 20, SOCK_TEST_ENGINE_BYTES, 3);
	recv_pattern(test, p->client, SOCK_TEST_ENGINE_BYTES, 4);
	bg_send_end(test, up);
	bg_send_end(test, down);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_target_emu(cd->target)->table.count), 0);
}

static void engine_v4_carries_with_linux_peer(struct kunit *test)
{
	engine_carries_with_linux_peer(test, AF_INET);
}

static void engine_v6_carries_with_linux_peer(struct kunit *test)
{
	engine_carries_with_linux_peer(test, AF_INET6);
}

static struct kunit_case sock_cases[] = {
	KUNIT_CASE_SLOW(engine_v4_carries_with_linux_peer),
	KUNIT_CASE_SLOW(engine_v6_carries_with_linux_peer),
	KUNIT_CASE_SLOW(handoff_v4_keeps_every_field),
	KUNIT_CASE_SLOW(handoff_v6_keeps_every_field),
	KUNIT_CASE(ineligible_is_refused_untouched),
	KUNIT_CASE(kernel_socket_is_refused),
	KUNIT_CASE(ulp_info_reader_outlives_close),
	{}
};

static struct kunit_suite sock_suite = {
	.name = "chimney_sock",
	.test_cases = sock_cases,
};

kunit_test_suite(sock_suite);
