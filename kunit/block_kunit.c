// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_block: block-list trees, their walk order and the
 * initiate status rules of the seed.
 */
#include <kunit/test.h>
#include <net/chimney.h>

#include "block.h"

/*
 * N1 -> P1 -> T1, T2
 *    -> P2 -> T3
 * N2 -> P3
 */
struct sample {
	struct chim_tree *tree;
	struct chim_block *n1, *n2, *p1, *p2, *p3, *t1, *t2, *t3;
};

static void tree_free_action(void *tree)
{
	chim_tree_destroy(tree);
}

static void build_sample(struct kunit *test, struct sample *s)
{
	s->tree = chim_tree_create(NULL, CHIM_OP_TERMINATE, CHIM_REASON_ADMIN);
	KUNIT_ASSERT_NOT_NULL(test, s->tree);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tree_free_action,
							s->tree), 0);
	s->n1 = chim_block_create(s->tree, NULL, CHIM_OBJ_NEIGH, NULL, NULL);
	s->p1 = chim_block_create(s->tree, s->n1, CHIM_OBJ_PATH, NULL, NULL);
	s->t1 = chim_block_create(s->tree, s->p1, CHIM_OBJ_TCP, NULL, NULL);
	s->t2 = chim_block_create(s->tree, s->p1, CHIM_OBJ_TCP, NULL, NULL);
	s->p2 = chim_block_create(s->tree, s->n1, CHIM_OBJ_PATH, NULL, NULL);
	s->t3 = chim_block_create(s->tree, s->p2, CHIM_OBJ_TCP, NULL, NULL);
	s->n2 = chim_block_create(s->tree, NULL, CHIM_OBJ_NEIGH, NULL, NULL);
	s->p3 = chim_block_create(s->tree, s->n2, CHIM_OBJ_PATH, NULL, NULL);
	KUNIT_ASSERT_NOT_NULL(test, s->p3);
}

struct order {
	struct chim_block *seen[16];
	int n;
};

static int record(struct chim_block *b, void *arg)
{
	struct order *o = arg;

	if (o->n < ARRAY_SIZE(o->seen))
		o->seen[o->n++] = b;
	return 0;
}

static void links_follow_the_seed(struct kunit *test)
{
	struct sample s;

	build_sample(test, &s);
	KUNIT_EXPECT_PTR_EQ(test, s.tree->root, s.n1);
	KUNIT_EXPECT_PTR_EQ(test, s.n1->next, s.n2);
	KUNIT_EXPECT_PTR_EQ(test, s.n1->dependents, s.p1);
	KUNIT_EXPECT_PTR_EQ(test, s.p1->next, s.p2);
	KUNIT_EXPECT_PTR_EQ(test, s.p1->dependents, s.t1);
	KUNIT_EXPECT_PTR_EQ(test, s.t1->next, s.t2);
	KUNIT_EXPECT_NULL(test, s.t2->next);
	KUNIT_EXPECT_NULL(test, s.t1->dependents);
	KUNIT_EXPECT_EQ(test, s.tree->nr_blocks, 8u);
	KUNIT_EXPECT_EQ(test, s.t3->status, CHIM_STATUS_PENDING);
}

/* "take the block, descend DependentBlockList, then follow NextBlock" */
static void walk_is_depth_first_then_across(struct kunit *test)
{
	struct order o = {};
	struct sample s;

	build_sample(test, &s);
	KUNIT_EXPECT_EQ(test, chim_tree_walk(s.tree, record, NULL, &o), 8);
	KUNIT_ASSERT_EQ(test, o.n, 8);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[0], s.n1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[1], s.p1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[2], s.t1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[3], s.t2);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[4], s.p2);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[5], s.t3);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[6], s.n2);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[7], s.p3);
}

/* Post-order: dependents before their parent. */
static void walk_post_sees_dependents_first(struct kunit *test)
{
	struct order o = {};
	struct sample s;

	build_sample(test, &s);
	chim_tree_walk(s.tree, NULL, record, &o);
	KUNIT_ASSERT_EQ(test, o.n, 8);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[0], s.t1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[1], s.t2);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[2], s.p1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[3], s.t3);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[4], s.p2);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[5], s.n1);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[6], s.p3);
	KUNIT_EXPECT_PTR_EQ(test, o.seen[7], s.n2);
}

struct skip {
	struct order o;
	struct chim_block *skip;
};

static int skip_one(struct chim_block *b, void *arg)
{
	struct skip *s = arg;

	record(b, &s->o);
	return b == s->skip;
}

static void walk_pre_can_skip_dependents(struct kunit *test)
{
	struct skip sk = {};
	struct sample s;

	build_sample(test, &s);
	sk.skip = s.p1;
	chim_tree_walk(s.tree, skip_one, NULL, &sk);
	KUNIT_ASSERT_EQ(test, sk.o.n, 6);
	KUNIT_EXPECT_PTR_EQ(test, sk.o.seen[1], s.p1);
	KUNIT_EXPECT_PTR_EQ(test, sk.o.seen[2], s.p2);
	KUNIT_EXPECT_PTR_EQ(test, sk.o.seen[3], s.t3);
}

