// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite chimney_table: tuple keys, bucket hash and home CPU.
 */
#include <kunit/test.h>
#include <linux/cpumask.h>
#include <linux/random.h>
#include <linux/socket.h>
#include <net/ipv6.h>

#include "table.h"

#define V4(a, b, c, d) htonl((a) << 24 | (b) << 16 | (c) << 8 | (d))

static void tuple_v4_is_mapped(struct kunit *test)
{
	struct chim_tuple t;

	memset(&t, 0xa5, sizeof(t));
	chim_tuple_init4(&t, V4(10, 0, 0, 1), htons(80), V4(10, 0, 0, 2), htons(4000));

	KUNIT_EXPECT_EQ(test, t.family, AF_INET);
	KUNIT_EXPECT_TRUE(test, ipv6_addr_v4mapped(&t.laddr));
	KUNIT_EXPECT_EQ(test, t.laddr.s6_addr32[3], V4(10, 0, 0, 1));
	KUNIT_EXPECT_EQ(test, t.raddr.s6_addr32[3], V4(10, 0, 0, 2));
	KUNIT_EXPECT_EQ(test, t.lport, htons(80));
	KUNIT_EXPECT_EQ(test, t.rport, htons(4000));
	/* Padding is cleared, so the whole struct can be hashed. */
	KUNIT_EXPECT_EQ(test, t.pad[0] | t.pad[1] | t.pad[2], 0);
}

static void tuple_hash_is_stable(struct kunit *test)
{
	struct chim_tuple a, b;

	chim_tuple_init4(&a, V4(10, 0, 0, 1), htons(80), V4(10, 0, 0, 2), htons(4000));
	chim_tuple_init4(&b, V4(10, 0, 0, 1), htons(80), V4(10, 0, 0, 2), htons(4000));
	KUNIT_EXPECT_EQ(test, chim_tuple_hash(&a), chim_tuple_hash(&b));
}

struct hash_case {
	const char *name;
	void (*other)(struct chim_tuple *t);
};

static void swap_ports(struct chim_tuple *t)
{
	swap(t->lport, t->rport);
}

static void swap_addrs(struct chim_tuple *t)
{
	swap(t->laddr, t->raddr);
}

static void as_ipv6(struct chim_tuple *t)
{
	t->family = AF_INET6;
}

static void next_port(struct chim_tuple *t)
{
	t->rport = htons(ntohs(t->rport) + 1);
}

static const struct hash_case hash_cases[] = {
	{ "ports swapped", swap_ports },
	{ "addresses swapped", swap_addrs },
	{ "same bytes as IPv6", as_ipv6 },
	{ "next remote port", next_port },
};

static void hash_case_desc(const struct hash_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(hash, hash_cases, hash_case_desc);

static void tuple_hash_differs(struct kunit *test)
{
	const struct hash_case *c = test->param_value;
	struct chim_tuple a, b;

	chim_tuple_init4(&a, V4(10, 0, 0, 1), htons(80), V4(10, 0, 0, 2), htons(4000));
	b = a;
	c->other(&b);

	KUNIT_EXPECT_NE(test, memcmp(&a, &b, sizeof(a)), 0);
	KUNIT_EXPECT_NE(test, chim_tuple_hash(&a), chim_tuple_hash(&b));
}

static void home_cpu_bounds(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, chim_home_cpu(0), 0u);
	KUNIT_EXPECT_EQ(test, chim_home_cpu(U32_MAX), nr_cpu_ids - 1);
	KUNIT_EXPECT_TRUE(test, cpu_possible(chim_home_cpu(U32_MAX)));
}

static void home_cpu_spreads(struct kunit *test)
{
	unsigned int *hits;
	unsigned int i, cpu;

	hits = kunit_kcalloc(test, nr_cpu_ids, sizeof(*hits), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, hits);

	for (i = 0; i < 4096; i++) {
		cpu = chim_home_cpu(get_random_u32());
		KUNIT_ASSERT_TRUE(test, cpu_possible(cpu));
		hits[cpu]++;
	}
	/* RSS-like spreading: every CPU gets a fair share, none is starved. */
	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_GT(test, hits[cpu], 4096 / nr_cpu_ids / 2);
}

static struct kunit_case table_cases[] = {
	KUNIT_CASE(tuple_v4_is_mapped),
	KUNIT_CASE(tuple_hash_is_stable),
	KUNIT_CASE_PARAM(tuple_hash_differs, hash_gen_params),
	KUNIT_CASE(home_cpu_bounds),
	KUNIT_CASE(home_cpu_spreads),
	{}
};

static struct kunit_suite table_suite = {
	.name = "chimney_table",
	.test_cases = table_cases,
};

kunit_test_suite(table_suite);
