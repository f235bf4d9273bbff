// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_target: the per-CPU connection table under
 * concurrent use from every CPU, capacity, statistics and the emulated
 * target's request and fault injection entry points.
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/ip.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/ip.h>

#include "dev.h"
#include "trigger.h"
#include "test_util.h"

static void table_free(void *arg)
{
	chim_table_destroy(arg);
}

static struct chim_table *table_create(struct kunit *test, u32 capacity)
{
	struct chim_table *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_EQ(test, chim_table_create(t, capacity, capacity), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, table_free, t), 0);
	return t;
}

static void entry_init(struct chim_table_entry *e, u32 n)
{
	memset(e, 0, sizeof(*e));
	chim_tuple_init4(&e->tuple, htonl(0x0a000001), htons(1024 + (n & 0xffff)),
			 htonl(0x0a010000 + (n >> 16)), htons(80));
}

static void table_insert_lookup_remove(struct kunit *test)
{
	struct chim_table *t = table_create(test, 2);
	struct chim_table_entry a, b, c, dup;

	entry_init(&a, 1);
	entry_init(&b, 2);
	entry_init(&c, 3);
	entry_init(&dup, 1);
	KUNIT_EXPECT_EQ(test, chim_table_insert(t, &a), 0);
	KUNIT_EXPECT_EQ(test, chim_table_insert(t, &dup), -EEXIST);
	KUNIT_EXPECT_EQ(test, chim_table_insert(t, &b), 0);
	KUNIT_EXPECT_EQ(test, chim_table_insert(t, &c), -ENOSPC);

	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, chim_table_lookup_rcu(t, &a.tuple), &a);
	KUNIT_EXPECT_PTR_EQ(test, chim_table_lookup_rcu(t, &b.tuple), &b);
	KUNIT_EXPECT_NULL(test, chim_table_lookup_rcu(t, &c.tuple));
	rcu_read_unlock();

	KUNIT_EXPECT_EQ(test, a.cpu, chim_home_cpu(a.hash));
	KUNIT_EXPECT_EQ(test, chim_table_shard_count(t, a.cpu) +
			(a.cpu == b.cpu ? 0 : chim_table_shard_count(t, b.cpu)), 2u);

	chim_table_remove(t, &a);
	KUNIT_EXPECT_EQ(test, chim_table_insert(t, &c), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, chim_table_lookup_rcu(t, &a.tuple));
	rcu_read_unlock();
	chim_table_remove(t, &b);
	chim_table_remove(t, &c);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->count), 0);
}

#define PER_THREAD 2000

struct table_worker {
	struct kunit *test;
	struct chim_table *table;
	struct chim_table_entry *entries;
	u32 base;
	int errors;
	bool reader;
	bool *stop;
	struct completion done;
};

/* Insert, find, remove, find again: every step must see its own entry. */
static int table_writer(void *arg)
{
	struct table_worker *w = arg;
	u32 i;

	for (i = 0; i < PER_THREAD; i++) {
		struct chim_table_entry *e = &w->entries[i];

		entry_init(e, w->base + i);
		if (chim_table_insert(w->table, e))
			w->errors++;
	}
	for (i = 0; i < PER_THREAD; i++) {
		struct chim_table_entry *e = &w->entries[i];

		rcu_read_lock();
		if (chim_table_lookup_rcu(w->table, &e->tuple) != e)
			w->errors++;
		rcu_read_unlock();
		chim_table_remove(w->table, e);
		rcu_read_lock();
		if (chim_table_lookup_rcu(w->table, &e->tuple))
			w->errors++;
		rcu_read_unlock();
	}
	complete(&w->done);
	return 0;
}

