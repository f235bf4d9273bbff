// SPDX-License-Identifier: GPL-2.0
/*
 * What a target calls into the host: completions of its operations and
 * indications (Part 1 requests, upload-all, pause/resume), which only
 * queue: the host's worker (host.c) decides on them.
 */
#include <kunit/visibility.h>

#include "host.h"

static const char * const reason_names[__CHIM_REASON_MAX] = {
	[CHIM_REASON_NONE] = "none",
	[CHIM_REASON_LOW_ACTIVITY] = "low-activity",
	[CHIM_REASON_HIGH_DROP_RATE] = "high-drop-rate",
	[CHIM_REASON_SMALL_IO] = "small-io",
	[CHIM_REASON_NO_BUFFER_PREPOSTING] = "no-buffer-preposting",
	[CHIM_REASON_RECEIVED_URGENT_DATA] = "received-urgent-data",
	[CHIM_REASON_HIGH_FRAGMENTATION] = "high-fragmentation",
	[CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS] = "high-out-of-order-packets",
	[CHIM_REASON_TIMEOUT_EXPIRATION] = "timeout-expiration",
	[CHIM_REASON_INVALID_STATE] = "invalid-state",
	[CHIM_REASON_UPLOAD_REQUESTED] = "upload-requested",
	[CHIM_REASON_HARDWARE_FAILURE] = "hardware-failure",
	[CHIM_REASON_ADMIN] = "admin",
	[CHIM_REASON_LINK_DOWN] = "link-down",
	[CHIM_REASON_PAUSE] = "pause",
	[CHIM_REASON_PRIORITY] = "priority",
	[CHIM_REASON_CLOSE] = "close",
	[CHIM_REASON_DETACH] = "detach",
	[CHIM_REASON_UPLOAD_ALL] = "upload-all",
	[CHIM_REASON_PARENT] = "parent",
	[CHIM_REASON_DISCONNECT] = "disconnect",
	[CHIM_REASON_ABORT] = "abort",
};

/**
 * chim_reason_name() - kebab-case name of an upload reason
 * @reason: the reason
 *
 * Return: a static string.
 */
const char *chim_reason_name(enum chim_upload_reason reason)
{
	return reason < __CHIM_REASON_MAX ? reason_names[reason] : "?";
}
EXPORT_SYMBOL_GPL(chim_reason_name);

/**
 * chim_reason_is_mandatory() - whether the host must honour a request
 * @reason: a TCP_UPLOAD_REASON or one of the host's own reasons
 *
 * ReceivedUrgentData, TimeoutExpiration, InvalidState, UploadRequested and
 * HardwareFailure are mandatory (the target has stopped the connection);
 * LowActivity, HighDropRate, SmallIO, NoBufferPreposting,
 * HighFragmentation and HighOutOfOrderPackets are optional.
 *
 * Return: true if mandatory.
 */
bool chim_reason_is_mandatory(enum chim_upload_reason reason)
{
	switch (reason) {
	case CHIM_REASON_LOW_ACTIVITY:
	case CHIM_REASON_HIGH_DROP_RATE:
	case CHIM_REASON_SMALL_IO:
	case CHIM_REASON_NO_BUFFER_PREPOSTING:
	case CHIM_REASON_HIGH_FRAGMENTATION:
	case CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS:
		return false;
	default:
		return true;
	}
}
EXPORT_SYMBOL_GPL(chim_reason_is_mandatory);

static void complete_tree(struct chim_tree *tree)
{
	complete(&tree->done);
}

/**
 * chim_initiate_complete() - NdisMInitiateOffloadComplete
 * @tree: the tree passed to ->initiate(), a status in every block
 *
 * Context: any; the host applies the statuses in the caller of the
 * operation, not here.
 */
void chim_initiate_complete(struct chim_tree *tree)
{
	complete_tree(tree);
}
EXPORT_SYMBOL_GPL(chim_initiate_complete);

/**
 * chim_terminate_complete() - NdisMTerminateOffloadComplete
 * @tree: the tree passed to ->terminate(), a status in every block
 *
 * Context: any.
 */
void chim_terminate_complete(struct chim_tree *tree)
{
	struct chim_host *host = tree->host;

	if (host->trace)
		host->trace(host, CHIM_STEP_COMPLETE);
	complete_tree(tree);
}
EXPORT_SYMBOL_GPL(chim_terminate_complete);

/**
 * chim_update_complete() - NdisMUpdateOffloadComplete
 * @tree: the tree passed to ->update()
 *
 * Context: any.
 */
void chim_update_complete(struct chim_tree *tree)
{
	complete_tree(tree);
}
EXPORT_SYMBOL_GPL(chim_update_complete);

