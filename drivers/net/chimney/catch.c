// SPDX-License-Identifier: GPL-2.0
/*
 * The catch: keeps a frozen socket frozen whatever way its segments come.
 *
 * The target's ingress hook (rx.c) steals the segments it recognises on
 * its device.  What it does not see (IP fragments, IPv6 extension
 * headers, VLAN-tagged frames, segments that come in through another
 * device) reaches tcp_v4_rcv()/tcp_v6_rcv(), which hand a segment to an
 * unowned socket directly: the stock stack would process it on the frozen
 * state, and the restore would then rewind what it changed.  Two hooks in
 * each namespace that has a device with a target:
 *
 *  - NF_INET_LOCAL_IN (IPv4 after reassembly): a segment of a frozen
 *    socket is held by the socket and goes through the stack again after
 *    its upload (chim_sock_catch()).  IPv6 is reassembled after this hook:
 *    a first fragment for a frozen socket is dropped (the peer retransmits
 *    the segment), a later one cannot be told apart and is left alone.
 *  - NF_INET_LOCAL_OUT: whatever a frozen socket would send is dropped and
 *    counted (chim_sock_guard()).
 *
 * The frozen socket's side comes first: what the hooks take, held by the
 * socket until its upload gives it back (chim_sock_release_caught()).
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/tcp.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "dev.h"
#include "sock.h"

/* ---- the frozen socket's side -------------------------------------------- */

/*
 * The catch takes what the stock stack would process for a frozen socket
 * outside its device's ingress hook (IP fragments reassembled, IPv6
 * extension headers, VLAN-tagged frames, another ingress device): were the
 * stock stack to process such a segment, the restore would rewind the
 * state it moved (rcv_nxt, snd_una).  Held segments go back into the stack
 * once the socket is restored; the peer retransmits what is dropped.
 */

/**
 * chim_sock_catch() - take a segment the stock receive path would give a
 *	frozen socket
 * @sk: the established socket the segment belongs to
 * @skb: the segment, its data at the network header (NF_INET_LOCAL_IN)
 * @drop: hold nothing, drop it (an IPv6 first fragment: its reassembly
 *	would come to the socket without passing the catch again)
 *
 * Context: softirq, RCU read side.
 * Return: true when the segment was taken (held or freed), false when
 * @sk is not frozen and the stock stack may have it.
 */
static bool chim_sock_catch(struct sock *sk, struct sk_buff *skb, bool drop)
{
	struct chim_sock *csk = chim_sock_ctx_rcu(sk);
	bool ask;

	if (!csk || !READ_ONCE(csk->catching))
		return false;
	spin_lock(&csk->catch_lock);
	if (!csk->catching) {
		spin_unlock(&csk->catch_lock);
		return false;
	}
	if (drop || csk->caught_size + skb->truesize > READ_ONCE(sk->sk_rcvbuf)) {
		atomic64_inc(&csk->catch_host->frozen_dropped);
		spin_unlock(&csk->catch_lock);
		kfree_skb(skb);
		return true;
	}
	/* Nothing may tie it to this pass: it goes through the stack again. */
	skb_orphan(skb);
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	csk->caught_size += skb->truesize;
	__skb_queue_tail(&csk->caught, skb);
	atomic64_inc(&csk->catch_host->frozen_caught);
	/* The target never saw it: ask it for the upload it would ask. */
	ask = skb_queue_len(&csk->caught) == 1;
	spin_unlock(&csk->catch_lock);
	if (ask)
		chim_sock_queue_ask(sk, csk);
	return true;
}

/**
 * chim_sock_guard() - whether a segment a socket sends must be dropped
 * @sk: the sending socket, a full TCP socket
 *
 * A frozen socket must stay silent: the target runs its connection.
 * Nothing known sends from one; this catches what would, and counts it
 * (the tests assert the count stays 0).
 *
 * Context: any but hardirq, RCU read side.
 * Return: true when it is frozen (the segment is counted and must be
 * dropped).
 */
static bool chim_sock_guard(const struct sock *sk)
{
	struct chim_sock *csk = chim_sock_ctx_rcu(sk);
	bool frozen;

	if (!csk || !READ_ONCE(csk->catching))
		return false;
	spin_lock_bh(&csk->catch_lock);
	frozen = csk->catching;
	if (frozen)
		atomic64_inc(&csk->catch_host->frozen_tx_dropped);
	spin_unlock_bh(&csk->catch_lock);
	if (frozen)
		net_warn_ratelimited("chimney: a frozen socket sent a segment (dropped)\n");
	return frozen;
}

/**
 * chim_sock_stop_catching() - the connection comes back: the catch lets go
 *	of the socket
 * @csk: the socket's context
 *
 * Context: process, socket locked.
 */
void chim_sock_stop_catching(struct chim_sock *csk)
{
	spin_lock_bh(&csk->catch_lock);
	WRITE_ONCE(csk->catching, false);
	spin_unlock_bh(&csk->catch_lock);
}