/* Lockless lookups of everybody's tuples while they come and go. */
static int table_reader(void *arg)
{
	struct table_worker *w = arg;
	struct chim_table_entry probe;
	u32 n = 0;

	while (!READ_ONCE(*w->stop)) {
		struct chim_table_entry *e;

		entry_init(&probe, n++ % (4 * PER_THREAD));
		rcu_read_lock();
		e = chim_table_lookup_rcu(w->table, &probe.tuple);
		if (e && memcmp(&e->tuple, &probe.tuple, sizeof(probe.tuple)))
			w->errors++;
		rcu_read_unlock();
		if (!(n % 256))
			cond_resched();
	}
	complete(&w->done);
	return 0;
}

static void table_concurrent_all_cpus(struct kunit *test)
{
	unsigned int ncpu = num_online_cpus(), cpu, i = 0;
	struct chim_table *t = table_create(test, ncpu * PER_THREAD);
	struct table_worker *w, reader = {};
	struct task_struct *task;
	bool stop = false;

	w = kunit_kcalloc(test, ncpu, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);

	reader.table = t;
	reader.stop = &stop;
	init_completion(&reader.done);
	task = kthread_run(table_reader, &reader, "chim-reader");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));

	for_each_online_cpu(cpu) {
		w[i].table = t;
		w[i].base = i * PER_THREAD;
		w[i].entries = kunit_kcalloc(test, PER_THREAD,
					     sizeof(*w[i].entries), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, w[i].entries);
		init_completion(&w[i].done);
		task = kthread_create_on_cpu(table_writer, &w[i], cpu, "chim-w%u");
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
		wake_up_process(task);
		i++;
	}
	for (i = 0; i < ncpu; i++) {
		wait_for_completion(&w[i].done);
		KUNIT_EXPECT_EQ(test, w[i].errors, 0);
	}
	WRITE_ONCE(stop, true);
	wait_for_completion(&reader.done);
	KUNIT_EXPECT_EQ(test, reader.errors, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->count), 0);
	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_EQ(test, chim_table_shard_count(t, cpu), 0u);
}

#define WALK_ENTRIES 100000

/*
 * A dump of 100,000 connections resumes after every entry: each resume
 * costs at most its bucket (sized from the capacity), and every entry is
 * seen exactly once.
 */
static void table_resumable_walk_100k(struct kunit *test)
{
	struct chim_table *t = table_create(test, WALK_ENTRIES);
	struct chim_table_pos pos = {};
	struct chim_table_entry *e, *entries;
	unsigned long *seen;
	u32 i, visits = 0, dups = 0;

	entries = kvcalloc(WALK_ENTRIES, sizeof(*entries), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, entries);
	seen = bitmap_zalloc(WALK_ENTRIES, GFP_KERNEL);
	if (!seen)
		kvfree(entries);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	/* Buckets about match the load: short chains. */
	KUNIT_EXPECT_GE(test, (1U << t->bucket_bits) * num_possible_cpus(),
			WALK_ENTRIES / 2);

	for (i = 0; i < WALK_ENTRIES; i++) {
		entry_init(&entries[i], i);
		if (chim_table_insert(t, &entries[i]))
			break;
	}
	KUNIT_EXPECT_EQ(test, i, WALK_ENTRIES);

	for (;;) {
		rcu_read_lock();
		e = chim_table_next_rcu(t, &pos);
		if (e) {
			if (test_and_set_bit(e - entries, seen))
				dups++;
			visits++;
		}
		rcu_read_unlock();
		if (!e)
			break;
		pos.idx++;
		if (!(visits % 4096))
			cond_resched();
	}
	KUNIT_EXPECT_EQ(test, visits, WALK_ENTRIES);
	KUNIT_EXPECT_EQ(test, dups, 0u);
	KUNIT_EXPECT_EQ(test, bitmap_weight(seen, WALK_ENTRIES), WALK_ENTRIES);

	for (i = 0; i < WALK_ENTRIES; i++)
		if (!hlist_unhashed(&entries[i].node))
			chim_table_remove(t, &entries[i]);
	synchronize_rcu();
	bitmap_free(seen);
	kvfree(entries);
}