/**
 * chim_invalidate_complete() - NdisMInvalidateOffloadComplete
 * @tree: the tree passed to ->invalidate()
 *
 * Context: any.
 */
void chim_invalidate_complete(struct chim_tree *tree)
{
	complete_tree(tree);
}
EXPORT_SYMBOL_GPL(chim_invalidate_complete);

/**
 * chim_query_complete() - NdisMQueryOffloadStateComplete
 * @tree: the tree passed to ->query()
 *
 * Context: any.
 */
void chim_query_complete(struct chim_tree *tree)
{
	complete_tree(tree);
}
EXPORT_SYMBOL_GPL(chim_query_complete);

/*
 * A target may ask as soon as the connection is in its table, before the
 * initiate completed: the terminate then runs right after the initiate.
 */
static bool retrievable(struct chim_obj *handle)
{
	enum chim_obj_state state = READ_ONCE(handle->state);

	return state == CHIM_STATE_OFFLOADED || state == CHIM_STATE_OFFLOADING;
}

/*
 * Queue @handle's Part 1 request (see chim_indicate_retrieve()).
 *
 * Return: whether one is queued, this one or an earlier one, or the host
 * is going (its end terminates every connection).
 */
static bool queue_retrieve(struct chim_obj *handle,
			   enum chim_upload_reason reason,
			   enum chimney_event_type type)
{
	struct chim_host *host = handle->host;
	unsigned long flags;
	bool queued = false, pending;

	spin_lock_irqsave(&host->req_lock, flags);
	host->stats.retrieves[reason]++;
	if (host->dying || handle->type != CHIM_OBJ_TCP) {
		host->stats.retrieves_ignored++;
	} else if (handle->retrieve_reason &&
		   !chim_reason_is_mandatory(handle->retrieve_reason) &&
		   chim_reason_is_mandatory(reason)) {
		/*
		 * The host may decline the optional request it has queued;
		 * this one it may not: it takes the queued one's place.
		 */
		handle->retrieve_reason = reason;
		queued = true;
	} else if (!handle->retrieve_reason && retrievable(handle) &&
		   chim_obj_get(handle)) {
		handle->retrieve_reason = reason;
		list_add_tail(&handle->req_node, &host->requests);
		queued = true;
	} else {
		host->stats.retrieves_ignored++;
	}
	pending = queued || handle->retrieve_reason || host->dying;
	spin_unlock_irqrestore(&host->req_lock, flags);
	if (queued)
		schedule_work(&host->req_work);
	if (handle->type != CHIM_OBJ_TCP)
		return false;
	chim_host_notify(host, &(struct chim_host_event) {
		.type = type,
		.conn = chim_obj_conn(handle),
		.reason = reason,
		.status = queued ? CHIM_STATUS_PENDING : CHIM_STATUS_FAILURE,
	}, GFP_ATOMIC);
	return pending;
}

/**
 * chim_indicate_retrieve() - Part 1: the target asks for an upload
 *	(TcpIndicateRetrieve)
 * @handle: the TCP object's handle, from its block
 * @reason: a TCP_UPLOAD_REASON
 *
 * Never runs the terminate itself: the request is queued and the host
 * decides in process context.  A mandatory request replaces an optional
 * one already queued; another request for an object that already has one
 * queued, is uploading or is gone is ignored and counted.
 *
 * Context: any; the target must still own the connection.
 */
void chim_indicate_retrieve(struct chim_obj *handle,
			    enum chim_upload_reason reason)
{
	if (reason < 1 || reason > CHIM_REASON_TARGET_MAX)
		reason = CHIM_REASON_UPLOAD_REQUESTED;
	queue_retrieve(handle, reason, CHIMNEY_EVENT_TYPE_RETRIEVE);
}
EXPORT_SYMBOL_GPL(chim_indicate_retrieve);

/**
 * chim_indicate_disconnect() - TcpIndicateDisconnect: the peer closed its
 *	half of a connection the target runs
 * @handle: the TCP object
 *
 * The target indicated every byte before the FIN and holds the FIN for the
 * stock stack: the host takes the connection back (a terminate with
 * reason disconnect, queued as a mandatory request), and the socket reads
 * the end of the stream after the upload.
 *
 * Context: any; the target must still own the connection.
 */
void chim_indicate_disconnect(struct chim_obj *handle)
{
	queue_retrieve(handle, CHIM_REASON_DISCONNECT,
		       CHIMNEY_EVENT_TYPE_DISCONNECT);
}
EXPORT_SYMBOL_GPL(chim_indicate_disconnect);

