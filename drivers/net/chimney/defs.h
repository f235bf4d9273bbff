/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every limit and every tunable's default, in one place.
 */
#ifndef _CHIMNEY_DEFS_H
#define _CHIMNEY_DEFS_H

#define CHIMNEY_VERSION		"0.1.0"

enum chim_limits {
	/* Hash buckets per per-CPU table shard (power of two). */
	CHIM_SHARD_BUCKETS_BITS = 8,
};

#endif /* _CHIMNEY_DEFS_H */
