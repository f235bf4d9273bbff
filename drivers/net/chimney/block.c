// SPDX-License-Identifier: GPL-2.0
/*
 * Block-list trees (NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): building, walking in
 * the seed's order, initiate status rules, and freeing.
 *
 * A tree has at most three levels (neighbor, path, TCP).  Blocks have no
 * back pointer, so the walker keeps its own stack.
 */
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <net/chimney.h>

#include "block.h"

#define CHIM_TREE_DEPTH 3

/*
 * An upload must not fail for want of memory (the state would be stuck in
 * the target, the socket frozen): a terminate's small allocations wait.
 */
static gfp_t op_gfp(enum chim_op op)
{
	return op == CHIM_OP_TERMINATE ? GFP_KERNEL | __GFP_NOFAIL : GFP_KERNEL;
}

/**
 * chim_tree_create() - allocate an empty tree
 * @host: the host building it
 * @op: the operation it is for
 * @reason: why, for a terminate
 *
 * Context: process.
 * Return: the tree, or NULL (never for a terminate).
 */
struct chim_tree *chim_tree_create(struct chim_host *host, enum chim_op op,
				   enum chim_upload_reason reason)
{
	struct chim_tree *tree = kzalloc(sizeof(*tree), op_gfp(op));

	if (!tree)
		return NULL;
	tree->host = host;
	tree->op = op;
	tree->reason = reason;
	init_completion(&tree->done);
	return tree;
}
EXPORT_SYMBOL_IF_KUNIT(chim_tree_create);

/**
 * chim_block_create() - append a block to a tree
 * @tree: the tree
 * @parent: the block it depends on, or NULL for the top level
 * @type: the state that follows it
 * @handle: the host object it stands for
 * @target_ctx: MiniportOffloadContext (see &struct chim_block)
 *
 * The block goes at the end of @parent's DependentBlockList (or of the top
 * level), so siblings keep the order they were added in.  Its status
 * starts as PENDING.
 *
 * Context: process.
 * Return: the block, or NULL (never in a terminate tree).
 */
struct chim_block *chim_block_create(struct chim_tree *tree,
				     struct chim_block *parent,
				     enum chim_obj_type type,
				     struct chim_obj *handle, void **target_ctx)
{
	struct chim_block *b = kzalloc(sizeof(*b), op_gfp(tree->op));
	struct chim_block **head, **tail;

	if (!b)
		return NULL;
	b->type = type;
	b->status = CHIM_STATUS_PENDING;
	b->handle = handle;
	b->target_ctx = target_ctx;
	if (type == CHIM_OBJ_TCP) {
		skb_queue_head_init(&b->tcp.delegated.send_data);
		skb_queue_head_init(&b->tcp.delegated.buffered_data);
	}

	head = parent ? &parent->dependents : &tree->root;
	tail = parent ? &parent->dependents_tail : &tree->root_tail;
	if (*tail)
		(*tail)->next = b;
	else
		*head = b;
	*tail = b;
	tree->nr_blocks++;
	return b;
}
EXPORT_SYMBOL_IF_KUNIT(chim_block_create);

/**
 * chim_tree_walk() - visit every block: take the block, descend its
 *	DependentBlockList, then follow NextBlock
 * @tree: the tree
 * @pre: called on a block before its dependents, may be NULL
 * @post: called on a block after its dependents, may be NULL
 * @arg: passed to both
 *
 * A non-zero return from @pre skips the block's dependents (and its @post);
 * the walk goes on with the next block.
 *
 * Context: any; the callbacks decide.
 * Return: the number of blocks visited.
 */
int chim_tree_walk(struct chim_tree *tree, chim_block_fn pre,
		   chim_block_fn post, void *arg)
{
	struct chim_block *stack[CHIM_TREE_DEPTH + 1];
	struct chim_block *b = tree->root, *next;
	int depth = 0, visited = 0;

	/* @post may free a block: read its NextBlock first. */
	while (b || depth) {
		if (!b) {
			/* This level is done: finish the parent, go across. */
			b = stack[--depth];
			next = b->next;
			if (post)
				post(b, arg);
			b = next;
			continue;
		}
		visited++;
		if (pre && pre(b, arg)) {
			b = b->next;
			continue;
		}
		if (b->dependents && depth < CHIM_TREE_DEPTH) {
			stack[depth++] = b;
			b = b->dependents;
			continue;
		}
		next = b->next;
		if (post)
			post(b, arg);
		b = next;
	}
	return visited;
}
EXPORT_SYMBOL_GPL(chim_tree_walk);

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
 * chim_status_ok() - whether a status means "offloaded"
 * @status: a block status
 *
 * Return: true for SUCCESS and PARTIAL_SUCCESS.
 */
