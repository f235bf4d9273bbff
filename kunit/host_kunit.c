// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_host: initiate, Part 2 terminate, Part 1 requests,
 * query, update and invalidate, against the emulated target.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <net/ipv6.h>

#include "test_util.h"

static struct chim_obj *obj_of(struct chim_conn *conn)
{
	return &conn->obj;
}

static void offload_ok(struct kunit *test, struct chim_test_env *env,
		       struct chim_conn *conn)
{
	KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, conn), 0);
	KUNIT_ASSERT_EQ(test, conn->obj.state, CHIM_STATE_OFFLOADED);
}

static int terminate_one(struct chim_test_env *env, struct chim_obj *obj,
			 enum chim_upload_reason reason)
{
	return chim_host_terminate(env->host, &obj, 1, reason);
}

static void offload_builds_whole_tree(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);

	offload_ok(test, env, a);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->path[1]->obj.state, CHIM_STATE_NEW);
	KUNIT_EXPECT_NOT_NULL(test, a->obj.target_ctx);
	KUNIT_EXPECT_NOT_NULL(test, env->path[0]->obj.target_ctx);
	KUNIT_EXPECT_NOT_NULL(test, env->neigh->obj.target_ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->offloaded), 1);
	KUNIT_EXPECT_EQ(test, chim_test_owner(a)->status, CHIM_STATUS_SUCCESS);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 2);
	KUNIT_EXPECT_EQ(test, env->host->stats.offloads, 1u);
	KUNIT_EXPECT_EQ(test, env->host->offloaded, 1u);
}

/* Offloaded parents are linkers: the target creates no second context. */
static void offload_links_to_offloaded_parents(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 1, 1002);
	void *path_ctx;

	offload_ok(test, env, a);
	path_ctx = env->path[0]->obj.target_ctx;
	offload_ok(test, env, b);
	KUNIT_EXPECT_PTR_EQ(test, env->path[0]->obj.target_ctx, path_ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 2);
	offload_ok(test, env, c);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 3);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 2u);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.dependents, 2u);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 3);
}

static void offload_then_upload_keeps_state_and_data(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_test_owner *o = chim_test_owner(a);
	struct chim_tcp_delegated q, orig;

	a->d.snd_nxt = a->d.snd_una + 3000;
	a->d.snd_max = a->d.snd_nxt;
	chim_test_queue_data(test, &a->d.send_data, a->d.snd_una, 5000, 7);
	chim_test_queue_data(test, &a->d.buffered_data, a->d.rcv_nxt - 2000,
			     2000, 9);
	orig = a->d;
	offload_ok(test, env, a);
	/* The data moved to the target. */
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&a->d.send_data));
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&a->d.buffered_data));

	KUNIT_ASSERT_EQ(test, chim_host_query(env->host, a, &q), 0);
	KUNIT_EXPECT_EQ(test, q.snd_una, orig.snd_una);
	KUNIT_EXPECT_EQ(test, q.snd_max, orig.snd_max);
	KUNIT_EXPECT_EQ(test, q.rcv_nxt, orig.rcv_nxt);
	KUNIT_EXPECT_EQ(test, q.send_backlog_size, 5000u);
	KUNIT_EXPECT_EQ(test, q.receive_backlog_size, 2000u);

	KUNIT_ASSERT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&o->uploaded), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&o->aborted), 0);
	KUNIT_EXPECT_EQ(test, o->back.snd_una, orig.snd_una);
	KUNIT_EXPECT_EQ(test, o->back.snd_nxt, orig.snd_nxt);
	KUNIT_EXPECT_EQ(test, o->back.snd_max, orig.snd_max);
	KUNIT_EXPECT_EQ(test, o->back.rcv_nxt, orig.rcv_nxt);
	KUNIT_EXPECT_EQ(test, o->back.cwnd, orig.cwnd);
	KUNIT_EXPECT_EQ(test, o->back.srtt, orig.srtt);
	KUNIT_EXPECT_EQ(test, o->back.ts_recent, orig.ts_recent);
	KUNIT_EXPECT_TRUE(test, chim_test_data_equal(&o->back.send_data,
						     orig.snd_una, 5000, 7));
	KUNIT_EXPECT_TRUE(test, chim_test_data_equal(&o->back.buffered_data,
						     orig.rcv_nxt - 2000, 2000, 9));
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_NULL(test, a->obj.target_ctx);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_ADMIN], 1u);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 0);
}

