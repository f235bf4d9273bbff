// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the KUnit suites: a host on an emulated target with a
 * neighbor and two paths, connections whose owner records what it sees,
 * and data with a known pattern.
 */
#include <net/tcp.h>

#include "test_util.h"

static void owner_offloaded(struct chim_conn *conn, enum chim_status status,
			    struct chim_tcp_delegated *d)
{
	struct chim_test_owner *o = chim_test_owner(conn);

	o->status = status;
	atomic_inc(&o->offloaded);
}

static void owner_upload_begin(struct chim_conn *conn)
{
	atomic_inc(&chim_test_owner(conn)->upload_begin);
}

static void owner_uploaded(struct chim_conn *conn, struct chim_tcp_delegated *d)
{
	struct chim_test_owner *o = chim_test_owner(conn);

	o->back = *d;
	skb_queue_head_init(&o->back.send_data);
	skb_queue_head_init(&o->back.buffered_data);
	skb_queue_splice_init(&d->send_data, &o->back.send_data);
	skb_queue_splice_init(&d->buffered_data, &o->back.buffered_data);
	atomic_inc(&o->uploaded);
}

static void owner_aborted(struct chim_conn *conn, enum chim_status status)
{
	atomic_inc(&chim_test_owner(conn)->aborted);
}

static const struct chim_conn_ops owner_ops = {
	.offloaded = owner_offloaded,
	.upload_begin = owner_upload_begin,
	.uploaded = owner_uploaded,
	.aborted = owner_aborted,
};

/* The same, for an owner that may be in one terminate tree at a time. */
static const struct chim_conn_ops owner_ops_single = {
	.offloaded = owner_offloaded,
	.upload_begin = owner_upload_begin,
	.uploaded = owner_uploaded,
	.aborted = owner_aborted,
	.one_per_tree = true,
};

/**
 * chim_test_one_per_tree() - make a connection's owner one that the host
 *	terminates one tree each, like a socket
 * @conn: a connection of chim_test_conn()
 */
void chim_test_one_per_tree(struct chim_conn *conn)
{
	conn->ops = &owner_ops_single;
}

static void env_destroy(void *arg)
{
	struct chim_test_env *env = arg;
	int i;

	chim_host_destroy(env->host);
	for (i = 0; i < env->nconns; i++) {
		struct chim_test_owner *o = chim_test_owner(env->conns[i]);

		skb_queue_purge(&o->back.send_data);
		skb_queue_purge(&o->back.buffered_data);
		kfree(o);
		chim_obj_put(&env->conns[i]->obj);
	}
	chim_obj_put(&env->path[0]->obj);
	chim_obj_put(&env->path[1]->obj);
	chim_obj_put(&env->neigh->obj);
	chim_emu_destroy(env->emu);
}

static void path_const(struct chim_path_const *c, u8 last)
{
	memset(c, 0, sizeof(*c));
	ipv6_addr_set_v4mapped(htonl(0x0a000001), &c->source_address);
	ipv6_addr_set_v4mapped(htonl(0x0a000000 | last), &c->destination_address);
	c->family = AF_INET;
}

/**
 * chim_test_env_create() - a host on an emulated target, with a neighbor
 *	and two paths (to 10.0.0.2 and 10.0.0.3), all NEW
 * @test: the test; everything is freed when it ends
 * @capacity: the target's capacity
 *
 * Return: the environment (the test is aborted on failure).
 */
struct chim_test_env *chim_test_env_create(struct kunit *test, u32 capacity)
{
	struct chim_neigh_const nc = { .dl_source_address = { 2, 0, 0, 0, 0, 1 } };
	struct chim_neigh_cached ncached = {
		.dl_destination_address = { 2, 0, 0, 0, 0, 2 },
	};
	struct chim_path_cached pcached = { .path_mtu = 1500 };
	struct chim_path_const pc;
	struct chim_test_env *env;
	struct in6_addr nh;