/* Each connection sits in its home CPU's shard and is counted there. */
static void stats_per_cpu(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 64);
	unsigned int home[NR_CPUS] = {};
	struct chim_offload_stats all, one;
	unsigned int cpu, i, sum = 0;

	for (i = 0; i < 16; i++) {
		struct chim_conn *c = chim_test_conn(test, env, i & 1, 2000 + i);

		KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, c), 0);
		home[chim_home_cpu(c->c.hash_value)]++;
	}
	chim_emu_stats_read(env->emu, -1, &all);
	KUNIT_EXPECT_EQ(test, all.initiated, 16u);
	KUNIT_EXPECT_EQ(test, all.tcp.currently_established, 16u);
	for_each_possible_cpu(cpu) {
		chim_emu_stats_read(env->emu, cpu, &one);
		KUNIT_EXPECT_EQ(test, one.tcp.currently_established, home[cpu]);
		KUNIT_EXPECT_EQ(test, one.initiated, home[cpu]);
		sum += one.initiated;
	}
	KUNIT_EXPECT_EQ(test, sum, 16u);

	KUNIT_ASSERT_EQ(test, chim_host_terminate_all(env->host,
						      CHIM_REASON_ADMIN), 0);
	env->emu->target.ops->quiesce(&env->emu->target);
	chim_emu_stats_read(env->emu, -1, &all);
	KUNIT_EXPECT_EQ(test, all.terminated, 16u);
	KUNIT_EXPECT_EQ(test, all.tcp.currently_established, 0u);
}

/* A segment of @c's tuple as the wire brings it (dropped once reinjected). */
static struct sk_buff *held_segment(struct kunit *test, struct chim_conn *c)
{
	struct sk_buff *skb = alloc_skb(256, GFP_KERNEL);
	struct iphdr *iph;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph) + sizeof(struct tcphdr) + 100);
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 1;
	iph->protocol = IPPROTO_TCP;
	iph->tot_len = htons(skb->len);
	iph->saddr = c->index.tuple.raddr.s6_addr32[3];
	iph->daddr = c->index.tuple.laddr.s6_addr32[3];
	ip_send_check(iph);
	skb_reset_mac_header(skb);
	skb->protocol = htons(ETH_P_IP);
	skb->dev = init_net.loopback_dev;
	return skb;
}

static struct chim_emu_conn *emu_conn(struct chim_emu *emu, struct chim_conn *c)
{
	struct chim_table_entry *e;

	rcu_read_lock();
	e = chim_table_lookup_rcu(&emu->table, &c->index.tuple);
	rcu_read_unlock();
	return e ? container_of(e, struct chim_emu_conn, entry) : NULL;
}

/*
 * D13: what the target holds for connections it cannot serve yet is
 * bounded for the target as a whole, not only per connection, and the
 * bound is given back as the segments leave.
 */
static void held_segments_bounded_per_target(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_host *host = env->host;
	struct chim_emu *emu = env->emu;
	struct chim_emu_conn *ea, *eb;
	struct chim_offload_stats st;
	struct sk_buff *skb[4];
	unsigned int size;

	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(host, a), 0);
	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(host, b), 0);
	ea = emu_conn(emu, a);
	eb = emu_conn(emu, b);
	KUNIT_ASSERT_NOT_NULL(test, ea);
	KUNIT_ASSERT_NOT_NULL(test, eb);
	skb[0] = held_segment(test, a);
	skb[1] = held_segment(test, a);
	skb[2] = held_segment(test, b);
	skb[3] = held_segment(test, b);
	size = skb[0]->truesize;
	emu->rx_held_max = 3 * size;
	/* Their upload requests wait until the counts are read. */
	disable_work_sync(&host->req_work);
	local_bh_disable();
	chim_emu_rx_hold(emu, ea, skb[0], 100);
	chim_emu_rx_hold(emu, ea, skb[1], 100);
	chim_emu_rx_hold(emu, eb, skb[2], 100);
	chim_emu_rx_hold(emu, eb, skb[3], 100);
	local_bh_enable();
	KUNIT_EXPECT_EQ(test, atomic_long_read(&emu->rx_held), 3L * size);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&ea->rx), 2u);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&eb->rx), 1u);
	chim_emu_stats_read(emu, -1, &st);
	KUNIT_EXPECT_EQ(test, st.ip.in_discards, 1u);

	enable_work(&host->req_work);
	schedule_work(&host->req_work);
	chim_host_flush(host);
	emu->target.ops->quiesce(&emu->target);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&emu->rx_held), 0L);
}

