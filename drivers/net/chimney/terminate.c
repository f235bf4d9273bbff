// SPDX-License-Identifier: GPL-2.0
/*
 * Terminate (Part 2, MiniportTerminateOffload): an object and its
 * dependents go into one tree; the target stops them, copies their
 * delegated state and data into the blocks and completes; the host
 * restores each connection to its owner, then terminates the parents the
 * tree left without dependents.  Also "upload everything" in bounded
 * batches.
 */
#include <kunit/visibility.h>
#include <linux/slab.h>

#include "block.h"
#include "defs.h"
#include "host.h"

/*
 * Whether a dependent of @obj is on its way in, or on its way out in
 * another tree (one already in the tree being built has its block): @obj
 * still has that dependent and must stay until it is done.
 */
static bool subtree_busy(struct chim_obj *obj)
{
	struct chim_obj *child;

	list_for_each_entry(child, &obj->children, sibling)
		if (child->state == CHIM_STATE_OFFLOADING ||
		    (child->state == CHIM_STATE_UPLOADING && !child->block) ||
		    subtree_busy(child))
			return true;
	return false;
}

/*
 * Add @obj and all its dependents to a terminate tree, the object before
 * its dependents.  If a dependent is still being offloaded, it gets a
 * pending terminate and @obj stays out (it still has a dependent) until
 * that one has been uploaded and leaves @obj without dependents; the same
 * if a dependent is being uploaded by another terminate.
 */
static void add_for_terminate(struct chim_tree *tree, struct chim_obj *obj,
			      enum chim_upload_reason reason)
{
	struct chim_obj *child;
	bool whole;

	lockdep_assert_held(&obj->host->lock);
	switch (obj->state) {
	case CHIM_STATE_OFFLOADING:
		obj->pending_reason = reason;
		return;
	case CHIM_STATE_OFFLOADED:
	case CHIM_STATE_INVALIDATED:
		break;
	default:
		return;
	}
	whole = !subtree_busy(obj);
	if (whole) {
		if (!chim_tree_add(tree, obj, true))
			return;
		chim_obj_set_state(obj, CHIM_STATE_UPLOADING);
	}
	list_for_each_entry(child, &obj->children, sibling)
		add_for_terminate(tree, child, reason);
}

static int terminate_begin(struct chim_block *b, void *arg)
{
	struct chim_tree *tree = arg;
	struct chim_conn *conn;

	if (b->type != CHIM_OBJ_TCP || !b->target_ctx)
		return 0;
	conn = chim_obj_conn(b->handle);
	if (conn->ops && conn->ops->upload_begin)
		conn->ops->upload_begin(conn);
	chim_host_notify(tree->host, &(struct chim_host_event) {
		.type = CHIMNEY_EVENT_TYPE_TERMINATE_START,
		.conn = conn,
		.reason = tree->reason,
		.status = CHIM_STATUS_PENDING,
	}, GFP_KERNEL);
	return 0;
}

/* Dependents before parents: hand each connection back to its owner. */
static int terminate_restore(struct chim_block *b, void *arg)
{
	struct chim_tree *tree = arg;
	struct chim_host *host = tree->host;
	struct chim_host_event ev = {
		.type = CHIMNEY_EVENT_TYPE_TERMINATE_DONE,
		.reason = tree->reason,
		.status = b->status,
	};
	struct chim_conn *conn;

	if (b->type != CHIM_OBJ_TCP)
		return 0;
	conn = chim_obj_conn(b->handle);
	/* Out before its owner has it back (and may offload it again). */
	chim_host_index_remove(host, conn);
	if (!b->target_ctx)
		return 0;
	ev.conn = conn;
	ev.send_bytes = chim_skb_queue_bytes(&b->tcp.delegated.send_data);
	ev.recv_bytes = chim_skb_queue_bytes(&b->tcp.delegated.buffered_data);
	chim_host_notify(host, &ev, GFP_KERNEL);
	if (b->status == CHIM_STATUS_SUCCESS) {
		if (conn->ops && conn->ops->uploaded)
			conn->ops->uploaded(conn, &b->tcp.delegated);
		if (host->trace)
			host->trace(host, CHIM_STEP_HOST_RESTORE);
	} else if (conn->ops && conn->ops->aborted) {
		/*
		 * FAILURE: the state is lost; only this connection pays.
		 * REQUEST_ABORTED: the peer reset it (chim_indicate_abort()).
		 */
		conn->ops->aborted(conn, b->status);
	}
	return 0;
}

