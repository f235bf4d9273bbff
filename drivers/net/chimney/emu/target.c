// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated offload target: what a TOE miniport and its NIC would do
 * with the host's block trees.  Every operation runs on the target's own
 * workqueue, so completions never happen inside the host's call, and may
 * be delayed by fault injection.  TCP connections live in a per-CPU table.
 */
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "../defs.h"
#include "emu.h"

struct emu_job {
	struct delayed_work dwork;
	struct chim_emu *emu;
	struct chim_tree *tree;
	/* walk operations: the per-block callbacks and the completion */
	chim_block_fn pre;
	chim_block_fn post;
	void (*complete)(struct chim_tree *tree);
	/* initiate: the contexts new blocks below are linked to */
	struct chim_emu_obj *cur_neigh;
	struct chim_emu_obj *cur_path;
	/* terminate: contexts to free in step 5, segments to indicate up */
	struct list_head free_conns;
	struct list_head free_objs;
	struct sk_buff_head rx;
};

static void emu_stats_add(struct chim_emu *emu, unsigned int cpu,
			  u64 initiated, u64 terminated)
{
	struct chim_emu_stats *s = per_cpu_ptr(emu->stats, cpu);

	u64_stats_update_begin(&s->syncp);
	s->initiated += initiated;
	s->terminated += terminated;
	u64_stats_update_end(&s->syncp);
}

/* ---- initiate ---------------------------------------------------------- */

static enum chim_status emu_initiate_tcp(struct emu_job *job,
					 struct chim_block *b)
{
	struct chim_emu *emu = job->emu;
	struct chim_tcp_delegated *src = &b->tcp.delegated;
	struct chim_emu_conn *ec;
	struct chim_emu_obj *path = job->cur_path;
	int err;

	if (!path)
		return CHIM_STATUS_FAILURE;	/* a TCP block needs its path */
	if (atomic_add_unless(&emu->faults.initiate_fail, -1, 0))
		return READ_ONCE(emu->faults.initiate_status);

	ec = kzalloc(sizeof(*ec), GFP_KERNEL);
	if (!ec)
		return CHIM_STATUS_RESOURCES;
	spin_lock_init(&ec->lock);
	skb_queue_head_init(&ec->rx);
	chim_eng_init(emu, ec);
	ec->handle = b->handle;
	ec->path = path;
	ec->c = b->tcp.c;
	ec->cached = b->tcp.cached;
	ec->entry.tuple.laddr = path->path.c.source_address;
	ec->entry.tuple.raddr = path->path.c.destination_address;
	ec->entry.tuple.lport = b->tcp.c.local_port;
	ec->entry.tuple.rport = b->tcp.c.remote_port;
	ec->entry.tuple.family = path->path.c.family;
	INIT_LIST_HEAD(&ec->free_node);
	ec->since = jiffies;
	ec->active = ec->since;

	/* The receive hook sees the connection as soon as it is in. */
	err = chim_table_insert(&emu->table, &ec->entry);
	if (err) {
		kfree(ec);
		return err == -ENOSPC ? CHIM_STATUS_OFFLOAD_TCP_ENTRIES :
			CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED;
	}
	/* The state is ours now, the data too (the seed: copy it first). */
	ec->d = *src;
	skb_queue_head_init(&ec->d.send_data);
	skb_queue_head_init(&ec->d.buffered_data);
	skb_queue_splice_init(&src->send_data, &ec->d.send_data);
	skb_queue_splice_init(&src->buffered_data, &ec->d.buffered_data);
	emu_stats_add(emu, ec->entry.cpu, 1, 0);
	b->target_reserved[0] = ec;
	return CHIM_STATUS_SUCCESS;
}

static enum chim_status emu_initiate_obj(struct emu_job *job,
					 struct chim_block *b)
{
	struct chim_emu_obj *eo = kzalloc(sizeof(*eo), GFP_KERNEL);

