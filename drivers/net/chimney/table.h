/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_TABLE_H
#define _CHIMNEY_TABLE_H

#include <linux/atomic.h>
#include <linux/in6.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "defs.h"

/**
 * struct chim_tuple - the 4-tuple that names an offloaded TCP connection
 * @laddr: local address; IPv4 is stored v4-mapped
 * @raddr: remote address; IPv4 is stored v4-mapped
 * @lport: local port, network order
 * @rport: remote port, network order
 * @family: AF_INET or AF_INET6
 * @pad: zero, so that the whole structure can be hashed and compared
 */
struct chim_tuple {
	struct in6_addr laddr;
	struct in6_addr raddr;
	__be16 lport;
	__be16 rport;
	u8 family;
	u8 pad[3];
};

void chim_tuple_init4(struct chim_tuple *t, __be32 laddr, __be16 lport,
		      __be32 raddr, __be16 rport);
void chim_tuple_init6(struct chim_tuple *t, const struct in6_addr *laddr,
		      __be16 lport, const struct in6_addr *raddr, __be16 rport);
u32 chim_tuple_hash(const struct chim_tuple *t);
unsigned int chim_home_cpu(u32 hash);

/**
 * struct chim_table_entry - what the table knows of a connection; embedded
 *	in the connection (the target's context, the host's TCP object)
 * @node: bucket link (RCU)
 * @tuple: key
 * @hash: chim_tuple_hash(@tuple), the connection's HashValue
 * @cpu: home CPU, whose shard holds the entry
 */
struct chim_table_entry {
	struct hlist_node node;
	struct chim_tuple tuple;
	u32 hash;
	unsigned int cpu;
};

/**
 * struct chim_shard - one CPU's part of a table
 * @lock: protects @buckets (writers; readers use RCU) and @count
 * @count: entries in this shard
 * @buckets: 1 << &chim_table.bucket_bits hash buckets
 */
struct chim_shard {
	spinlock_t lock;	/* see @lock above */
	unsigned int count;
	struct hlist_head *buckets;
};

/**
 * struct chim_table - connections by 4-tuple, one shard per possible CPU
 *	(the target's table, and the host's index of its connections)
 * @shards: per-CPU shards
 * @count: entries in all shards
 * @capacity: most entries allowed
 * @bucket_bits: log2 of the buckets per shard, sized from @capacity
 */
struct chim_table {
	struct chim_shard __percpu *shards;
	atomic_t count;
	u32 capacity;
	unsigned int bucket_bits;
};

int chim_table_create(struct chim_table *table, u32 size, u32 capacity);
void chim_table_destroy(struct chim_table *table);
int chim_table_insert(struct chim_table *table, struct chim_table_entry *e);
void chim_table_remove(struct chim_table *table, struct chim_table_entry *e);
struct chim_table_entry *chim_table_lookup_rcu(struct chim_table *table,
					       const struct chim_tuple *tuple);
/* A position in a walk over a table: shard, bucket, entry in the bucket. */
struct chim_table_pos {
	unsigned int cpu;
	unsigned int bucket;
	unsigned int idx;
};

struct chim_table_entry *chim_table_next_rcu(struct chim_table *table,
					     struct chim_table_pos *pos);
unsigned int chim_table_shard_count(struct chim_table *table,
				    unsigned int cpu);

void chim_table_init(void);

#endif /* _CHIMNEY_TABLE_H */
