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
 * that has a ULP (ours included: it was tried once) is never queued again,
 * but for one that came back for a send stuck in the stock stack (its next
 * segment queues it once more).
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

/* One device's rule, as the offload-rule hook sees it. */
struct chim_auto_rule {
	int ifindex;
	struct chim_policy p;
};

/* Every rule of a namespace, copied for the hook under RCU. */
struct chim_auto_rules {
	struct rcu_head rcu;
	unsigned int n;
	struct chim_auto_rule r[];
};

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
	struct chim_dev *cd = chim_sock_route_dev(sk, false);

	if (cd)
		auto_offload_dev(cd, sk);
}

static void auto_work(struct work_struct *work)
{
	struct chim_auto *a = container_of(work, struct chim_auto, work);
	struct chim_auto_req *r, *tmp;
	unsigned int n = 0;
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
		/* Each offload may wait for the target: RTNL a batch at a time. */
		if (++n % CHIM_RTNL_BATCH == 0) {
			rtnl_unlock();
			cond_resched();
			rtnl_lock();
		}
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
	struct chim_sock *csk;
	struct chim_tuple t;
	unsigned int i;

	if (!sk || !dst || !sk_fullsock(sk) || sk->sk_protocol != IPPROTO_TCP ||
	    sk->sk_type != SOCK_STREAM ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED ||
	    !READ_ONCE(sk->sk_socket))
		return NF_ACCEPT;
	/*
	 * A socket with a ULP only when ours lets the rule try again: it came
	 * back for a send stuck in the stock stack (chim_release_cb()), or its
	 * first offload was put off (chim_sock_offload()).
	 */
	if (READ_ONCE(inet_csk(sk)->icsk_ulp_ops)) {
		csk = chim_sock_ctx_rcu(sk);
		if (!csk || !READ_ONCE(csk->reoffload) ||
		    READ_ONCE(csk->state) != CHIM_SK_HOST)
			return NF_ACCEPT;
	}
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

static void auto_scan_work(struct work_struct *work);

/**
 * chim_auto_init() - a namespace's offload rules, none yet
 * @net: the namespace
 * @cn: its state
 */
void chim_auto_init(struct net *net, struct chim_net *cn)
{
	struct chim_auto *a = &cn->rules;
	int i;

	a->net = net;
	spin_lock_init(&a->lock);
	INIT_LIST_HEAD(&a->pending);
	INIT_WORK(&a->work, auto_work);
	INIT_WORK(&a->scan_work, auto_scan_work);
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
	cancel_work_sync(&a->scan_work);
	cancel_work_sync(&a->work);
	list_for_each_entry_safe(r, tmp, &a->pending, node) {
		sock_put(r->sk);
		kfree(r);
	}
	INIT_LIST_HEAD(&a->pending);
	a->npending = 0;
}

/*
 * A socket of the established hash that a rule of a device in @pending
 * matches (the rules' RCU copy; checked again under RTNL).  Its route is
 * checked by the offload (it may be gone with a link that went down).
 */
static bool scan_wants(const struct chim_auto_rules *rules,
		       const int *pending, unsigned int npending,
		       struct net *net, struct sock *sk)
{
	struct chim_tuple t;
	unsigned int i, j;

	/* Time-wait and request socks are never ESTABLISHED. */
	if (!rules || !net_eq(sock_net(sk), net) ||
	    sk->sk_state != TCP_ESTABLISHED || !chim_sock_may_offload(sk) ||
	    !READ_ONCE(sk->sk_socket))
		return false;
	chim_sock_tuple(sk, &t);
	for (i = 0; i < rules->n; i++)
		for (j = 0; j < npending; j++)
			if (rules->r[i].ifindex == pending[j] &&
			    chim_policy_match(&rules->r[i].p, &t))
				return true;
	return false;
}

/* Under RTNL: offload @sk through the pending devices that still exist. */
static void scan_offload(struct net *net, const int *pending,
			 unsigned int npending, struct sock *sk)
{
	struct net_device *dev;
	struct chim_dev *cd;
	unsigned int j;

	for (j = 0; j < npending; j++) {
		dev = __dev_get_by_index(net, pending[j]);
		cd = dev ? chim_dev_lookup(dev) : NULL;
		if (cd)
			auto_offload_dev(cd, sk);
	}
}

/* The devices whose scan was asked for, by ifindex; their flags cleared. */
static int *scan_take_pending(struct chim_net *cn, unsigned int *n)
{
	unsigned int count = 0, i = 0;
	struct chim_dev *cd;
	int *pending;

	rtnl_lock();
	list_for_each_entry(cd, &cn->devs, node)
		count += cd->scan_pending;
	pending = count ? kmalloc_array(count, sizeof(*pending), GFP_KERNEL) : NULL;
	list_for_each_entry(cd, &cn->devs, node) {
		if (pending && cd->scan_pending)
			pending[i++] = cd->dev->ifindex;
		cd->scan_pending = false;
	}
	rtnl_unlock();
	*n = i;
	return pending;
}

/*
 * The walk of the established hash: a bucket at a time, references taken
 * under the bucket lock, offloads done under RTNL, taken a batch at a time
 * so that a walk over many connections never holds it long.
 */
static void auto_scan_work(struct work_struct *work)
{
	struct chim_auto *a = container_of(work, struct chim_auto, scan_work);
	struct chim_net *cn = container_of(a, struct chim_net, rules);
	struct net *net = a->net;
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;
	unsigned int b, npending;
	struct sock **batch;
	int *pending;

	pending = scan_take_pending(cn, &npending);
	if (!pending)
		return;
	batch = kmalloc_array(CHIM_AUTO_BATCH, sizeof(*batch), GFP_KERNEL);
	for (b = 0; batch && b <= h->ehash_mask; b++) {
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
				if (scan_wants(rcu_dereference(a->rules), pending,
					       npending, net, sk) &&
				    refcount_inc_not_zero(&sk->sk_refcnt))
					batch[n++] = sk;
			}
			spin_unlock_bh(inet_ehash_lockp(h, b));
			rcu_read_unlock();
			if (n) {
				rtnl_lock();
				for (i = 0; i < n; i++)
					scan_offload(net, pending, npending, batch[i]);
				rtnl_unlock();
			}
			for (i = 0; i < n; i++)
				sock_put(batch[i]);
			cond_resched();
			/* A full batch: the bucket has more; each pass decides its sockets. */
		} while (n == CHIM_AUTO_BATCH && ++passes < 16);
	}
	kfree(batch);
	kfree(pending);
}

/**
 * chim_auto_resume() - a cause of a device's pause is over
 * @cd: the binding
 * @why: the CHIM_PAUSE_* cause
 *
 * When the device resumed (chim_dev_resume()), its offload rules apply to
 * the established connections again.
 *
 * Context: RTNL held; sleeps.
 */
void chim_auto_resume(struct chim_dev *cd, unsigned int why)
{
	if (chim_dev_resume(cd, why) && cd->nr_policies && !cd->link_down)
		chim_auto_scan(cd);
}

/**
 * chim_auto_scan() - offload the established connections the device's
 *	rules match
 * @cd: the device, which just got a rule, or takes offloads again
 *
 * Asks for a walk of the namespace's established hash, which a work item
 * does (RTNL is taken a batch of offloads at a time).
 *
 * Context: RTNL held.
 */
void chim_auto_scan(struct chim_dev *cd)
{
	ASSERT_RTNL();
	cd->scan_pending = true;
	queue_work(system_unbound_wq, &chim_net(dev_net(cd->dev))->rules.scan_work);
}
