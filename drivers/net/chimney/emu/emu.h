/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_EMU_H
#define _CHIMNEY_EMU_H

#include <linux/netfilter.h>
#include <linux/tcp.h>
#include <linux/timer.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <net/chimney.h>

#include "../defs.h"
#include "../table.h"

/**
 * struct chim_emu_stats - one CPU's counters of the emulated target
 * @syncp: for 64-bit reads on 32-bit hosts
 * @tcp: TCP_OFFLOAD_STATS (currently_established is filled on read)
 * @ip: IP_OFFLOAD_STATS
 * @initiated: TCP connections offloaded on this CPU's shard
 * @terminated: TCP connections uploaded from it
 */
struct chim_emu_stats {
	struct u64_stats_sync syncp;
	struct chim_tcp_offload_stats tcp;
	struct chim_ip_offload_stats ip;
	u64 initiated;
	u64 terminated;
};

/**
 * struct chim_emu_conn - the emulated target's context of a TCP object
 * @entry: its place in the per-CPU table
 * @handle: the host's handle, for indications
 * @path: the path context it sends through
 * @lock: protects @d
 * @c: constant variables
 * @cached: cached variables
 * @d: delegated variables, owned by the target while offloaded
 * @stopped: taken out of the table by a terminate; @lock
 * @rx: segments received that the target cannot serve, held for the
 *	stock stack until the connection is uploaded; @lock
 * @rx_truesize: their truesize; @lock
 * @upload_asked: a Part 1 request went out for @rx; @lock
 * @asked_at: jiffies of the last one; @lock
 * @free_node: entry in a terminate's list of contexts to free
 * @bytes_in: payload bytes received while offloaded
 * @bytes_out: payload bytes sent while offloaded
 * @since: jiffies when it was offloaded
 * @active: jiffies of its last segment, or @since
 * @rcu: frees the context after the receive path's readers
 * @engine: the engine runs it (from its initiate's completion until a
 *	punt or a terminate); @lock
 * @decided: its initiate completed: the engine took it or not; until
 *	then, segments are held without a request (chim_eng_start() replays
 *	them); @lock
 * @rcv_edge: the right edge of the window the engine advertised last,
 *	never moved left; @lock
 * @emu: its target, for the timer
 * @room: what the owner could take more at its last report; @lock
 * @mss: the largest payload the engine sends in one segment
 * @rto: the retransmission timeout now, backoff included (ms); @lock
 * @recover: NewReno's recovery point (RFC 6582); @lock
 * @in_recovery: in fast recovery; @lock
 * @rto_recover: resending after a timeout, up to @recover; @lock
 * @tx_bytes: bytes in the send chain (d.send_data); @lock
 * @timer: retransmission and persist timer; armed under @lock, never
 *	after @stopped
 * @txq: frames built under @lock, taken by the context that built them
 *	before it drops @lock, sent after; @lock
 * @aborted: the peer reset it (TcpIndicateAbort): its terminate hands
 *	back no state; @lock
 * @xmitting: a context is sending its frames (chim_eng_take()); @lock
 * @ack_owed: bytes received and not acknowledged yet; @lock
 * @delack: sends the ACK owed when no segment carried it in time
 * @ooo: segments received beyond a hole (the frame, pulled to its payload,
 *	stamped with its sequence numbers), in sequence order; charged as
 *	held segments (@rx_truesize); @lock
 * @sack_seq: where the last segment put on @ooo starts (the first SACK
 *	block reports it); @lock
 * @order_segs: data segments received in the current count; @lock
 * @order_holes: those of them that opened a new hole; @lock
 * @ooo_asked_at: jiffies of the last high-out-of-order-packets request,
 *	0 for none; @lock
 * @eifel: a timeout resent from SndUna, and no ACK of new data came
 *	since: the next one tells whether the timeout was spurious; @lock
 * @rto_ts: the TSval of that resend; @lock
 * @undo_cwnd: the congestion window before that timeout; @lock
 * @undo_ssthresh: the slow-start threshold before it; @lock
 * @buffered: bytes in d.buffered_data: received and acknowledged, not
 *	taken by the owner yet (its buffer was full, or the offload brought
 *	them); within the window the engine advertised; @lock
 */
struct chim_emu_conn {
	struct chim_table_entry entry;
	struct chim_obj *handle;
	struct chim_emu_obj *path;
	spinlock_t lock;	/* see @lock above */
	struct chim_tcp_const c;
	struct chim_tcp_cached cached;
	struct chim_tcp_delegated d;
	bool stopped;
	struct sk_buff_head rx;
	u32 rx_truesize;
	bool upload_asked;
	unsigned long asked_at;
	struct list_head free_node;
	u64 bytes_in;
	u64 bytes_out;
	unsigned long since;
	unsigned long active;
	struct rcu_head rcu;
	bool engine;
	bool decided;
	u32 rcv_edge;
	struct chim_emu *emu;
	int room;
	u32 mss;
	u32 rto;
	u32 recover;
	bool in_recovery;
	bool rto_recover;
	u32 tx_bytes;
	struct timer_list timer;
	struct sk_buff_head txq;
	bool aborted;
	bool xmitting;
	u32 ack_owed;
	struct timer_list delack;
	struct sk_buff_head ooo;
	u32 sack_seq;
	u16 order_segs;
	u16 order_holes;
	unsigned long ooo_asked_at;
	bool eifel;
	u32 rto_ts;
	u32 undo_cwnd;
	u32 undo_ssthresh;
	u32 buffered;
};

