// SPDX-License-Identifier: GPL-2.0
/*
 * Offload (MiniportInitiateOffload): the objects and their ancestors not
 * offloaded yet go into one tree, built under host->lock; the target gets
 * it without the lock and completes it; each block's status is applied
 * under the lock again, then each owner learns its result, and a
 * terminate asked meanwhile runs right after.
 */
#include <kunit/visibility.h>

#include "block.h"
#include "host.h"

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
		chim_block_fill_state(b);
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

static int initiate_unlink_dead(struct chim_block *b, void *arg)
{
	if (b->handle->state == CHIM_STATE_DEAD) {
		chim_obj_unlink_new(b->handle);
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
	chim_tree_seal(tree);
	mutex_unlock(&host->lock);

	if (!added && !tree->root) {
		chim_tree_destroy(tree);
		return -EBUSY;
	}

	if (host->target->ops->initiate(host->target, tree))
		chim_tree_walk(tree, chim_block_fail_pending, NULL, NULL);
	else
		wait_for_completion(&tree->done);

	mutex_lock(&host->lock);
	chim_tree_walk(tree, NULL, initiate_apply, &r);
	chim_tree_walk(tree, NULL, initiate_unlink_dead, NULL);
	mutex_unlock(&host->lock);

	chim_tree_walk(tree, NULL, initiate_notify, NULL);
	chim_tree_release(tree);
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