	if (!eo)
		return CHIM_STATUS_RESOURCES;
	eo->type = b->type;
	eo->handle = b->handle;
	INIT_LIST_HEAD(&eo->free_node);
	if (b->type == CHIM_OBJ_NEIGH) {
		eo->neigh = b->neigh;
	} else {
		eo->path = b->path;
		eo->parent = job->cur_neigh;
	}
	atomic_inc(&job->emu->objs);
	b->target_reserved[0] = eo;
	return CHIM_STATUS_SUCCESS;
}

/*
 * Pre-order: offload the block itself.  A new block's context is kept in
 * target_reserved[0] and published in *target_ctx only once its status is
 * known (post-order), so that a linker can still be told from a new block.
 */
static int emu_initiate_pre(struct chim_block *b, void *arg)
{
	struct emu_job *job = arg;
	enum chim_status st = CHIM_STATUS_SUCCESS;
	bool linker = b->target_ctx && *b->target_ctx;

	b->target_reserved[1] = (void *)(unsigned long)linker;
	if (b->type == CHIM_OBJ_NEIGH)
		job->cur_neigh = NULL;
	if (b->type == CHIM_OBJ_PATH)
		job->cur_path = NULL;
	if (b->target_ctx && !linker)
		st = b->type == CHIM_OBJ_TCP ? emu_initiate_tcp(job, b) :
					       emu_initiate_obj(job, b);
	if (st != CHIM_STATUS_SUCCESS) {
		/* The seed: unvisited dependents of a failed block fail. */
		b->status = st;
		chim_block_fail_dependents(b);
		return 1;
	}
	/* What the blocks below link to: an existing context or the new one. */
	if (b->type == CHIM_OBJ_NEIGH && b->target_ctx)
		job->cur_neigh = linker ? *b->target_ctx : b->target_reserved[0];
	if (b->type == CHIM_OBJ_PATH && b->target_ctx)
		job->cur_path = linker ? *b->target_ctx : b->target_reserved[0];
	return 0;
}

static int emu_initiate_post(struct chim_block *b, void *arg)
{
	bool linker = b->target_reserved[1];
	struct emu_job *job = arg;

	b->status = chim_block_initiate_status(b, linker);
	if (b->target_ctx && !linker)
		*b->target_ctx = b->target_reserved[0];
	if (b->type == CHIM_OBJ_TCP && b->target_ctx && !linker &&
	    b->status == CHIM_STATUS_SUCCESS)
		chim_eng_start(job->emu, b->target_reserved[0]);
	return 0;
}

/* ---- terminate (Part 2, steps 2-5) ------------------------------------- */

/* Stop the engine: out of the table, so the receive path no longer sees it. */
static int emu_terminate_stop(struct chim_block *b, void *arg)
{
	struct emu_job *job = arg;
	struct chim_emu_conn *ec;

	if (b->type != CHIM_OBJ_TCP || !b->target_ctx || !*b->target_ctx)
		return 0;
	ec = *b->target_ctx;
	spin_lock_bh(&ec->lock);
	ec->stopped = true;
	/* After the peer's RST, what it sent before goes nowhere. */
	if (ec->aborted) {
		__skb_queue_purge(&ec->ooo);
		__skb_queue_purge(&ec->rx);
	}
	chim_eng_ooo_release(ec, &job->rx);
	skb_queue_splice_tail_init(&ec->rx, &job->rx);
	atomic_long_sub(ec->rx_truesize, &job->emu->rx_held);
	ec->rx_truesize = 0;
	spin_unlock_bh(&ec->lock);
	chim_eng_stop(ec);
	chim_table_remove(&job->emu->table, &ec->entry);
	return 0;
}

/*
 * A timer's TimeoutDelta as the target reports it now: its timers ran
 * while it held the connection, from the delta it was given at the offload.
 */
static u32 timer_left(u32 delta, unsigned long since)
{
	unsigned int ran = jiffies_to_msecs(jiffies - since);

	if (delta == CHIM_TIMER_NOT_RUNNING)
		return delta;
	return delta > ran ? delta - ran : 0;
}

/*
 * The delegated variables of @ec, read under its lock.  What the engine
 * sent is in flight, go-back-N or not: SndNxt is SndMax for the host, and
 * its timer has a whole RTO to run.
 */
