// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated NIC's receive side: an NF_NETDEV_INGRESS hook on the bound
 * device, registered for as long as the target is attached.  It costs
 * other traffic one counter test while the target runs no connection, one
 * per-CPU table lookup per TCP segment while it runs some; segments of
 * offloaded connections (and ICMP errors quoting one) are stolen.
 *
 * The hook is not registered and unregistered with the connections: a
 * registration flips static keys of the receive path, which patches the
 * code that other CPUs are running, and connections come and go while
 * traffic flows.  An attach and a detach are rare by comparison.
 *
 * With its engine, input.c runs the segment; without it, hold.c holds it
 * for the stock stack and asks for an upload.
 */
#include <kunit/visibility.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/netfilter_netdev.h>
#include <linux/tcp.h>
#include <net/ip.h>

#include "emu.h"

/* The tuple of a TCP header at @off in an IPv4 packet, seen from here. */
static bool tuple4(struct sk_buff *skb, const struct iphdr *iph,
		   unsigned int off, bool quoted, struct chim_tuple *t,
		   u32 *payload)
{
	struct tcphdr _th;
	const struct tcphdr *th;

	/* A quoted header needs only its ports (the first 8 bytes). */
	th = skb_header_pointer(skb, off, quoted ? 4 : sizeof(_th), &_th);
	if (!th)
		return false;
	if (quoted) {	/* our own segment: we are the source */
		chim_tuple_init4(t, iph->saddr, th->source, iph->daddr, th->dest);
		return true;
	}
	chim_tuple_init4(t, iph->daddr, th->dest, iph->saddr, th->source);
	/* The frame may still carry Ethernet padding: the IP length counts. */
	*payload = max_t(int, ntohs(iph->tot_len) - off - th->doff * 4, 0);
	return true;
}

static bool parse4(struct sk_buff *skb, struct chim_tuple *t, u32 *payload)
{
	struct iphdr _iph, _inner;
	const struct iphdr *iph, *inner;
	struct icmphdr _ih;
	const struct icmphdr *ih;
	unsigned int off;

	iph = skb_header_pointer(skb, 0, sizeof(_iph), &_iph);
	if (!iph || iph->version != 4 || iph->ihl < 5 || ip_is_fragment(iph))
		return false;
	off = iph->ihl * 4;
	if (iph->protocol == IPPROTO_TCP)
		return tuple4(skb, iph, off, false, t, payload);
	if (iph->protocol != IPPROTO_ICMP)
		return false;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih || (ih->type != ICMP_DEST_UNREACH && ih->type != ICMP_TIME_EXCEEDED))
		return false;
	off += sizeof(_ih);
	inner = skb_header_pointer(skb, off, sizeof(_inner), &_inner);
	if (!inner || inner->ihl < 5 || inner->protocol != IPPROTO_TCP)
		return false;
	return tuple4(skb, inner, off + inner->ihl * 4, true, t, payload);
}

static bool tuple6(struct sk_buff *skb, const struct ipv6hdr *ip6,
		   unsigned int off, bool quoted, struct chim_tuple *t,
		   u32 *payload)
{
	struct tcphdr _th;
	const struct tcphdr *th;

	th = skb_header_pointer(skb, off, quoted ? 4 : sizeof(_th), &_th);
	if (!th)
		return false;
	if (quoted) {
		chim_tuple_init6(t, &ip6->saddr, th->source, &ip6->daddr, th->dest);
		return true;
	}
	chim_tuple_init6(t, &ip6->daddr, th->dest, &ip6->saddr, th->source);
	*payload = max_t(int, ntohs(ip6->payload_len) - th->doff * 4, 0);
	return true;
}

/* Extension headers are not looked through: such segments pass. */
static bool parse6(struct sk_buff *skb, struct chim_tuple *t, u32 *payload)
{
	struct ipv6hdr _ip6, _inner;
	const struct ipv6hdr *ip6, *inner;
	struct icmp6hdr _ih;
	const struct icmp6hdr *ih;
	unsigned int off = sizeof(_ip6);

	ip6 = skb_header_pointer(skb, 0, sizeof(_ip6), &_ip6);
	if (!ip6 || ip6->version != 6)
		return false;
	if (ip6->nexthdr == IPPROTO_TCP)
		return tuple6(skb, ip6, off, false, t, payload);
	if (ip6->nexthdr != IPPROTO_ICMPV6)
		return false;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih || (ih->icmp6_type != ICMPV6_PKT_TOOBIG &&
		    ih->icmp6_type != ICMPV6_DEST_UNREACH &&
		    ih->icmp6_type != ICMPV6_TIME_EXCEED))
		return false;
	off += sizeof(_ih);
	inner = skb_header_pointer(skb, off, sizeof(_inner), &_inner);
	if (!inner || inner->nexthdr != IPPROTO_TCP)
		return false;
	return tuple6(skb, inner, off + sizeof(_inner), true, t, payload);
}

static unsigned int chim_rx_hook(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct chim_emu *emu = priv;
	struct chim_table_entry *e;
	struct chim_emu_conn *ec;
	struct chim_tuple t;
	u32 payload = 0;
	bool ok;

	if (!atomic_read(&emu->table.count))
		return NF_ACCEPT;
	if (skb_vlan_tag_present(skb))
		return NF_ACCEPT;
	if (skb->protocol == htons(ETH_P_IP))
		ok = parse4(skb, &t, &payload);
	else if (skb->protocol == htons(ETH_P_IPV6))
		ok = parse6(skb, &t, &payload);
	else
		ok = false;
	if (!ok)
		return NF_ACCEPT;
	/* The core holds rcu_read_lock() around ingress hooks. */
	e = chim_table_lookup_rcu(&emu->table, &t);
	if (!e)
		return NF_ACCEPT;
	ec = container_of(e, struct chim_emu_conn, entry);
	if (READ_ONCE(emu->engine))
		return chim_eng_rx(emu, ec, skb, payload);
	return chim_emu_rx_hold(emu, ec, skb, payload);
}

/**
 * chim_emu_rx_start() - the target sees @dev's traffic from now on
 * @emu: the target, running no connection yet
 * @dev: the device it is attached to
 *
 * Context: process, RTNL held.
 * Return: 0 or the hook's registration error.
 */
int chim_emu_rx_start(struct chim_emu *emu, struct net_device *dev)
{
	int err;

	emu->rx_hook.hook = chim_rx_hook;
	emu->rx_hook.pf = NFPROTO_NETDEV;
	emu->rx_hook.hooknum = NF_NETDEV_INGRESS;
	emu->rx_hook.priority = INT_MIN + 1;
	emu->rx_hook.dev = dev;
	emu->rx_hook.priv = emu;
	err = nf_register_net_hook(dev_net(dev), &emu->rx_hook);
	if (!err)
		emu->dev = dev;
	return err;
}

/**
 * chim_emu_rx_stop() - the target goes: no hook any more
 * @emu: the target, running no connection
 *
 * Unregistering a hook frees its entry after a grace period but does not
 * wait for one; @emu is freed next, so this waits.
 *
 * Context: process.
 */
void chim_emu_rx_stop(struct chim_emu *emu)
{
	if (!emu->dev)
		return;
	nf_unregister_net_hook(dev_net(emu->dev), &emu->rx_hook);
	/* A hook already called may still read @emu: let it return. */
	synchronize_net();
	emu->dev = NULL;
}
