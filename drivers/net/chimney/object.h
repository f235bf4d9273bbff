/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_OBJECT_H
#define _CHIMNEY_OBJECT_H

#include <linux/refcount.h>
#include <net/chimney.h>

#include "table.h"

/*
 * Object states.  Every transition goes through chim_obj_set_state():
 *
 *   NEW -> OFFLOADING -> OFFLOADED -> UPLOADING -> DEAD
 *            |              |  ^          |
 *            v              v  |          v
 *           DEAD       INVALIDATED     ABORTED -> DEAD
 */
enum chim_obj_state {
	CHIM_STATE_NEW = 0,
	CHIM_STATE_OFFLOADING,
	CHIM_STATE_OFFLOADED,
	CHIM_STATE_UPLOADING,
	CHIM_STATE_INVALIDATED,
	CHIM_STATE_ABORTED,
	CHIM_STATE_DEAD,
	__CHIM_STATE_MAX,
};

/**
 * struct chim_obj - what neighbor, path and TCP objects share
 * @type: level in the tree
 * @state: see enum chim_obj_state; host->lock
 * @ref: references; the parent link, the target's context and every
 *	queued request hold one
 * @host: owning host
 * @parent: conn -> path -> neigh, holding a reference; NULL for a neighbor
 * @children: dependents; host->lock
 * @sibling: entry in the parent's @children (or the host's neighbors)
 * @dependents: children from OFFLOADING to DEAD; the host terminates an object
 *	only when this is zero, or together with all of them in one tree
 * @target_ctx: MiniportOffloadContext, written by the target
 * @pending_reason: a terminate asked while the object was OFFLOADING, run
 *	once the initiate completes; host->lock
 * @status: the block status of its last initiate; host->lock
 * @retrieve_reason: a queued Part 1 request; host->req_lock
 * @req_node: entry in the host's Part 1 request list; host->req_lock
 * @block: this object's block in the tree being built; host->lock
 * @defer_node: entry in a list private to one host operation (deferred
 *	terminates, parents left without dependents)
 * @rcu: frees it; a connection is found in the host's index under RCU
 */
struct chim_obj {
	enum chim_obj_type type;
	enum chim_obj_state state;
	refcount_t ref;
	struct chim_host *host;
	struct chim_obj *parent;
	struct list_head children;
	struct list_head sibling;
	unsigned int dependents;
	void *target_ctx;
	enum chim_upload_reason pending_reason;
	enum chim_status status;
	enum chim_upload_reason retrieve_reason;
	struct list_head req_node;
	struct chim_block *block;
	struct list_head defer_node;
	struct rcu_head rcu;
};

struct chim_neigh {
	struct chim_obj obj;
	struct in6_addr next_hop;
	struct chim_neigh_const c;
	struct chim_neigh_cached cached;
	struct chim_neigh_delegated delegated;
};

struct chim_path {
	struct chim_obj obj;
	struct chim_path_const c;
	struct chim_path_cached cached;
};

struct chim_conn;

/**
 * struct chim_conn_ops - what the owner of a connection (the socket layer)
 *	learns from the host
 * @offloaded: the initiate completed with @status; on failure @d still
 *	holds every byte the owner handed over
 * @uploaded: Part 2 succeeded; @d holds the final delegated state and data
 * @upload_begin: a terminate is about to be handed to the target (the
 *	socket layer locks the socket here, until @uploaded or @aborted)
 * @aborted: no state came back: Part 2 failed (%CHIM_STATUS_FAILURE: the
 *	state is lost) or the peer reset the connection
 *	(%CHIM_STATUS_REQUEST_ABORTED, chim_indicate_abort()); end it
 * @receive: in-order data the target's engine received, for the
 *	application (chim_indicate_receive()); true when taken, with @room
 *	set to what the owner can take more; with a NULL skb, only @room.
 *	Any context, must not sleep; may be NULL (nothing is taken)
 * @sent: the peer acknowledged @bytes more of the data the owner handed
 *	over; SndUna is @snd_una now (chim_send_complete()).  Any context,
 *	must not sleep; may be NULL
 * @one_per_tree: @upload_begin takes a lock a task may hold only once at a
 *	time (a socket lock): such connections are terminated one tree each
 */
struct chim_conn_ops {
	void (*upload_begin)(struct chim_conn *conn);
	void (*offloaded)(struct chim_conn *conn, enum chim_status status,
			  struct chim_tcp_delegated *d);
	void (*uploaded)(struct chim_conn *conn, struct chim_tcp_delegated *d);
	void (*aborted)(struct chim_conn *conn, enum chim_status status);
	bool (*receive)(struct chim_conn *conn, struct sk_buff *skb, int *room);
	void (*sent)(struct chim_conn *conn, u32 snd_una, u32 bytes);
	bool one_per_tree;
};

/**
 * struct chim_conn - a TCP connection object
 * @obj: common part; @obj.parent is the path
 * @index: its entry in the host's index, keyed by its 4-tuple; in the
 *	index from its offload to its terminate's completion
 * @c: constant variables
 * @cached: cached variables
 * @d: delegated variables handed to the target on initiate
 * @priority: 0 (lowest) to 7
 * @ops: the owner's callbacks, may be NULL
 * @owner: the owner's pointer (the socket)
 * @idle_since: start of its current low-activity window (jiffies, 0: not
 *	measured yet); RTNL
 * @idle_base: bytes it had carried then; RTNL
 */
struct chim_conn {
	struct chim_obj obj;
	struct chim_table_entry index;
	struct chim_tcp_const c;
	struct chim_tcp_cached cached;
	struct chim_tcp_delegated d;
	u8 priority;
	const struct chim_conn_ops *ops;
	void *owner;
	unsigned long idle_since;
	u64 idle_base;
};

static inline struct chim_neigh *chim_obj_neigh(struct chim_obj *obj)
{
	return container_of(obj, struct chim_neigh, obj);
}

static inline struct chim_path *chim_obj_path(struct chim_obj *obj)
{
	return container_of(obj, struct chim_path, obj);
}

static inline struct chim_conn *chim_obj_conn(struct chim_obj *obj)
{
	return container_of(obj, struct chim_conn, obj);
}

struct chim_neigh *chim_neigh_create(struct chim_host *host,
				     const struct in6_addr *next_hop,
				     const struct chim_neigh_const *c,
				     const struct chim_neigh_cached *cached);
struct chim_path *chim_path_create(struct chim_neigh *neigh,
				   const struct chim_path_const *c,
				   const struct chim_path_cached *cached);
struct chim_conn *chim_conn_create(struct chim_path *path,
				   const struct chim_tuple *tuple);
struct chim_path *chim_path_lookup(struct chim_host *host,
				   const struct in6_addr *next_hop,
				   const struct chim_neigh_const *nc,
				   const struct chim_neigh_cached *ncached,
				   const struct chim_path_const *pc,
				   const struct chim_path_cached *pcached);

void chim_obj_hold(struct chim_obj *obj);
bool chim_obj_get(struct chim_obj *obj);
void chim_obj_put(struct chim_obj *obj);
int chim_obj_set_state(struct chim_obj *obj, enum chim_obj_state state);
void chim_obj_unlink(struct chim_obj *obj);
const char *chim_state_name(enum chim_obj_state state);

#endif /* _CHIMNEY_OBJECT_H */