static void emu_delegated(const struct chim_emu_conn *ec,
			  struct chim_tcp_delegated *dst)
{
	*dst = ec->d;
	if (ec->mss) {
		dst->snd_nxt = ec->d.snd_max;
		dst->retransmit.timeout_delta = ec->d.snd_una != ec->d.snd_max ?
						ec->rto : CHIM_TIMER_NOT_RUNNING;
	} else {
		dst->retransmit.timeout_delta =
			timer_left(ec->d.retransmit.timeout_delta, ec->since);
	}
	dst->keepalive.timeout_delta = timer_left(ec->d.keepalive.timeout_delta,
						  ec->since);
}

/* Step 2: copy the delegated variables and hand the data back. */
static int emu_terminate_copy(struct chim_block *b, void *arg)
{
	struct emu_job *job = arg;
	struct chim_tcp_delegated *dst = &b->tcp.delegated;
	struct chim_emu_conn *ec;
	struct chim_emu_obj *eo;

	b->target_reserved[1] = NULL;
	if (!b->target_ctx || !*b->target_ctx)
		return 0;
	if (b->type != CHIM_OBJ_TCP) {
		eo = *b->target_ctx;
		if (b->type == CHIM_OBJ_NEIGH)
			b->neigh.delegated = eo->neigh.delegated;
		list_add_tail(&eo->free_node, &job->free_objs);
		return 0;
	}
	ec = *b->target_ctx;
	list_add_tail(&ec->free_node, &job->free_conns);
	if (atomic_add_unless(&job->emu->faults.terminate_fail, -1, 0)) {
		/* Injected hardware failure: this state is lost. */
		b->target_reserved[1] = (void *)(uintptr_t)CHIM_STATUS_FAILURE;
		return 0;
	}
	/* Reset by the peer: no state to hand back (TcpIndicateAbort). */
	if (READ_ONCE(ec->aborted)) {
		b->target_reserved[1] = (void *)(uintptr_t)CHIM_STATUS_REQUEST_ABORTED;
		return 0;
	}
	spin_lock_bh(&ec->lock);
	emu_delegated(ec, dst);
	skb_queue_head_init(&dst->send_data);
	skb_queue_head_init(&dst->buffered_data);
	skb_queue_splice_init(&ec->d.send_data, &dst->send_data);
	skb_queue_splice_init(&ec->d.buffered_data, &dst->buffered_data);
	spin_unlock_bh(&ec->lock);
	return 0;
}

/* Step 3: a status in every block. */
static int emu_terminate_status(struct chim_block *b, void *arg)
{
	b->status = (uintptr_t)b->target_reserved[1] ?: CHIM_STATUS_SUCCESS;
	return 0;
}

/* Step 5: receive-path readers may still look at a stopped context: RCU. */
static void emu_free_contexts(struct emu_job *job)
{
	struct chim_emu_conn *ec, *ectmp;
	struct chim_emu_obj *eo, *eotmp;

	list_for_each_entry_safe(ec, ectmp, &job->free_conns, free_node) {
		emu_stats_add(job->emu, ec->entry.cpu, 0, 1);
		skb_queue_purge(&ec->d.send_data);
		skb_queue_purge(&ec->d.buffered_data);
		skb_queue_purge(&ec->ooo);
		/* A sender may still look at it (chim_eng_xmit()). */
		spin_lock_bh(&ec->lock);
		__skb_queue_purge(&ec->txq);
		spin_unlock_bh(&ec->lock);
		kfree_rcu(ec, rcu);
	}
	list_for_each_entry_safe(eo, eotmp, &job->free_objs, free_node) {
		atomic_dec(&job->emu->objs);
		kfree(eo);
	}
}

