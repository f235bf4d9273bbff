// SPDX-License-Identifier: GPL-2.0
/*
 * The host stack's side: builds block trees, runs initiate, terminate
 * (Part 2), query, update and invalidate against a target, and schedules
 * the target's Part 1 requests.
 *
 * Every operation is synchronous for its caller: build the tree under
 * host->lock, drop the lock, hand the tree to the target, wait for its
 * completion, then take the lock again to apply the statuses.  host->lock
 * is never held across a target operation or an owner callback, so a
 * target may complete from any process context and an owner may lock its
 * socket in a callback.
 */
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <net/ipv6.h>

#include "block.h"
#include "defs.h"
#include "host.h"

/**
 * chim_status_to_errno() - the errno for a failed block status
 * @status: a block status
 *
 * Return: 0 for SUCCESS and PARTIAL_SUCCESS, a negative errno otherwise.
 */
int chim_status_to_errno(enum chim_status status)
{
	switch (status) {
	case CHIM_STATUS_SUCCESS:
	case CHIM_STATUS_PARTIAL_SUCCESS:
		return 0;
	case CHIM_STATUS_RESOURCES:
		return -ENOMEM;
	case CHIM_STATUS_OFFLOAD_TCP_ENTRIES:
	case CHIM_STATUS_OFFLOAD_PATH_ENTRIES:
	case CHIM_STATUS_OFFLOAD_NEIGHBOR_ENTRIES:
		return -ENOSPC;
	case CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_status_to_errno);

/**
 * chim_trace_step() - record one step of a Part 2 terminate
 * @target: the target
 * @step: the step
 *
 * Context: any.
 */
void chim_trace_step(struct chim_target *target, enum chim_step step)
{
	struct chim_host *host = target->host;

	if (host && host->trace)
		host->trace(host, step);
}
EXPORT_SYMBOL_GPL(chim_trace_step);

/**
 * chim_host_create() - attach a host to a target
 * @target: the target; its ops and capacity are set
 *
 * Context: process.
 * Return: the host, or NULL.
 */
struct chim_host *chim_host_create(struct chim_target *target)
{
	struct chim_host *host = kzalloc(sizeof(*host), GFP_KERNEL_ACCOUNT);

	if (!host)
		return NULL;
	/*
	 * Sized for the target's capacity, not bounded by it: a connection
	 * leaves the target before it leaves the index, and the entries are
	 * part of objects that exist anyway.
	 */
	if (chim_table_create(&host->conns, target->capacity, U32_MAX)) {
		kfree(host);
		return NULL;
	}
	host->target = target;
	mutex_init(&host->lock);
	INIT_LIST_HEAD(&host->neighs);
	host->accept_optional = CHIM_DEFAULT_ACCEPT_OPTIONAL;
	spin_lock_init(&host->req_lock);
	INIT_LIST_HEAD(&host->requests);
	INIT_WORK(&host->req_work, chim_host_request_work);
	target->host = host;
	return host;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_create);

/* Put the object into @tree (once), with placeholders for its ancestors. */
static struct chim_block *tree_add(struct chim_tree *tree,
				   struct chim_obj *obj, bool target_owned)
{
	struct chim_block *parent = NULL, *b;

	lockdep_assert_held(&obj->host->lock);
	if (obj->block) {
		/* Was an ancestor's placeholder, now terminated itself. */
		if (target_owned)
			obj->block->target_ctx = &obj->target_ctx;
		return obj->block;
	}
	if (obj->parent) {
		parent = tree_add(tree, obj->parent, false);
		if (!parent)
			return NULL;
	}
	b = chim_block_create(tree, parent, obj->type, obj,
			      target_owned ? &obj->target_ctx : NULL);
	if (!b)
		return NULL;
	chim_obj_hold(obj);	/* the block's, dropped by tree_release() */
	obj->block = b;
	return b;
}

static int forget_block(struct chim_block *b, void *arg)
{
	b->handle->block = NULL;
	return 0;
}

static int put_handle(struct chim_block *b, void *arg)
{
	chim_obj_put(b->handle);
	return 0;
}

/* Tree building is over: clear the objects' block pointers. */
static void tree_seal(struct chim_tree *tree)
{
	chim_tree_walk(tree, forget_block, NULL, NULL);
}

static void tree_release(struct chim_tree *tree)
{
	chim_tree_walk(tree, NULL, put_handle, NULL);
	chim_tree_destroy(tree);
}

static void fill_state(struct chim_block *b)
{
	struct chim_obj *obj = b->handle;

	switch (obj->type) {
	case CHIM_OBJ_NEIGH:
		b->neigh.c = chim_obj_neigh(obj)->c;
		b->neigh.cached = chim_obj_neigh(obj)->cached;
		b->neigh.delegated = chim_obj_neigh(obj)->delegated;
		break;
	case CHIM_OBJ_PATH:
		b->path.c = chim_obj_path(obj)->c;
		b->path.cached = chim_obj_path(obj)->cached;
		break;
	case CHIM_OBJ_TCP: {
		struct chim_conn *conn = chim_obj_conn(obj);
		struct chim_tcp_delegated *d = &b->tcp.delegated;

		b->tcp.c = conn->c;
		b->tcp.cached = conn->cached;
		/* The queues move with the block, the rest is copied. */
		*d = conn->d;
		skb_queue_head_init(&d->send_data);
		skb_queue_head_init(&d->buffered_data);
		skb_queue_splice_init(&conn->d.send_data, &d->send_data);
		skb_queue_splice_init(&conn->d.buffered_data, &d->buffered_data);
		break;
	}
	}
}

/* The role of @obj's block in an initiate; see &struct chim_block. */
static int add_for_initiate(struct chim_tree *tree, struct chim_obj *obj)
{
	struct chim_block *parent = NULL, *b;

	lockdep_assert_held(&obj->host->lock);
	if (obj->block)
		return 0;
	if (obj->parent) {
		if (add_for_initiate(tree, obj->parent))
			return -EBUSY;
		parent = obj->parent->block;
	}
	switch (obj->state) {
	case CHIM_STATE_NEW:
		break;
	case CHIM_STATE_OFFLOADED:
		/* Linker, or placeholder (decided once its children are in). */
		break;
	default:
		/* Another operation owns it; the seed forbids overlap. */
		return -EBUSY;
	}
	/* Two objects of one 4-tuple: the second waits for the first. */
	if (obj->state == CHIM_STATE_NEW && obj->type == CHIM_OBJ_TCP &&
	    chim_host_index_insert(obj->host, chim_obj_conn(obj)))
		return -EBUSY;
	b = chim_block_create(tree, parent, obj->type, obj, &obj->target_ctx);
	if (!b) {
		if (obj->type == CHIM_OBJ_TCP)
			chim_host_index_remove(obj->host, chim_obj_conn(obj));
		return -ENOMEM;
	}
	chim_obj_hold(obj);
	obj->block = b;
	if (obj->state == CHIM_STATE_NEW) {
		fill_state(b);
		chim_obj_set_state(obj, CHIM_STATE_OFFLOADING);
		if (obj->type == CHIM_OBJ_TCP)
			obj->host->offloaded++;
	}
	return 0;
}

/* An offloaded block that gained no new dependent is only an anchor. */
static int mark_placeholders(struct chim_block *b, void *arg)
{
	struct chim_block *d;

	if (b->handle->state != CHIM_STATE_OFFLOADED)
		return 0;
	for (d = b->dependents; d; d = d->next)
		if (d->handle->state == CHIM_STATE_OFFLOADING)
			return 0;
	b->target_ctx = NULL;
	return 0;
}

struct initiate_result {
	struct chim_host *host;
	struct list_head deferred;	/* objects with a pending terminate */
};

static void initiate_apply_tcp(struct chim_block *b)
{
	struct chim_conn *conn = chim_obj_conn(b->handle);

	/* On failure the data goes back to the owner, untouched. */
	if (!chim_status_ok(b->status)) {
		skb_queue_splice_init(&b->tcp.delegated.send_data,
				      &conn->d.send_data);
		skb_queue_splice_init(&b->tcp.delegated.buffered_data,
				      &conn->d.buffered_data);
	}
}

static int initiate_apply(struct chim_block *b, void *arg)
{
	struct initiate_result *r = arg;
	struct chim_obj *obj = b->handle;

	if (obj->state != CHIM_STATE_OFFLOADING)
		return 0;	/* linker or placeholder */
	if (obj->type == CHIM_OBJ_TCP)
		initiate_apply_tcp(b);
	if (chim_status_ok(b->status) && !obj->target_ctx)
		b->status = CHIM_STATUS_FAILURE;
	obj->status = b->status;
	if (chim_status_ok(b->status)) {
		chim_obj_set_state(obj, CHIM_STATE_OFFLOADED);
		chim_obj_hold(obj);	/* the target's context */
		if (obj->type == CHIM_OBJ_TCP)
			r->host->stats.offloads++;
		if (obj->pending_reason) {
			chim_obj_hold(obj);
			list_add_tail(&obj->defer_node, &r->deferred);
		}
		return 0;
	}
	/* Not offloaded: the object goes, nothing changed for the owner. */
	if (b->status == CHIM_STATUS_PENDING) {
		b->status = CHIM_STATUS_FAILURE;
		obj->status = b->status;
	}
	obj->target_ctx = NULL;
	obj->pending_reason = CHIM_REASON_NONE;
	chim_obj_set_state(obj, CHIM_STATE_DEAD);
	if (obj->type == CHIM_OBJ_TCP) {
		r->host->stats.offload_failures++;
		r->host->offloaded--;
		chim_host_index_remove(r->host, chim_obj_conn(obj));
	}
	return 0;
}

/*
 * Children of a parent that goes which never reached the target (NEW: a
 * path or connection created meanwhile) go with it: nothing else would
 * take them out of its list.  Their creators still hold their own
 * references, and find them DEAD.
 */
static void unlink_new_children(struct chim_obj *obj)
{
	struct chim_obj *child, *tmp;

	list_for_each_entry_safe(child, tmp, &obj->children, sibling) {
		if (child->state != CHIM_STATE_NEW)
			continue;
		unlink_new_children(child);
		chim_obj_set_state(child, CHIM_STATE_DEAD);
		chim_obj_unlink(child);
	}
}

static int initiate_unlink_dead(struct chim_block *b, void *arg)
{
	if (b->handle->state == CHIM_STATE_DEAD) {
		unlink_new_children(b->handle);
		chim_obj_unlink(b->handle);
	}
	return 0;
}

static int initiate_notify(struct chim_block *b, void *arg)
{
	struct chim_conn *conn;

	if (b->type != CHIM_OBJ_TCP || !b->target_ctx)
		return 0;
	conn = chim_obj_conn(b->handle);
	if (conn->ops && conn->ops->offloaded)
		conn->ops->offloaded(conn, b->status, &conn->d);
	chim_host_notify(conn->obj.host, &(struct chim_host_event) {
		.type = CHIMNEY_EVENT_TYPE_OFFLOAD,
		.conn = conn,
		.status = b->status,
	}, GFP_KERNEL);
	return 0;
}

static int fail_all(struct chim_block *b, void *arg)
{
	if (b->status == CHIM_STATUS_PENDING)
		b->status = CHIM_STATUS_FAILURE;
	return 0;
}

static void run_deferred(struct chim_host *host, struct list_head *list)
{
	struct chim_obj *obj, *tmp;

	list_for_each_entry_safe(obj, tmp, list, defer_node) {
		enum chim_upload_reason reason;

		list_del_init(&obj->defer_node);
		mutex_lock(&host->lock);
		reason = obj->pending_reason;
		obj->pending_reason = CHIM_REASON_NONE;
		mutex_unlock(&host->lock);
		if (reason)
			chim_host_terminate(host, &obj, 1, reason);
		chim_obj_put(obj);
	}
}

/**
 * chim_host_offload() - offload objects (MiniportInitiateOffload)
 * @host: the host
 * @objs: objects to offload, usually TCP objects; the ancestors that are
 *	not offloaded yet go into the same tree
 * @n: number of objects
 *
 * Each TCP object's owner learns its result through ->offloaded(); objects
 * that failed are DEAD and unlinked.  A terminate asked meanwhile runs
 * right after.
 *
 * Context: process; sleeps until the target completes.  host->lock not
 * held.
 * Return: 0 when a tree went to the target, -EAGAIN when paused,
 * -EBUSY when no object could be put into a tree, -ENOMEM.
 */
int chim_host_offload(struct chim_host *host, struct chim_obj **objs,
		      unsigned int n)
{
	struct initiate_result r = { .host = host };
	struct chim_tree *tree;
	unsigned int i, added = 0;
	int err;

	INIT_LIST_HEAD(&r.deferred);
	tree = chim_tree_create(host, CHIM_OP_INITIATE, CHIM_REASON_NONE);
	if (!tree)
		return -ENOMEM;

	mutex_lock(&host->lock);
	if (host->paused) {
		mutex_unlock(&host->lock);
		chim_tree_destroy(tree);
		return -EAGAIN;
	}
	for (i = 0; i < n; i++) {
		if (objs[i]->state != CHIM_STATE_NEW)
			continue;
		err = add_for_initiate(tree, objs[i]);
		if (err == -ENOMEM)
			break;
		if (!err)
			added++;
	}
	chim_tree_walk(tree, NULL, mark_placeholders, NULL);
	tree_seal(tree);
	mutex_unlock(&host->lock);

	if (!added && !tree->root) {
		chim_tree_destroy(tree);
		return -EBUSY;
	}

	if (host->target->ops->initiate(host->target, tree))
		chim_tree_walk(tree, fail_all, NULL, NULL);
	else
		wait_for_completion(&tree->done);

	mutex_lock(&host->lock);
	chim_tree_walk(tree, NULL, initiate_apply, &r);
	chim_tree_walk(tree, NULL, initiate_unlink_dead, NULL);
	mutex_unlock(&host->lock);

	chim_tree_walk(tree, NULL, initiate_notify, NULL);
	tree_release(tree);
	run_deferred(host, &r.deferred);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_offload);

/**
 * chim_host_offload_conn() - offload one TCP object
 * @host: the host
 * @conn: a NEW connection
 *
 * Context: process; sleeps.
 * Return: 0 when offloaded (even if a terminate asked meanwhile has already
 * uploaded it again), else a negative errno: from the block status
 * (chim_status_to_errno()) when the target refused it.
 */
int chim_host_offload_conn(struct chim_host *host, struct chim_conn *conn)
{
	struct chim_obj *obj = &conn->obj;
	int err;

	/* DEAD: its path or neighbor went before it reached the target. */
	if (obj->state == CHIM_STATE_DEAD)
		return -EBUSY;
	if (obj->state != CHIM_STATE_NEW)
		return -EALREADY;
	chim_obj_hold(obj);
	obj->status = CHIM_STATUS_PENDING;
	err = chim_host_offload(host, &obj, 1);
	if (!err)
		err = obj->status == CHIM_STATUS_PENDING ? -EBUSY :
		      chim_status_to_errno(obj->status);
	chim_obj_put(obj);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_offload_conn);

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
		if (!tree_add(tree, obj, true))
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
		/* FAILURE: the state is lost; only this connection pays. */
		conn->ops->aborted(conn);
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
		if (b->status == CHIM_STATUS_SUCCESS) {
			host->stats.terminates[r->tree->reason]++;
		} else {
			chim_obj_set_state(obj, CHIM_STATE_ABORTED);
			host->stats.terminate_failures++;
		}
		host->offloaded--;
	}
	chim_obj_set_state(obj, CHIM_STATE_DEAD);
	obj->target_ctx = NULL;
	chim_obj_put(obj);	/* the target's context */
	unlink_new_children(obj);
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
		chim_tree_walk(tree, fail_all, NULL, NULL);
	else
		wait_for_completion(&tree->done);

	chim_tree_walk(tree, NULL, terminate_restore, tree);

	mutex_lock(&host->lock);
	chim_tree_walk(tree, NULL, terminate_apply, &r);
	mutex_unlock(&host->lock);
	tree_release(tree);

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
	tree_seal(tree);
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
	tree_seal(tree);
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