/* The seed's Part 2: terminate call, copy, status, complete, free. */
static void part2_steps_in_seed_order(struct kunit *test)
{
	static const enum chim_step seed[] = {
		CHIM_STEP_TERMINATE_CALL, CHIM_STEP_TARGET_COPY,
		CHIM_STEP_TARGET_STATUS, CHIM_STEP_COMPLETE,
		CHIM_STEP_TARGET_FREE,
	};
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 0, 1002);
	struct chim_obj *objs[] = { obj_of(a), obj_of(b) };
	int i, n = 0, complete_at = -1, restore_at = -1;

	offload_ok(test, env, a);
	offload_ok(test, env, b);
	/* c keeps the path busy: one terminate, no parent terminated after. */
	offload_ok(test, env, c);
	chim_test_trace(env);
	KUNIT_ASSERT_EQ(test, chim_host_terminate(env->host, objs, 2,
						  CHIM_REASON_ADMIN), 0);
	/* Step 5 runs after the completion: wait for the target. */
	env->emu->target.ops->quiesce(&env->emu->target);
	env->host->trace = NULL;

	for (i = 0; i < env->nsteps; i++) {
		if (env->steps[i] == CHIM_STEP_HOST_RESTORE) {
			if (restore_at < 0)
				restore_at = i;
			continue;
		}
		if (env->steps[i] == CHIM_STEP_COMPLETE)
			complete_at = i;
		KUNIT_ASSERT_LT(test, n, ARRAY_SIZE(seed));
		KUNIT_EXPECT_EQ(test, env->steps[i], seed[n]);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, ARRAY_SIZE(seed));
	/* One terminate for both, restored after the completion. */
	KUNIT_EXPECT_GT(test, restore_at, complete_at);
	/*
	 * a, b and the placeholders of their path and neighbor: step 2
	 * copied both connections' state before step 3 wrote any status...
	 */
	KUNIT_EXPECT_EQ(test, env->seen_copy.blocks, 4);
	KUNIT_EXPECT_EQ(test, env->seen_copy.tcp, 2);
	KUNIT_EXPECT_EQ(test, env->seen_copy.copied, 2);
	KUNIT_EXPECT_EQ(test, env->seen_copy.pending, 4);
	/* ...then a status in every block, the placeholders' included. */
	KUNIT_EXPECT_EQ(test, env->seen_status.blocks, 4);
	KUNIT_EXPECT_EQ(test, env->seen_status.success, 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->upload_begin), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(b)->uploaded), 1);
}

static void parent_left_alone_is_terminated(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);

	offload_ok(test, env, a);
	offload_ok(test, env, b);
	KUNIT_ASSERT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN), 0);
	/* The path still serves b. */
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 1u);

	KUNIT_ASSERT_EQ(test, terminate_one(env, obj_of(b), CHIM_REASON_ADMIN), 0);
	/* No longer serving a useful purpose: path, then neighbor, go too. */
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_DEAD);
	/* Step 5 (the target frees its contexts) follows the completion. */
	flush_workqueue(env->emu->wq);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 0);
}

/* The host never terminates a parent with dependents left behind. */
static void terminating_parent_takes_dependents(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 1, 1002);

	offload_ok(test, env, a);
	offload_ok(test, env, b);
	offload_ok(test, env, c);
	KUNIT_ASSERT_EQ(test, terminate_one(env, &env->path[0]->obj,
					    CHIM_REASON_ADMIN), 0);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, c->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_OFFLOADED);

	KUNIT_ASSERT_EQ(test, terminate_one(env, &env->neigh->obj,
					    CHIM_REASON_LINK_DOWN), 0);
	KUNIT_EXPECT_EQ(test, c->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_ADMIN], 2u);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_LINK_DOWN], 1u);
	KUNIT_EXPECT_EQ(test, env->host->offloaded, 0u);
	/* Step 5 (the target frees its contexts) follows the completion. */
	flush_workqueue(env->emu->wq);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 0);
}