static void emu_terminate_work(struct work_struct *work)
{
	struct emu_job *job = container_of(to_delayed_work(work),
					   struct emu_job, dwork);
	struct chim_target *target = &job->emu->target;

	/* Stop every connection: the receive path passes its segments up. */
	chim_tree_walk(job->tree, emu_terminate_stop, NULL, job);

	chim_tree_walk(job->tree, emu_terminate_copy, NULL, job);
	chim_trace_step(target, CHIM_STEP_TARGET_COPY);
	chim_tree_walk(job->tree, emu_terminate_status, NULL, job);
	chim_trace_step(target, CHIM_STEP_TARGET_STATUS);

	/* Step 4; the tree belongs to the host again afterwards. */
	chim_terminate_complete(job->tree);

	/* What arrived while offloaded goes to the stock stack, in order. */
	chim_emu_rx_reinject(&job->rx);

	/* Step 5: free what the target held. */
	emu_free_contexts(job);
	chim_trace_step(target, CHIM_STEP_TARGET_FREE);
	kfree(job);
}

/* ---- update, invalidate, query ----------------------------------------- */

static int emu_update_block(struct chim_block *b, void *arg)
{
	if (!b->target_ctx || !*b->target_ctx) {
		b->status = CHIM_STATUS_SUCCESS;
		return 0;
	}
	if (b->type == CHIM_OBJ_TCP) {
		struct chim_emu_conn *ec = *b->target_ctx;

		spin_lock_bh(&ec->lock);
		ec->cached = b->tcp.cached;
		spin_unlock_bh(&ec->lock);
	} else {
		struct chim_emu_obj *eo = *b->target_ctx;

		/* Only cached variables change, never the links. */
		if (b->type == CHIM_OBJ_NEIGH)
			eo->neigh.cached = b->neigh.cached;
		else
			eo->path.cached = b->path.cached;
	}
	b->status = CHIM_STATUS_SUCCESS;
	return 0;
}

static bool emu_conn_depends_on(struct chim_emu_conn *ec, void *ctx)
{
	return ec == ctx || ec->path == ctx || ec->path->parent == ctx;
}

/*
 * Mark the objects invalid and ask for the upload of every connection that
 * depends on one of them (InvalidState); the host terminates them.
 */
static int emu_invalidate_block(struct chim_block *b, void *arg)
{
	struct emu_job *job = arg;
	struct chim_table *table = &job->emu->table;
	struct chim_table_pos pos = {};
	struct chim_table_entry *e;
	void *ctx;

	b->status = CHIM_STATUS_SUCCESS;
	if (!b->target_ctx || !*b->target_ctx)
		return 0;
	ctx = *b->target_ctx;
	if (b->type != CHIM_OBJ_TCP)
		((struct chim_emu_obj *)ctx)->invalid = true;

	rcu_read_lock();
	while ((e = chim_table_next_rcu(table, &pos))) {
		struct chim_emu_conn *ec = container_of(e, struct chim_emu_conn, entry);

		/* A stopped one is being uploaded; its handle may be gone. */
		spin_lock_bh(&ec->lock);
		if (!ec->stopped && emu_conn_depends_on(ec, ctx))
			chim_indicate_retrieve(ec->handle, CHIM_REASON_INVALID_STATE);
		spin_unlock_bh(&ec->lock);
		pos.idx++;
	}
	rcu_read_unlock();
	return 0;
}

static int emu_query_block(struct chim_block *b, void *arg)
{
	struct chim_tcp_delegated *dst = &b->tcp.delegated;
	struct chim_emu_conn *ec;

	b->status = CHIM_STATUS_SUCCESS;
	if (b->type != CHIM_OBJ_TCP || !b->target_ctx || !*b->target_ctx) {
		if (b->type == CHIM_OBJ_NEIGH && b->target_ctx && *b->target_ctx)
			b->neigh.delegated =
				((struct chim_emu_obj *)*b->target_ctx)->neigh.delegated;
		return 0;
	}
	ec = *b->target_ctx;
	spin_lock_bh(&ec->lock);
	emu_delegated(ec, dst);
	/* A query returns sizes, never the data itself. */
	skb_queue_head_init(&dst->send_data);
	skb_queue_head_init(&dst->buffered_data);
	dst->send_backlog_size = chim_skb_queue_bytes(&ec->d.send_data);
	dst->receive_backlog_size = chim_skb_queue_bytes(&ec->d.buffered_data);
	spin_unlock_bh(&ec->lock);
	return 0;
}