static void fail_dependents_marks_unvisited(struct kunit *test)
{
	struct sample s;

	build_sample(test, &s);
	s.t2->status = CHIM_STATUS_SUCCESS;
	s.n1->status = CHIM_STATUS_RESOURCES;
	chim_block_fail_dependents(s.n1);
	KUNIT_EXPECT_EQ(test, s.n1->status, CHIM_STATUS_RESOURCES);
	KUNIT_EXPECT_EQ(test, s.p1->status, CHIM_STATUS_FAILURE);
	KUNIT_EXPECT_EQ(test, s.t1->status, CHIM_STATUS_FAILURE);
	KUNIT_EXPECT_EQ(test, s.t2->status, CHIM_STATUS_SUCCESS);
	KUNIT_EXPECT_EQ(test, s.t3->status, CHIM_STATUS_FAILURE);
	/* N2 is a sibling, not a dependent. */
	KUNIT_EXPECT_EQ(test, s.n2->status, CHIM_STATUS_PENDING);
}

struct status_case {
	const char *name;
	int role;		/* 0 placeholder, 1 linker, 2 new offload */
	int ok, failed;		/* immediate dependents */
	enum chim_status want;
};

static const struct status_case status_cases[] = {
	{ "placeholder, dependents failed", 0, 0, 2, CHIM_STATUS_SUCCESS },
	{ "linker, all dependents", 1, 2, 0, CHIM_STATUS_SUCCESS },
	{ "linker, some dependents", 1, 1, 1, CHIM_STATUS_PARTIAL_SUCCESS },
	{ "linker, no dependent", 1, 0, 2, CHIM_STATUS_FAILURE },
	{ "new, no dependents", 2, 0, 0, CHIM_STATUS_SUCCESS },
	{ "new, all dependents", 2, 3, 0, CHIM_STATUS_SUCCESS },
	{ "new, some dependents", 2, 2, 1, CHIM_STATUS_PARTIAL_SUCCESS },
	{ "new, no dependent", 2, 0, 1, CHIM_STATUS_PARTIAL_SUCCESS },
};

static void status_case_desc(const struct status_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(status, status_cases, status_case_desc);

static void initiate_status_rules(struct kunit *test)
{
	const struct status_case *c = test->param_value;
	static int existing;
	void *ctx = c->role == 1 ? &existing : NULL;
	struct chim_tree *tree;
	struct chim_block *b, *d;
	int i;

	tree = chim_tree_create(NULL, CHIM_OP_INITIATE, CHIM_REASON_NONE);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tree_free_action,
							tree), 0);
	b = chim_block_create(tree, NULL, CHIM_OBJ_PATH, NULL,
			      c->role ? &ctx : NULL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	for (i = 0; i < c->ok + c->failed; i++) {
		d = chim_block_create(tree, b, CHIM_OBJ_TCP, NULL, NULL);
		KUNIT_ASSERT_NOT_NULL(test, d);
		d->status = i < c->ok ? (i & 1 ? CHIM_STATUS_PARTIAL_SUCCESS :
					 CHIM_STATUS_SUCCESS) :
					CHIM_STATUS_OFFLOAD_TCP_ENTRIES;
	}
	KUNIT_EXPECT_EQ(test, chim_block_initiate_status(b, c->role == 1),
			c->want);
}

static void destroy_frees_queued_data(struct kunit *test)
{
	struct chim_tree *tree;
	struct chim_block *t;
	struct sk_buff *skb;

	tree = chim_tree_create(NULL, CHIM_OP_TERMINATE, CHIM_REASON_ADMIN);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	t = chim_block_create(tree, NULL, CHIM_OBJ_TCP, NULL, NULL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	skb = alloc_skb(128, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	/* A reference of ours shows the destroy dropped the queue's. */
	skb_get(skb);
	skb_queue_tail(&t->tcp.delegated.send_data, skb);
	KUNIT_EXPECT_EQ(test, refcount_read(&skb->users), 2u);
	chim_tree_destroy(tree);
	KUNIT_EXPECT_EQ(test, refcount_read(&skb->users), 1u);
	kfree_skb(skb);
}

static struct kunit_case block_cases[] = {
	KUNIT_CASE(links_follow_the_seed),
	KUNIT_CASE(walk_is_depth_first_then_across),
	KUNIT_CASE(walk_post_sees_dependents_first),
	KUNIT_CASE(walk_pre_can_skip_dependents),
	KUNIT_CASE(fail_dependents_marks_unvisited),
	KUNIT_CASE_PARAM(initiate_status_rules, status_gen_params),
	KUNIT_CASE(destroy_frees_queued_data),
	{}
};

static struct kunit_suite block_suite = {
	.name = "chimney_block",
	.test_cases = block_cases,
};

kunit_test_suite(block_suite);