/*
 * D8: a target holding segments asks again.  A first request the host did
 * not act on (made here while the host saw the connection uploading) must
 * not leave it offloaded, its segments held, for ever; asks are spaced by
 * CHIM_REASK_MS, not one per segment.
 */
static void held_segments_ask_again(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_host *host = env->host;
	struct chim_emu *emu = env->emu;
	struct chim_emu_conn *ea;
	struct sk_buff *skb[3];
	unsigned int i;

	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(host, a), 0);
	ea = emu_conn(emu, a);
	KUNIT_ASSERT_NOT_NULL(test, ea);
	for (i = 0; i < ARRAY_SIZE(skb); i++)
		skb[i] = held_segment(test, a);

	WRITE_ONCE(a->obj.state, CHIM_STATE_UPLOADING);
	local_bh_disable();
	chim_emu_rx_hold(emu, ea, skb[0], 100);
	local_bh_enable();
	WRITE_ONCE(a->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, host->stats.retrieves_ignored, 1u);

	/* Right after an ask: none. */
	spin_lock_bh(&ea->lock);
	ea->asked_at = jiffies;
	spin_unlock_bh(&ea->lock);
	local_bh_disable();
	chim_emu_rx_hold(emu, ea, skb[1], 100);
	local_bh_enable();
	chim_host_flush(host);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, host->stats.retrieves[CHIM_REASON_UPLOAD_REQUESTED], 1u);

	/* CHIM_REASK_MS after it: asked again, and uploaded. */
	spin_lock_bh(&ea->lock);
	ea->asked_at = jiffies - msecs_to_jiffies(CHIM_REASK_MS);
	spin_unlock_bh(&ea->lock);
	local_bh_disable();
	chim_emu_rx_hold(emu, ea, skb[2], 100);
	local_bh_enable();
	chim_host_flush(host);
	emu->target.ops->quiesce(&emu->target);
	KUNIT_EXPECT_EQ(test, host->stats.retrieves[CHIM_REASON_UPLOAD_REQUESTED], 2u);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&emu->rx_held), 0L);
}

/*
 * D11: the victim of an offload at capacity is found without a copy of the
 * host's connections (under RTNL, for every offload at capacity): with
 * every allocation of the task failing, it is still the least recently
 * active connection of the lowest priority, and none is found below it.
 */
static void victim_found_without_memory(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	static const u8 prio[] = { 1, 0, 0 };
	struct chim_emu *emu = env->emu;
	struct chim_conn *c[3], *v, *none;
	struct chim_emu_conn *ec;
	unsigned int i;
	bool failing;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i] = chim_test_conn(test, env, 0, 1000 + i);
		c[i]->priority = prio[i];
		KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, c[i]), 0);
		ec = emu_conn(emu, c[i]);
		KUNIT_ASSERT_NOT_NULL(test, ec);
		/* c[1] was active before c[2], c[0] before both. */
		spin_lock_bh(&ec->lock);
		ec->active = jiffies - HZ + i * HZ / 4;
		spin_unlock_bh(&ec->lock);
	}
	failing = chim_test_fail_allocations(true);
	v = chim_host_victim(env->host, 2);
	none = chim_host_victim(env->host, 0);
	chim_test_fail_allocations(false);
	if (v)
		chim_obj_put(&v->obj);
	if (!failing)
		kunit_skip(test, "failslab does not fail this task's allocations");
	KUNIT_EXPECT_PTR_EQ(test, v, c[1]);
	KUNIT_EXPECT_NULL(test, none);
}