/* ---- the ops table ----------------------------------------------------- */

/* Every operation but a terminate: one walk, then the completion. */
static void emu_walk_work(struct work_struct *work)
{
	struct emu_job *job = container_of(to_delayed_work(work),
					   struct emu_job, dwork);

	chim_tree_walk(job->tree, job->pre, job->post, job);
	job->complete(job->tree);
	kfree(job);
}

static struct emu_job *emu_queue(struct chim_target *target,
				 struct chim_tree *tree, work_func_t fn)
{
	struct chim_emu *emu = chim_target_emu(target);
	/* The target takes every terminate: it has the state. */
	gfp_t gfp = tree->op == CHIM_OP_TERMINATE ? GFP_KERNEL | __GFP_NOFAIL :
						     GFP_KERNEL;
	struct emu_job *job = kzalloc(sizeof(*job), gfp);

	if (!job)
		return NULL;
	job->emu = emu;
	job->tree = tree;
	INIT_LIST_HEAD(&job->free_conns);
	INIT_LIST_HEAD(&job->free_objs);
	skb_queue_head_init(&job->rx);
	INIT_DELAYED_WORK(&job->dwork, fn);
	return job;
}

static void emu_start(struct emu_job *job)
{
	queue_delayed_work(job->emu->wq, &job->dwork,
			   msecs_to_jiffies(READ_ONCE(job->emu->faults.complete_delay_ms)));
}

static int emu_walk(struct chim_target *target, struct chim_tree *tree,
		    chim_block_fn pre, chim_block_fn post,
		    void (*complete)(struct chim_tree *tree))
{
	struct emu_job *job = emu_queue(target, tree, emu_walk_work);

	if (!job)
		return -ENOMEM;
	job->pre = pre;
	job->post = post;
	job->complete = complete;
	emu_start(job);
	return 0;
}

static int emu_initiate(struct chim_target *target, struct chim_tree *tree)
{
	return emu_walk(target, tree, emu_initiate_pre, emu_initiate_post,
			chim_initiate_complete);
}

static int emu_terminate(struct chim_target *target, struct chim_tree *tree)
{
	struct emu_job *job = emu_queue(target, tree, emu_terminate_work);

	if (!job)
		return -ENOMEM;
	emu_start(job);
	return 0;
}

static int emu_update(struct chim_target *target, struct chim_tree *tree)
{
	return emu_walk(target, tree, emu_update_block, NULL,
			chim_update_complete);
}

static int emu_invalidate(struct chim_target *target, struct chim_tree *tree)
{
	return emu_walk(target, tree, emu_invalidate_block, NULL,
			chim_invalidate_complete);
}

static int emu_query(struct chim_target *target, struct chim_tree *tree)
{
	return emu_walk(target, tree, emu_query_block, NULL,
			chim_query_complete);
}

static void emu_quiesce(struct chim_target *target)
{
	flush_workqueue(chim_target_emu(target)->wq);
}

/* A connection's counters, read under its lock (the host's is held). */
static bool emu_activity(struct chim_target *target, void *ctx,
			 struct chim_activity *out)
{
	struct chim_emu_conn *ec = ctx;
	bool running;

	spin_lock_bh(&ec->lock);
	running = !ec->stopped;
	if (running) {
		out->bytes_in = ec->bytes_in;
		out->bytes_out = ec->bytes_out;
		out->since = ec->since;
		out->active = ec->active;
	}
	spin_unlock_bh(&ec->lock);
	return running;
}

/**
 * chim_emu_stats_read() - sum the counters
 * @emu: the target
 * @cpu: one CPU, or -1 for all
 * @sum: receives the sum; tcp.currently_established is the table count
 *
 * Context: any.
 */
void chim_emu_stats_read(struct chim_emu *emu, int cpu,
			 struct chim_offload_stats *sum)
{
	unsigned int c;

