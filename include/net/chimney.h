/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chimney: the interface between the host stack and an offload target.
 *
 * The names follow the NDIS TCP chimney pages this emulates, in kernel
 * spelling: SndUna is snd_una, TsRecentAge is ts_recent_age, NextBlock is
 * next, DependentBlockList is dependents, MiniportOffloadContext is
 * target_ctx.  See Documentation/design.rst.
 *
 * An offload target implements &struct chim_target_ops.  Every operation is
 * asynchronous: the target stores the block tree, returns, later writes a
 * status into every block and calls the matching chim_*_complete() with the
 * same tree.  The target never decides a terminate; it may only ask with
 * chim_indicate_retrieve() or chim_indicate_upload_all() (Part 1), and the
 * host calls ->terminate() (Part 2).  The data-path indications
 * (TcpIndicateDisconnect for a FIN, TcpIndicateAbort for an RST, each
 * handled differently) come with a target that runs TCP itself; a target
 * that only holds connections asks for their upload.
 */
#ifndef _NET_CHIMNEY_H
#define _NET_CHIMNEY_H

#include <linux/completion.h>
#include <linux/if_ether.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/skbuff.h>
#include <linux/types.h>

/*
 * enum chim_upload_reason - why a connection is uploaded
 *
 * Values 1-11 are the seed's TCP_UPLOAD_REASON, reported by a target with
 * chim_indicate_retrieve(); chim_reason_is_mandatory() tells which ones the
 * host must always honour.  The others are the host's own reasons.
 */
enum chim_upload_reason {
	CHIM_REASON_NONE = 0,
	CHIM_REASON_LOW_ACTIVITY = 1,		/* LowActivity (optional) */
	CHIM_REASON_HIGH_DROP_RATE,		/* HighDropRate (optional) */
	CHIM_REASON_SMALL_IO,			/* SmallIO (optional) */
	CHIM_REASON_NO_BUFFER_PREPOSTING,	/* NoBufferPreposting (optional) */
	CHIM_REASON_RECEIVED_URGENT_DATA,	/* ReceivedUrgentData */
	CHIM_REASON_HIGH_FRAGMENTATION,		/* HighFragmentation (optional) */
	CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS,	/* HighOutOfOrderPackets (opt.) */
	CHIM_REASON_TIMEOUT_EXPIRATION,		/* TimeoutExpiration */
	CHIM_REASON_INVALID_STATE,		/* InvalidState */
	CHIM_REASON_UPLOAD_REQUESTED,		/* UploadRequested */
	CHIM_REASON_HARDWARE_FAILURE,		/* HardwareFailure */
	CHIM_REASON_TARGET_MAX = CHIM_REASON_HARDWARE_FAILURE,
	/* The host's own reasons. */
	CHIM_REASON_ADMIN,
	CHIM_REASON_LINK_DOWN,
	CHIM_REASON_PAUSE,
	CHIM_REASON_PRIORITY,
	CHIM_REASON_CLOSE,
	CHIM_REASON_DETACH,
	CHIM_REASON_UPLOAD_ALL,			/* NDIS_STATUS_UPLOAD_ALL */
	CHIM_REASON_PARENT,			/* parent left with no dependents */
	CHIM_REASON_DISCONNECT,			/* TcpIndicateDisconnect: a FIN */
	CHIM_REASON_ABORT,			/* TcpIndicateAbort: an RST */
	__CHIM_REASON_MAX,
};

/*
 * enum chim_status - the status a target writes into every block
 *
 * SUCCESS, PARTIAL_SUCCESS (NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS), FAILURE
 * and the resource codes of an initiate; UPLOAD_IN_PROGRESS and
 * REQUEST_ABORTED for data calls.  PENDING marks a block not yet visited.
 */
