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
	/*
	 * Hash buckets per per-CPU table shard: a power of two, about one per
	 * connection a shard holds at capacity, within these bounds.
	 */
	CHIM_SHARD_BUCKETS_MIN_BITS = 4,
	CHIM_SHARD_BUCKETS_MAX_BITS = 16,
	/* Default TcpConnectionOffloadCapacity of the emulated target. */
	CHIM_DEFAULT_CAPACITY = 4096,
	/* Largest capacity a target may be given. */
	CHIM_MAX_CAPACITY = 1 << 20,
	/* Offload rules per device. */
	CHIM_MAX_POLICIES = 256,
	/* Connections a rule matched that may wait for their offload. */
	CHIM_AUTO_PENDING_MAX = 4096,
	/* Sockets taken from one hash bucket at a time by a rule's scan. */
	CHIM_AUTO_BATCH = 64,
	/*
	 * Uploads or offloads per RTNL hold of a walk over many connections
	 * (conn terminate all, the low-activity scan, a rule's new
	 * connections): RTNL is never held for a whole walk.
	 */
	CHIM_RTNL_BATCH = 32,
	/* Connections of the lowest priority an offload at capacity
	 * compares to pick its victim (the least recently active).
	 */
	CHIM_VICTIM_SAMPLE = 16,
	/* Longest completion delay fault injection may ask for: the host
	 * waits for completions with RTNL held.
	 */
	CHIM_MAX_COMPLETE_DELAY_MS = 100,
	/* Most blocks a fault may fail (kept in an atomic_t). */
	CHIM_MAX_FAULT_COUNT = 1000000,
	/* Largest linear skb the socket layer copies queued data into. */
	CHIM_DATA_CHUNK = 16384,
	/* Truesize of segments the target holds for a connection it cannot
	 * serve yet; more is dropped (the peer retransmits).
	 */
	CHIM_RX_HOLD_MAX = 8 << 20,
	/* The same for all the connections of one target together. */
	CHIM_RX_HOLD_TOTAL_MAX = 64 << 20,
	/* A target holding segments asks for the upload again after this. */
	CHIM_REASK_MS = 200,
	/* The engine's retransmission timeout, bounds (RFC 6298 allows a
	 * lower floor; Linux's TCP_RTO_MIN and TCP_RTO_MAX).
	 */
	CHIM_ENG_RTO_MIN_MS = 200,
	CHIM_ENG_RTO_MAX_MS = 120000,
	/* Retransmissions of one segment before TimeoutExpiration (the
	 * default of net.ipv4.tcp_retries2).
	 */
	CHIM_ENG_MAX_RETRIES = 15,
	/* The engine's congestion window, at most this many segments: its
	 * frames go through the device's qdisc one MSS each.
	 */
	CHIM_ENG_CWND_MAX_SEGS = 256,
	/* Duplicate ACKs that make a fast retransmit (RFC 5681). */
	CHIM_ENG_DUPACK_THRESHOLD = 3,
	/* The engine's delayed ACK: data less than two full segments, with
	 * no PSH, is acknowledged this late at most (Linux's TCP_DELACK_MIN;
	 * RFC 9293 3.8.6.3 allows up to 500 ms).
	 */
	CHIM_ENG_DELACK_MS = 40,
	/* SACK blocks in one ACK: four fit the 40 bytes of options (three
	 * with the timestamp option).
	 */
	CHIM_ENG_SACK_MAX = 4,
	/* High out-of-order packets (an optional Part 1 request; the engine
	 * goes on): over CHIM_ENG_OOO_SEGS data segments, at least
	 * CHIM_ENG_OOO_PCT percent opened a new hole; asked at most once a
	 * second.  A wire that loses a frame now and then stays below it.
	 */
	CHIM_ENG_OOO_SEGS = 256,
	CHIM_ENG_OOO_PCT = 2,
	/* Segments in one frame for a device that segments itself (TSO):
	 * 64 KiB of 1,448-byte segments.
	 */
	CHIM_ENG_GSO_SEGS = 45,
};

/* NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS defaults. */
#define CHIM_DEFAULT_TICKS_PER_SECOND		1000
#define CHIM_DEFAULT_ACK_FREQUENCY		2
#define CHIM_DEFAULT_DELAYED_ACK_TICKS		200
#define CHIM_DEFAULT_MAX_RETRANSMISSIONS	5
#define CHIM_DEFAULT_DOUBT_REACHABILITY		3
#define CHIM_DEFAULT_SWS_PREVENTION_TICKS	1000
#define CHIM_DEFAULT_DUP_ACK_THRESHOLD		3
#define CHIM_DEFAULT_PUSH_TICKS			500
#define CHIM_DEFAULT_NCE_STALE_TICKS		1000

#endif /* _CHIMNEY_DEFS_H */
