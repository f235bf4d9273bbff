// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table's keys: tuples, their hash and their home CPU.
 */
#include <linux/cpumask.h>
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