enum chim_status {
	CHIM_STATUS_SUCCESS = 0,
	CHIM_STATUS_PENDING,
	CHIM_STATUS_PARTIAL_SUCCESS,
	CHIM_STATUS_FAILURE,
	CHIM_STATUS_RESOURCES,
	CHIM_STATUS_OFFLOAD_TCP_ENTRIES,
	CHIM_STATUS_OFFLOAD_PATH_ENTRIES,
	CHIM_STATUS_OFFLOAD_NEIGHBOR_ENTRIES,
	CHIM_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES,
	CHIM_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES,
	CHIM_STATUS_OFFLOAD_TCP_XMIT_BUFFER,
	CHIM_STATUS_OFFLOAD_TCP_RCV_BUFFER,
	CHIM_STATUS_OFFLOAD_TCP_RCV_WINDOW,
	CHIM_STATUS_OFFLOAD_VLAN_ENTRIES,
	CHIM_STATUS_OFFLOAD_VLAN_MISMATCH,
	CHIM_STATUS_OFFLOAD_PATH_MTU,
	CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED,
	CHIM_STATUS_UPLOAD_IN_PROGRESS,
	CHIM_STATUS_REQUEST_ABORTED,
	__CHIM_STATUS_MAX,
};

/* The three levels of the state tree (OFFLOAD_STATE_TYPE, simplified). */
enum chim_obj_type {
	CHIM_OBJ_NEIGH = 1,
	CHIM_OBJ_PATH,
	CHIM_OBJ_TCP,
};

/* TCP_OFFLOAD_CONNECTION_STATE */
enum chim_tcp_state {
	CHIM_TCP_CLOSED = 0,
	CHIM_TCP_LISTEN,
	CHIM_TCP_SYN_SENT,
	CHIM_TCP_SYN_RCVD,
	CHIM_TCP_ESTABLISHED,
	CHIM_TCP_FIN_WAIT1,
	CHIM_TCP_FIN_WAIT2,
	CHIM_TCP_CLOSE_WAIT,
	CHIM_TCP_CLOSING,
	CHIM_TCP_LAST_ACK,
	CHIM_TCP_TIME_WAIT,
};

/* NEIGHBOR_OFFLOAD_STATE_CONST / _CACHED / _DELEGATED */
struct chim_neigh_const {
	u8 dl_source_address[ETH_ALEN];
	u16 vlan_id;
};

struct chim_neigh_cached {
	u8 dl_destination_address[ETH_ALEN];
	u32 host_reachability_delta;
};

struct chim_neigh_delegated {
	u32 nic_reachability_delta;
};

/* PATH_OFFLOAD_STATE_CONST / _CACHED (the delegated part is empty) */
struct chim_path_const {
	struct in6_addr source_address;		/* IPv4 v4-mapped */
	struct in6_addr destination_address;
	u8 family;
};

struct chim_path_cached {
	u32 path_mtu;
};

/* TCP_OFFLOAD_STATE_CONST */
#define CHIM_TCP_FLAG_TIMESTAMP_ENABLED		0x01
#define CHIM_TCP_FLAG_SACK_ENABLED		0x02
#define CHIM_TCP_FLAG_WINDOW_SCALING_ENABLED	0x04

struct chim_tcp_const {
	u16 flags;
	__be16 remote_port;
	__be16 local_port;
	u8 snd_wind_scale;
	u8 rcv_wind_scale;
	u16 remote_mss;
	u32 hash_value;
};

/* TCP_OFFLOAD_STATE_CACHED */
#define CHIM_TCP_FLAG_KEEP_ALIVE_ENABLED	0x01
#define CHIM_TCP_FLAG_NAGLING_ENABLED		0x02
#define CHIM_TCP_FLAG_KEEP_ALIVE_RESTART	0x04
#define CHIM_TCP_FLAG_MAX_RT_RESTART		0x08
#define CHIM_TCP_FLAG_UPDATE_RCV_WND		0x10

struct chim_tcp_cached {
	u16 flags;
	u32 initial_rcv_wnd;
	u32 rcv_indication_size;
	u8 ka_probe_count;
	u32 ka_timeout;
	u32 ka_interval;
	u32 max_rt;
	u32 flow_label;
	u8 ttl_or_hop_limit;
	u8 tos_or_traffic_class;
	u8 user_priority;
};

