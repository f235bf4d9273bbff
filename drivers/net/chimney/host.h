/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_HOST_H
#define _CHIMNEY_HOST_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/chimney.h>
#include <uapi/linux/chimney.h>

#include "object.h"

struct chim_host;

/**
 * struct chim_host_event - what the host reports about a connection
 * @type: offload, retrieve, terminate-start or terminate-done
 * @conn: the connection
 * @reason: for a retrieve or a terminate
 * @status: of the initiate or the terminate
 * @send_bytes: send data handed back by a terminate
 * @recv_bytes: receive data handed back by a terminate
 */
struct chim_host_event {
	enum chimney_event_type type;
	struct chim_conn *conn;
	enum chim_upload_reason reason;
	enum chim_status status;
	u32 send_bytes;
	u32 recv_bytes;
};

/**
 * struct chim_host_stats - what the host counts
 * @offloads: TCP objects offloaded
 * @offload_failures: TCP blocks of an initiate that failed
 * @terminates: TCP objects uploaded, by reason
 * @terminate_failures: TCP blocks of a terminate that came back FAILURE
 *	(those connections were aborted)
 * @retrieves: Part 1 requests received, by reason
 * @retrieves_declined: optional requests the policy declined, by reason
 * @retrieves_ignored: requests for an object already uploading or gone
 * @upload_all: NDIS_STATUS_UPLOAD_ALL indications
 */
struct chim_host_stats {
	u64 offloads;
	u64 offload_failures;
	u64 terminates[__CHIM_REASON_MAX];
	u64 terminate_failures;
	u64 retrieves[__CHIM_REASON_MAX];
	u64 retrieves_declined[__CHIM_REASON_MAX];
	u64 retrieves_ignored;
	u64 upload_all;
};

/**
 * struct chim_host - the host stack's side of one offload target
 * @target: the target
 * @lock: protects the object tree, object states, @offloaded, @paused,
 *	@accept_optional and the stats not listed under @req_lock
 * @neighs: neighbor objects (each holds its paths, each path its conns)
 * @conns: the TCP objects by 4-tuple, from their offload to their
 *	terminate's completion (conns.c); written under @lock, read under RCU
 * @offloaded: TCP objects from OFFLOADING to DEAD
 * @paused: no new offloads (after an upload-all, until resumed)
 * @accept_optional: bitmask of the optional upload reasons honoured
 * @stats: counters
 * @req_lock: protects @requests, @upload_all, @dying and the Part 1 stats;
 *	taken from any context
 * @requests: queued Part 1 requests (objects, each holding a reference)
 * @upload_all: an upload-all indication is queued
 * @dying: the host is going away; indications are ignored
 * @req_work: runs the queued Part 1 requests
 * @trace: called for each Part 2 step (KUnit), may be NULL
 * @trace_priv: for @trace
 * @notify: reports events (the control plane), may be NULL; called from
 *	any context, with @gfp telling what it may allocate
 * @priv: for @notify
 * @frozen_caught: segments the stock stack would have given a frozen
 *	socket of this host, held until its upload (catch.c)
 * @frozen_dropped: such segments dropped (over the receive buffer, IPv6
 *	fragments)
 * @frozen_tx_dropped: segments a frozen socket tried to send, dropped
 */
struct chim_host {
	struct chim_target *target;
	struct mutex lock;		/* see @lock above */
	struct list_head neighs;
	struct chim_table conns;
	unsigned int offloaded;
	bool paused;
	u32 accept_optional;
	struct chim_host_stats stats;
	spinlock_t req_lock;		/* see @req_lock above */
	struct list_head requests;
	bool upload_all;
	bool dying;
	struct work_struct req_work;
	void (*trace)(struct chim_host *host, enum chim_step step);
	void *trace_priv;
	void (*notify)(struct chim_host *host,
		       const struct chim_host_event *ev, gfp_t gfp);
	void *priv;
	atomic64_t frozen_caught;
	atomic64_t frozen_dropped;
	atomic64_t frozen_tx_dropped;
};