/**
 * struct chim_emu_obj - the emulated target's context of a neighbor or path
 * @type: neighbor or path
 * @handle: the host's handle
 * @parent: a path's neighbor context
 * @invalid: invalidated; dependents are being uploaded
 * @neigh: neighbor state
 * @path: path state
 * @free_node: entry in a terminate's list of contexts to free
 */
struct chim_emu_obj {
	enum chim_obj_type type;
	struct chim_obj *handle;
	struct chim_emu_obj *parent;
	bool invalid;
	union {
		struct chim_neigh_state neigh;
		struct chim_path_state path;
	};
	struct list_head free_node;
};

/**
 * struct chim_emu_faults - fault injection
 * @terminate_fail: fail this many next TCP blocks of terminates (FAILURE)
 * @initiate_fail: fail this many next TCP blocks of initiates
 * @initiate_status: with this status
 * @complete_delay_ms: delay every completion by this much
 */
struct chim_emu_faults {
	atomic_t terminate_fail;
	atomic_t initiate_fail;
	enum chim_status initiate_status;
	unsigned int complete_delay_ms;
};

/**
 * struct chim_emu - the emulated offload target (the miniport and its NIC)
 * @target: what the host sees
 * @table: offloaded TCP connections, one shard per CPU
 * @wq: runs the operations asynchronously
 * @faults: fault injection
 * @stats: per-CPU counters
 * @objs: neighbor and path contexts alive
 * @dev: the device whose traffic it sees (NULL in KUnit)
 * @rx_hook: NF_NETDEV_INGRESS hook on @dev, registered while @dev is set
 * @rx_held: truesize of the segments held for all the connections
 * @rx_held_max: its bound (CHIM_RX_HOLD_TOTAL_MAX; KUnit lowers it)
 * @engine: its TCP engine runs the connections it is given (issue 16)
 */
struct chim_emu {
	struct chim_target target;
	struct chim_table table;
	struct workqueue_struct *wq;
	struct chim_emu_faults faults;
	struct chim_emu_stats __percpu *stats;
	atomic_t objs;
	struct net_device *dev;
	struct nf_hook_ops rx_hook;
	atomic_long_t rx_held;
	long rx_held_max;
	bool engine;
};

static inline struct chim_emu *chim_target_emu(struct chim_target *target)
{
	return container_of(target, struct chim_emu, target);
}

struct chim_emu *chim_emu_create(const char *name, u32 capacity);
void chim_emu_destroy(struct chim_emu *emu);
void chim_emu_stats_read(struct chim_emu *emu, int cpu,
			 struct chim_offload_stats *sum);
void chim_emu_fault_terminate(struct chim_emu *emu, unsigned int n);
int chim_emu_fault_initiate(struct chim_emu *emu, unsigned int n,
			    enum chim_status status);
void chim_emu_fault_delay(struct chim_emu *emu, unsigned int ms);
void chim_emu_fault_clear(struct chim_emu *emu);
int chim_emu_request_retrieve(struct chim_emu *emu,
			      const struct chim_tuple *tuple,
			      enum chim_upload_reason reason);
void chim_emu_request_upload_all(struct chim_emu *emu);

/**
 * struct chim_eng_seg - the variable fields of a segment the engine sends
 * @seq: sequence number
 * @ack: acknowledgment number
 * @tsval: TSval, with timestamps
 * @tsecr: TSecr, with timestamps
 * @win: the window field (already scaled down)
 * @flags: TCPHDR_* flags
 * @nr_sacks: SACK blocks in @sack (RFC 2018), at most CHIM_ENG_SACK_MAX
 *	(three with timestamps)
 * @sack: their left and right edges
 */
struct chim_eng_seg {
	u32 seq;
	u32 ack;
	u32 tsval;
	u32 tsecr;
	u16 win;
	u8 flags;
	u8 nr_sacks;
	u32 sack[CHIM_ENG_SACK_MAX][2];
};

/**
 * struct chim_eng_in - the fields of a received segment the engine
 *	decides on
 * @seq: sequence number
 * @end_seq: @seq + @len
 * @ack: acknowledgment number
 * @tsval: TSval, when @has_ts
 * @tsecr: TSecr, when @has_ts
 * @len: payload length
 * @win: the window field (not scaled)
 * @flags: TCPHDR_* flags
 * @has_ts: it carries a timestamp option
 */