/* "Not running" for the TimeoutDelta of a timer. */
#define CHIM_TIMER_NOT_RUNNING	((u32)-1)

/*
 * struct chim_tcp_delegated - TCP_OFFLOAD_STATE_DELEGATED
 *
 * Sequence numbers, windows and timers as in the seed (srtt is scaled by 8,
 * rtt_var by 4).  @send_data holds the send chain: its first byte is
 * snd_una, [snd_una, snd_nxt) was sent and is unacknowledged, the rest is
 * to be sent.  @buffered_data holds data received and acknowledged but not
 * yet delivered to the application (it ends at rcv_nxt).  Both move with
 * the state on initiate and terminate; on a failed initiate the target
 * leaves them untouched for the host.
 */
struct chim_tcp_delegated {
	enum chim_tcp_state state;
	u16 flags;
	u32 rcv_nxt;
	u32 rcv_wnd;
	u32 snd_una;
	u32 snd_nxt;
	u32 snd_max;
	u32 snd_wnd;
	u32 max_snd_wnd;
	u32 send_wl1;
	u32 cwnd;
	u32 ss_thresh;
	u16 srtt;
	u16 rtt_var;
	u32 ts_recent;
	u32 ts_recent_age;
	u32 ts_time;
	u32 total_rt;
	u8 dup_ack_count;
	u8 snd_wnd_probe_count;
	struct {
		u8 probe_count;
		u32 timeout_delta;
	} keepalive;
	struct {
		u8 count;
		u32 timeout_delta;
	} retransmit;
	struct sk_buff_head send_data;
	struct sk_buff_head buffered_data;
	u32 send_backlog_size;
	u32 receive_backlog_size;
	u32 dwnd;
};

/* NeighborOffloadState and PathOffloadState: the three classes together. */
struct chim_neigh_state {
	struct chim_neigh_const c;
	struct chim_neigh_cached cached;
	struct chim_neigh_delegated delegated;
};

struct chim_path_state {
	struct chim_path_const c;
	struct chim_path_cached cached;
};

struct chim_obj;
struct chim_host;
struct chim_target;

/**
 * struct chim_block - one block of a block-list tree
 *	(NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)
 * @next: NextBlock, the next sibling on the same level
 * @dependents: DependentBlockList, the first block one level down
 * @type: which state follows the block
 * @status: written by the target into every block before completing
 * @target_ctx: MiniportOffloadContext.  On initiate: NULL for a placeholder
 *	(an anchor only, always SUCCESS); pointing at a non-NULL context for a
 *	linker (an offloaded object gaining dependents); pointing at NULL for a
 *	new offload, where the target stores its context on success only.
 * @handle: NdisOffloadHandle, the host's object; the target passes it back
 *	in indications
 * @neigh: neighbor state (const, cached, delegated back to back)
 * @path: path state
 * @tcp: TCP state; for a terminate only @tcp.delegated is meaningful and is
 *	filled by the target
 * @dependents_tail: the host's (ProtocolReserved): last of @dependents
 * @target_reserved: the target's (MiniportReserved), for the duration of
 *	one operation
 */
struct chim_block {
	struct chim_block *next;
	struct chim_block *dependents;
	struct chim_block *dependents_tail;
	void *target_reserved[2];
	enum chim_obj_type type;
	enum chim_status status;
	void **target_ctx;
	struct chim_obj *handle;
	union {
		struct chim_neigh_state neigh;
		struct chim_path_state path;
		struct {
			struct chim_tcp_const c;
			struct chim_tcp_cached cached;
			struct chim_tcp_delegated delegated;
		} tcp;
	};
};

enum chim_op {
	CHIM_OP_INITIATE = 1,
	CHIM_OP_TERMINATE,
	CHIM_OP_UPDATE,
	CHIM_OP_INVALIDATE,
	CHIM_OP_QUERY,
};

/**
 * struct chim_tree - a block-list tree handed to one target operation
 * @root: the first block of the top level
 * @root_tail: the last block of the top level
 * @op: the operation
 * @reason: for a terminate, why
 * @host: the host that built it
 * @done: completed after the host has processed the completion
 * @nr_blocks: number of blocks in the tree
 */