	/* Every counter after syncp is a u64, in the order of the sum's. */
	BUILD_BUG_ON(sizeof(*sum) != sizeof(struct chim_emu_stats) -
		     offsetof(struct chim_emu_stats, tcp));
	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(c) {
		const struct chim_emu_stats *s = per_cpu_ptr(emu->stats, c);
		struct chim_emu_stats snap;
		unsigned int start;
		const u64 *from;
		u64 *to;
		size_t i;

		if (cpu >= 0 && c != cpu)
			continue;
		do {
			start = u64_stats_fetch_begin(&s->syncp);
			snap = *s;
		} while (u64_stats_fetch_retry(&s->syncp, start));
		from = (const u64 *)&snap.tcp;
		to = (u64 *)sum;
		for (i = 0; i < sizeof(*sum) / sizeof(u64); i++)
			to[i] += from[i];
		sum->tcp.currently_established +=
			chim_table_shard_count(&emu->table, c);
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_stats_read);

static void emu_stats(struct chim_target *target, int cpu,
		      struct chim_offload_stats *out)
{
	chim_emu_stats_read(chim_target_emu(target), cpu, out);
}

static void emu_receive(struct chim_target *target, void *ctx, int room)
{
	chim_eng_window_update(chim_target_emu(target), ctx, room);
}

static int emu_send(struct chim_target *target, void *ctx,
		    struct sk_buff_head *q)
{
	return chim_eng_send(chim_target_emu(target), ctx, q);
}

static const struct chim_target_ops emu_ops = {
	.initiate = emu_initiate,
	.terminate = emu_terminate,
	.update = emu_update,
	.invalidate = emu_invalidate,
	.query = emu_query,
	.quiesce = emu_quiesce,
	.activity = emu_activity,
	.stats = emu_stats,
	.receive = emu_receive,
	.send = emu_send,
};

/**
 * chim_emu_create() - create an emulated target
 * @name: its name (the bound device's), copied
 * @capacity: TcpConnectionOffloadCapacity, 1 to CHIM_MAX_CAPACITY
 *
 * Context: process.
 * Return: the target, or an ERR_PTR.
 */
struct chim_emu *chim_emu_create(const char *name, u32 capacity)
{
	struct chim_emu *emu;
	unsigned int cpu;
	int err = -ENOMEM;

	if (!capacity || capacity > CHIM_MAX_CAPACITY)
		return ERR_PTR(-ERANGE);
	emu = kzalloc(sizeof(*emu), GFP_KERNEL_ACCOUNT);
	if (!emu)
		return ERR_PTR(-ENOMEM);
	emu->target.ops = &emu_ops;
	emu->rx_held_max = CHIM_RX_HOLD_TOTAL_MAX;
	emu->target.capacity = capacity;
	emu->target.name = kstrdup(name, GFP_KERNEL);
	if (!emu->target.name)
		goto err_free;
	emu->stats = alloc_percpu_gfp(struct chim_emu_stats, GFP_KERNEL_ACCOUNT);
	if (!emu->stats)
		goto err_name;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(emu->stats, cpu)->syncp);
	err = chim_table_create(&emu->table, capacity, capacity);
	if (err)
		goto err_stats;
	emu->wq = alloc_workqueue("chimney-%s", WQ_UNBOUND, 0, name);
	if (!emu->wq) {
		err = -ENOMEM;
		goto err_table;
	}
	return emu;

err_table:
	chim_table_destroy(&emu->table);
err_stats:
	free_percpu(emu->stats);
err_name:
	kfree(emu->target.name);
err_free:
	kfree(emu);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_create);

/**
 * chim_emu_destroy() - free an emulated target
 * @emu: the target; its host must be gone (so nothing is offloaded)
 *
 * Context: process.
 */
void chim_emu_destroy(struct chim_emu *emu)
{
	chim_emu_rx_stop(emu);
	destroy_workqueue(emu->wq);
	chim_table_destroy(&emu->table);
	free_percpu(emu->stats);
	kfree(emu->target.name);
	kfree(emu);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_destroy);
