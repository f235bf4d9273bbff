// SPDX-License-Identifier: GPL-2.0
/*
 * The host's side of a block tree: its objects put into it (each block
 * holds a reference on its object, and an ancestor not in the operation
 * is a placeholder), their state copied into the blocks, and the tree
 * sealed and released.  Shared by initiate.c, terminate.c and query.c.
 */
#include <kunit/visibility.h>

#include "block.h"
#include "host.h"

/**
 * chim_tree_add() - put an object into a tree being built
 * @tree: the tree
 * @obj: the object; its ancestors not in the tree yet go in as
 *	placeholders
 * @target_owned: the target stores (or frees) the object's context
 *
 * Context: host->lock held.
 * Return: the object's block (the one it already had, once), or NULL
 * without memory.  The block holds a reference on @obj until
 * chim_tree_release().
 */
struct chim_block *chim_tree_add(struct chim_tree *tree, struct chim_obj *obj,
				 bool target_owned)
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
		parent = chim_tree_add(tree, obj->parent, false);
		if (!parent)
			return NULL;
	}
	b = chim_block_create(tree, parent, obj->type, obj,
			      target_owned ? &obj->target_ctx : NULL);
	if (!b)
		return NULL;
	chim_obj_hold(obj);	/* the block's, dropped by chim_tree_release() */
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

/**
 * chim_tree_seal() - tree building is over: clear the objects' block
 *	pointers
 * @tree: the tree
 *
 * Context: host->lock held.
 */
void chim_tree_seal(struct chim_tree *tree)
{
	chim_tree_walk(tree, forget_block, NULL, NULL);
}

/**
 * chim_tree_release() - drop the blocks' references and free a tree
 * @tree: the tree, sealed, its operation over
 *
 * Context: process; host->lock not held (a put may free objects).
 */
void chim_tree_release(struct chim_tree *tree)
{
	chim_tree_walk(tree, NULL, put_handle, NULL);
	chim_tree_destroy(tree);
}

/**
 * chim_block_fill_state() - copy an object's variables into its block
 * @b: the block of a NEW object, for an initiate
 *
 * A TCP object's queued data moves into the block; the rest is copied.
 *
 * Context: host->lock held.
 */
void chim_block_fill_state(struct chim_block *b)
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

/**
 * chim_block_fail_pending() - FAILURE for a block the target left PENDING
 * @b: the block
 * @arg: unused (a chim_tree_walk() callback)
 *
 * Return: 0.
 */
int chim_block_fail_pending(struct chim_block *b, void *arg)
{
	if (b->status == CHIM_STATUS_PENDING)
		b->status = CHIM_STATUS_FAILURE;
	return 0;
}

/**
 * chim_obj_unlink_new() - unlink the NEW children of an object that goes
 * @obj: the object
 *
 * Children of a parent that goes which never reached the target (NEW: a
 * path or connection created meanwhile) go with it: nothing else would
 * take them out of its list.  Their creators still hold their own
 * references, and find them DEAD.
 *
 * Context: host->lock held.
 */
void chim_obj_unlink_new(struct chim_obj *obj)
{
	struct chim_obj *child, *tmp;

	list_for_each_entry_safe(child, tmp, &obj->children, sibling) {
		if (child->state != CHIM_STATE_NEW)
			continue;
		chim_obj_unlink_new(child);
		chim_obj_set_state(child, CHIM_STATE_DEAD);
		chim_obj_unlink(child);
	}
}