static void failure_aborts_only_that_conn(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *c[3];
	int i, uploaded = 0, aborted = 0;

	for (i = 0; i < 3; i++) {
		c[i] = chim_test_conn(test, env, 0, 1000 + i);
		chim_test_queue_data(test, &c[i]->d.send_data, c[i]->d.snd_una,
				     1500, i);
		offload_ok(test, env, c[i]);
	}
	chim_emu_fault_terminate(env->emu, 1);
	KUNIT_ASSERT_EQ(test, terminate_one(env, &env->neigh->obj,
					    CHIM_REASON_ADMIN), 0);
	for (i = 0; i < 3; i++) {
		struct chim_test_owner *o = chim_test_owner(c[i]);

		uploaded += atomic_read(&o->uploaded);
		aborted += atomic_read(&o->aborted);
		KUNIT_EXPECT_EQ(test, c[i]->obj.state, CHIM_STATE_DEAD);
		if (atomic_read(&o->uploaded))
			KUNIT_EXPECT_TRUE(test, chim_test_data_equal(&o->back.send_data,
								     c[i]->d.snd_una,
								     1500, i));
	}
	KUNIT_EXPECT_EQ(test, uploaded, 2);
	KUNIT_EXPECT_EQ(test, aborted, 1);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminate_failures, 1u);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_ADMIN], 2u);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 0);
	/* kmemleak, scanned at the end of the run, sees no lost context. */
}

struct bg_op {
	struct chim_test_env *env;
	struct chim_conn *conn;
	bool terminate;
	int ret;
	struct completion done;
};

static int bg_fn(void *arg)
{
	struct bg_op *op = arg;
	struct chim_obj *obj = &op->conn->obj;

	if (op->terminate)
		op->ret = chim_host_terminate(op->env->host, &obj, 1,
					      CHIM_REASON_ADMIN);
	else
		op->ret = chim_host_offload_conn(op->env->host, op->conn);
	complete(&op->done);
	return 0;
}

/* Start an operation in the background; wait until @conn is in @state. */
static void bg_start(struct kunit *test, struct bg_op *op,
		     struct chim_test_env *env, struct chim_conn *conn,
		     bool terminate, enum chim_obj_state state)
{
	struct task_struct *t;
	int i;

	op->env = env;
	op->conn = conn;
	op->terminate = terminate;
	init_completion(&op->done);
	t = kthread_run(bg_fn, op, "chim-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	for (i = 0; i < 500 && READ_ONCE(conn->obj.state) != state; i++)
		usleep_range(2000, 4000);
	KUNIT_ASSERT_EQ(test, READ_ONCE(conn->obj.state), state);
}

static void race_terminate_during_initiate(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct bg_op op;

	chim_emu_fault_delay(env->emu, 200);
	bg_start(test, &op, env, a, false, CHIM_STATE_OFFLOADING);
	/* Deferred: the terminate runs once the initiate completes. */
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN),
			-EINPROGRESS);
	wait_for_completion(&op.done);
	KUNIT_EXPECT_EQ(test, op.ret, 0);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->offloaded), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->uploaded), 1);
}

static void race_two_terminates(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_offload_stats st;
	u64 ignored;
	struct bg_op op;

	offload_ok(test, env, a);
	chim_emu_fault_delay(env->emu, 200);
	bg_start(test, &op, env, a, true, CHIM_STATE_UPLOADING);
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN),
			-EALREADY);
	/* A retrieve for an object already uploading is ignored. */
	ignored = env->host->stats.retrieves_ignored;
	chim_indicate_retrieve(obj_of(a), CHIM_REASON_UPLOAD_REQUESTED);
	KUNIT_EXPECT_EQ(test, env->host->stats.retrieves_ignored, ignored + 1);
	wait_for_completion(&op.done);
	chim_host_flush(env->host);
	env->emu->target.ops->quiesce(&env->emu->target);
	KUNIT_EXPECT_EQ(test, op.ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->uploaded), 1);
	chim_emu_stats_read(env->emu, -1, &st);
	KUNIT_EXPECT_EQ(test, st.terminated, 1u);
}

