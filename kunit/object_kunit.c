// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_object: the object state machine, references and
 * the dependent links conn -> path -> neigh.
 */
#include <kunit/test.h>

#include "host.h"
#include "object.h"
#include "emu/emu.h"
#include "test_util.h"

struct transition_case {
	enum chim_obj_state from;
	enum chim_obj_state to;
	bool allowed;
};

#define T(f, t, a) { CHIM_STATE_##f, CHIM_STATE_##t, a }
static const struct transition_case transition_cases[] = {
	T(NEW, OFFLOADING, true), T(NEW, DEAD, true),
	T(NEW, OFFLOADED, false), T(NEW, UPLOADING, false),
	T(OFFLOADING, OFFLOADED, true), T(OFFLOADING, DEAD, true),
	T(OFFLOADING, UPLOADING, false), T(OFFLOADING, NEW, false),
	T(OFFLOADED, UPLOADING, true), T(OFFLOADED, INVALIDATED, true),
	T(OFFLOADED, DEAD, false), T(OFFLOADED, OFFLOADING, false),
	T(INVALIDATED, UPLOADING, true), T(INVALIDATED, OFFLOADED, false),
	T(UPLOADING, DEAD, true), T(UPLOADING, ABORTED, true),
	T(UPLOADING, OFFLOADED, false), T(UPLOADING, UPLOADING, false),
	T(ABORTED, DEAD, true), T(ABORTED, OFFLOADED, false),
	T(DEAD, NEW, false), T(DEAD, OFFLOADING, false),
	T(DEAD, DEAD, false),
};

static void transition_desc(const struct transition_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s -> %s", chim_state_name(c->from),
		 chim_state_name(c->to));
}

KUNIT_ARRAY_PARAM(transition, transition_cases, transition_desc);

static void state_transitions(struct kunit *test)
{
	const struct transition_case *c = test->param_value;
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *conn = chim_test_conn(test, env, 0, 1000);
	int err;

	mutex_lock(&env->host->lock);
	conn->obj.state = c->from;
	err = chim_obj_set_state(&conn->obj, c->to);
	KUNIT_EXPECT_EQ(test, err, c->allowed ? 0 : -EINVAL);
	KUNIT_EXPECT_EQ(test, conn->obj.state, c->allowed ? c->to : c->from);
	conn->obj.state = CHIM_STATE_NEW;
	mutex_unlock(&env->host->lock);
}

static void dependents_are_counted(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	struct chim_conn *b = chim_test_conn(test, env, 0, 1001);
	struct chim_conn *c = chim_test_conn(test, env, 1, 1002);
	struct chim_host *host = env->host;

	KUNIT_EXPECT_PTR_EQ(test, a->obj.parent, &env->path[0]->obj);
	KUNIT_EXPECT_PTR_EQ(test, c->obj.parent, &env->path[1]->obj);
	KUNIT_EXPECT_PTR_EQ(test, env->path[0]->obj.parent, &env->neigh->obj);
	KUNIT_EXPECT_EQ(test, b->c.hash_value, chim_tuple_hash(&b->index.tuple));
	/* Objects the target does not know yet are not dependents. */
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 0u);

	mutex_lock(&host->lock);
	chim_obj_set_state(&a->obj, CHIM_STATE_OFFLOADING);
	chim_obj_set_state(&b->obj, CHIM_STATE_OFFLOADING);
	chim_obj_set_state(&c->obj, CHIM_STATE_OFFLOADING);
	chim_obj_set_state(&env->path[0]->obj, CHIM_STATE_OFFLOADING);
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 2u);
	KUNIT_EXPECT_EQ(test, env->path[1]->obj.dependents, 1u);
	KUNIT_EXPECT_EQ(test, env->neigh->obj.dependents, 1u);

	/* A failed offload (OFFLOADING -> DEAD) is no dependent any more. */
	chim_obj_set_state(&b->obj, CHIM_STATE_DEAD);
	chim_obj_unlink(&b->obj);
	chim_obj_unlink(&b->obj);	/* twice is harmless */
	KUNIT_EXPECT_EQ(test, env->path[0]->obj.dependents, 1u);

	/* Put the rest back, as if never offloaded, for the cleanup. */
	a->obj.state = CHIM_STATE_NEW;
	c->obj.state = CHIM_STATE_NEW;
	env->path[0]->obj.state = CHIM_STATE_NEW;
	mutex_unlock(&host->lock);
}