/**
 * chim_sock_release_caught() - what the catch held goes through the stack
 *	again, now that the socket is restored
 * @sk: the socket
 * @csk: its context
 * @drop: free what was held instead: the connection was reset
 *
 * Each segment is handed to the stack from the device it came in on (freed
 * when that device is gone).
 *
 * Context: process, after chim_sock_stop_catching().
 */
void chim_sock_release_caught(struct sock *sk, struct chim_sock *csk,
			      bool drop)
{
	struct sk_buff_head q;
	struct net_device *dev;
	struct sk_buff *skb;

	__skb_queue_head_init(&q);
	spin_lock_bh(&csk->catch_lock);
	skb_queue_splice_init(&csk->caught, &q);
	csk->caught_size = 0;
	spin_unlock_bh(&csk->catch_lock);
	rcu_read_lock();
	while ((skb = __skb_dequeue(&q))) {
		dev = drop ? NULL : dev_get_by_index_rcu(sock_net(sk), skb->skb_iif);
		if (!dev) {
			kfree_skb(skb);
			continue;
		}
		skb->dev = dev;
		netif_rx(skb);
	}
	rcu_read_unlock();
}

/* ---- the hooks ----------------------------------------------------------- */

/*
 * The established socket of a received segment, with a reference (drop
 * it with sock_gen_put()), or NULL.  Early demux may have found it.
 */
static struct sock *catch_lookup(struct net *net, struct sk_buff *skb,
				 bool v6, unsigned int thoff)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;
	struct tcphdr _th;
	const struct tcphdr *th;
	struct sock *sk = skb->sk;

	if (sk)
		return sk_is_refcounted(sk) &&
		       refcount_inc_not_zero(&sk->sk_refcnt) ? sk : NULL;
	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	if (!th)
		return NULL;
	if (v6)
		return __inet6_lookup_established(net, hinfo, &ipv6_hdr(skb)->saddr,
						  th->source, &ipv6_hdr(skb)->daddr,
						  ntohs(th->dest), inet6_iif(skb),
						  inet6_sdif(skb));
	return __inet_lookup_established(net, hinfo, ip_hdr(skb)->saddr,
					 th->source, ip_hdr(skb)->daddr,
					 ntohs(th->dest), inet_iif(skb),
					 inet_sdif(skb));
}

static unsigned int catch_in(struct net *net, struct sk_buff *skb, bool v6,
			     unsigned int thoff, bool fragment)
{
	unsigned int verdict = NF_ACCEPT;
	struct sock *sk;

	sk = catch_lookup(net, skb, v6, thoff);
	if (!sk)
		return NF_ACCEPT;
	if (sk_fullsock(sk) && chim_sock_catch(sk, skb, fragment))
		verdict = NF_STOLEN;
	sock_gen_put(sk);
	return verdict;
}

static unsigned int catch_in4(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	if (ip_hdr(skb)->protocol != IPPROTO_TCP)
		return NF_ACCEPT;
	return catch_in(state->net, skb, false, ip_hdrlen(skb), false);
}

static unsigned int catch_in6(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	unsigned short frag_off = 0;
	unsigned int thoff = 0;
	int flags = 0;

	/* A later fragment (-ENOENT) carries no ports. */
	if (ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, &frag_off, &flags) !=
	    IPPROTO_TCP)
		return NF_ACCEPT;
	return catch_in(state->net, skb, true, thoff, flags & IP6_FH_F_FRAG);
}

static unsigned int catch_out(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct sock *sk = skb->sk;

	if (!sk || !sk_fullsock(sk) || sk->sk_protocol != IPPROTO_TCP)
		return NF_ACCEPT;
	return chim_sock_guard(sk) ? NF_DROP : NF_ACCEPT;
}

static const struct nf_hook_ops catch_ops[] = {
	{
		.hook = catch_in4,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP_PRI_LAST,
	},
	{
		.hook = catch_in6,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP6_PRI_LAST,
	},
	{
		.hook = catch_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
	{
		.hook = catch_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP6_PRI_FIRST,
	},
};

/**
 * chim_catch_update() - the catch's hooks in a namespace while it has a
 *	device with a target
 * @net: the namespace, whose list of devices just changed
 *
 * A socket is frozen only after its device got a target, and thawed before
 * the device loses it, so the hooks cover every frozen socket.
 *
 * Context: RTNL held.
 * Return: 0, or the error of the hooks' registration (the attach fails).
 */
int chim_catch_update(struct net *net)
{
	struct chim_net *cn = chim_net(net);
	bool want = !list_empty(&cn->devs);
	int err;

	ASSERT_RTNL();
	if (want == cn->catching)
		return 0;
	if (want) {
		err = nf_register_net_hooks(net, catch_ops, ARRAY_SIZE(catch_ops));
		if (err)
			return err;
	} else {
		nf_unregister_net_hooks(net, catch_ops, ARRAY_SIZE(catch_ops));
	}
	cn->catching = want;
	return 0;
}