static void terminate_unknown_or_gone(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_test_env *other = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *x = chim_test_conn(test, other, 0, 1000);

	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN),
			-ENOENT);	/* never offloaded */
	offload_ok(test, other, x);
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(x), CHIM_REASON_ADMIN),
			-ENOENT);	/* another host's */
	KUNIT_EXPECT_EQ(test, x->obj.state, CHIM_STATE_OFFLOADED);
	offload_ok(test, env, a);
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN), 0);
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN),
			-ENOENT);	/* already uploaded */
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->uploaded), 1);
}

/*
 * D5, the seed's rule: never terminate a path that still has dependents.
 * A dependent uploading in another tree (slow target) is one: its path and
 * neighbor stay offloaded while it is away, and go as parents after it.
 */
static void parent_kept_while_dependent_uploads(struct kunit *test, bool single)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_obj *path = &env->path[0]->obj;
	struct bg_op op;

	if (single) {
		chim_test_one_per_tree(a);
		chim_test_one_per_tree(b);
	}
	offload_ok(test, env, a);
	offload_ok(test, env, b);
	chim_emu_fault_delay(env->emu, 1000);
	bg_start(test, &op, env, a, true, CHIM_STATE_UPLOADING);
	msleep(100);	/* a's terminate is with the target, for a second */
	chim_emu_fault_delay(env->emu, 0);

	KUNIT_EXPECT_EQ(test, terminate_one(env, path, CHIM_REASON_ADMIN), 0);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, READ_ONCE(a->obj.state), CHIM_STATE_UPLOADING);
	KUNIT_EXPECT_EQ(test, path->state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_NOT_NULL(test, path->target_ctx);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 2);

	wait_for_completion(&op.done);
	KUNIT_EXPECT_EQ(test, op.ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->uploaded), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(b)->uploaded), 1);
	/* Left without dependents, they went as parents. */
	KUNIT_EXPECT_EQ(test, path->state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 0);
}

static void parent_kept_while_dependent_uploads_shared(struct kunit *test)
{
	parent_kept_while_dependent_uploads(test, false);
}

static void parent_kept_while_dependent_uploads_singly(struct kunit *test)
{
	parent_kept_while_dependent_uploads(test, true);
}

struct late_offload {
	struct chim_conn *conn;
	int ret;
	int runs;
};

/* Offload a connection just as the host turns to the parents left alone. */
static void offload_before_parents(struct chim_host *host, enum chim_step step)
{
	struct late_offload *late = host->trace_priv;

	if (step != CHIM_STEP_PARENTS || late->runs++)
		return;
	late->ret = chim_host_offload_conn(host, late->conn);
}

/*
 * D4: the last connection of a path is uploaded; before the host gets to
 * terminate the path left alone, a new connection is offloaded through it.
 * The path has a dependent again: it stays, and so does the new one.
 */
static void orphan_gaining_dependent_is_kept(struct kunit *test, bool single)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct late_offload late = {
		.conn = chim_test_conn(test, env, 0, 1001),
		.ret = -1,
	};

	if (single) {
		chim_test_one_per_tree(a);
		chim_test_one_per_tree(late.conn);
	}
	offload_ok(test, env, a);
	env->host->trace_priv = &late;
	env->host->trace = offload_before_parents;
	KUNIT_EXPECT_EQ(test, terminate_one(env, obj_of(a), CHIM_REASON_ADMIN), 0);
	env->host->trace = NULL;

	KUNIT_EXPECT_EQ(test, late.runs, 1);
	KUNIT_EXPECT_EQ(test, late.ret, 0);
	KUNIT_EXPECT_EQ(test, late.conn->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(late.conn)->upload_begin), 0);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 1u);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_PARENT], 0u);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 1);
}