struct terminate_result {
	struct chim_tree *tree;
	struct list_head orphans;	/* parents left without dependents */
};

static int terminate_apply(struct chim_block *b, void *arg)
{
	struct terminate_result *r = arg;
	struct chim_obj *obj = b->handle, *parent = obj->parent;
	struct chim_host *host = obj->host;

	if (!b->target_ctx)
		return 0;	/* placeholder */
	if (obj->type == CHIM_OBJ_TCP) {
		/* REQUEST_ABORTED: the peer reset it, no state to hand back. */
		if (b->status == CHIM_STATUS_SUCCESS ||
		    b->status == CHIM_STATUS_REQUEST_ABORTED)
			host->stats.terminates[r->tree->reason]++;
		else
			host->stats.terminate_failures++;
		if (b->status != CHIM_STATUS_SUCCESS)
			chim_obj_set_state(obj, CHIM_STATE_ABORTED);
		host->offloaded--;
	}
	chim_obj_set_state(obj, CHIM_STATE_DEAD);
	obj->target_ctx = NULL;
	chim_obj_put(obj);	/* the target's context */
	chim_obj_unlink_new(obj);
	chim_obj_unlink(obj);

	/* "No longer serving a useful purpose": terminate it too. */
	if (parent && !parent->dependents &&
	    (parent->state == CHIM_STATE_OFFLOADED ||
	     parent->state == CHIM_STATE_INVALIDATED) &&
	    list_empty(&parent->defer_node)) {
		chim_obj_hold(parent);
		list_add_tail(&parent->defer_node, &r->orphans);
	}
	return 0;
}

/*
 * Connections in @obj's subtree to be terminated one tree each: counted
 * from @n, and with @out, the first @max of them held into it.
 */
static unsigned int collect_owned(struct chim_obj *obj, struct chim_obj **out,
				  unsigned int n, unsigned int max)
{
	struct chim_obj *child;

	if (obj->state != CHIM_STATE_OFFLOADED &&
	    obj->state != CHIM_STATE_INVALIDATED)
		return n;
	if (obj->type == CHIM_OBJ_TCP) {
		const struct chim_conn_ops *ops = chim_obj_conn(obj)->ops;

		if (ops && ops->one_per_tree) {
			if (out && n >= max)
				return n;
			if (out) {
				chim_obj_hold(obj);
				out[n] = obj;
			}
			n++;
		}
		return n;
	}
	list_for_each_entry(child, &obj->children, sibling)
		n = collect_owned(child, out, n, max);
	return n;
}

/*
 * terminate_owned_singly() without memory for the list: the first owned
 * connection left, found again after each upload (an uploaded one is no
 * longer OFFLOADED), at most @count times.
 */
static unsigned int terminate_owned_each(struct chim_host *host,
					 struct chim_obj **objs, unsigned int n,
					 unsigned int count,
					 enum chim_upload_reason reason)
{
	unsigned int i, done = 0;
	struct chim_obj *obj;

	while (count--) {
		obj = NULL;
		mutex_lock(&host->lock);
		for (i = 0; i < n && !obj; i++)
			if (objs[i]->host == host)
				collect_owned(objs[i], &obj, 0, 1);
		mutex_unlock(&host->lock);
		if (!obj)
			break;
		if (!chim_host_terminate(host, &obj, 1, reason))
			done++;
		chim_obj_put(obj);
	}
	return done;
}

/*
 * A socket stays locked from the terminate call until it is restored, and
 * a task may hold only one socket lock (lockdep knows no order between two
 * sockets): connections with sockets are uploaded one tree each, before
 * their parents.
 *
 * Return: how many were uploaded that way.
 */