/*
 * D11: the low-activity scan (under RTNL, every 100 ms) finds the idle
 * connections without a copy of the host's connections: with every
 * allocation of the task failing, the one idle over its window is found,
 * not the one still in its first window.
 */
static void idle_found_without_memory(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *c[2], *found[4] = {};
	struct chim_emu_conn *ec;
	unsigned int i, n;
	bool failing, left = true;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i] = chim_test_conn(test, env, 0, 1000 + i);
		KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, c[i]), 0);
	}
	/* c[0] was offloaded 2 s ago, c[1] just now; neither carried data. */
	ec = emu_conn(env->emu, c[0]);
	KUNIT_ASSERT_NOT_NULL(test, ec);
	spin_lock_bh(&ec->lock);
	ec->since = jiffies - 2 * HZ;
	spin_unlock_bh(&ec->lock);

	failing = chim_test_fail_allocations(true);
	n = chim_trigger_idle_conns(env->host, 1000, 1, found,
				    ARRAY_SIZE(found), &left);
	chim_test_fail_allocations(false);
	for (i = 0; i < n; i++)
		chim_obj_put(&found[i]->obj);
	if (!failing)
		kunit_skip(test, "failslab does not fail this task's allocations");
	KUNIT_EXPECT_EQ(test, n, 1u);
	KUNIT_EXPECT_PTR_EQ(test, found[0], c[0]);
	KUNIT_EXPECT_FALSE(test, left);
}

/*
 * The target's timers run while it holds a connection: a query (and the
 * terminate) reports what is left of the TimeoutDelta it was given, from
 * which the host's retransmit timer goes on after the upload (armed afresh
 * at each upload, it would never fire while the connection is handed back
 * and forth faster than its RTO).  A timer that was not running stays so.
 */
static void timers_run_while_offloaded(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_tcp_delegated d;

	a->d.retransmit.timeout_delta = 1000;
	a->d.keepalive.timeout_delta = CHIM_TIMER_NOT_RUNNING;
	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, a), 0);
	msleep(300);
	KUNIT_ASSERT_EQ(test, chim_host_query(env->host, a, &d), 0);
	KUNIT_EXPECT_LE(test, d.retransmit.timeout_delta, 700u);
	KUNIT_EXPECT_EQ(test, d.keepalive.timeout_delta, CHIM_TIMER_NOT_RUNNING);
	msleep(800);
	KUNIT_ASSERT_EQ(test, chim_host_query(env->host, a, &d), 0);
	KUNIT_EXPECT_EQ(test, d.retransmit.timeout_delta, 0u);
}

static void request_entry_points_refuse_bad_input(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_tuple other;

	chim_tuple_init4(&other, htonl(0x0a000001), htons(9), htonl(0x0a000002),
			 htons(80));
	KUNIT_EXPECT_EQ(test, chim_emu_request_retrieve(env->emu, &a->index.tuple,
							CHIM_REASON_UPLOAD_REQUESTED),
			-ENOENT);	/* not offloaded yet */
	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, a), 0);
	KUNIT_EXPECT_EQ(test, chim_emu_request_retrieve(env->emu, &other,
							CHIM_REASON_UPLOAD_REQUESTED),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, chim_emu_request_retrieve(env->emu, &a->index.tuple, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, chim_emu_request_retrieve(env->emu, &a->index.tuple,
							CHIM_REASON_ADMIN),
			-EINVAL);	/* a host reason, not a target's */
	KUNIT_EXPECT_EQ(test, chim_emu_fault_initiate(env->emu, 1,
						      CHIM_STATUS_SUCCESS), -EINVAL);
	KUNIT_EXPECT_EQ(test, chim_emu_fault_initiate(env->emu, 1,
						      CHIM_STATUS_UPLOAD_IN_PROGRESS),
			-EINVAL);
	KUNIT_EXPECT_TRUE(test, IS_ERR(chim_emu_create("x", 0)));
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_OFFLOADED);
}

