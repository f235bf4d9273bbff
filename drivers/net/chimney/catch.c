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