/* query, update and invalidate: one object, placeholders above it */
static struct chim_tree *single_tree(struct chim_host *host,
				     struct chim_obj *obj, enum chim_op op)
{
	struct chim_tree *tree = chim_tree_create(host, op, CHIM_REASON_NONE);
	struct chim_block *b;

	if (!tree)
		return ERR_PTR(-ENOMEM);
	mutex_lock(&host->lock);
	if (obj->state != CHIM_STATE_OFFLOADED &&
	    !(op != CHIM_OP_UPDATE && obj->state == CHIM_STATE_INVALIDATED)) {
		mutex_unlock(&host->lock);
		chim_tree_destroy(tree);
		return ERR_PTR(obj->state == CHIM_STATE_UPLOADING ? -EALREADY :
			       obj->state == CHIM_STATE_OFFLOADING ? -EBUSY : -ENOENT);
	}
	b = tree_add(tree, obj, true);
	if (b && op == CHIM_OP_UPDATE)
		fill_state(b);
	tree_seal(tree);
	mutex_unlock(&host->lock);
	if (!b) {
		tree_release(tree);
		return ERR_PTR(-ENOMEM);
	}
	return tree;
}

/* Return: 0 once completed, or the error of a target that took nothing. */
static int run_single(struct chim_host *host, struct chim_tree *tree,
		      int (*op)(struct chim_target *, struct chim_tree *))
{
	int err = op(host->target, tree);

	if (err)
		return err;
	wait_for_completion(&tree->done);
	return 0;
}

