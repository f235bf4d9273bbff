// SPDX-License-Identifier: GPL-2.0
/*
 * Query, update and invalidate (MiniportQueryOffload, ...UpdateOffload,
 * ...InvalidateOffload): one object per tree, its ancestors placeholders.
 * A query or update that fails terminates the object.
 */
#include <kunit/visibility.h>

#include "block.h"
#include "host.h"

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
	b = chim_tree_add(tree, obj, true);
	if (b && op == CHIM_OP_UPDATE)
		chim_block_fill_state(b);
	chim_tree_seal(tree);
	mutex_unlock(&host->lock);
	if (!b) {
		chim_tree_release(tree);
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
		chim_tree_release(tree);
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
	chim_tree_release(tree);
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
	chim_tree_release(tree);
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
	chim_tree_release(tree);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_invalidate);