struct chim_tree {
	struct chim_block *root;
	struct chim_block *root_tail;
	enum chim_op op;
	enum chim_upload_reason reason;
	struct chim_host *host;
	struct completion done;
	unsigned int nr_blocks;
};

/* TCP_OFFLOAD_STATS */
struct chim_tcp_offload_stats {
	u64 in_segments;
	u64 out_segments;
	u64 currently_established;
	u64 reset_established;
	u64 retransmitted_segments;
	u64 in_errors;
	u64 out_resets;
};

/* IP_OFFLOAD_STATS */
struct chim_ip_offload_stats {
	u64 in_receives;
	u64 in_octets;
	u64 in_delivers;
	u64 out_requests;
	u64 out_octets;
	u64 in_header_errors;
	u64 in_truncated_packets;
	u64 in_discards;
	u64 out_discards;
	u64 out_no_routes;
};

/**
 * struct chim_offload_stats - a target's counters (TCP_OFFLOAD_STATS,
 *	IP_OFFLOAD_STATS, then ours), all u64 in this order
 * @tcp: TCP_OFFLOAD_STATS
 * @ip: IP_OFFLOAD_STATS
 * @initiated: TCP connections offloaded
 * @terminated: TCP connections uploaded
 */
struct chim_offload_stats {
	struct chim_tcp_offload_stats tcp;
	struct chim_ip_offload_stats ip;
	u64 initiated;
	u64 terminated;
};

/**
 * struct chim_activity - what a target reports of one connection it runs
 * @bytes_in: payload bytes received while offloaded
 * @bytes_out: payload bytes sent while offloaded
 * @since: jiffies when it was offloaded
 * @active: jiffies of its last segment, or @since
 */
struct chim_activity {
	u64 bytes_in;
	u64 bytes_out;
	unsigned long since;
	unsigned long active;
};

/**
 * struct chim_target_ops - what an offload target implements
 *	(MiniportInitiateOffload, MiniportTerminateOffload, ...)
 *
 * Each callback stores @tree and returns 0, or returns a negative errno if
 * it cannot accept the tree at all (then no completion follows).  After a
 * 0, it writes a status into every block and calls the matching
 * chim_*_complete() exactly once, never from inside the callback itself.
 * ->quiesce(), optional, waits until no operation of the target runs any
 * more (the host calls it before it goes away).  ->activity(), optional
 * and synchronous, reports what one connection carried (the per-connection
 * part of TCP_OFFLOAD_STATS): the host calls it with its lock held while
 * the connection is offloaded (no terminate issued, so @ctx, the context
 * the target stored at the initiate, is valid); it must not sleep, and
 * returns false when the target no longer runs the connection.
 *
 * @initiate: MiniportInitiateOffload, completed by chim_initiate_complete()
 * @terminate: MiniportTerminateOffload, completed by
 *	chim_terminate_complete()
 * @update: MiniportUpdateOffload, completed by chim_update_complete()
 * @invalidate: MiniportInvalidateOffload, completed by
 *	chim_invalidate_complete()
 * @query: MiniportQueryOffload, completed by chim_query_complete()
 * @quiesce: wait for every operation in flight, may be NULL
 * @activity: what a connection carried, may be NULL (the host then never
 *	finds one idle, and picks a victim by priority alone)
 * @stats: OID_TCP4_OFFLOAD_STATS and the like: the counters of one CPU's
 *	share of the connections, or of all with @cpu -1; may be NULL (zero);
 *	any context
 * @receive: the connection's owner read data: it can take @room bytes now
 *	(the credit NdisOffloadTcpReceive's posted buffers give); called while
 *	the connection is offloaded and no terminate of it has begun (@ctx is
 *	valid); must not sleep; may be NULL
 * @send: NdisOffloadTcpSend: the connection's owner hands data the
 *	application wrote, appended to the connection's send chain (the
 *	skbs are linear; the target owns them on success, until the peer
 *	acknowledges them or a terminate hands them back); called as
 *	@receive is; returns 0, or -EOPNOTSUPP when the target does not run
 *	the connection itself (the skbs are still the caller's, who uploads
 *	the connection and sends through the stock stack); may be NULL
 */
