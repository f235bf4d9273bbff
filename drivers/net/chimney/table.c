// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table: tuples, their hash and home CPU, and the per-CPU
 * shards a target keeps its connections in.
 *
 * Lookups are lockless under RCU; inserts and removals take the shard's
 * lock.  An entry lives in the shard of its home CPU, so the receive path
 * finds it from the tuple alone: hash -> home CPU -> bucket.
 */
#include <linux/cpumask.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/jhash.h>
#include <linux/math.h>
#include <linux/random.h>
#include <linux/string.h>
#include <linux/socket.h>
#include <kunit/visibility.h>
#include <net/ipv6.h>

#include "table.h"

/* Random so that a peer cannot aim many tuples at one bucket. */
static u32 chim_hash_seed __read_mostly;

/**
 * chim_tuple_init4() - fill a tuple for an IPv4 connection
 * @t: tuple to fill
 * @laddr: local address
 * @lport: local port
 * @raddr: remote address
 * @rport: remote port
 *
 * Context: any.
 */
void chim_tuple_init4(struct chim_tuple *t, __be32 laddr, __be16 lport,
		      __be32 raddr, __be16 rport)
{
	memset(t, 0, sizeof(*t));
	ipv6_addr_set_v4mapped(laddr, &t->laddr);
	ipv6_addr_set_v4mapped(raddr, &t->raddr);
	t->lport = lport;
	t->rport = rport;
	t->family = AF_INET;
}
EXPORT_SYMBOL_IF_KUNIT(chim_tuple_init4);

/**
 * chim_tuple_init6() - fill a tuple for an IPv6 connection
 * @t: tuple to fill
 * @laddr: local address
 * @lport: local port
 * @raddr: remote address
 * @rport: remote port
 *
 * Context: any.
 */
void chim_tuple_init6(struct chim_tuple *t, const struct in6_addr *laddr,
		      __be16 lport, const struct in6_addr *raddr, __be16 rport)
{
	memset(t, 0, sizeof(*t));
	t->laddr = *laddr;
	t->raddr = *raddr;
	t->lport = lport;
	t->rport = rport;
	t->family = AF_INET6;
}
EXPORT_SYMBOL_IF_KUNIT(chim_tuple_init6);

/**
 * chim_tuple_hash() - bucket hash of a tuple
 * @t: tuple, initialised by chim_tuple_init4() or chim_tuple_init6()
 *
 * Context: any.
 * Return: a hash keyed by a seed chosen at module load.
 */
u32 chim_tuple_hash(const struct chim_tuple *t)
{
	BUILD_BUG_ON(sizeof(*t) % sizeof(u32));
	return jhash2((const u32 *)t, sizeof(*t) / sizeof(u32), chim_hash_seed);
}
EXPORT_SYMBOL_IF_KUNIT(chim_tuple_hash);

/**
 * chim_home_cpu() - the CPU whose table shard and timers own a connection
 * @hash: the connection's flow hash (the seed's HashValue)
 *
 * Spreads connections over the CPUs the way RSS spreads flows over queues.
 *
 * Context: any.
 * Return: a possible CPU.
 */
unsigned int chim_home_cpu(u32 hash)
{
	unsigned int cpu = reciprocal_scale(hash, nr_cpu_ids);

	/* nr_cpu_ids bounds the IDs; a sparse possible mask can have holes. */
	if (unlikely(!cpu_possible(cpu)))
		cpu = cpumask_first(cpu_possible_mask);
	return cpu;
}
EXPORT_SYMBOL_IF_KUNIT(chim_home_cpu);

/**
 * chim_table_init() - choose the hash seed
 *
 * Context: module init.
 */
void chim_table_init(void)
{
	chim_hash_seed = get_random_u32();
}

static struct hlist_head *bucket(struct chim_table *table,
				 struct chim_shard *shard, u32 hash)
{
	return &shard->buckets[hash_32(hash, table->bucket_bits)];
}

/**
 * chim_table_create() - set up an empty table
 * @table: the table
 * @size: the number of entries its buckets are sized for
 * @capacity: most entries allowed
 *
 * Context: process.
 * Return: 0 or -ENOMEM.
 */
int chim_table_create(struct chim_table *table, u32 size, u32 capacity)
{
	u32 per_shard = DIV_ROUND_UP(size, num_possible_cpus());
	unsigned int cpu, i, n;

	table->bucket_bits = clamp_t(unsigned int, order_base_2(per_shard),
				     CHIM_SHARD_BUCKETS_MIN_BITS,
				     CHIM_SHARD_BUCKETS_MAX_BITS);
	n = 1U << table->bucket_bits;
	table->shards = alloc_percpu_gfp(struct chim_shard, GFP_KERNEL_ACCOUNT);
	if (!table->shards)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct chim_shard *shard = per_cpu_ptr(table->shards, cpu);

		spin_lock_init(&shard->lock);
		shard->count = 0;
		shard->buckets = kvcalloc(n, sizeof(*shard->buckets),
					  GFP_KERNEL_ACCOUNT);
		if (!shard->buckets) {
			chim_table_destroy(table);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++)
			INIT_HLIST_HEAD(&shard->buckets[i]);
	}
	atomic_set(&table->count, 0);
	table->capacity = capacity;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_create);