static struct chim_block *obj_block(struct chim_tree *tree, struct chim_obj *obj)
{
	struct chim_block *b = tree->root;

	while (b && b->handle != obj)
		b = b->dependents;
	return b;
}

/* A failed query or update: the host terminates the object (seed 4.3, 4.5). */
static int fail_single(struct chim_host *host, struct chim_obj *obj)
{
	chim_host_terminate(host, &obj, 1, CHIM_REASON_INVALID_STATE);
	return -EIO;
}

/**
 * chim_host_query() - read a connection's delegated state
 *	(MiniportQueryOffload)
 * @host: the host
 * @conn: an offloaded connection
 * @out: receives the delegated variables (no data; the backlog sizes tell
 *	how much the target holds)
 *
 * Context: process; sleeps.
 * Return: 0, -ENOENT/-EALREADY/-EBUSY when not offloaded, the target's
 * error when it could not take the query (nothing changes), -EIO when it
 * failed the query (the connection is then terminated, seed 4.3).
 */
int chim_host_query(struct chim_host *host, struct chim_conn *conn,
		    struct chim_tcp_delegated *out)
{
	struct chim_tree *tree = single_tree(host, &conn->obj, CHIM_OP_QUERY);
	struct chim_block *b;
	int err;

	if (IS_ERR(tree))
		return PTR_ERR(tree);
	err = run_single(host, tree, host->target->ops->query);
	if (err) {
		/* The target took nothing, failed nothing: a read costs nothing. */
		tree_release(tree);
		return err;
	}
	b = obj_block(tree, &conn->obj);
	if (b->status == CHIM_STATUS_SUCCESS) {
		*out = b->tcp.delegated;
		skb_queue_head_init(&out->send_data);
		skb_queue_head_init(&out->buffered_data);
	} else {
		err = -EIO;
	}
	tree_release(tree);
	return err ? fail_single(host, &conn->obj) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_query);