struct chim_target_ops {
	int (*initiate)(struct chim_target *target, struct chim_tree *tree);
	int (*terminate)(struct chim_target *target, struct chim_tree *tree);
	int (*update)(struct chim_target *target, struct chim_tree *tree);
	int (*invalidate)(struct chim_target *target, struct chim_tree *tree);
	int (*query)(struct chim_target *target, struct chim_tree *tree);
	void (*quiesce)(struct chim_target *target);
	bool (*activity)(struct chim_target *target, void *ctx,
			 struct chim_activity *out);
	void (*stats)(struct chim_target *target, int cpu,
		      struct chim_offload_stats *out);
	void (*receive)(struct chim_target *target, void *ctx, int room);
	int (*send)(struct chim_target *target, void *ctx,
		    struct sk_buff_head *q);
};

/**
 * struct chim_target - an offload target
 * @ops: its operations
 * @name: for messages
 * @capacity: TcpConnectionOffloadCapacity, the most TCP connections it runs
 * @host: the host stack it is attached to
 */
struct chim_target {
	const struct chim_target_ops *ops;
	const char *name;
	u32 capacity;
	struct chim_host *host;
};

/* Completions (NdisM*Complete): same tree, a status in every block. */
void chim_initiate_complete(struct chim_tree *tree);
void chim_terminate_complete(struct chim_tree *tree);
void chim_update_complete(struct chim_tree *tree);
void chim_invalidate_complete(struct chim_tree *tree);
void chim_query_complete(struct chim_tree *tree);

/* Indications (NdisTcpOffloadEventHandler, NdisMIndicateStatusEx). */
void chim_indicate_retrieve(struct chim_obj *handle,
			    enum chim_upload_reason reason);
void chim_indicate_upload_all(struct chim_target *target);
void chim_indicate_resume(struct chim_target *target);

/* Events of the peer (TcpIndicateDisconnect, TcpIndicateAbort). */
void chim_indicate_disconnect(struct chim_obj *handle);
void chim_indicate_abort(struct chim_obj *handle);
/* Data path (NdisTcpOffloadReceiveHandler, NdisTcpOffloadSendComplete). */
bool chim_indicate_receive(struct chim_obj *handle, struct sk_buff *skb,
			   int *room);
void chim_send_complete(struct chim_obj *handle, u32 snd_una, u32 bytes);

/* Walking a tree: depth-first, then across (the seed's mandatory order). */
typedef int (*chim_block_fn)(struct chim_block *block, void *arg);
int chim_tree_walk(struct chim_tree *tree, chim_block_fn pre,
		   chim_block_fn post, void *arg);
enum chim_status chim_block_initiate_status(const struct chim_block *block,
					    bool linker);
void chim_block_fail_dependents(struct chim_block *block);
u32 chim_skb_queue_bytes(struct sk_buff_head *q);

/*
 * The steps of a Part 2 terminate, for tracing the order (KUnit compares
 * it with the seed): 1 the host calls ->terminate(), 2 the target copies
 * the delegated state, 3 it writes every status, 4 it completes, 5 it frees
 * its resources; then the host restores each connection, and terminates
 * the parents the tree left without dependents.
 */
enum chim_step {
	CHIM_STEP_TERMINATE_CALL = 1,
	CHIM_STEP_TARGET_COPY,
	CHIM_STEP_TARGET_STATUS,
	CHIM_STEP_COMPLETE,
	CHIM_STEP_TARGET_FREE,
	CHIM_STEP_HOST_RESTORE,
	CHIM_STEP_PARENTS,
};

void chim_trace_step(struct chim_target *target, enum chim_step step);

bool chim_reason_is_mandatory(enum chim_upload_reason reason);
const char *chim_reason_name(enum chim_upload_reason reason);

#endif /* _NET_CHIMNEY_H */