struct chim_eng_in {
	u32 seq;
	u32 end_seq;
	u32 ack;
	u32 tsval;
	u32 tsecr;
	u32 len;
	u16 win;
	u8 flags;
	bool has_ts;
};

/* What the engine does with a received segment. */
enum chim_eng_verdict {
	CHIM_ENG_DATA,	/* in-order payload (its old part trimmed): deliver it, ACK */
	CHIM_ENG_OOO,	/* payload beyond a hole: the out-of-order queue, ACK */
	CHIM_ENG_ACK,	/* no payload, nothing unusual: its ACK and window */
	CHIM_ENG_DUP,	/* old or not acceptable: drop it, answer with an ACK */
	CHIM_ENG_DROP,	/* drop it silently */
	CHIM_ENG_PUNT,	/* not the engine's: hold it unacknowledged, ask */
	CHIM_ENG_FIN,	/* the peer's FIN at RcvNxt: hold it, disconnect */
	CHIM_ENG_ABORT,	/* an RST at RcvNxt: drop it, abort */
};

/* input.c: what a received segment is */
bool chim_eng_parse(const struct tcphdr *th, u32 payload,
		    struct chim_eng_in *in);
enum chim_eng_verdict chim_eng_classify(const struct chim_tcp_delegated *d,
					bool ts, u32 rcv_edge,
					const struct chim_eng_in *in,
					enum chim_upload_reason *reason);
void chim_eng_start(struct chim_emu *emu, struct chim_emu_conn *ec);
unsigned int chim_eng_rx(struct chim_emu *emu, struct chim_emu_conn *ec,
			 struct sk_buff *skb, u32 payload);
void chim_eng_ooo_release(struct chim_emu_conn *ec, struct sk_buff_head *to);
bool chim_eng_window_update(struct chim_emu *emu, struct chim_emu_conn *ec,
			    int room);

/* output.c: frames of the engine */
bool chim_eng_csum_offload(const struct net_device *dev, bool v6);
u32 chim_eng_gso_segs(const struct chim_emu_conn *ec,
		      const struct net_device *dev);
struct sk_buff *chim_eng_frame(const struct chim_emu_conn *ec,
			       struct net_device *dev,
			       const struct chim_eng_seg *seg,
			       const struct sk_buff *data, u32 off, u32 len);
struct sk_buff *chim_eng_data_frame(const struct chim_emu_conn *ec,
				    struct net_device *dev,
				    const struct chim_eng_seg *seg,
				    const struct sk_buff_head *q, u32 off,
				    u32 len);

/* send.c: the engine's transmit side, ACKs and timers */
void chim_eng_count(struct chim_emu *emu, unsigned int segs_in,
		    unsigned int octets_in, unsigned int segs_out,
		    unsigned int errors);
void chim_eng_init(struct chim_emu *emu, struct chim_emu_conn *ec);
void chim_eng_stop(struct chim_emu_conn *ec);
void chim_eng_seg_now(struct chim_emu_conn *ec, struct chim_eng_seg *seg,
		      u32 seq, u8 flags);
struct sk_buff *chim_eng_ack(struct chim_emu *emu, struct chim_emu_conn *ec,
			     int room);
struct sk_buff *chim_eng_ack_data(struct chim_emu *emu,
				  struct chim_emu_conn *ec,
				  const struct chim_eng_in *in, int room);
void chim_eng_queue(struct chim_emu_conn *ec, struct sk_buff *frame);
void chim_eng_take(struct chim_emu_conn *ec, struct sk_buff_head *q);
void chim_eng_xmit(struct chim_emu_conn *ec, struct sk_buff_head *q);
bool chim_eng_acked(struct chim_emu *emu, struct chim_emu_conn *ec,
		    const struct chim_eng_in *in, u32 old_wnd);
void chim_eng_push(struct chim_emu *emu, struct chim_emu_conn *ec);
void chim_eng_arm(struct chim_emu_conn *ec);
void chim_eng_timeout(struct chim_emu *emu, struct chim_emu_conn *ec);
int chim_eng_send(struct chim_emu *emu, struct chim_emu_conn *ec,
		  struct sk_buff_head *q);

/* rx.c: the receive side of the emulated NIC */
bool chim_emu_rx_charge(struct chim_emu *emu, struct chim_emu_conn *ec,
			unsigned int size);
void chim_emu_rx_uncharge(struct chim_emu *emu, struct chim_emu_conn *ec,
			  unsigned int size);
int chim_emu_rx_start(struct chim_emu *emu, struct net_device *dev);
void chim_emu_rx_stop(struct chim_emu *emu);
void chim_emu_rx_reinject(struct sk_buff_head *q);
unsigned int chim_emu_rx_hold(struct chim_emu *emu, struct chim_emu_conn *ec,
			      struct sk_buff *skb, u32 payload);
unsigned int chim_emu_rx_punt(struct chim_emu *emu, struct chim_emu_conn *ec,
			      struct sk_buff *skb, u32 payload,
			      enum chim_upload_reason reason);

#endif /* _CHIMNEY_EMU_H */
