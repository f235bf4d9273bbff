// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated NIC's transmit side: the frames its engine sends for a
 * connection it runs, built from the offloaded state alone (the neighbor's
 * MAC addresses, the path's addresses, the connection's ports, TTL or hop
 * limit, TOS or traffic class, timestamps), as a NIC builds them from its
 * own tables: no socket, no route lookup, nothing of the host's stack.
 *
 * The checksums are computed here, in software, so that a frame is right
 * on any device; the headers are linear.
 */
#include <kunit/visibility.h>
#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "emu.h"

/* NOP, NOP, timestamp: what the engine puts in every segment with TS. */
#define CHIM_TS_OPT_LEN		TCPOLEN_TSTAMP_ALIGNED

static bool conn_v6(const struct chim_emu_conn *ec)
{
	return ec->path->path.c.family == AF_INET6;
}

/* NOP, NOP, SACK with @n blocks. */
static unsigned int sack_opt_len(unsigned int n)
{
	return n ? 4 + n * TCPOLEN_SACK_PERBLOCK : 0;
}

static void put_tcp(struct sk_buff *skb, const struct chim_emu_conn *ec,
		    const struct chim_eng_seg *seg, bool ts)
{
	unsigned int hlen = sizeof(struct tcphdr) + (ts ? CHIM_TS_OPT_LEN : 0) +
			    sack_opt_len(seg->nr_sacks);
	struct tcphdr *th = skb_push(skb, hlen);
	__be32 *opt = (__be32 *)(th + 1);
	unsigned int i;

	skb_reset_transport_header(skb);
	memset(th, 0, sizeof(*th));
	th->source = ec->c.local_port;
	th->dest = ec->c.remote_port;
	th->seq = htonl(seg->seq);
	th->ack_seq = htonl(seg->ack);
	th->doff = hlen / 4;
	tcp_flag_byte(th) = seg->flags;
	th->window = htons(seg->win);
	if (ts) {
		*opt++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
			       (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP);
		*opt++ = htonl(seg->tsval);
		*opt++ = htonl(seg->tsecr);
	}
	if (seg->nr_sacks) {
		*opt++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
			       (TCPOPT_SACK << 8) |
			       (TCPOLEN_SACK_BASE +
				seg->nr_sacks * TCPOLEN_SACK_PERBLOCK));
		for (i = 0; i < seg->nr_sacks; i++) {
			*opt++ = htonl(seg->sack[i][0]);
			*opt++ = htonl(seg->sack[i][1]);
		}
	}
}

/*
 * The TCP checksum left to the device (CHECKSUM_PARTIAL; the stack
 * finishes it in software on the way out for a device that cannot): the
 * field holds the pseudo-header's sum, @pseudo being its checksum as
 * csum_*_magic() give it for no payload.
 */
static void put_csum_partial(struct sk_buff *skb, struct tcphdr *th,
			     __sum16 pseudo)
{
	th->check = ~pseudo;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct tcphdr, check);
	skb->ip_summed = CHECKSUM_PARTIAL;
}

/* The sum of the TCP segment (header and payload) that @th starts. */
static __wsum tcp_sum(const struct sk_buff *skb, unsigned int tcplen)
{
	return skb_checksum(skb, skb_transport_offset(skb), tcplen, 0);
}

static void put_ipv4(struct sk_buff *skb, const struct chim_emu_conn *ec,
		     bool partial)
{
	const struct chim_path_const *p = &ec->path->path.c;
	unsigned int tcplen = skb->len;
	struct tcphdr *th = tcp_hdr(skb);
	struct iphdr *iph;

	iph = skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = ec->cached.tos_or_traffic_class;
	iph->tot_len = htons(skb->len);
	/* Atomic datagrams (DF): the ID carries nothing (RFC 6864). */
	iph->id = 0;
	iph->frag_off = htons(IP_DF);
	iph->ttl = ec->cached.ttl_or_hop_limit;
	iph->protocol = IPPROTO_TCP;
	iph->saddr = p->source_address.s6_addr32[3];
	iph->daddr = p->destination_address.s6_addr32[3];
	ip_send_check(iph);
	th->check = 0;
	if (partial)
		put_csum_partial(skb, th, csum_tcpudp_magic(iph->saddr, iph->daddr,
							    tcplen, IPPROTO_TCP, 0));
	else
		th->check = csum_tcpudp_magic(iph->saddr, iph->daddr, tcplen,
					      IPPROTO_TCP, tcp_sum(skb, tcplen));
	skb->protocol = htons(ETH_P_IP);
}