static void orphan_gaining_dependent_is_kept_shared(struct kunit *test)
{
	orphan_gaining_dependent_is_kept(test, false);
}

static void orphan_gaining_dependent_is_kept_singly(struct kunit *test)
{
	orphan_gaining_dependent_is_kept(test, true);
}

/* Review section 3: a path with several socket-like owners, in one call. */
static void path_with_owned_conns_terminates_each(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *c[4];
	int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i] = chim_test_conn(test, env, 0, 1000 + i);
		chim_test_one_per_tree(c[i]);
		offload_ok(test, env, c[i]);
	}
	KUNIT_EXPECT_EQ(test, terminate_one(env, &env->path[0]->obj,
					    CHIM_REASON_ADMIN), 0);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		KUNIT_EXPECT_EQ(test, c[i]->obj.state, CHIM_STATE_DEAD);
		KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(c[i])->upload_begin), 1);
		KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(c[i])->uploaded), 1);
	}
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_ADMIN], 4u);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 0);
}

static int query_no_job(struct chim_target *target, struct chim_tree *tree)
{
	return -ENOMEM;
}

/*
 * D12: a read must not cost the connection.  A target that cannot even
 * take the query (no memory for its job) has failed nothing: the
 * connection stays offloaded.
 */
static void failed_query_terminates_nothing(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	const struct chim_target_ops *emu_ops = env->emu->target.ops;
	struct chim_target_ops ops = *emu_ops;
	struct chim_tcp_delegated d;
	int err;

	offload_ok(test, env, a);
	ops.query = query_no_job;
	env->emu->target.ops = &ops;
	err = chim_host_query(env->host, a, &d);
	env->emu->target.ops = emu_ops;
	KUNIT_EXPECT_EQ(test, err, -ENOMEM);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(a)->upload_begin), 0);
}

static const enum chim_upload_reason target_reasons[] = {
	CHIM_REASON_LOW_ACTIVITY, CHIM_REASON_HIGH_DROP_RATE,
	CHIM_REASON_SMALL_IO, CHIM_REASON_NO_BUFFER_PREPOSTING,
	CHIM_REASON_RECEIVED_URGENT_DATA, CHIM_REASON_HIGH_FRAGMENTATION,
	CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS, CHIM_REASON_TIMEOUT_EXPIRATION,
	CHIM_REASON_INVALID_STATE, CHIM_REASON_UPLOAD_REQUESTED,
	CHIM_REASON_HARDWARE_FAILURE,
};

static void reason_desc(const enum chim_upload_reason *r, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%d %s", *r, chim_reason_name(*r));
}

KUNIT_ARRAY_PARAM(reason, target_reasons, reason_desc);

/* Mandatory reasons are always uploaded; optional ones per the policy. */
static void part1_retrieve_reasons(struct kunit *test)
{
	enum chim_upload_reason r = *(const enum chim_upload_reason *)test->param_value;
	static const u16 mandatory = BIT(5) | BIT(8) | BIT(9) | BIT(10) | BIT(11);
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	bool expect_upload;

	KUNIT_EXPECT_EQ(test, chim_reason_is_mandatory(r), !!(mandatory & BIT(r)));
	expect_upload = chim_reason_is_mandatory(r) ||
			(env->host->accept_optional & BIT(r));
	offload_ok(test, env, a);
	KUNIT_ASSERT_EQ(test, chim_emu_request_retrieve(env->emu, &a->index.tuple, r), 0);
	chim_host_flush(env->host);
	KUNIT_EXPECT_EQ(test, env->host->stats.retrieves[r], 1u);
	if (expect_upload) {
		KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
		KUNIT_EXPECT_EQ(test, env->host->stats.terminates[r], 1u);
	} else {
		/* Declined: the target keeps running it. */
		KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_OFFLOADED);
		KUNIT_EXPECT_EQ(test, env->host->stats.retrieves_declined[r], 1u);
		KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 1);
	}
}