bool chim_status_ok(enum chim_status status)
{
	return status == CHIM_STATUS_SUCCESS ||
	       status == CHIM_STATUS_PARTIAL_SUCCESS;
}
EXPORT_SYMBOL_IF_KUNIT(chim_status_ok);

/**
 * chim_block_initiate_status() - the status of an initiate block whose own
 *	part succeeded, from its immediate dependents
 * @block: the block; its dependents already carry their status
 * @linker: the block was a linker (an already offloaded object)
 *
 * New offload: SUCCESS when it and all immediate dependents were
 * offloaded, PARTIAL_SUCCESS when some dependents were not.  Linker:
 * SUCCESS, PARTIAL_SUCCESS or FAILURE when all, some or none of its new
 * dependents succeeded.  Placeholder: always SUCCESS.
 *
 * Context: any.
 * Return: the status to write into @block.
 */
enum chim_status chim_block_initiate_status(const struct chim_block *block,
					    bool linker)
{
	const struct chim_block *d;
	unsigned int ok = 0, failed = 0;

	if (!block->target_ctx)
		return CHIM_STATUS_SUCCESS;
	for (d = block->dependents; d; d = d->next) {
		if (chim_status_ok(d->status))
			ok++;
		else
			failed++;
	}
	if (!failed)
		return CHIM_STATUS_SUCCESS;
	if (!ok && linker)
		return CHIM_STATUS_FAILURE;
	return CHIM_STATUS_PARTIAL_SUCCESS;
}
EXPORT_SYMBOL_GPL(chim_block_initiate_status);

static int fail_pending(struct chim_block *b, void *arg)
{
	if (b->status == CHIM_STATUS_PENDING)
		b->status = CHIM_STATUS_FAILURE;
	return 0;
}

/**
 * chim_block_fail_dependents() - give FAILURE to every unvisited block
 *	below a failed one
 * @block: the failed block
 *
 * Context: any.
 */
void chim_block_fail_dependents(struct chim_block *block)
{
	struct chim_tree sub = { .root = block->dependents };

	chim_tree_walk(&sub, fail_pending, NULL, NULL);
}
EXPORT_SYMBOL_GPL(chim_block_fail_dependents);

/**
 * chim_skb_queue_bytes() - bytes of data in a queue of a block's state
 * @q: the queue (send chain or buffered data)
 *
 * Context: the caller owns the queue.
 * Return: the sum of the lengths of its skbs.
 */
u32 chim_skb_queue_bytes(struct sk_buff_head *q)
{
	struct sk_buff *skb;
	u32 bytes = 0;

	skb_queue_walk(q, skb)
		bytes += skb->len;
	return bytes;
}
EXPORT_SYMBOL_GPL(chim_skb_queue_bytes);

static int free_block(struct chim_block *b, void *arg)
{
	if (b->type == CHIM_OBJ_TCP) {
		skb_queue_purge(&b->tcp.delegated.send_data);
		skb_queue_purge(&b->tcp.delegated.buffered_data);
	}
	kfree(b);
	return 0;
}

/**
 * chim_tree_destroy() - free a tree and every block in it
 * @tree: the tree, may be NULL
 *
 * Data still queued in a TCP block is freed too; whoever wants it must
 * take it first.
 *
 * Context: process.
 */
void chim_tree_destroy(struct chim_tree *tree)
{
	if (!tree)
		return;
	/* post-order: a block is freed after its dependents and before next */
	chim_tree_walk(tree, NULL, free_block, NULL);
	kfree(tree);
}
EXPORT_SYMBOL_IF_KUNIT(chim_tree_destroy);