	env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env);
	env->test = test;
	spin_lock_init(&env->step_lock);
	env->emu = chim_emu_create("kunit", capacity);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->emu);
	env->host = chim_host_create(&env->emu->target);
	KUNIT_ASSERT_NOT_NULL(test, env->host);
	ipv6_addr_set_v4mapped(htonl(0x0a0000fe), &nh);
	env->neigh = chim_neigh_create(env->host, &nh, &nc, &ncached);
	KUNIT_ASSERT_NOT_NULL(test, env->neigh);
	path_const(&pc, 2);
	env->path[0] = chim_path_create(env->neigh, &pc, &pcached);
	path_const(&pc, 3);
	env->path[1] = chim_path_create(env->neigh, &pc, &pcached);
	KUNIT_ASSERT_NOT_NULL(test, env->path[0]);
	KUNIT_ASSERT_NOT_NULL(test, env->path[1]);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, env_destroy, env), 0);
	return env;
}

/**
 * chim_test_conn() - a NEW ESTABLISHED connection 10.0.0.1:@lport ->
 *	10.0.0.(2 + @path):80 with recognisable delegated values
 * @test: the test
 * @env: its environment
 * @path: 0 or 1
 * @lport: local port
 *
 * Return: the connection; the environment drops it at the end.
 */
struct chim_conn *chim_test_conn(struct kunit *test, struct chim_test_env *env,
				 int path, u16 lport)
{
	struct chim_tuple t;

	chim_tuple_init4(&t, htonl(0x0a000001), htons(lport),
			 htonl(0x0a000002 + path), htons(80));
	return chim_test_conn_on(test, env, env->path[path], &t);
}

/**
 * chim_test_conn_on() - a NEW ESTABLISHED connection @t on @path, with
 *	recognisable delegated values
 * @test: the test
 * @env: its environment
 * @path: its path
 * @t: its tuple (the local port gives the delegated values)
 *
 * Return: the connection; the environment drops it at the end.
 */
struct chim_conn *chim_test_conn_on(struct kunit *test,
				    struct chim_test_env *env,
				    struct chim_path *path,
				    const struct chim_tuple *t)
{
	u16 lport = ntohs(t->lport);
	struct chim_test_owner *o;
	struct chim_conn *conn;

	KUNIT_ASSERT_LT(test, env->nconns, ARRAY_SIZE(env->conns));
	/* Freed by env_destroy(), which runs before kunit_kzalloc()'s frees. */
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o);
	skb_queue_head_init(&o->back.send_data);
	skb_queue_head_init(&o->back.buffered_data);
	conn = chim_conn_create(path, t);
	if (!conn)
		kfree(o);
	KUNIT_ASSERT_NOT_NULL(test, conn);
	env->conns[env->nconns++] = conn;
	conn->ops = &owner_ops;
	conn->owner = o;
	conn->d.snd_una = 1000 + lport;
	conn->d.snd_nxt = 1000 + lport;
	conn->d.snd_max = 1000 + lport;
	conn->d.rcv_nxt = 500000 + lport;
	conn->d.snd_wnd = 65535;
	conn->d.rcv_wnd = 65535;
	conn->d.cwnd = 14480;
	conn->d.ss_thresh = 0x7fffffff;
	conn->d.srtt = 8 * 20;
	conn->d.rtt_var = 4 * 10;
	conn->d.ts_recent = 0x12345678 + lport;
	return conn;
}

/**
 * chim_test_queue_data() - queue @len bytes from sequence @seq, in skbs of
 *	at most 1000 bytes, byte i being (@seed + seq + i) & 0xff
 * @test: the test
 * @q: the queue
 * @seq: first sequence number
 * @len: bytes
 * @seed: pattern seed
 */
void chim_test_queue_data(struct kunit *test, struct sk_buff_head *q,
			  u32 seq, u32 len, u8 seed)
{
	while (len) {
		u32 n = min(len, 1000u), i;
		struct sk_buff *skb = alloc_skb(n, GFP_KERNEL);
		u8 *p;

		KUNIT_ASSERT_NOT_NULL(test, skb);
		p = skb_put(skb, n);
		for (i = 0; i < n; i++)
			p[i] = seed + seq + i;
		TCP_SKB_CB(skb)->seq = seq;
		TCP_SKB_CB(skb)->end_seq = seq + n;
		skb_queue_tail(q, skb);
		seq += n;
		len -= n;
	}
}