static void part1_policy_can_accept_optional(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);

	env->host->accept_optional |= BIT(CHIM_REASON_SMALL_IO);
	offload_ok(test, env, a);
	KUNIT_ASSERT_EQ(test, chim_emu_request_retrieve(env->emu, &a->index.tuple,
							CHIM_REASON_SMALL_IO), 0);
	chim_host_flush(env->host);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
}

/*
 * D8: a mandatory request for a connection that has an optional one
 * queued is not dropped: it upgrades the queued one (the host declines
 * the optional reason, and would otherwise leave a target that has
 * stopped the connection waiting for ever).
 */
static void mandatory_request_upgrades_optional(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_host *host = env->host;

	offload_ok(test, env, a);
	/* Both requests are queued before the host looks at them. */
	disable_work_sync(&host->req_work);
	chim_indicate_retrieve(&a->obj, CHIM_REASON_SMALL_IO);
	chim_indicate_retrieve(&a->obj, CHIM_REASON_UPLOAD_REQUESTED);
	enable_work(&host->req_work);
	schedule_work(&host->req_work);
	chim_host_flush(host);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, host->stats.terminates[CHIM_REASON_UPLOAD_REQUESTED], 1u);
	KUNIT_EXPECT_EQ(test, host->stats.retrieves_declined[CHIM_REASON_SMALL_IO], 0u);
	KUNIT_EXPECT_EQ(test, host->stats.retrieves_ignored, 0u);
}

/*
 * D7: every allocation of the caller fails (failslab, set up by
 * scripts/guest-check.sh for tasks that ask for it), as it may while a
 * device is detached: every connection is still uploaded, each socket-
 * like owner in a tree of its own, and the target keeps nothing.
 */
static void terminate_all_without_memory(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *c[4];
	int i, err;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i] = chim_test_conn(test, env, i & 1, 1000 + i);
		if (i >= 2)
			chim_test_one_per_tree(c[i]);
		offload_ok(test, env, c[i]);
	}
	if (!chim_test_fail_allocations(true))
		kunit_skip(test, "failslab does not fail this task's allocations");
	err = chim_host_terminate_all(env->host, CHIM_REASON_DETACH);
	chim_test_fail_allocations(false);
	KUNIT_EXPECT_EQ(test, err, 0);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		KUNIT_EXPECT_EQ(test, c[i]->obj.state, CHIM_STATE_DEAD);
		KUNIT_EXPECT_EQ(test, atomic_read(&chim_test_owner(c[i])->uploaded), 1);
	}
	KUNIT_EXPECT_EQ(test, env->host->offloaded, 0u);
	env->emu->target.ops->quiesce(&env->emu->target);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->table.count), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&env->emu->objs), 0);
}

static void part1_upload_all_pauses(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 1, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 0, 1002);
	struct chim_obj *obj;

	offload_ok(test, env, a);
	offload_ok(test, env, b);
	chim_emu_request_upload_all(env->emu);
	chim_host_flush(env->host);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->host->stats.terminates[CHIM_REASON_UPLOAD_ALL], 2u);
	/* Paused: no initiate starts. */
	obj = &c->obj;
	KUNIT_EXPECT_EQ(test, chim_host_offload(env->host, &obj, 1), -EAGAIN);
	chim_indicate_resume(&env->emu->target);
	/* c never reached the target: it went with its path and neighbor. */
	KUNIT_EXPECT_EQ(test, c->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->obj.sibling));
	KUNIT_EXPECT_EQ(test, chim_host_offload_conn(env->host, c), -EBUSY);
}