/**
 * chim_table_destroy() - free an empty table
 * @table: the table; its entries must have been removed
 *
 * Context: process.
 */
void chim_table_destroy(struct chim_table *table)
{
	unsigned int cpu;

	if (!table->shards)
		return;
	for_each_possible_cpu(cpu)
		kvfree(per_cpu_ptr(table->shards, cpu)->buckets);
	free_percpu(table->shards);
	table->shards = NULL;
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_destroy);

static struct chim_table_entry *
__lookup(struct chim_table *table, struct chim_shard *shard,
	 const struct chim_tuple *tuple, u32 hash)
{
	struct chim_table_entry *e;

	hlist_for_each_entry_rcu(e, bucket(table, shard, hash), node,
				 lockdep_is_held(&shard->lock))
		if (e->hash == hash && !memcmp(&e->tuple, tuple, sizeof(*tuple)))
			return e;
	return NULL;
}

/**
 * chim_table_insert() - add an entry in its home CPU's shard
 * @table: the table
 * @e: the entry, with @e->tuple set; its hash and CPU are filled in
 *
 * Context: any; takes the shard lock with BHs off.
 * Return: 0, -ENOSPC at capacity, -EEXIST if the tuple is there already.
 */
int chim_table_insert(struct chim_table *table, struct chim_table_entry *e)
{
	struct chim_shard *shard;
	int err = 0;

	e->hash = chim_tuple_hash(&e->tuple);
	e->cpu = chim_home_cpu(e->hash);
	shard = per_cpu_ptr(table->shards, e->cpu);

	spin_lock_bh(&shard->lock);
	if (__lookup(table, shard, &e->tuple, e->hash)) {
		err = -EEXIST;
	} else if (atomic_inc_return(&table->count) > table->capacity) {
		atomic_dec(&table->count);
		err = -ENOSPC;
	} else {
		hlist_add_head_rcu(&e->node, bucket(table, shard, e->hash));
		shard->count++;
	}
	spin_unlock_bh(&shard->lock);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_insert);

/**
 * chim_table_remove() - take an entry out of its shard
 * @table: the table
 * @e: an entry that was inserted
 *
 * Readers may still see it until an RCU grace period has passed; free it
 * only after one.
 *
 * Context: any; takes the shard lock with BHs off.
 */
void chim_table_remove(struct chim_table *table, struct chim_table_entry *e)
{
	struct chim_shard *shard = per_cpu_ptr(table->shards, e->cpu);

	spin_lock_bh(&shard->lock);
	hlist_del_init_rcu(&e->node);
	shard->count--;
	atomic_dec(&table->count);
	spin_unlock_bh(&shard->lock);
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_remove);

/**
 * chim_table_lookup_rcu() - find an entry by tuple
 * @table: the table
 * @tuple: the key
 *
 * Context: RCU read-side critical section; the entry stays valid until it
 * ends.
 * Return: the entry or NULL.
 */
struct chim_table_entry *chim_table_lookup_rcu(struct chim_table *table,
					       const struct chim_tuple *tuple)
{
	u32 hash = chim_tuple_hash(tuple);

	return __lookup(table, per_cpu_ptr(table->shards, chim_home_cpu(hash)),
			tuple, hash);
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_lookup_rcu);

/**
 * chim_table_shard_count() - entries in one CPU's shard
 * @table: the table
 * @cpu: a possible CPU
 *
 * Context: any.
 * Return: the count (a snapshot).
 */
unsigned int chim_table_shard_count(struct chim_table *table, unsigned int cpu)
{
	return READ_ONCE(per_cpu_ptr(table->shards, cpu)->count);
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_shard_count);

/**
 * chim_table_next_rcu() - the entry at a walk position, or the next one
 * @table: the table
 * @pos: where to look; moved to the entry found (its idx counts entries in
 *	the bucket), or past the end
 *
 * Walks shard by shard, bucket by bucket.  Entries added or removed
 * meanwhile may be missed or seen twice; nothing else is.  A caller resumes
 * with @pos->idx + 1.
 *
 * Context: RCU read-side critical section.
 * Return: the entry, or NULL at the end.
 */
struct chim_table_entry *chim_table_next_rcu(struct chim_table *table,
					     struct chim_table_pos *pos)
{
	for (; pos->cpu < nr_cpu_ids; pos->cpu++, pos->bucket = 0) {
		struct chim_shard *shard;

		if (!cpu_possible(pos->cpu))
			continue;
		shard = per_cpu_ptr(table->shards, pos->cpu);
		for (; pos->bucket < (1U << table->bucket_bits);
		     pos->bucket++, pos->idx = 0) {
			struct chim_table_entry *e;
			unsigned int i = 0;

			hlist_for_each_entry_rcu(e, &shard->buckets[pos->bucket], node)
				if (i++ == pos->idx)
					return e;
		}
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(chim_table_next_rcu);