/**
 * chim_test_data_equal() - whether a queue holds exactly the pattern of
 *	chim_test_queue_data(), in order, with matching sequence numbers
 * @q: the queue
 * @seq: first sequence number
 * @len: bytes
 * @seed: pattern seed
 *
 * Return: true if equal.
 */
bool chim_test_data_equal(struct sk_buff_head *q, u32 seq, u32 len, u8 seed)
{
	struct sk_buff *skb;
	u32 total = 0;

	skb_queue_walk(q, skb) {
		u32 i;

		if (TCP_SKB_CB(skb)->seq != seq + total)
			return false;
		for (i = 0; i < skb->len; i++)
			if (skb->data[i] != (u8)(seed + seq + total + i))
				return false;
		total += skb->len;
	}
	return total == len;
}

static int count_block(struct chim_block *b, void *arg)
{
	struct chim_test_seen *seen = arg;

	seen->blocks++;
	seen->pending += b->status == CHIM_STATUS_PENDING;
	seen->success += b->status == CHIM_STATUS_SUCCESS;
	if (b->type == CHIM_OBJ_TCP) {
		seen->tcp++;
		seen->copied += b->tcp.delegated.snd_una ==
				chim_obj_conn(b->handle)->d.snd_una;
	}
	return 0;
}

/*
 * The last terminate tree as the target leaves its copy and status steps
 * (the tree is the target's until it completes: nothing frees it).
 */
static void record_seen(struct chim_test_env *env, struct chim_test_seen *seen)
{
	struct chim_tree *tree = READ_ONCE(env->tree);

	memset(seen, 0, sizeof(*seen));
	if (tree)
		chim_tree_walk(tree, count_block, NULL, seen);
}

static void record_step(struct chim_host *host, enum chim_step step)
{
	struct chim_test_env *env = host->trace_priv;
	unsigned long flags;

	if (step == CHIM_STEP_TARGET_COPY)
		record_seen(env, &env->seen_copy);
	else if (step == CHIM_STEP_TARGET_STATUS)
		record_seen(env, &env->seen_status);
	spin_lock_irqsave(&env->step_lock, flags);
	if (env->nsteps < CHIM_TEST_MAX_STEPS)
		env->steps[env->nsteps++] = step;
	spin_unlock_irqrestore(&env->step_lock, flags);
}

/**
 * chim_test_fail_allocations() - make every slab allocation of the current
 *	task fail, or stop
 * @on: fail from now on, or stop
 *
 * failslab must be set up to fail the tasks that ask for it
 * (scripts/guest-check.sh does).  __GFP_NOFAIL allocations still succeed.
 *
 * Return: whether the task's allocations fail now.
 */
bool chim_test_fail_allocations(bool on)
{
#ifdef CONFIG_FAULT_INJECTION
	void *probe;

	current->make_it_fail = on;
	if (!on)
		return false;
	probe = kmalloc(16, GFP_KERNEL);
	if (!probe)
		return true;
	kfree(probe);
	current->make_it_fail = 0;
#endif
	return false;
}

/* The emulator's terminate, the tree kept for record_seen(). */
static int terminate_watched(struct chim_target *target, struct chim_tree *tree)
{
	struct chim_test_env *env = target->host->trace_priv;

	WRITE_ONCE(env->tree, tree);
	return env->emu_ops->terminate(target, tree);
}

/**
 * chim_test_trace() - record the Part 2 steps into @env->steps
 * @env: the environment
 */
void chim_test_trace(struct chim_test_env *env)
{
	env->host->trace_priv = env;
	env->host->trace = record_step;
	env->emu_ops = env->emu->target.ops;
	env->ops = *env->emu_ops;
	env->ops.terminate = terminate_watched;
	env->emu->target.ops = &env->ops;
}