static unsigned int terminate_owned_singly(struct chim_host *host,
					   struct chim_obj **objs,
					   unsigned int n,
					   enum chim_upload_reason reason)
{
	struct chim_obj **owned = NULL;
	unsigned int i, count = 0, done = 0;

	if (n == 1 && objs[0]->type == CHIM_OBJ_TCP)
		return 0;
	mutex_lock(&host->lock);
	for (i = 0; i < n; i++)
		if (objs[i]->host == host)
			count = collect_owned(objs[i], NULL, count, UINT_MAX);
	if (count > 1)
		owned = kvcalloc(count, sizeof(*owned), GFP_KERNEL);
	if (owned) {
		count = 0;
		for (i = 0; i < n; i++)
			if (objs[i]->host == host)
				count = collect_owned(objs[i], owned, count, UINT_MAX);
	}
	mutex_unlock(&host->lock);
	if (!owned)
		return count > 1 ? terminate_owned_each(host, objs, n, count, reason) : 0;
	for (i = 0; i < count; i++) {
		if (!chim_host_terminate(host, &owned[i], 1, reason))
			done++;
		chim_obj_put(owned[i]);
	}
	kvfree(owned);
	return done;
}

static void terminate_parent(struct chim_host *host, struct chim_obj *obj);

/*
 * Steps 1-5 for a sealed tree, then the restores, then the parents the
 * tree left without dependents.
 */
static void terminate_run(struct chim_host *host, struct chim_tree *tree)
{
	struct terminate_result r = { .tree = tree };
	struct chim_obj *obj, *tmp;

	INIT_LIST_HEAD(&r.orphans);
	chim_tree_walk(tree, terminate_begin, NULL, tree);
	if (host->trace)
		host->trace(host, CHIM_STEP_TERMINATE_CALL);
	if (host->target->ops->terminate(host->target, tree))
		chim_tree_walk(tree, chim_block_fail_pending, NULL, NULL);
	else
		wait_for_completion(&tree->done);

	chim_tree_walk(tree, NULL, terminate_restore, tree);

	mutex_lock(&host->lock);
	chim_tree_walk(tree, NULL, terminate_apply, &r);
	mutex_unlock(&host->lock);
	chim_tree_release(tree);

	if (!list_empty(&r.orphans) && host->trace)
		host->trace(host, CHIM_STEP_PARENTS);
	list_for_each_entry_safe(obj, tmp, &r.orphans, defer_node) {
		list_del_init(&obj->defer_node);
		terminate_parent(host, obj);
		chim_obj_put(obj);
	}
}

/*
 * A neighbor or path left without dependents "no longer serves a useful
 * purpose".  The host lock was dropped since that was seen, and a new
 * connection may have been offloaded through it meanwhile: it goes only
 * if it still has no dependent, checked in the same hold of the lock that
 * builds its tree (then its tree holds it alone).
 */
static void terminate_parent(struct chim_host *host, struct chim_obj *obj)
{
	struct chim_tree *tree;

	tree = chim_tree_create(host, CHIM_OP_TERMINATE, CHIM_REASON_PARENT);
	if (!tree)
		return;
	mutex_lock(&host->lock);
	if (!obj->dependents)
		add_for_terminate(tree, obj, CHIM_REASON_PARENT);
	chim_tree_seal(tree);
	mutex_unlock(&host->lock);
	if (tree->root)
		terminate_run(host, tree);
	else
		chim_tree_destroy(tree);
}

/**
 * chim_host_terminate() - Part 2: upload objects (MiniportTerminateOffload)
 * @host: the host
 * @objs: objects to terminate; a neighbor or path brings all its
 *	dependents into the same tree
 * @n: number of objects
 * @reason: why, for the statistics and the owners
 *
 * Runs the seed's five steps: (1) build the tree and call ->terminate(),
 * (2) the target copies the delegated variables into the blocks, (3) it
 * writes SUCCESS or FAILURE in every block, (4) completes with the same
 * tree, (5) frees its resources.  The host then restores each connection,
 * dependents before parents, through its owner's ->uploaded(), or aborts it
 * through ->aborted() on FAILURE.  Parents left with no dependents are
 * terminated afterwards.
 *
 * Races have one outcome each: an object still being offloaded is
 * terminated right after its initiate completes (-EINPROGRESS); one
 * already uploading is left to that terminate (-EALREADY); one unknown or
 * gone is refused (-ENOENT).
 *
 * Context: process; sleeps until the target completes.  host->lock not
 * held.
 * Return: 0 when at least one object was uploaded by this call, else the
 * outcome for the first object.
 */
