// SPDX-License-Identifier: GPL-2.0
/*
 * Offload rules at work: the module offloads the connections a rule
 * matches by itself, attaching the chimney ULP to them.
 *
 * Connections already established when a rule is added are found by a
 * walk of the namespace's established hash.  Those established later are
 * seen by an NF_INET_LOCAL_OUT hook, registered while the namespace has a
 * rule: the first segment a connection sends out (the handshake's last
 * ACK for an active open, the first ACK or data after accept() for a
 * passive one) queues it, and a work item offloads it under RTNL.  The
 * hook costs other traffic a few field tests per segment; a connection
 * that has a ULP (ours included: it was tried once) is never queued again.
 * The walk is done again when a device takes offloads again (its link came
 * back, a pause ended): then connections with our ULP, uploaded meanwhile,
 * are offloaded again too.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/inet_hashtables.h>
#include <net/tcp.h>

#include "defs.h"
#include "dev.h"
#include "sock.h"

struct chim_auto_req {
	struct list_head node;
	struct sock *sk;
};

/* Offload @sk through @cd if a rule of @cd matches it. */
static void auto_offload_dev(struct chim_dev *cd, struct sock *sk)
{
	const struct chim_policy *p;
	struct chim_tuple t;

	ASSERT_RTNL();
	if (!chim_sock_may_offload(sk) ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED || chim_dev_refuses(cd))
		return;
	chim_sock_tuple(sk, &t);
	p = chim_dev_match(cd, &t);
	if (p)
		chim_sock_offload(sk, cd, p->priority, NULL);
}

/* A segment of @sk went out: offload it through the device it left by. */
static void auto_offload(struct sock *sk)
{
	struct dst_entry *dst = sk_dst_get(sk);
	struct chim_dev *cd;

	if (!dst)
		return;
	cd = chim_dev_lookup(dst->dev);
	if (cd)
		auto_offload_dev(cd, sk);
	dst_release(dst);
}

static void auto_work(struct work_struct *work)
{
	struct chim_auto *a = container_of(work, struct chim_auto, work);
	struct chim_auto_req *r, *tmp;
	LIST_HEAD(list);

	spin_lock_bh(&a->lock);
	list_splice_init(&a->pending, &list);
	a->npending = 0;
	spin_unlock_bh(&a->lock);

	rtnl_lock();
	list_for_each_entry_safe(r, tmp, &list, node) {
		auto_offload(r->sk);
		sock_put(r->sk);
		kfree(r);
	}
	rtnl_unlock();
}

/* Queue @sk for the work, once. */
static void auto_queue(struct chim_auto *a, struct sock *sk)
{
	struct chim_auto_req *r;

	spin_lock_bh(&a->lock);
	list_for_each_entry(r, &a->pending, node)
		if (r->sk == sk)
			goto out;
	if (a->npending >= CHIM_AUTO_PENDING_MAX)
		goto out;	/* its next segment tries again */
	r = kmalloc(sizeof(*r), GFP_ATOMIC);
	if (!r)
		goto out;
	sock_hold(sk);
	r->sk = sk;
	list_add_tail(&r->node, &a->pending);
	a->npending++;
	schedule_work(&a->work);
out:
	spin_unlock_bh(&a->lock);
}

static unsigned int auto_hook(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct chim_auto *a = priv;
	const struct chim_auto_rules *rules;
	struct dst_entry *dst = skb_dst(skb);
	struct sock *sk = skb->sk;
	struct chim_tuple t;
	unsigned int i;

	if (!sk || !dst || !sk_fullsock(sk) || sk->sk_protocol != IPPROTO_TCP ||
	    sk->sk_type != SOCK_STREAM ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED ||
	    READ_ONCE(inet_csk(sk)->icsk_ulp_ops) || !READ_ONCE(sk->sk_socket))
		return NF_ACCEPT;
	/* The core holds rcu_read_lock() around netfilter hooks. */
	rules = rcu_dereference(a->rules);
	if (!rules)
		return NF_ACCEPT;
	chim_sock_tuple(sk, &t);
	for (i = 0; i < rules->n; i++) {
		if (rules->r[i].ifindex == dst->dev->ifindex &&
		    chim_policy_match(&rules->r[i].p, &t)) {
			auto_queue(a, sk);
			break;
		}
	}
	return NF_ACCEPT;
}

/**
 * chim_auto_init() - a namespace's offload rules, none yet
 * @cn: the namespace's state
 */
void chim_auto_init(struct chim_net *cn)
{
	struct chim_auto *a = &cn->rules;
	int i;

	spin_lock_init(&a->lock);
	INIT_LIST_HEAD(&a->pending);
	INIT_WORK(&a->work, auto_work);
	for (i = 0; i < ARRAY_SIZE(a->hooks); i++) {
		a->hooks[i].hook = auto_hook;
		a->hooks[i].priv = a;
		a->hooks[i].pf = i ? NFPROTO_IPV6 : NFPROTO_IPV4;
		a->hooks[i].hooknum = NF_INET_LOCAL_OUT;
		a->hooks[i].priority = INT_MAX;	/* after everything else */
	}
}