static void put_ipv6(struct sk_buff *skb, const struct chim_emu_conn *ec,
		     bool partial)
{
	const struct chim_path_const *p = &ec->path->path.c;
	unsigned int tcplen = skb->len;
	struct tcphdr *th = tcp_hdr(skb);
	struct ipv6hdr *ip6h;

	ip6h = skb_push(skb, sizeof(*ip6h));
	skb_reset_network_header(skb);
	ip6_flow_hdr(ip6h, ec->cached.tos_or_traffic_class,
		     htonl(ec->cached.flow_label) & IPV6_FLOWLABEL_MASK);
	ip6h->payload_len = htons(tcplen);
	ip6h->nexthdr = IPPROTO_TCP;
	ip6h->hop_limit = ec->cached.ttl_or_hop_limit;
	ip6h->saddr = p->source_address;
	ip6h->daddr = p->destination_address;
	th->check = 0;
	if (partial)
		put_csum_partial(skb, th, csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
							  tcplen, IPPROTO_TCP, 0));
	else
		th->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, tcplen,
					    IPPROTO_TCP, tcp_sum(skb, tcplen));
	skb->protocol = htons(ETH_P_IPV6);
}

/**
 * chim_eng_csum_offload() - whether @dev computes the TCP checksum of a
 *	frame of this family itself
 * @dev: the device
 * @v6: IPv6, else IPv4
 *
 * Return: true when it does (the engine then leaves it CHECKSUM_PARTIAL).
 */
bool chim_eng_csum_offload(const struct net_device *dev, bool v6)
{
	netdev_features_t f = READ_ONCE(dev->features);

	return f & (NETIF_F_HW_CSUM | (v6 ? NETIF_F_IPV6_CSUM : NETIF_F_IP_CSUM));
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_csum_offload);

/**
 * chim_eng_gso_segs() - how many segments of one MSS the engine may put in
 *	one frame for @dev to cut (TSO)
 * @ec: the connection (its family and MSS)
 * @dev: the device it leaves by
 *
 * Only where the device segments TCP of that family itself, with
 * scatter-gather and checksums: elsewhere the engine sends one segment
 * per frame, as it cut them.  A frame stays within the legacy 64 KiB of
 * an IP datagram and the device's limits.
 *
 * Return: at least 1.
 */
u32 chim_eng_gso_segs(const struct chim_emu_conn *ec,
		      const struct net_device *dev)
{
	netdev_features_t f = READ_ONCE(dev->features);
	bool v6 = conn_v6(ec);
	u32 room;

	if (!(f & (v6 ? NETIF_F_TSO6 : NETIF_F_TSO)) || !(f & NETIF_F_SG) ||
	    !chim_eng_csum_offload(dev, v6) || !ec->mss)
		return 1;
	room = min_t(u32, READ_ONCE(dev->gso_max_size), GSO_LEGACY_MAX_SIZE) -
	       (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) -
	       sizeof(struct tcphdr) - MAX_TCP_OPTION_SPACE;
	return clamp_t(u32, room / ec->mss, 1,
		       min_t(u32, READ_ONCE(dev->gso_max_segs), CHIM_ENG_GSO_SEGS));
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_gso_segs);

