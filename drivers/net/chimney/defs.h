/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every limit and every tunable's default, in one place.
 */
#ifndef _CHIMNEY_DEFS_H
#define _CHIMNEY_DEFS_H

#include <linux/bits.h>
#include <net/chimney.h>

#define CHIMNEY_VERSION		"0.1.0"

/*
 * The optional Part 1 reasons the host honours by default.  SmallIO and
 * NoBufferPreposting are about posted receive buffers, which an emulated
 * target that delivers into the socket's own queue never lacks: declined.
 */
#define CHIM_DEFAULT_ACCEPT_OPTIONAL				\
	(BIT(CHIM_REASON_LOW_ACTIVITY) |			\
	 BIT(CHIM_REASON_HIGH_DROP_RATE) |			\
	 BIT(CHIM_REASON_HIGH_FRAGMENTATION) |			\
	 BIT(CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS))

enum chim_limits {
	/* Hash buckets per per-CPU table shard (power of two). */
	CHIM_SHARD_BUCKETS_BITS = 8,
	/* Default TcpConnectionOffloadCapacity of the emulated target. */
	CHIM_DEFAULT_CAPACITY = 4096,
	/* Largest capacity a target may be given. */
	CHIM_MAX_CAPACITY = 1 << 20,
};

#endif /* _CHIMNEY_DEFS_H */