/**
 * chim_auto_update() - the rules changed: new copy for the hook
 * @net: the namespace
 *
 * Registers the hook with the first rule and unregisters it with the last.
 *
 * Context: RTNL held.
 */
void chim_auto_update(struct net *net)
{
	struct chim_net *cn = chim_net(net);
	struct chim_auto *a = &cn->rules;
	struct chim_auto_rules *rules = NULL, *old;
	const struct chim_policy *p;
	struct chim_dev *cd;
	unsigned int n = 0;

	ASSERT_RTNL();
	list_for_each_entry(cd, &cn->devs, node)
		n += cd->nr_policies;
	if (n)
		rules = kvzalloc(struct_size(rules, r, n), GFP_KERNEL);
	if (rules) {
		list_for_each_entry(cd, &cn->devs, node)
			list_for_each_entry(p, &cd->policies, node) {
				rules->r[rules->n].ifindex = cd->dev->ifindex;
				rules->r[rules->n++].p = *p;
			}
	}
	old = rcu_replace_pointer(a->rules, rules, lockdep_rtnl_is_held());
	if (old)
		kvfree_rcu(old, rcu);

	if (rules && !a->hooked)
		a->hooked = !nf_register_net_hooks(net, a->hooks,
						   ARRAY_SIZE(a->hooks));
	else if (!rules && a->hooked) {
		nf_unregister_net_hooks(net, a->hooks, ARRAY_SIZE(a->hooks));
		a->hooked = false;
	}
}

/**
 * chim_auto_exit() - the namespace goes: no hook, nothing pending
 * @net: the namespace, without devices any more
 *
 * Context: process, RTNL not held.
 */
void chim_auto_exit(struct net *net)
{
	struct chim_auto *a = &chim_net(net)->rules;
	struct chim_auto_req *r, *tmp;

	rtnl_lock();
	chim_auto_update(net);
	rtnl_unlock();
	cancel_work_sync(&a->work);
	list_for_each_entry_safe(r, tmp, &a->pending, node) {
		sock_put(r->sk);
		kfree(r);
	}
	INIT_LIST_HEAD(&a->pending);
	a->npending = 0;
}

/*
 * A socket of the established hash that a rule of @cd matches.  Its route
 * is checked by the offload (it may be gone with a link that went down).
 */
static bool scan_wants(struct chim_dev *cd, struct net *net, struct sock *sk)
{
	struct chim_tuple t;

	/* Time-wait and request socks are never ESTABLISHED. */
	if (!net_eq(sock_net(sk), net) || sk->sk_state != TCP_ESTABLISHED ||
	    !chim_sock_may_offload(sk) || !READ_ONCE(sk->sk_socket))
		return false;
	chim_sock_tuple(sk, &t);
	return chim_dev_match(cd, &t);
}

/**
 * chim_auto_scan() - offload the established connections the device's
 *	rules match
 * @cd: the device, which just got a rule, or takes offloads again
 *
 * Walks the namespace's established hash a bucket at a time, taking
 * references under the bucket lock and offloading outside it.
 *
 * Context: RTNL held; sleeps.
 */
void chim_auto_scan(struct chim_dev *cd)
{
	struct net *net = dev_net(cd->dev);
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;
	struct sock **batch;
	unsigned int b;

	ASSERT_RTNL();
	batch = kmalloc_array(CHIM_AUTO_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return;
	for (b = 0; b <= h->ehash_mask; b++) {
		struct inet_ehash_bucket *head = &h->ehash[b];
		unsigned int i, n, passes = 0;

		if (hlist_nulls_empty(&head->chain))
			continue;
		do {
			struct hlist_nulls_node *node;
			struct sock *sk;

			n = 0;
			rcu_read_lock();
			spin_lock_bh(inet_ehash_lockp(h, b));
			sk_nulls_for_each(sk, node, &head->chain) {
				if (n == CHIM_AUTO_BATCH)
					break;
				if (scan_wants(cd, net, sk) &&
				    refcount_inc_not_zero(&sk->sk_refcnt))
					batch[n++] = sk;
			}
			spin_unlock_bh(inet_ehash_lockp(h, b));
			rcu_read_unlock();
			for (i = 0; i < n; i++) {
				auto_offload_dev(cd, batch[i]);
				sock_put(batch[i]);
			}
			/* A full batch: the bucket has more; each pass decides its sockets. */
		} while (n == CHIM_AUTO_BATCH && ++passes < 16);
	}
	kfree(batch);
}