/**
 * chim_indicate_abort() - TcpIndicateAbort: an acceptable RST arrived on
 *	a connection the target runs
 * @handle: the TCP object
 *
 * The target sends and acknowledges nothing more on it.  The host
 * terminates it (reason abort); the target completes that terminate with
 * %CHIM_STATUS_REQUEST_ABORTED and no state, and the owner resets the
 * connection as an RST does (->aborted()): unlike a disconnect, nothing
 * is uploaded.
 *
 * Context: any; the target must still own the connection.
 */
void chim_indicate_abort(struct chim_obj *handle)
{
	queue_retrieve(handle, CHIM_REASON_ABORT, CHIMNEY_EVENT_TYPE_ABORT);
}
EXPORT_SYMBOL_GPL(chim_indicate_abort);

/**
 * chim_host_request() - a Part 1 request of the host's own: queue the
 *	upload of a connection as if its target had asked
 * @conn: the connection, held by the caller
 * @reason: why (an application's call on a frozen socket:
 *	%CHIM_REASON_UPLOAD_REQUESTED)
 *
 * The request takes the Part 1 path (the host's worker terminates it, a
 * mandatory request replaces a queued optional one), without a round trip
 * through the target.
 *
 * Context: any.
 * Return: true when a request for @conn is queued (this one or an earlier
 * one), false when it is not offloaded (or its upload has begun): the
 * caller terminates it itself if it must.
 */
bool chim_host_request(struct chim_conn *conn, enum chim_upload_reason reason)
{
	return retrievable(&conn->obj) &&
	       queue_retrieve(&conn->obj, reason, CHIMNEY_EVENT_TYPE_RETRIEVE);
}

/**
 * chim_indicate_receive() - in-order data a target received on a
 *	connection it runs, for the connection's owner
 *	(NdisTcpOffloadReceiveHandler)
 * @handle: the connection
 * @skb: the payload, TCP_SKB_CB() seq, end_seq and tcp_flags set; NULL
 *	to learn @room only
 * @room: receives the room the owner has left (bytes; may be negative)
 *
 * The target keeps @handle valid across the call (a terminate stops the
 * connection, under the target's own lock, before it completes).
 *
 * Context: any, the target's connection lock may be held; does not sleep.
 * Return: true when the owner took @skb (it is the owner's), false when
 * it refused (@skb is still the target's: OFFLOAD_DATA_NOT_ACCEPTED).
 */
bool chim_indicate_receive(struct chim_obj *handle, struct sk_buff *skb,
			   int *room)
{
	struct chim_conn *conn = chim_obj_conn(handle);

	*room = 0;
	if (handle->type != CHIM_OBJ_TCP || !conn->ops || !conn->ops->receive)
		return false;
	return conn->ops->receive(conn, skb, room);
}
EXPORT_SYMBOL_GPL(chim_indicate_receive);

/**
 * chim_send_complete() - NdisTcpOffloadSendComplete: the peer acknowledged
 *	data the owner handed to the target
 * @handle: the TCP object (the target's NdisOffloadHandle)
 * @snd_una: SndUna now
 * @bytes: how many bytes more are acknowledged (the target freed them)
 *
 * The target keeps @handle valid across the call, as for
 * chim_indicate_receive().
 *
 * Context: any, the target's connection lock may be held; does not sleep.
 */
void chim_send_complete(struct chim_obj *handle, u32 snd_una, u32 bytes)
{
	struct chim_conn *conn = chim_obj_conn(handle);

	if (handle->type == CHIM_OBJ_TCP && conn->ops && conn->ops->sent)
		conn->ops->sent(conn, snd_una, bytes);
}
EXPORT_SYMBOL_GPL(chim_send_complete);

/**
 * chim_indicate_upload_all() - NDIS_STATUS_UPLOAD_ALL: the target asks for
 *	everything to be uploaded; the host stops offloading until
 *	chim_indicate_resume()
 * @target: the target
 *
 * Context: any.
 */
void chim_indicate_upload_all(struct chim_target *target)
{
	struct chim_host *host = target->host;
	unsigned long flags;

	spin_lock_irqsave(&host->req_lock, flags);
	host->stats.upload_all++;
	host->upload_all = !host->dying;
	spin_unlock_irqrestore(&host->req_lock, flags);
	schedule_work(&host->req_work);
}
EXPORT_SYMBOL_GPL(chim_indicate_upload_all);

/**
 * chim_indicate_resume() - NDIS_STATUS_OFFLOAD_RESUME: offloads may start
 *	again after an upload-all
 * @target: the target
 *
 * Context: process.
 */
void chim_indicate_resume(struct chim_target *target)
{
	struct chim_host *host = target->host;

	mutex_lock(&host->lock);
	host->paused = false;
	mutex_unlock(&host->lock);
}
EXPORT_SYMBOL_GPL(chim_indicate_resume);