int chim_host_terminate(struct chim_host *host, struct chim_obj **objs,
			unsigned int n, enum chim_upload_reason reason)
{
	struct chim_tree *tree;
	unsigned int i, singly;
	int first = 0;

	singly = terminate_owned_singly(host, objs, n, reason);
	tree = chim_tree_create(host, CHIM_OP_TERMINATE, reason);
	if (!tree)
		return -ENOMEM;

	mutex_lock(&host->lock);
	for (i = 0; i < n; i++) {
		struct chim_obj *obj = objs[i];
		int err = 0;

		if (obj->host != host)
			err = -ENOENT;
		else if (obj->state == CHIM_STATE_OFFLOADING)
			err = -EINPROGRESS;
		else if (obj->state == CHIM_STATE_UPLOADING)
			err = -EALREADY;
		else if (obj->state != CHIM_STATE_OFFLOADED &&
			 obj->state != CHIM_STATE_INVALIDATED)
			err = -ENOENT;
		if (!err || err == -EINPROGRESS)
			add_for_terminate(tree, obj, reason);
		if (i == 0)
			first = err;
	}
	chim_tree_seal(tree);
	mutex_unlock(&host->lock);

	if (!tree->root) {
		chim_tree_destroy(tree);
		return singly ? 0 : first;
	}
	terminate_run(host, tree);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_terminate);

/*
 * chim_host_terminate_all() without memory for the list: the first
 * offloaded neighbor left, each with its dependents, at most @max times.
 * A detach must upload everything whatever the memory.
 */
static int terminate_neighs_each(struct chim_host *host, unsigned int max,
				 enum chim_upload_reason reason)
{
	struct chim_obj *obj, *found;

	while (max--) {
		found = NULL;
		mutex_lock(&host->lock);
		list_for_each_entry(obj, &host->neighs, sibling) {
			if (obj->state == CHIM_STATE_OFFLOADED ||
			    obj->state == CHIM_STATE_INVALIDATED) {
				chim_obj_hold(obj);
				found = obj;
				break;
			}
		}
		mutex_unlock(&host->lock);
		if (!found)
			break;
		chim_host_terminate(host, &found, 1, reason);
		chim_obj_put(found);
	}
	return 0;
}

/**
 * chim_host_terminate_all() - upload every object of the host
 * @host: the host
 * @reason: why
 *
 * Objects still being offloaded are uploaded when their initiate
 * completes.  Short of memory it goes one neighbor at a time: a detach
 * uploads everything whatever the memory.
 *
 * Context: process; sleeps.
 * Return: 0.
 */
int chim_host_terminate_all(struct chim_host *host,
			    enum chim_upload_reason reason)
{
	struct chim_obj **objs;
	struct chim_obj *obj;
	unsigned int n = 0, max, i;
	int err;

	mutex_lock(&host->lock);
	max = 0;
	list_for_each_entry(obj, &host->neighs, sibling)
		max++;
	objs = kvcalloc(max ?: 1, sizeof(*objs), GFP_KERNEL);
	if (!objs) {
		mutex_unlock(&host->lock);
		return terminate_neighs_each(host, max, reason);
	}
	list_for_each_entry(obj, &host->neighs, sibling) {
		chim_obj_hold(obj);
		objs[n++] = obj;
	}
	mutex_unlock(&host->lock);

	err = n ? chim_host_terminate(host, objs, n, reason) : 0;
	for (i = 0; i < n; i++)
		chim_obj_put(objs[i]);
	kvfree(objs);
	return err == -ENOMEM ? err : 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_terminate_all);