static inline void chim_host_notify(struct chim_host *host,
				    const struct chim_host_event *ev, gfp_t gfp)
{
	if (host->notify)
		host->notify(host, ev, gfp);
}

struct chim_host *chim_host_create(struct chim_target *target);
void chim_host_destroy(struct chim_host *host);
int chim_host_offload(struct chim_host *host, struct chim_obj **objs,
		      unsigned int n);
int chim_host_offload_conn(struct chim_host *host, struct chim_conn *conn);
int chim_host_terminate(struct chim_host *host, struct chim_obj **objs,
			unsigned int n, enum chim_upload_reason reason);
int chim_host_terminate_all(struct chim_host *host,
			    enum chim_upload_reason reason);
int chim_host_query(struct chim_host *host, struct chim_conn *conn,
		    struct chim_tcp_delegated *out);
int chim_host_update(struct chim_host *host, struct chim_obj *obj);
int chim_host_invalidate(struct chim_host *host, struct chim_obj *obj);
void chim_host_flush(struct chim_host *host);
unsigned int chim_host_pick_conns(struct chim_host *host,
				  bool (*pick)(struct chim_conn *conn,
					       const struct chim_activity *a,
					       void *arg),
				  void *arg, struct chim_conn **conns,
				  unsigned int max);
bool chim_host_full(struct chim_host *host);
unsigned int chim_host_terminate_addr(struct chim_host *host,
				      enum chim_obj_type type,
				      const struct in6_addr *addr,
				      enum chim_upload_reason reason);
unsigned int chim_host_lowest_conns(struct chim_host *host, u8 below,
				    struct chim_conn **conns,
				    struct chim_activity *act, unsigned int max);
unsigned int chim_host_some_conns(struct chim_host *host,
				  struct chim_conn **conns, unsigned int max,
				  unsigned int *total);
bool chim_host_request(struct chim_conn *conn, enum chim_upload_reason reason);

/* tree.c: the host's side of a block tree (initiate.c, terminate.c, query.c) */
struct chim_block *chim_tree_add(struct chim_tree *tree, struct chim_obj *obj,
				 bool target_owned);
void chim_tree_seal(struct chim_tree *tree);
void chim_tree_release(struct chim_tree *tree);
void chim_block_fill_state(struct chim_block *b);
int chim_block_fail_pending(struct chim_block *b, void *arg);
void chim_obj_unlink_new(struct chim_obj *obj);

/**
 * chim_host_index_insert() - put a connection into the host's index
 * @host: the host
 * @conn: a NEW connection on its way to the target
 *
 * Context: host->lock held.
 * Return: 0, or -EEXIST while another connection of the same 4-tuple is
 * still in it.
 */
static inline int chim_host_index_insert(struct chim_host *host,
					 struct chim_conn *conn)
{
	lockdep_assert_held(&host->lock);
	return chim_table_insert(&host->conns, &conn->index);
}

/**
 * chim_host_index_remove() - take a connection out of the host's index
 * @host: the host
 * @conn: the connection, in the index or not
 *
 * Context: process; called once at a time for a connection (the operation
 * that owns it).
 */
static inline void chim_host_index_remove(struct chim_host *host,
					  struct chim_conn *conn)
{
	if (!hlist_unhashed(&conn->index.node))
		chim_table_remove(&host->conns, &conn->index);
}

/* conns.c: the host's connections, by 4-tuple and by walks */
struct chim_conn *chim_host_conn_lookup(struct chim_host *host,
					const struct chim_tuple *tuple);
struct chim_conn *chim_host_conn_next(struct chim_host *host,
				      struct chim_table_pos *pos);
bool chim_host_conn_activity(struct chim_host *host, struct chim_conn *conn,
			     struct chim_activity *a);
struct chim_conn *chim_host_victim(struct chim_host *host, u8 priority);
void chim_host_conn_room(struct chim_conn *conn, int room);
int chim_host_conn_send(struct chim_conn *conn, struct sk_buff_head *q);
int chim_host_make_room(struct chim_host *host, u8 priority);
void chim_host_request_work(struct work_struct *work);

#endif /* _CHIMNEY_HOST_H */