/**
 * chim_host_update() - push an object's cached variables to the target
 *	(MiniportUpdateOffload)
 * @host: the host
 * @obj: an offloaded object whose cached variables the caller changed
 *
 * Context: process; sleeps.
 * Return: 0, or -EIO when the target failed (the object is terminated).
 */
int chim_host_update(struct chim_host *host, struct chim_obj *obj)
{
	struct chim_tree *tree = single_tree(host, obj, CHIM_OP_UPDATE);
	int err;

	if (IS_ERR(tree))
		return PTR_ERR(tree);
	err = run_single(host, tree, host->target->ops->update);
	/* Not taken: the target's cached variables are stale all the same. */
	if (err || obj_block(tree, obj)->status != CHIM_STATUS_SUCCESS)
		err = -EIO;
	tree_release(tree);
	return err ? fail_single(host, obj) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_update);

/**
 * chim_host_invalidate() - stop the target using an object
 *	(MiniportInvalidateOffload)
 * @host: the host
 * @obj: an offloaded object
 *
 * The object becomes INVALIDATED; the target asks for the upload of what
 * depends on it (InvalidState), and the host terminates it.
 *
 * Context: process; sleeps.
 * Return: 0, or a negative errno.
 */
int chim_host_invalidate(struct chim_host *host, struct chim_obj *obj)
{
	struct chim_tree *tree = single_tree(host, obj, CHIM_OP_INVALIDATE);
	int err;

	if (IS_ERR(tree))
		return PTR_ERR(tree);
	err = run_single(host, tree, host->target->ops->invalidate);
	mutex_lock(&host->lock);
	if (!err && obj->state == CHIM_STATE_OFFLOADED)
		chim_obj_set_state(obj, CHIM_STATE_INVALIDATED);
	mutex_unlock(&host->lock);
	tree_release(tree);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_invalidate);