static void reference_keeps_parent(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	unsigned int path_refs = refcount_read(&env->path[0]->obj.ref);
	struct chim_conn *a = chim_test_conn(test, env, 0, 1000);
	unsigned int conn_refs = refcount_read(&a->obj.ref);

	/* The conn's link holds one reference on its path. */
	KUNIT_EXPECT_EQ(test, refcount_read(&env->path[0]->obj.ref), path_refs + 1);
	chim_obj_hold(&a->obj);
	KUNIT_EXPECT_TRUE(test, chim_obj_get(&a->obj));
	KUNIT_EXPECT_EQ(test, refcount_read(&a->obj.ref), conn_refs + 2);
	chim_obj_put(&a->obj);
	chim_obj_put(&a->obj);
	/* Balanced: the conn and its path are back where they were. */
	KUNIT_EXPECT_EQ(test, refcount_read(&a->obj.ref), conn_refs);
	KUNIT_EXPECT_EQ(test, refcount_read(&env->path[0]->obj.ref), path_refs + 1);
}

/*
 * A neighbor terminated between its lookup and a new path's creation (the
 * last path's upload took it) gets no path: one linked under it would be
 * neither offloaded nor unlinked, and the two would leak each other
 * (kmemleak saw it in the engine's handoff test).
 */
static void no_path_under_dying_neighbor(struct kunit *test)
{
	struct chim_test_env *env = chim_test_env_create(test, 16);
	struct chim_path_const pc = env->path[0]->c;
	struct chim_path_cached pcached = {};
	struct chim_neigh *neigh = env->neigh;
	struct chim_host *host = env->host;
	unsigned int refs = refcount_read(&neigh->obj.ref);
	enum chim_obj_state st;
	struct chim_path *path;

	pc.destination_address.s6_addr32[3] ^= htonl(0x100);
	for (st = CHIM_STATE_OFFLOADING; st <= CHIM_STATE_DEAD; st++) {
		if (st == CHIM_STATE_OFFLOADED)
			continue;
		mutex_lock(&host->lock);
		neigh->obj.state = st;
		mutex_unlock(&host->lock);
		KUNIT_EXPECT_NULL(test, chim_path_create(neigh, &pc, &pcached));
		KUNIT_EXPECT_EQ(test, refcount_read(&neigh->obj.ref), refs);
	}
	mutex_lock(&host->lock);
	neigh->obj.state = CHIM_STATE_NEW;
	mutex_unlock(&host->lock);
	/* A live one does. */
	path = chim_path_create(neigh, &pc, &pcached);
	KUNIT_ASSERT_NOT_NULL(test, path);
	KUNIT_EXPECT_PTR_EQ(test, path->obj.parent, &neigh->obj);
	mutex_lock(&host->lock);
	path->obj.state = CHIM_STATE_DEAD;
	chim_obj_unlink(&path->obj);
	mutex_unlock(&host->lock);
	chim_obj_put(&path->obj);
}

static struct kunit_case object_cases[] = {
	KUNIT_CASE_PARAM(state_transitions, transition_gen_params),
	KUNIT_CASE(dependents_are_counted),
	KUNIT_CASE(reference_keeps_parent),
	KUNIT_CASE(no_path_under_dying_neighbor),
	{}
};

static struct kunit_suite object_suite = {
	.name = "chimney_object",
	.test_cases = object_cases,
};

kunit_test_suite(object_suite);