/* A frame with room for the headers and @len bytes of payload, put. */
static struct sk_buff *frame_alloc(struct net_device *dev, bool v6, u32 len)
{
	unsigned int hdrs = (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
			    sizeof(struct tcphdr) + MAX_TCP_OPTION_SPACE;
	struct sk_buff *skb;

	skb = alloc_skb(LL_RESERVED_SPACE(dev) + hdrs + len, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_RESERVED_SPACE(dev) + hdrs);
	skb_put(skb, len);
	return skb;
}

/* The headers in front of the payload @skb holds: TCP, IP, link. */
static struct sk_buff *frame_finish(struct sk_buff *skb,
				    const struct chim_emu_conn *ec,
				    struct net_device *dev,
				    const struct chim_eng_seg *seg)
{
	const struct chim_neigh_state *n = &ec->path->parent->neigh;
	bool v6 = conn_v6(ec);
	bool partial = skb_is_gso(skb) || chim_eng_csum_offload(dev, v6);

	put_tcp(skb, ec, seg, ec->c.flags & CHIM_TCP_FLAG_TIMESTAMP_ENABLED);
	if (v6)
		put_ipv6(skb, ec, partial);
	else
		put_ipv4(skb, ec, partial);
	skb->dev = dev;
	skb->priority = ec->cached.user_priority;
	/* One flow, one transmit queue: the connection's HashValue. */
	skb_set_hash(skb, ec->c.hash_value, PKT_HASH_TYPE_L4);
	if (dev_hard_header(skb, dev, ntohs(skb->protocol),
			    n->cached.dl_destination_address,
			    n->c.dl_source_address, skb->len) < 0) {
		kfree_skb(skb);
		return NULL;
	}
	skb_reset_mac_header(skb);
	return skb;
}

/**
 * chim_eng_frame() - a TCP segment of a connection the target runs, as a
 *	frame for its device
 * @ec: the connection, with its path and neighbor contexts
 * @dev: the device it leaves by
 * @seg: the TCP header's variable fields
 * @data: the payload, or NULL for none
 * @off: where the payload starts in @data
 * @len: its length (at most the connection's MSS: no segmentation here)
 *
 * The frame carries the timestamp option when the connection negotiated
 * timestamps, and @seg's SACK blocks.  Context: any; allocates with GFP_ATOMIC.
 *
 * Return: the frame, ready for dev_queue_xmit(), or NULL without memory
 * (or when @data is shorter than @off + @len).
 */
struct sk_buff *chim_eng_frame(const struct chim_emu_conn *ec,
			       struct net_device *dev,
			       const struct chim_eng_seg *seg,
			       const struct sk_buff *data, u32 off, u32 len)
{
	struct sk_buff *skb = frame_alloc(dev, conn_v6(ec), len);

	if (!skb)
		return NULL;
	if (len && skb_copy_bits(data, off, skb->data, len)) {
		kfree_skb(skb);
		return NULL;
	}
	return frame_finish(skb, ec, dev, seg);
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_frame);

/* Copy @len bytes of @q from @off (counted from its first byte) to @to. */
static int copy_from_queue(const struct sk_buff_head *q, u32 off, u8 *to,
			   u32 len)
{
	const struct sk_buff *p;

	skb_queue_walk(q, p) {
		u32 n;

		if (!len)
			break;
		if (off >= p->len) {
			off -= p->len;
			continue;
		}
		n = min(len, p->len - off);
		if (skb_copy_bits(p, off, to, n))
			return -EFAULT;
		to += n;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

/*
 * The payload of a frame of several segments, in page fragments: at most
 * 64 KiB, so at most 16 pages.
 */
static int gso_payload(struct sk_buff *skb, const struct sk_buff_head *q,
		       u32 off, u32 len, u32 mss, bool v6)
{
	u32 segs = DIV_ROUND_UP(len, mss);

	while (len) {
		u32 n = min_t(u32, len, PAGE_SIZE);
		struct page *page;
		int i = skb_shinfo(skb)->nr_frags;

		if (i == MAX_SKB_FRAGS)
			return -EMSGSIZE;
		page = alloc_page(GFP_ATOMIC);
		if (!page)
			return -ENOMEM;
		skb_fill_page_desc(skb, i, page, 0, n);
		skb->len += n;
		skb->data_len += n;
		skb->truesize += PAGE_SIZE;
		if (copy_from_queue(q, off, page_address(page), n))
			return -EFAULT;
		off += n;
		len -= n;
	}
	skb_shinfo(skb)->gso_size = mss;
	skb_shinfo(skb)->gso_segs = segs;
	skb_shinfo(skb)->gso_type = v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4;
	return 0;
}

/**
 * chim_eng_data_frame() - chim_eng_frame() with its payload from a queue
 * @ec: the connection, with its path and neighbor contexts
 * @dev: the device it leaves by
 * @seg: the TCP header's variable fields
 * @q: the payload's queue (the send chain)
 * @off: where the payload starts, counted from the queue's first byte
 * @len: its length, which may span several skbs of @q
 *
 * Over @ec->mss bytes, one frame of several segments for the device to
 * cut (GSO, within chim_eng_gso_segs()): the payload in page fragments,
 * each segment one MSS but the last, @seg's fields in the first (the
 * device gives each the next sequence number, and FIN and PSH to the last
 * only).
 *
 * Context: any, @q stable (the connection's lock); allocates with
 * GFP_ATOMIC.
 * Return: the frame, or NULL without memory or when @q is too short.
 */
struct sk_buff *chim_eng_data_frame(const struct chim_emu_conn *ec,
				    struct net_device *dev,
				    const struct chim_eng_seg *seg,
				    const struct sk_buff_head *q, u32 off,
				    u32 len)
{
	bool gso = len > ec->mss, v6 = conn_v6(ec);
	struct sk_buff *skb = frame_alloc(dev, v6, gso ? 0 : len);

	if (!skb)
		return NULL;
	if (gso ? gso_payload(skb, q, off, len, ec->mss, v6) :
		  copy_from_queue(q, off, skb->data, len)) {
		kfree_skb(skb);
		return NULL;
	}
	return frame_finish(skb, ec, dev, seg);
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_data_frame);