/**
 * chim_host_destroy() - upload everything and detach from the target
 * @host: the host
 *
 * Teardown order: (1) mark dying so that indications are ignored, (2) drop
 * the queued requests, (3) wait for the request worker, (4) upload every
 * object (reason detach), (5) unlink what is left (objects never
 * offloaded) and free.  Owners must have dropped their references to
 * objects that were never offloaded.
 *
 * Context: process; sleeps.
 */
void chim_host_destroy(struct chim_host *host)
{
	struct chim_obj *obj, *tmp;
	LIST_HEAD(dropped);

	spin_lock_irq(&host->req_lock);
	host->dying = true;
	host->upload_all = false;
	list_splice_init(&host->requests, &dropped);
	spin_unlock_irq(&host->req_lock);
	list_for_each_entry_safe(obj, tmp, &dropped, req_node) {
		list_del_init(&obj->req_node);
		obj->retrieve_reason = CHIM_REASON_NONE;
		chim_obj_put(obj);
	}
	cancel_work_sync(&host->req_work);

	chim_host_terminate_all(host, CHIM_REASON_DETACH);

	mutex_lock(&host->lock);
	list_for_each_entry_safe(obj, tmp, &host->neighs, sibling) {
		struct chim_obj *path, *ptmp;

		list_for_each_entry_safe(path, ptmp, &obj->children, sibling) {
			struct chim_obj *conn, *ctmp;

			list_for_each_entry_safe(conn, ctmp, &path->children,
						 sibling) {
				chim_host_index_remove(host,
						       chim_obj_conn(conn));
				chim_obj_unlink(conn);
			}
			chim_obj_unlink(path);
		}
		chim_obj_unlink(obj);
	}
	mutex_unlock(&host->lock);
	if (host->target->ops->quiesce)
		host->target->ops->quiesce(host->target);
	host->target->host = NULL;
	chim_table_destroy(&host->conns);
	mutex_destroy(&host->lock);
	kfree(host);
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_destroy);
