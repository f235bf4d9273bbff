/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_TEST_UTIL_H
#define _CHIMNEY_TEST_UTIL_H

#include <kunit/test.h>

#include "block.h"
#include "emu/emu.h"
#include "host.h"

/* What a connection's owner saw, through &struct chim_conn_ops. */
struct chim_test_owner {
	atomic_t offloaded;
	atomic_t upload_begin;
	atomic_t uploaded;
	atomic_t aborted;
	enum chim_status status;
	struct chim_tcp_delegated back;	/* state and data handed back */
};

#define CHIM_TEST_MAX_STEPS 64
/* What the blocks of a terminate tree held at one step of the target. */
struct chim_test_seen {
	int blocks;
	int pending;
	int success;
	int tcp;
	int copied;	/* TCP blocks holding their connection's delegated state */
};

/* A host on an emulated target, one neighbor and two paths. */
struct chim_test_env {
	struct kunit *test;
	struct chim_emu *emu;
	struct chim_host *host;
	struct chim_neigh *neigh;
	struct chim_path *path[2];
	struct chim_conn *conns[64];
	int nconns;
	spinlock_t step_lock;	/* protects steps, nsteps */
	enum chim_step steps[CHIM_TEST_MAX_STEPS];
	int nsteps;
	const struct chim_target_ops *emu_ops;
	struct chim_target_ops ops;
	struct chim_tree *tree;
	struct chim_test_seen seen_copy;
	struct chim_test_seen seen_status;
};

struct chim_test_env *chim_test_env_create(struct kunit *test, u32 capacity);
struct chim_conn *chim_test_conn(struct kunit *test, struct chim_test_env *env,
				 int path, u16 lport);
struct chim_conn *chim_test_conn_on(struct kunit *test,
				    struct chim_test_env *env,
				    struct chim_path *path,
				    const struct chim_tuple *t);
void chim_test_queue_data(struct kunit *test, struct sk_buff_head *q,
			  u32 seq, u32 len, u8 seed);
bool chim_test_data_equal(struct sk_buff_head *q, u32 seq, u32 len, u8 seed);
void chim_test_trace(struct chim_test_env *env);
void chim_test_one_per_tree(struct chim_conn *conn);
bool chim_test_fail_allocations(bool on);

static inline struct chim_test_owner *chim_test_owner(struct chim_conn *conn)
{
	return conn->owner;
}

#endif /* _CHIMNEY_TEST_UTIL_H */