static void capacity_overflow_returns_data(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 2);
	struct chim_conn *c[3];
	int i;

	for (i = 0; i < 3; i++) {
		c[i] = chim_test_conn(test, env, 0, 1000 + i);
		chim_test_queue_data(test, &c[i]->d.send_data, c[i]->d.snd_una,
				     2500, i);
	}
	offload_ok(test, env, c[0]);
	offload_ok(test, env, c[1]);
	KUNIT_EXPECT_EQ(test, chim_host_offload_conn(env->host, c[2]), -ENOSPC);
	KUNIT_EXPECT_EQ(test, chim_test_owner(c[2])->status,
			CHIM_STATUS_OFFLOAD_TCP_ENTRIES);
	KUNIT_EXPECT_EQ(test, c[2]->obj.state, CHIM_STATE_DEAD);
	/* Nothing changed for the owner: every byte is back. */
	KUNIT_EXPECT_TRUE(test, chim_test_data_equal(&c[2]->d.send_data,
						     c[2]->d.snd_una, 2500, 2));
	KUNIT_EXPECT_EQ(test, env->host->stats.offload_failures, 1u);
	KUNIT_EXPECT_EQ(test, env->host->offloaded, 2u);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 2u);
}

static const enum chim_status fault_statuses[] = {
	CHIM_STATUS_FAILURE, CHIM_STATUS_RESOURCES,
	CHIM_STATUS_OFFLOAD_TCP_RCV_WINDOW,
	CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED,
};

static void status_desc(const enum chim_status *s, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "status %d", *s);
}

KUNIT_ARRAY_PARAM(fault_status, fault_statuses, status_desc);

static void initiate_fault_injection(struct kunit *test)
{
	enum chim_status st = *(const enum chim_status *)test->param_value;
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);

	KUNIT_ASSERT_EQ(test, chim_emu_fault_initiate(env->emu, 1, st), 0);
	KUNIT_EXPECT_EQ(test, chim_host_offload_conn(env->host, a),
			chim_status_to_errno(st));
	KUNIT_EXPECT_NE(test, chim_status_to_errno(st), 0);
	KUNIT_EXPECT_EQ(test, chim_test_owner(a)->status, st);
	/* Only the next one failed. */
	offload_ok(test, env, b);
}

static void partial_success_keeps_the_rest(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_obj *objs[] = { obj_of(a), obj_of(b) };

	KUNIT_ASSERT_EQ(test, chim_emu_fault_initiate(env->emu, 1,
						      CHIM_STATUS_RESOURCES), 0);
	KUNIT_ASSERT_EQ(test, chim_host_offload(env->host, objs, 2), 0);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 1u);
}

static void update_and_invalidate(struct kunit *test)
{
	static const u8 new_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 0x42 };
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 1, 1002);
	struct chim_emu_obj *eo;

	offload_ok(test, env, a);
	offload_ok(test, env, b);
	offload_ok(test, env, c);

	memcpy(env->neigh->cached.dl_destination_address, new_mac, ETH_ALEN);
	KUNIT_ASSERT_EQ(test, chim_host_update(env->host, &env->neigh->obj), 0);
	eo = env->neigh->obj.target_ctx;
	KUNIT_EXPECT_MEMEQ(test, eo->neigh.cached.dl_destination_address,
			   new_mac, ETH_ALEN);

	/* Invalidating a path uploads exactly the connections using it. */
	KUNIT_ASSERT_EQ(test, chim_host_invalidate(env->host,
						   &env->path[0]->obj), 0);
	chim_host_flush(env->host);
	KUNIT_EXPECT_EQ(test, a->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, b->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test, c->obj.state, CHIM_STATE_OFFLOADED);
	KUNIT_EXPECT_EQ(test,
			env->host->stats.terminates[CHIM_REASON_INVALID_STATE], 2u);

	/*
	 * c's path was offloaded below the already offloaded neighbor (a
	 * linker): invalidating the neighbor must reach it too.
	 */
	KUNIT_ASSERT_EQ(test, chim_host_invalidate(env->host,
						   &env->neigh->obj), 0);
	chim_host_flush(env->host);
	KUNIT_EXPECT_EQ(test, c->obj.state, CHIM_STATE_DEAD);
	KUNIT_EXPECT_EQ(test,
			env->host->stats.terminates[CHIM_REASON_INVALID_STATE], 3u);
}

static void put_path(void *arg)
{
	chim_obj_put(&((struct chim_path *)arg)->obj);
}