static void fault_delay_and_clear(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	unsigned long start = jiffies;

	chim_emu_fault_delay(env->emu, 300);
	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, a), 0);
	/* The completion came no earlier than the delay. */
	KUNIT_EXPECT_GE(test, jiffies_to_msecs(jiffies - start), 300u);
	chim_emu_fault_terminate(env->emu, 5);
	chim_emu_fault_clear(env->emu);
	KUNIT_ASSERT_EQ(test, chim_host_terminate_all(env->host,
						      CHIM_REASON_ADMIN), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->uploaded), 1);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminate_failures, 0u);
}

struct bg_terminate {
	struct chim_host *host;
	int ret;
	atomic_t done;
};

static int bg_terminate_fn(void *arg)
{
	struct bg_terminate *bt = arg;

	bt->ret = chim_host_terminate_all(bt->host, CHIM_REASON_ADMIN);
	atomic_set(&bt->done, 1);
	return 0;
}

/*
 * D2: a lockless reader (a conn-get, a dump) that found a connection in
 * the host's index just before a terminate took it out must not get the
 * object the host frees once the terminate is over, nor read freed memory
 * (KASAN reports the use after free and fails the test).
 */
static void reader_after_terminate_gets_nothing(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 4);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_test_owner *o = chim_test_owner(a);
	struct bg_terminate bt = { .host = env->host };
	struct chim_table_entry *e;
	bool got = false;
	struct task_struct *t;
	int i;

	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, a), 0);
	/* Only the host's references are left: the terminate frees it. */
	env->nconns--;
	chim_obj_put(&a->obj);
	atomic_set(&bt.done, 0);
	t = kthread_create(bg_terminate_fn, &bt, "chim-terminate");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));

	rcu_read_lock();
	e = chim_table_lookup_rcu(&env->host->conns, &a->index.tuple);
	wake_up_process(t);
	for (i = 0; e && i < 5000 && !atomic_read(&bt.done); i++)
		mdelay(1);
	/* Freed after our grace period: readable, and no reference left. */
	if (e)
		got = chim_obj_get(&container_of(e, struct chim_conn, index)->obj);
	rcu_read_unlock();

	KUNIT_EXPECT_NOT_NULL(test, e);
	KUNIT_EXPECT_FALSE(test, got);
	if (got)
		chim_obj_put(&container_of(e, struct chim_conn, index)->obj);
	for (i = 0; i < 500 && !atomic_read(&bt.done); i++)
		msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&bt.done), 1);
	KUNIT_EXPECT_EQ(test, bt.ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&o->uploaded), 1);
	env->emu->target.ops->quiesce(&env->emu->target);
	kfree(o);
}

static struct kunit_case target_cases[] = {
	KUNIT_CASE(table_insert_lookup_remove),
	KUNIT_CASE(table_concurrent_all_cpus),
	KUNIT_CASE(table_resumable_walk_100k),
	KUNIT_CASE(stats_per_cpu),
	KUNIT_CASE(held_segments_bounded_per_target),
	KUNIT_CASE(held_segments_ask_again),
	KUNIT_CASE(victim_found_without_memory),
	KUNIT_CASE(idle_found_without_memory),
	KUNIT_CASE(timers_run_while_offloaded),
	KUNIT_CASE(request_entry_points_refuse_bad_input),
	KUNIT_CASE(fault_delay_and_clear),
	KUNIT_CASE(reader_after_terminate_gets_nothing),
	{}
};

static struct kunit_suite target_suite = {
	.name = "chimney_target",
	.test_cases = target_cases,
};

kunit_test_suite(target_suite);