/*
 * Terminating the paths to an address (conn terminate scope path) takes
 * every one of them, in more than one tree when there are many (the
 * control plane's walk stopped at 16 and reported success).  Forty paths
 * from forty local addresses to one destination, a connection on each.
 */
static void terminate_addr_takes_every_path(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 64);
	struct chim_path_cached pcached = { .path_mtu = 1500 };
	struct chim_conn *c[40];
	struct chim_path_const pc;
	struct chim_path *path;
	struct chim_tuple t;
	struct in6_addr dst;
	unsigned int i;

	ipv6_addr_set_v4mapped(htonl(0x0a000009), &dst);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memset(&pc, 0, sizeof(pc));
		ipv6_addr_set_v4mapped(htonl(0x0a000100 + i), &pc.source_address);
		pc.destination_address = dst;
		pc.family = AF_INET;
		path = chim_path_create(env->neigh, &pc, &pcached);
		KUNIT_ASSERT_NOT_NULL(test, path);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, put_path,
								path), 0);
		chim_tuple_init4(&t, htonl(0x0a000100 + i), htons(2000 + i),
				 htonl(0x0a000009), htons(80));
		c[i] = chim_test_conn_on(test, env, path, &t);
		KUNIT_ASSERT_EQ(test, chim_host_offload_conn(env->host, c[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, chim_host_terminate_addr(env->host, CHIM_OBJ_PATH,
						       &dst, CHIM_REASON_ADMIN),
			(unsigned int)ARRAY_SIZE(c));
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		KUNIT_EXPECT_EQ(test, c[i]->obj.state, CHIM_STATE_DEAD);
		KUNIT_EXPECT_EQ(test,
				atomic_read(&chim_test_owner(c[i])->uploaded), 1);
	}
	/* None left: a second call finds nothing. */
	KUNIT_EXPECT_EQ(test, chim_host_terminate_addr(env->host, CHIM_OBJ_PATH,
						       &dst, CHIM_REASON_ADMIN),
			0u);
}

static struct kunit_case host_cases[] = {
	KUNIT_CASE(offload_builds_whole_tree),
	KUNIT_CASE(offload_links_to_offloaded_parents),
	KUNIT_CASE(offload_then_upload_keeps_state_and_data),
	KUNIT_CASE(part2_steps_in_seed_order),
	KUNIT_CASE(parent_left_alone_is_terminated),
	KUNIT_CASE(terminating_parent_takes_dependents),
	KUNIT_CASE(failure_aborts_only_that_conn),
	KUNIT_CASE(race_terminate_during_initiate),
	KUNIT_CASE(race_two_terminates),
	KUNIT_CASE(terminate_unknown_or_gone),
	KUNIT_CASE_SLOW(parent_kept_while_dependent_uploads_shared),
	KUNIT_CASE_SLOW(parent_kept_while_dependent_uploads_singly),
	KUNIT_CASE(orphan_gaining_dependent_is_kept_shared),
	KUNIT_CASE(orphan_gaining_dependent_is_kept_singly),
	KUNIT_CASE(path_with_owned_conns_terminates_each),
	KUNIT_CASE(failed_query_terminates_nothing),
	KUNIT_CASE_PARAM(part1_retrieve_reasons, reason_gen_params),
	KUNIT_CASE(part1_policy_can_accept_optional),
	KUNIT_CASE(mandatory_request_upgrades_optional),
	KUNIT_CASE(terminate_all_without_memory),
	KUNIT_CASE(part1_upload_all_pauses),
	KUNIT_CASE(capacity_overflow_returns_data),
	KUNIT_CASE_PARAM(initiate_fault_injection, fault_status_gen_params),
	KUNIT_CASE(partial_success_keeps_the_rest),
	KUNIT_CASE(update_and_invalidate),
	KUNIT_CASE(terminate_addr_takes_every_path),
	{}
};

static struct kunit_suite host_suite = {
	.name = "chimney_host",
	.test_cases = host_cases,
};

kunit_test_suite(host_suite);
