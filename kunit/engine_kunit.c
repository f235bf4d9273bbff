// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the emulated NIC's engine.  Frames built from the offloaded state
 * alone are checked field by field, their checksums verified the way a
 * receiver verifies them, on a real (unregistered) Ethernet device; each
 * kind of received segment gets its verdict and, when punted, its reason.
 */
#include <kunit/test.h>
#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/inet.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <net/gso.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/tcp.h>

#include "emu/emu.h"
#include "object.h"

static const u8 our_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const u8 peer_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

/* A connection as the target holds it, with its path and neighbor. */
struct eng_fixture {
	struct chim_emu_obj neigh;
	struct chim_emu_obj path;
	struct chim_emu_conn ec;
	struct net_device *dev;
};

static void fixture_exit(void *arg)
{
	free_netdev(arg);
}

static struct eng_fixture *fixture(struct kunit *test, bool v6, bool ts)
{
	struct eng_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct chim_path_const *p;

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->dev = alloc_etherdev(0);
	KUNIT_ASSERT_NOT_NULL(test, f->dev);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fixture_exit,
							f->dev), 0);
	f->neigh.type = CHIM_OBJ_NEIGH;
	ether_addr_copy(f->neigh.neigh.c.dl_source_address, our_mac);
	ether_addr_copy(f->neigh.neigh.cached.dl_destination_address, peer_mac);
	f->path.type = CHIM_OBJ_PATH;
	f->path.parent = &f->neigh;
	p = &f->path.path.c;
	if (v6) {
		p->family = AF_INET6;
		KUNIT_ASSERT_EQ(test, in6_pton("2001:db8::1", -1,
					       p->source_address.s6_addr, -1,
					       NULL), 1);
		KUNIT_ASSERT_EQ(test, in6_pton("2001:db8::2", -1,
					       p->destination_address.s6_addr,
					       -1, NULL), 1);
	} else {
		p->family = AF_INET;
		ipv6_addr_set_v4mapped(htonl(0xc0000201), &p->source_address);
		ipv6_addr_set_v4mapped(htonl(0xc0000202), &p->destination_address);
	}
	f->ec.path = &f->path;
	f->ec.c.local_port = htons(40000);
	f->ec.c.remote_port = htons(5201);
	f->ec.c.flags = ts ? CHIM_TCP_FLAG_TIMESTAMP_ENABLED : 0;
	f->ec.c.hash_value = 0x1234abcd;
	f->ec.cached.ttl_or_hop_limit = 61;
	f->ec.cached.tos_or_traffic_class = 0x10;
	f->ec.cached.flow_label = 0xabcde;
	f->ec.cached.user_priority = 3;
	return f;
}

static const struct chim_eng_seg test_seg = {
	.seq = 0xfffffff0,	/* wraps inside the payload */
	.ack = 0x10203040,
	.tsval = 0x01020304,
	.tsecr = 0x0a0b0c0d,
	.win = 0x1234,
	.flags = TCPHDR_ACK | TCPHDR_PSH,
};

/* The payload source: an skb with a pattern, read from an offset. */
static struct sk_buff *payload(struct kunit *test, unsigned int len)
{
	struct sk_buff *skb = alloc_skb(len, GFP_KERNEL);
	unsigned int i;
	u8 *p;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	p = skb_put(skb, len);
	for (i = 0; i < len; i++)
		p[i] = i * 7 + 1;
	return skb;
}

/* The TCP header at @l4, checked against the fixture and test_seg. */
static struct tcphdr *check_tcp(struct kunit *test, void *l4, bool ts)
{
	struct tcphdr *th = l4;

	KUNIT_EXPECT_EQ(test, th->source, htons(40000));
	KUNIT_EXPECT_EQ(test, th->dest, htons(5201));
	KUNIT_EXPECT_EQ(test, ntohl(th->seq), test_seg.seq);
	KUNIT_EXPECT_EQ(test, ntohl(th->ack_seq), test_seg.ack);
	KUNIT_EXPECT_EQ(test, ntohs(th->window), test_seg.win);
	KUNIT_EXPECT_EQ(test, tcp_flag_byte(th), test_seg.flags);
	KUNIT_EXPECT_EQ(test, th->doff * 4, ts ? 32 : 20);
	if (ts) {
		const u8 *o = (const u8 *)(th + 1);

		KUNIT_EXPECT_EQ(test, o[0], TCPOPT_NOP);
		KUNIT_EXPECT_EQ(test, o[1], TCPOPT_NOP);
		KUNIT_EXPECT_EQ(test, o[2], TCPOPT_TIMESTAMP);
		KUNIT_EXPECT_EQ(test, o[3], TCPOLEN_TIMESTAMP);
		KUNIT_EXPECT_EQ(test, get_unaligned_be32(o + 4), test_seg.tsval);
		KUNIT_EXPECT_EQ(test, get_unaligned_be32(o + 8), test_seg.tsecr);
	}
	return th;
}

static void check_eth(struct kunit *test, struct sk_buff *skb, u16 proto)
{
	const struct ethhdr *eth = eth_hdr(skb);

	KUNIT_EXPECT_PTR_EQ(test, skb->data, (unsigned char *)eth);
	KUNIT_EXPECT_TRUE(test, ether_addr_equal(eth->h_dest, peer_mac));
	KUNIT_EXPECT_TRUE(test, ether_addr_equal(eth->h_source, our_mac));
	KUNIT_EXPECT_EQ(test, eth->h_proto, htons(proto));
	KUNIT_EXPECT_EQ(test, skb->protocol, htons(proto));
	KUNIT_EXPECT_EQ(test, skb->priority, 3U);
	KUNIT_EXPECT_EQ(test, skb->hash, 0x1234abcdU);
	KUNIT_EXPECT_TRUE(test, skb->l4_hash);
}

static void check_payload(struct kunit *test, const u8 *got,
			  struct sk_buff *src, unsigned int off,
			  unsigned int len)
{
	KUNIT_EXPECT_EQ(test, memcmp(got, src->data + off, len), 0);
}

/* IPv4, timestamps, 1000 bytes from offset 100 of a 1500-byte source. */
static void frame_ipv4_ts_payload(struct kunit *test)
{
	struct eng_fixture *f = fixture(test, false, true);
	struct sk_buff *src = payload(test, 1500);
	unsigned int tcplen = 32 + 1000;
	struct sk_buff *skb;
	struct tcphdr *th;
	struct iphdr *iph;

	skb = chim_eng_frame(&f->ec, f->dev, &test_seg, src, 100, 1000);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	check_eth(test, skb, ETH_P_IP);
	KUNIT_EXPECT_EQ(test, skb->len, ETH_HLEN + 20 + tcplen);
	iph = ip_hdr(skb);
	KUNIT_EXPECT_PTR_EQ(test, (u8 *)iph, skb->data + ETH_HLEN);
	KUNIT_EXPECT_EQ(test, iph->version + 0, 4);
	KUNIT_EXPECT_EQ(test, iph->ihl + 0, 5);
	KUNIT_EXPECT_EQ(test, iph->tos, 0x10);
	KUNIT_EXPECT_EQ(test, iph->ttl, 61);
	KUNIT_EXPECT_EQ(test, iph->protocol, IPPROTO_TCP);
	KUNIT_EXPECT_EQ(test, iph->frag_off, htons(IP_DF));
	KUNIT_EXPECT_EQ(test, ntohs(iph->tot_len), 20 + tcplen);
	KUNIT_EXPECT_EQ(test, iph->saddr, htonl(0xc0000201));
	KUNIT_EXPECT_EQ(test, iph->daddr, htonl(0xc0000202));
	KUNIT_EXPECT_EQ(test, ip_fast_csum(iph, iph->ihl), 0);
	th = check_tcp(test, iph + 1, true);
	KUNIT_EXPECT_PTR_EQ(test, (u8 *)th, skb_transport_header(skb));
	/* What a receiver does: the pseudo-header sum over it all is 0. */
	KUNIT_EXPECT_EQ(test, csum_tcpudp_magic(iph->saddr, iph->daddr, tcplen,
						IPPROTO_TCP,
						csum_partial(th, tcplen, 0)), 0);
	check_payload(test, (u8 *)th + 32, src, 100, 1000);
	kfree_skb(skb);
	kfree_skb(src);
}

/* IPv6, no timestamps, a pure ACK (no payload). */
static void frame_ipv6_ack(struct kunit *test)
{
	struct eng_fixture *f = fixture(test, true, false);
	struct sk_buff *skb;
	struct ipv6hdr *ip6h;
	struct tcphdr *th;

	skb = chim_eng_frame(&f->ec, f->dev, &test_seg, NULL, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	check_eth(test, skb, ETH_P_IPV6);
	KUNIT_EXPECT_EQ(test, skb->len, ETH_HLEN + 40 + 20);
	ip6h = ipv6_hdr(skb);
	KUNIT_EXPECT_EQ(test, ip6h->version + 0, 6);
	KUNIT_EXPECT_EQ(test, ip6_tclass(ip6_flowinfo(ip6h)), 0x10);
	KUNIT_EXPECT_EQ(test, ntohl(ip6_flowlabel(ip6h)), 0xabcdeU);
	KUNIT_EXPECT_EQ(test, ip6h->hop_limit, 61);
	KUNIT_EXPECT_EQ(test, ip6h->nexthdr, IPPROTO_TCP);
	KUNIT_EXPECT_EQ(test, ntohs(ip6h->payload_len), 20);
	KUNIT_EXPECT_TRUE(test, ipv6_addr_equal(&ip6h->saddr,
						&f->path.path.c.source_address));
	KUNIT_EXPECT_TRUE(test, ipv6_addr_equal(&ip6h->daddr,
						&f->path.path.c.destination_address));
	th = check_tcp(test, ip6h + 1, false);
	KUNIT_EXPECT_EQ(test, csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, 20,
					      IPPROTO_TCP,
					      csum_partial(th, 20, 0)), 0);
	kfree_skb(skb);
}

/* IPv6 with timestamps and a payload from a paged (non-linear) source. */
static void frame_ipv6_paged_payload(struct kunit *test)
{
	struct eng_fixture *f = fixture(test, true, true);
	struct sk_buff *src = alloc_skb_with_frags(0, 3000, 0, &(int){0},
						   GFP_KERNEL);
	unsigned int i, tcplen = 32 + 2000;
	struct sk_buff *skb;
	struct ipv6hdr *ip6h;
	struct tcphdr *th;
	u8 *want;

	KUNIT_ASSERT_NOT_NULL(test, src);
	src->len = 3000;
	src->data_len = 3000;
	want = kunit_kmalloc(test, 3000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want);
	for (i = 0; i < 3000; i++)
		want[i] = i * 13 + 5;
	KUNIT_ASSERT_EQ(test, skb_store_bits(src, 0, want, 3000), 0);

	skb = chim_eng_frame(&f->ec, f->dev, &test_seg, src, 500, 2000);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	ip6h = ipv6_hdr(skb);
	KUNIT_EXPECT_EQ(test, ntohs(ip6h->payload_len), tcplen);
	th = check_tcp(test, ip6h + 1, true);
	KUNIT_EXPECT_EQ(test, csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
					      tcplen, IPPROTO_TCP,
					      csum_partial(th, tcplen, 0)), 0);
	KUNIT_EXPECT_EQ(test, memcmp((u8 *)th + 32, want + 500, 2000), 0);
	kfree_skb(skb);

	/* A payload beyond the source is refused, not read. */
	KUNIT_EXPECT_NULL(test, chim_eng_frame(&f->ec, f->dev, &test_seg, src,
					       2500, 1000));
	kfree_skb(src);
}

/* The device segments TCP and sums it itself (e1000, virtio_net...). */
static void offloading_dev(struct eng_fixture *f)
{
	f->dev->features |= NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_TSO |
			    NETIF_F_TSO6;
}

/* The TCP sum of a segment a receiver gets, over its pseudo-header: 0. */
static __sum16 rx_sum(struct sk_buff *skb, bool v6)
{
	unsigned int tcplen = skb->len - skb_transport_offset(skb);
	__wsum sum = skb_checksum(skb, skb_transport_offset(skb), tcplen, 0);

	if (v6)
		return csum_ipv6_magic(&ipv6_hdr(skb)->saddr, &ipv6_hdr(skb)->daddr,
				       tcplen, IPPROTO_TCP, sum);
	return csum_tcpudp_magic(ip_hdr(skb)->saddr, ip_hdr(skb)->daddr, tcplen,
				 IPPROTO_TCP, sum);
}

/*
 * A device that sums: one segment leaves CHECKSUM_PARTIAL, and finished
 * the way the stack finishes it for a device that cannot, it is right.
 */
static void frame_checksum_offload(struct kunit *test)
{
	struct eng_fixture *f = fixture(test, false, true);
	struct sk_buff *src = payload(test, 1500);
	struct sk_buff *skb;

	offloading_dev(f);
	skb = chim_eng_frame(&f->ec, f->dev, &test_seg, src, 100, 1000);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_EXPECT_EQ(test, skb->ip_summed + 0, CHECKSUM_PARTIAL);
	KUNIT_EXPECT_PTR_EQ(test, skb_checksum_start(skb), skb_transport_header(skb));
	KUNIT_EXPECT_FALSE(test, skb_is_gso(skb));
	KUNIT_ASSERT_EQ(test, skb_checksum_help(skb), 0);
	KUNIT_EXPECT_EQ(test, rx_sum(skb, false), 0);
	check_payload(test, skb_transport_header(skb) + 32, src, 100, 1000);
	kfree_skb(skb);
	kfree_skb(src);
}

/*
 * A device that segments: 4,500 bytes of a send chain of two skbs, with
 * an MSS of 1,000, are one frame of five segments (the last 500 bytes);
 * cut as the stack cuts it for a device that cannot, each segment has its
 * sequence number, the timestamp, PSH on the last only, its bytes and a
 * right checksum.
 */
static void frame_gso(struct kunit *test, bool v6)
{
	struct eng_fixture *f = fixture(test, v6, true);
	struct sk_buff *segs, *seg, *next;
	struct sk_buff_head q;
	unsigned int i = 0, got = 0;
	struct sk_buff *skb;
	u8 *want;

	offloading_dev(f);
	f->ec.mss = 1000;
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 45U);
	want = kunit_kmalloc(test, 6000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want);
	__skb_queue_head_init(&q);
	__skb_queue_tail(&q, payload(test, 3000));
	__skb_queue_tail(&q, payload(test, 3000));
	KUNIT_ASSERT_EQ(test, skb_copy_bits(skb_peek(&q), 0, want, 3000), 0);
	KUNIT_ASSERT_EQ(test, skb_copy_bits(skb_peek_tail(&q), 0, want + 3000,
					    3000), 0);

	skb = chim_eng_data_frame(&f->ec, f->dev, &test_seg, &q, 500, 4500);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_EXPECT_TRUE(test, skb_is_gso(skb));
	KUNIT_EXPECT_EQ(test, skb_shinfo(skb)->gso_size, 1000);
	KUNIT_EXPECT_EQ(test, skb_shinfo(skb)->gso_segs, 5);
	KUNIT_EXPECT_TRUE(test, skb_shinfo(skb)->gso_type &
			  (v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4));
	KUNIT_EXPECT_EQ(test, skb->ip_summed + 0, CHECKSUM_PARTIAL);

	segs = skb_gso_segment(skb, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(segs));
	kfree_skb(skb);
	skb_list_walk_safe(segs, seg, next) {
		struct tcphdr *th = tcp_hdr(seg);
		u32 len = seg->len - skb_transport_offset(seg) - th->doff * 4;

		skb_mark_not_on_list(seg);
		if (seg->ip_summed == CHECKSUM_PARTIAL)
			KUNIT_EXPECT_EQ(test, skb_checksum_help(seg), 0);
		KUNIT_EXPECT_EQ(test, len, min(1000U, 4500 - got));
		KUNIT_EXPECT_EQ(test, ntohl(th->seq), test_seg.seq + got);
		KUNIT_EXPECT_EQ(test, ntohl(th->ack_seq), test_seg.ack);
		KUNIT_EXPECT_EQ(test, th->doff * 4, 32);
		KUNIT_EXPECT_EQ(test, get_unaligned_be32((u8 *)(th + 1) + 4),
				test_seg.tsval);
		KUNIT_EXPECT_EQ(test, !!th->psh, i == 4);
		KUNIT_EXPECT_EQ(test, rx_sum(seg, v6), 0);
		KUNIT_EXPECT_EQ(test, memcmp((u8 *)th + 32, want + 500 + got, len), 0);
		got += len;
		i++;
		kfree_skb(seg);
	}
	KUNIT_EXPECT_EQ(test, i, 5U);
	KUNIT_EXPECT_EQ(test, got, 4500U);
	__skb_queue_purge(&q);
}

static void frame_gso_v4(struct kunit *test)
{
	frame_gso(test, false);
}

static void frame_gso_v6(struct kunit *test)
{
	frame_gso(test, true);
}

/* A device that does not segment, or does not sum, gets one per frame. */
static void gso_only_where_the_device_segments(struct kunit *test)
{
	struct eng_fixture *f = fixture(test, false, true);

	f->ec.mss = 1448;
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 1U);
	offloading_dev(f);
	/* 45 * 1,448 bytes and the headers fit 64 KiB. */
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 45U);
	f->dev->features &= ~NETIF_F_TSO;
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 1U);
	f->dev->features |= NETIF_F_TSO;
	f->dev->features &= ~NETIF_F_HW_CSUM;
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 1U);
	KUNIT_EXPECT_FALSE(test, chim_eng_csum_offload(f->dev, false));
	f->dev->features |= NETIF_F_HW_CSUM;
	f->dev->gso_max_segs = 8;
	KUNIT_EXPECT_EQ(test, chim_eng_gso_segs(&f->ec, f->dev), 8U);
}

/* ---- what a received segment is ------------------------------------- */

struct classify_case {
	const char *name;
	u32 rcv_nxt;
	u32 seq;
	u32 len;
	u32 ack;
	u8 flags;
	u32 tsval;	/* 0: no timestamp option */
	enum chim_eng_verdict verdict;
	enum chim_upload_reason reason;	/* of a punt */
};

#define A	TCPHDR_ACK
#define RQ	CHIM_REASON_UPLOAD_REQUESTED

/* snd_una = snd_max = 5000, ts_recent = 100, window 65535 from rcv_nxt. */
static const struct classify_case classify_cases[] = {
	{ "in-order data", 1000, 1000, 100, 5000, A | TCPHDR_PSH, 200,
	  CHIM_ENG_DATA },
	{ "pure ACK", 1000, 1000, 0, 5000, A, 200, CHIM_ENG_ACK },
	{ "no timestamp option", 1000, 1000, 100, 5000, A, 0, CHIM_ENG_DATA },
	{ "data across the sequence wrap", 0xfffffff0, 0xfffffff0, 0x20, 5000,
	  A, 200, CHIM_ENG_DATA },
	{ "old data", 1000, 900, 100, 5000, A, 200, CHIM_ENG_DUP },
	{ "old pure ACK", 1000, 999, 0, 5000, A, 200, CHIM_ENG_DUP },
	/* The engine trims the old part. */
	{ "partly old data", 1000, 950, 100, 5000, A, 200, CHIM_ENG_DATA },
	{ "partly old data and FIN", 1000, 950, 100, 5000, A | TCPHDR_FIN, 200,
	  CHIM_ENG_FIN, CHIM_REASON_DISCONNECT },
	/* Beyond a hole: the out-of-order queue (its reason when full). */
	{ "a hole before it", 1000, 1100, 100, 5000, A, 200, CHIM_ENG_OOO,
	  CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS },
	{ "pure ACK beyond a hole", 1000, 1100, 0, 5000, A, 200, CHIM_ENG_ACK },
	{ "urgent data", 1000, 1000, 1, 5000, A | TCPHDR_URG, 200,
	  CHIM_ENG_PUNT, CHIM_REASON_RECEIVED_URGENT_DATA },
	{ "FIN in order", 1000, 1000, 0, 5000, A | TCPHDR_FIN, 200,
	  CHIM_ENG_FIN, CHIM_REASON_DISCONNECT },
	{ "data and FIN", 1000, 1000, 10, 5000, A | TCPHDR_FIN, 200,
	  CHIM_ENG_FIN, CHIM_REASON_DISCONNECT },
	{ "FIN after a hole", 1000, 1100, 0, 5000, A | TCPHDR_FIN, 200,
	  CHIM_ENG_PUNT, CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS },
	{ "RST in order", 1000, 1000, 0, 5000, A | TCPHDR_RST, 200,
	  CHIM_ENG_ABORT, CHIM_REASON_ABORT },
	{ "RST without ACK", 1000, 1000, 0, 5000, TCPHDR_RST, 0,
	  CHIM_ENG_ABORT, CHIM_REASON_ABORT },
	/* RFC 5961 3.2: a challenge ACK, the connection goes on. */
	{ "RST in the window", 1000, 1200, 0, 5000, TCPHDR_RST, 0,
	  CHIM_ENG_DUP },
	{ "RST beyond the window", 1000, 70000, 0, 5000, TCPHDR_RST, 0,
	  CHIM_ENG_DROP },
	{ "old RST", 1000, 900, 0, 5000, TCPHDR_RST, 200, CHIM_ENG_DROP },
	{ "SYN", 1000, 1000, 0, 5000, A | TCPHDR_SYN, 200, CHIM_ENG_PUNT, RQ },
	{ "no ACK flag", 1000, 1000, 10, 5000, TCPHDR_PSH, 200, CHIM_ENG_DROP },
	{ "ACK of data never sent", 1000, 1000, 10, 6000, A, 200, CHIM_ENG_DUP },
	{ "old ACK, new data", 1000, 1000, 10, 4000, A, 200, CHIM_ENG_DATA },
	{ "old timestamp (PAWS)", 1000, 1000, 10, 5000, A, 50, CHIM_ENG_DUP },
	{ "beyond the window", 1000, 1000, 70000, 5000, A, 200, CHIM_ENG_DUP },
};

#undef A
#undef RQ

static void classify_desc(const struct classify_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(classify, classify_cases, classify_desc);

/* Each segment gets its verdict, a punt its Part 1 reason. */
static void classify_segment(struct kunit *test)
{
	const struct classify_case *c = test->param_value;
	struct chim_tcp_delegated d = {
		.rcv_nxt = c->rcv_nxt,
		.snd_una = 5000,
		.snd_max = 5000,
		.ts_recent = 100,
	};
	struct chim_eng_in in = {
		.seq = c->seq,
		.end_seq = c->seq + c->len,
		.ack = c->ack,
		.len = c->len,
		.flags = c->flags,
		.has_ts = c->tsval,
		.tsval = c->tsval,
	};
	enum chim_upload_reason reason;

	KUNIT_EXPECT_EQ(test, chim_eng_classify(&d, true, c->rcv_nxt + 65535,
						&in, &reason), c->verdict);
	if (c->verdict == CHIM_ENG_PUNT || c->verdict == CHIM_ENG_FIN ||
	    c->verdict == CHIM_ENG_ABORT)
		KUNIT_EXPECT_EQ(test, reason, c->reason);
}

/* The header fields and the timestamp option, among others or alone. */
static void parse_header(struct kunit *test)
{
	u8 buf[sizeof(struct tcphdr) + 20] = {};
	struct tcphdr *th = (struct tcphdr *)buf;
	u8 *o = buf + sizeof(*th);
	struct chim_eng_in in;

	th->seq = htonl(7);
	th->ack_seq = htonl(9);
	th->window = htons(512);
	tcp_flag_byte(th) = TCPHDR_ACK | TCPHDR_PSH;
	th->doff = 10;
	/* SACK-permitted, NOP, timestamp 0x11223344/0x55667788, EOL */
	o[0] = TCPOPT_SACK_PERM;
	o[1] = TCPOLEN_SACK_PERM;
	o[2] = TCPOPT_NOP;
	o[3] = TCPOPT_TIMESTAMP;
	o[4] = TCPOLEN_TIMESTAMP;
	put_unaligned_be32(0x11223344, o + 5);
	put_unaligned_be32(0x55667788, o + 9);
	o[13] = TCPOPT_EOL;
	KUNIT_ASSERT_TRUE(test, chim_eng_parse(th, 30, &in));
	KUNIT_EXPECT_EQ(test, in.seq, 7U);
	KUNIT_EXPECT_EQ(test, in.end_seq, 37U);
	KUNIT_EXPECT_EQ(test, in.ack, 9U);
	KUNIT_EXPECT_EQ(test, in.win, 512);
	KUNIT_EXPECT_EQ(test, in.flags, TCPHDR_ACK | TCPHDR_PSH);
	KUNIT_EXPECT_TRUE(test, in.has_ts);
	KUNIT_EXPECT_EQ(test, in.tsval, 0x11223344U);
	KUNIT_EXPECT_EQ(test, in.tsecr, 0x55667788U);

	/* An option whose length runs past the header is malformed. */
	o[0] = TCPOPT_MSS;
	o[1] = 30;
	KUNIT_EXPECT_FALSE(test, chim_eng_parse(th, 0, &in));
	/* So is a length below 2. */
	o[1] = 1;
	KUNIT_EXPECT_FALSE(test, chim_eng_parse(th, 0, &in));
	/* No option at all: no timestamp. */
	th->doff = 5;
	KUNIT_EXPECT_TRUE(test, chim_eng_parse(th, 0, &in));
	KUNIT_EXPECT_FALSE(test, in.has_ts);
}

/* ---- window updates after a read ------------------------------------ */

/*
 * A read that makes room opens the window only for a real gain (half the
 * room or one MSS), never moves the right edge left, and only while the
 * engine runs the connection.
 */
static void window_update_after_read(struct kunit *test)
{
	struct chim_emu *emu = kunit_kzalloc(test, sizeof(*emu), GFP_KERNEL);
	struct eng_fixture *f = fixture(test, false, true);
	struct chim_emu_conn *ec = &f->ec;

	KUNIT_ASSERT_NOT_NULL(test, emu);
	spin_lock_init(&ec->lock);
	chim_eng_init(emu, ec);
	ec->c.remote_mss = 1460;
	ec->d.rcv_nxt = 1000;
	ec->rcv_edge = 1000;	/* closed */
	ec->engine = true;

	KUNIT_EXPECT_TRUE(test, chim_eng_window_update(emu, ec, 64000));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 65000U);
	KUNIT_EXPECT_EQ(test, ec->d.rcv_wnd, 64000U);
	/* 500 more is less than one MSS: no segment for it. */
	KUNIT_EXPECT_FALSE(test, chim_eng_window_update(emu, ec, 64500));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 65000U);
	/* Without scaling, at most 65535 from RcvNxt. */
	KUNIT_EXPECT_TRUE(test, chim_eng_window_update(emu, ec, 100000));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 1000U + 65535);
	/* Less room than advertised: the edge stays. */
	KUNIT_EXPECT_FALSE(test, chim_eng_window_update(emu, ec, 10));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 1000U + 65535);
	/* Scaled by 2^7: the edge moves by multiples of 128. */
	ec->c.flags |= CHIM_TCP_FLAG_WINDOW_SCALING_ENABLED;
	ec->c.rcv_wind_scale = 7;
	KUNIT_EXPECT_TRUE(test, chim_eng_window_update(emu, ec, 1000000));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 1000U + (1000000U >> 7 << 7));
	/* Once the engine stopped (punt, terminate): nothing. */
	ec->engine = false;
	KUNIT_EXPECT_FALSE(test, chim_eng_window_update(emu, ec, 4000000));
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 1000U + (1000000U >> 7 << 7));
}

/* ---- the transmit side ---------------------------------------------- */

/* What the owner learns of completions (chim_send_complete()). */
struct sent_log {
	struct chim_conn conn;
	u32 snd_una;
	u32 bytes;
};

static void log_sent(struct chim_conn *conn, u32 snd_una, u32 bytes)
{
	struct sent_log *log = container_of(conn, struct sent_log, conn);

	log->snd_una = snd_una;
	log->bytes += bytes;
}

static const struct chim_conn_ops log_ops = { .sent = log_sent };

/*
 * A connection the engine sends for: SndUna 5000, MSS 1000, Nagle, a
 * congestion window of three segments, the peer's window of 64 KB, and
 * 5,500 bytes to send in two linear skbs (1,500 and 4,000: a segment
 * spans them).  Byte i of the data is (i * 7 + 1).
 */
static struct chim_emu_conn *tx_fixture(struct kunit *test,
					struct chim_emu **emup,
					struct sent_log **logp)
{
	struct chim_emu *emu = kunit_kzalloc(test, sizeof(*emu), GFP_KERNEL);
	struct sent_log *log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	struct eng_fixture *f = fixture(test, false, true);
	struct chim_emu_conn *ec = &f->ec;
	struct sk_buff *a, *b;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, emu);
	KUNIT_ASSERT_NOT_NULL(test, log);
	emu->dev = f->dev;
	log->conn.obj.type = CHIM_OBJ_TCP;
	log->conn.ops = &log_ops;
	spin_lock_init(&ec->lock);
	skb_queue_head_init(&ec->d.send_data);
	chim_eng_init(emu, ec);
	ec->handle = &log->conn.obj;
	ec->cached.flags = CHIM_TCP_FLAG_NAGLING_ENABLED;
	ec->engine = true;
	ec->mss = 1000;
	ec->rto = 200;
	ec->room = 65535;
	ec->d.rcv_nxt = 777;
	ec->rcv_edge = 777;
	ec->d.snd_una = 5000;
	ec->d.snd_nxt = 5000;
	ec->d.snd_max = 5000;
	ec->d.snd_wnd = 65535;
	ec->d.cwnd = 3000;
	ec->d.ss_thresh = U32_MAX;
	ec->recover = 4999;
	a = payload(test, 1500);
	b = alloc_skb(4000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	for (i = 0; i < 4000; i++)
		*(u8 *)skb_put(b, 1) = (1500 + i) * 7 + 1;
	__skb_queue_tail(&ec->d.send_data, a);
	__skb_queue_tail(&ec->d.send_data, b);
	ec->tx_bytes = 5500;
	*emup = emu;
	*logp = log;
	return ec;
}

/* The frames built so far: each one's sequence number and payload checked. */
static void expect_frames(struct kunit *test, struct chim_emu_conn *ec,
			  const u32 *seqs, const u32 *lens, unsigned int n)
{
	unsigned int i = 0, k;
	struct sk_buff *skb;

	KUNIT_EXPECT_EQ(test, skb_queue_len(&ec->txq), n);
	while ((skb = __skb_dequeue(&ec->txq))) {
		struct tcphdr *th = tcp_hdr(skb);
		const u8 *data = (u8 *)th + th->doff * 4;
		u32 len = skb_tail_pointer(skb) - data, off;

		if (i < n) {
			KUNIT_EXPECT_EQ(test, ntohl(th->seq), seqs[i]);
			KUNIT_EXPECT_EQ(test, len, lens[i]);
			KUNIT_EXPECT_EQ(test, ntohl(th->ack_seq), 777U);
			off = seqs[i] - 5000;
			for (k = 0; k < len && k < lens[i]; k++)
				if (data[k] != (u8)((off + k) * 7 + 1))
					break;
			KUNIT_EXPECT_EQ_MSG(test, k, len, "frame %u's payload", i);
		}
		kfree_skb(skb);
		i++;
	}
}

static void tx_pure_ack(struct chim_eng_in *in, u32 ack)
{
	memset(in, 0, sizeof(*in));
	in->seq = 777;
	in->end_seq = 777;
	in->ack = ack;
	in->win = 65535;
	in->flags = TCPHDR_ACK;
}

/*
 * Segments by MSS within the congestion window, a segment across two skbs
 * of the send chain, slow start on an ACK, Nagle holding a small tail,
 * completions to the owner, and the timer armed while data is in flight.
 */
static void send_within_windows(struct kunit *test)
{
	static const u32 seqs1[] = { 5000, 6000, 7000 }, lens1[] = { 1000, 1000, 1000 };
	static const u32 seqs2[] = { 8000, 9000 }, lens2[] = { 1000, 1000 };
	static const u32 seqs3[] = { 10000 }, lens3[] = { 500 };
	struct sent_log *log;
	struct chim_emu *emu;
	struct chim_emu_conn *ec = tx_fixture(test, &emu, &log);
	struct chim_eng_in in;

	spin_lock_bh(&ec->lock);
	chim_eng_push(emu, ec);
	KUNIT_EXPECT_EQ(test, ec->d.snd_nxt, 8000U);
	KUNIT_EXPECT_EQ(test, ec->d.snd_max, 8000U);
	KUNIT_EXPECT_EQ(test, ec->bytes_out, 3000ULL);
	KUNIT_EXPECT_TRUE(test, timer_pending(&ec->timer));
	expect_frames(test, ec, seqs1, lens1, 3);

	/* 2,000 acknowledged: freed, completed, the window grows by 2,000. */
	tx_pure_ack(&in, 7000);
	KUNIT_EXPECT_TRUE(test, chim_eng_acked(emu, ec, &in, ec->d.snd_wnd));
	KUNIT_EXPECT_EQ(test, ec->d.snd_una, 7000U);
	KUNIT_EXPECT_EQ(test, ec->tx_bytes, 3500U);
	KUNIT_EXPECT_EQ(test, log->snd_una, 7000U);
	KUNIT_EXPECT_EQ(test, log->bytes, 2000U);
	KUNIT_EXPECT_EQ(test, ec->d.cwnd, 5000U);
	/* Two full segments; the last 500 wait (Nagle, data in flight). */
	expect_frames(test, ec, seqs2, lens2, 2);
	KUNIT_EXPECT_EQ(test, ec->d.snd_nxt, 10000U);

	/* Everything acknowledged: the tail goes. */
	tx_pure_ack(&in, 10000);
	chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
	expect_frames(test, ec, seqs3, lens3, 1);
	KUNIT_EXPECT_EQ(test, ec->d.snd_max, 10500U);
	tx_pure_ack(&in, 10500);
	chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
	KUNIT_EXPECT_EQ(test, ec->tx_bytes, 0U);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&ec->d.send_data));
	KUNIT_EXPECT_EQ(test, log->bytes, 5500U);
	/* Nothing in flight, nothing to send: no timer. */
	KUNIT_EXPECT_FALSE(test, timer_pending(&ec->timer));
	spin_unlock_bh(&ec->lock);
	del_timer_sync(&ec->timer);
}

/*
 * The peer's window limits what is in flight; three duplicate ACKs resend
 * the first segment and enter recovery; a timeout goes back to SndUna with
 * one segment of window and backs off; the retry limit asks for an upload.
 */
static void send_loss_recovery(struct kunit *test)
{
	static const u32 seqs1[] = { 5000, 6000 }, lens1[] = { 1000, 1000 };
	static const u32 seqs2[] = { 5000 }, lens2[] = { 1000 };
	static const u32 seqs3[] = { 7000 }, seqs4[] = { 6000, 7000 };
	struct sent_log *log;
	struct chim_emu *emu;
	struct chim_emu_conn *ec = tx_fixture(test, &emu, &log);
	struct chim_eng_in in;
	int i;

	spin_lock_bh(&ec->lock);
	ec->d.snd_wnd = 2000;
	chim_eng_push(emu, ec);
	expect_frames(test, ec, seqs1, lens1, 2);

	/* Duplicate ACKs: the third resends 5000, cwnd = ssthresh + 3 MSS. */
	tx_pure_ack(&in, 5000);
	in.win = 2000;
	for (i = 0; i < 2; i++)
		chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&ec->txq));
	chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
	KUNIT_EXPECT_TRUE(test, ec->in_recovery);
	KUNIT_EXPECT_EQ(test, ec->d.ss_thresh, 2000U);
	KUNIT_EXPECT_EQ(test, ec->d.cwnd, 5000U);
	KUNIT_EXPECT_EQ(test, ec->d.total_rt, 1U);
	expect_frames(test, ec, seqs2, lens2, 1);
	/* A window update is not a duplicate ACK: it lets 7000 go. */
	KUNIT_EXPECT_EQ(test, ec->d.dup_ack_count, 3);
	ec->d.snd_wnd = 3000;
	chim_eng_acked(emu, ec, &in, 2000);
	KUNIT_EXPECT_EQ(test, ec->d.dup_ack_count, 3);
	expect_frames(test, ec, seqs3, lens2, 1);
	KUNIT_EXPECT_EQ(test, ec->d.snd_max, 8000U);

	/* The timeout: back to SndUna, one segment, RTO doubled. */
	ec->d.snd_wnd = 2000;
	chim_eng_timeout(emu, ec);
	KUNIT_EXPECT_FALSE(test, ec->in_recovery);
	KUNIT_EXPECT_EQ(test, ec->d.cwnd, 1000U);
	KUNIT_EXPECT_EQ(test, ec->d.snd_nxt, 6000U);
	KUNIT_EXPECT_EQ(test, ec->d.snd_max, 8000U);
	KUNIT_EXPECT_EQ(test, ec->rto, 400U);
	KUNIT_EXPECT_EQ(test, ec->d.retransmit.count, 1);
	expect_frames(test, ec, seqs2, lens2, 1);
	KUNIT_EXPECT_TRUE(test, timer_pending(&ec->timer));

	/* An ACK of new data clears the retry count; slow start resends. */
	tx_pure_ack(&in, 6000);
	in.win = 2000;
	chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
	KUNIT_EXPECT_EQ(test, ec->d.retransmit.count, 0);
	KUNIT_EXPECT_EQ(test, ec->d.snd_una, 6000U);
	KUNIT_EXPECT_EQ(test, ec->d.cwnd, 2000U);
	expect_frames(test, ec, seqs4, lens1, 2);
	KUNIT_EXPECT_EQ(test, ec->d.total_rt, 4U);
	spin_unlock_bh(&ec->lock);
	del_timer_sync(&ec->timer);
	skb_queue_purge(&ec->d.send_data);
}

/*
 * A timeout whose resend was not needed: the first ACK of new data echoes
 * a TSval older than the resend's (Eifel, RFC 3522); the congestion state
 * comes back and the engine goes on from SndMax (RFC 4015).  One that
 * echoes the resend's keeps the timeout's answer.
 */
static void spurious_timeout_undone(struct kunit *test)
{
	static const u32 seqs1[] = { 5000, 6000, 7000 }, lens1[] = { 1000, 1000, 1000 };
	static const u32 seqs2[] = { 5000 }, lens2[] = { 1000 };
	struct sent_log *log;
	struct chim_emu *emu;
	struct chim_emu_conn *ec = tx_fixture(test, &emu, &log);
	struct chim_eng_in in;
	int spurious;

	for (spurious = 1; spurious >= 0; spurious--) {
		spin_lock_bh(&ec->lock);
		ec->d.cwnd = 3000;
		ec->d.ss_thresh = U32_MAX;
		chim_eng_push(emu, ec);
		if (spurious)
			expect_frames(test, ec, seqs1, lens1, 3);
		else
			__skb_queue_purge(&ec->txq);
		chim_eng_timeout(emu, ec);
		KUNIT_EXPECT_EQ(test, ec->d.cwnd, 1000U);
		KUNIT_EXPECT_TRUE(test, ec->eifel);
		if (spurious)
			expect_frames(test, ec, seqs2, lens2, 1);
		else
			__skb_queue_purge(&ec->txq);

		/* 1,000 acknowledged, echoing a TSval before or at the resend. */
		tx_pure_ack(&in, ec->d.snd_una + 1000);
		in.has_ts = true;
		in.tsecr = ec->rto_ts - spurious;
		chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
		KUNIT_EXPECT_FALSE(test, ec->eifel);
		if (spurious) {
			/* Back to 3,000, grown by 1,000; on from SndMax. */
			KUNIT_EXPECT_EQ(test, ec->d.cwnd, 4000U);
			KUNIT_EXPECT_EQ(test, ec->d.ss_thresh, U32_MAX);
			KUNIT_EXPECT_FALSE(test, ec->rto_recover);
			KUNIT_EXPECT_EQ(test, ec->d.snd_max, 10000U);
		} else {
			/* Slow start from one segment: 2,000. */
			KUNIT_EXPECT_EQ(test, ec->d.cwnd, 2000U);
			KUNIT_EXPECT_TRUE(test, ec->rto_recover);
		}
		__skb_queue_purge(&ec->txq);
		spin_unlock_bh(&ec->lock);
	}
	spin_lock_bh(&ec->lock);
	ec->stopped = true;
	spin_unlock_bh(&ec->lock);
	del_timer_sync(&ec->timer);
	del_timer_sync(&ec->delack);
	skb_queue_purge(&ec->d.send_data);
}

/*
 * The ACK policy: one full segment waits (the delayed-ACK timer runs), the
 * second is acknowledged at once, so is a segment with PSH; a segment the
 * engine sends carries an ACK owed.
 */
static void ack_every_second_segment(struct kunit *test)
{
	struct sent_log *log;
	struct chim_emu *emu;
	struct chim_emu_conn *ec = tx_fixture(test, &emu, &log);
	struct chim_eng_in in = {
		.seq = 777, .end_seq = 1777, .len = 1000, .flags = TCPHDR_ACK,
	};
	struct sk_buff *ack;

	spin_lock_bh(&ec->lock);
	ec->d.rcv_nxt = in.end_seq;
	KUNIT_EXPECT_NULL(test, chim_eng_ack_data(emu, ec, &in, 65535));
	KUNIT_EXPECT_EQ(test, ec->ack_owed, 1000U);
	KUNIT_EXPECT_TRUE(test, timer_pending(&ec->delack));

	in.seq = 1777;
	in.end_seq = 2777;
	ec->d.rcv_nxt = in.end_seq;
	ack = chim_eng_ack_data(emu, ec, &in, 65535);
	KUNIT_ASSERT_NOT_NULL(test, ack);
	KUNIT_EXPECT_EQ(test, ntohl(tcp_hdr(ack)->ack_seq), 2777U);
	KUNIT_EXPECT_EQ(test, ec->ack_owed, 0U);
	kfree_skb(ack);

	/* A few bytes with PSH: the sender waits for the answer. */
	in.seq = 2777;
	in.end_seq = 2787;
	in.len = 10;
	in.flags = TCPHDR_ACK | TCPHDR_PSH;
	ec->d.rcv_nxt = in.end_seq;
	ack = chim_eng_ack_data(emu, ec, &in, 65535);
	KUNIT_ASSERT_NOT_NULL(test, ack);
	kfree_skb(ack);

	/* Without PSH they wait; the next data segment out carries the ACK. */
	in.seq = 2787;
	in.end_seq = 2797;
	in.flags = TCPHDR_ACK;
	ec->d.rcv_nxt = in.end_seq;
	KUNIT_EXPECT_NULL(test, chim_eng_ack_data(emu, ec, &in, 65535));
	KUNIT_EXPECT_EQ(test, ec->ack_owed, 10U);
	chim_eng_push(emu, ec);
	KUNIT_EXPECT_EQ(test, ec->ack_owed, 0U);
	ack = __skb_dequeue(&ec->txq);
	KUNIT_ASSERT_NOT_NULL(test, ack);
	KUNIT_EXPECT_EQ(test, ntohl(tcp_hdr(ack)->ack_seq), 2797U);
	kfree_skb(ack);
	__skb_queue_purge(&ec->txq);
	/* The timers find nothing to do (the fixture's device is not up). */
	ec->stopped = true;
	spin_unlock_bh(&ec->lock);
	del_timer_sync(&ec->delack);
	del_timer_sync(&ec->timer);
	skb_queue_purge(&ec->d.send_data);
}

/* ---- data the owner refuses --------------------------------------- */

/* Byte @seq of the peer's stream. */
static u8 peer_byte(u32 seq)
{
	return seq * 7 + 1;
}

/* What the owner takes (chim_indicate_receive()), with a room it sets. */
struct rx_log {
	struct chim_conn conn;
	int room;
	u32 next;
	u32 got;
	bool bad;
};

static bool log_receive(struct chim_conn *conn, struct sk_buff *skb,
			int *room)
{
	struct rx_log *log = container_of(conn, struct rx_log, conn);
	u32 i;
	u8 b;

	*room = log->room;
	if (!skb || (int)skb->len > log->room)
		return false;
	/* In order, each byte where the stream has it. */
	if (TCP_SKB_CB(skb)->seq != log->next ||
	    TCP_SKB_CB(skb)->end_seq != log->next + skb->len)
		log->bad = true;
	for (i = 0; i < skb->len; i++)
		if (skb_copy_bits(skb, i, &b, 1) || b != peer_byte(log->next + i))
			log->bad = true;
	log->next += skb->len;
	log->got += skb->len;
	log->room -= skb->len;
	*room = log->room;
	kfree_skb(skb);
	return true;
}

static const struct chim_conn_ops rx_log_ops = { .receive = log_receive };

/* The peer's segment of @len bytes at @seq (IPv4, no options), PSH set. */
static struct sk_buff *peer_seg(struct kunit *test, u32 seq, u32 len)
{
	struct sk_buff *skb = alloc_skb(sizeof(struct iphdr) +
					sizeof(struct tcphdr) + len, GFP_KERNEL);
	struct iphdr *iph;
	struct tcphdr *th;
	u8 *p;
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_TCP;
	iph->tot_len = htons(sizeof(*iph) + sizeof(*th) + len);
	skb_set_transport_header(skb, sizeof(*iph));
	th = skb_put_zero(skb, sizeof(*th));
	th->source = htons(5201);
	th->dest = htons(40000);
	th->seq = htonl(seq);
	th->ack_seq = htonl(5000);
	th->doff = 5;
	th->ack = 1;
	th->psh = 1;
	th->window = htons(65535);
	p = skb_put(skb, len);
	for (i = 0; i < len; i++)
		p[i] = peer_byte(seq + i);
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return skb;
}

/* The next frame the engine built: an ACK of @ack advertising @win. */
static void expect_ack(struct kunit *test, struct chim_emu_conn *ec, u32 ack,
		       u16 win)
{
	struct sk_buff *skb = __skb_dequeue(&ec->txq);
	struct tcphdr *th;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	th = tcp_hdr(skb);
	KUNIT_EXPECT_EQ(test, ntohl(th->ack_seq), ack);
	KUNIT_EXPECT_EQ(test, ntohs(th->window), win);
	KUNIT_EXPECT_TRUE(test, th->ack);
	kfree_skb(skb);
}

/* The receive hook's context: softirq. */
static void peer_rx(struct kunit *test, struct chim_emu *emu,
		    struct chim_emu_conn *ec, u32 seq, u32 len)
{
	struct sk_buff *skb = peer_seg(test, seq, len);

	local_bh_disable();
	chim_eng_rx(emu, ec, skb, len);
	local_bh_enable();
}

static void rx_chunk(struct kunit *test, struct sk_buff_head *q, u32 seq,
		     u32 len)
{
	struct sk_buff *skb = alloc_skb(len, GFP_KERNEL);
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	for (i = 0; i < len; i++)
		*(u8 *)skb_put(skb, 1) = peer_byte(seq + i);
	__skb_queue_tail(q, skb);
}

/*
 * A connection the engine receives for, not started: RcvNxt 1000, MSS
 * 1000, no timestamps, SACK, a window of @wnd; its owner takes what its
 * room allows (rx_log).  Frames stay on ec->txq ("another context sends
 * them").
 */
static struct chim_emu_conn *rx_fixture(struct kunit *test,
					struct chim_emu **emup,
					struct rx_log **logp, u32 wnd)
{
	struct chim_emu *emu = kunit_kzalloc(test, sizeof(*emu), GFP_KERNEL);
	struct rx_log *log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	struct eng_fixture *f = fixture(test, false, false);
	struct chim_emu_conn *ec = &f->ec;

	KUNIT_ASSERT_NOT_NULL(test, emu);
	KUNIT_ASSERT_NOT_NULL(test, log);
	emu->dev = f->dev;
	emu->engine = true;
	emu->rx_held_max = CHIM_RX_HOLD_TOTAL_MAX;
	log->conn.obj.type = CHIM_OBJ_TCP;
	log->conn.ops = &rx_log_ops;
	log->room = 100000;
	spin_lock_init(&ec->lock);
	skb_queue_head_init(&ec->rx);
	skb_queue_head_init(&ec->d.send_data);
	skb_queue_head_init(&ec->d.buffered_data);
	chim_eng_init(emu, ec);
	ec->handle = &log->conn.obj;
	ec->c.remote_mss = 1000;
	ec->c.flags |= CHIM_TCP_FLAG_SACK_ENABLED;
	ec->d.state = CHIM_TCP_ESTABLISHED;
	ec->d.rcv_nxt = 1000;
	ec->d.rcv_wnd = wnd;
	ec->d.snd_una = 5000;
	ec->d.snd_nxt = 5000;
	ec->d.snd_max = 5000;
	ec->d.snd_wnd = 65535;
	ec->xmitting = true;
	*emup = emu;
	*logp = log;
	return ec;
}

static void rx_fixture_end(struct chim_emu_conn *ec)
{
	spin_lock_bh(&ec->lock);
	ec->stopped = true;
	spin_unlock_bh(&ec->lock);
	del_timer_sync(&ec->delack);
	del_timer_sync(&ec->timer);
	__skb_queue_purge(&ec->txq);
	skb_queue_purge(&ec->d.buffered_data);
	skb_queue_purge(&ec->ooo);
}

/*
 * The next frame: an ACK of @ack with @n SACK blocks @sack (left, right),
 * in that order.
 */
static void expect_sack(struct kunit *test, struct chim_emu_conn *ec, u32 ack,
			unsigned int n, const u32 (*sack)[2])
{
	struct sk_buff *skb = __skb_dequeue(&ec->txq);
	unsigned int i, got = 0;
	struct tcphdr *th;
	const u8 *o, *end;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	th = tcp_hdr(skb);
	KUNIT_EXPECT_EQ(test, ntohl(th->ack_seq), ack);
	o = (const u8 *)(th + 1);
	end = (const u8 *)th + th->doff * 4;
	while (o < end) {
		if (*o == TCPOPT_NOP) {
			o++;
			continue;
		}
		if (o[0] == TCPOPT_SACK) {
			got = (o[1] - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
			for (i = 0; i < got && i < n; i++) {
				KUNIT_EXPECT_EQ(test, get_unaligned_be32(o + 2 + 8 * i),
						sack[i][0]);
				KUNIT_EXPECT_EQ(test, get_unaligned_be32(o + 6 + 8 * i),
						sack[i][1]);
			}
		}
		o += o[1];
	}
	KUNIT_EXPECT_EQ(test, got, n);
	kfree_skb(skb);
}

/*
 * Segments beyond a hole wait on the out-of-order queue; each is answered
 * at once with SACK blocks (the last one first); a resent one is not kept
 * twice; the segment that fills the hole delivers what waited, in order,
 * and a partly old one is trimmed; what still waits at a terminate goes
 * back as the frame that came.
 */
static void out_of_order_queue(struct kunit *test)
{
	static const u32 s1[][2] = { { 2000, 3000 } };
	static const u32 s2[][2] = { { 2000, 4000 } };
	static const u32 s3[][2] = { { 5000, 6000 }, { 2000, 4000 } };
	static const u32 s4[][2] = { { 2000, 4000 }, { 5000, 6000 } };
	static const u32 s5[][2] = { { 5000, 6000 } };
	static const u32 s6[][2] = { { 7000, 8000 } };
	struct chim_emu *emu;
	struct rx_log *log;
	struct chim_emu_conn *ec = rx_fixture(test, &emu, &log, 64000);
	struct sk_buff_head q;
	struct sk_buff *skb;

	log->next = 1000;
	chim_eng_start(emu, ec);
	KUNIT_ASSERT_TRUE(test, ec->engine);
	peer_rx(test, emu, ec, 2000, 1000);
	expect_sack(test, ec, 1000, 1, s1);
	peer_rx(test, emu, ec, 3000, 1000);
	expect_sack(test, ec, 1000, 1, s2);
	peer_rx(test, emu, ec, 5000, 1000);
	expect_sack(test, ec, 1000, 2, s3);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&ec->ooo), 3U);
	/* Resent: not kept twice, its block first. */
	peer_rx(test, emu, ec, 2000, 1000);
	expect_sack(test, ec, 1000, 2, s4);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&ec->ooo), 3U);
	KUNIT_EXPECT_EQ(test, log->got, 0U);
	KUNIT_EXPECT_TRUE(test, ec->engine);

	/* The hole filled: 1000-4000 delivered, ACKed at once. */
	peer_rx(test, emu, ec, 1000, 1000);
	KUNIT_EXPECT_EQ(test, log->got, 3000U);
	KUNIT_EXPECT_EQ(test, ec->d.rcv_nxt, 4000U);
	expect_sack(test, ec, 4000, 1, s5);
	/* 3500-5000, partly old: 4000-5000 and what waited behind. */
	peer_rx(test, emu, ec, 3500, 1500);
	KUNIT_EXPECT_EQ(test, log->got, 5000U);
	KUNIT_EXPECT_EQ(test, ec->d.rcv_nxt, 6000U);
	KUNIT_EXPECT_EQ(test, ec->bytes_in, 5000ULL);
	expect_sack(test, ec, 6000, 0, NULL);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&ec->ooo));
	KUNIT_EXPECT_EQ(test, ec->rx_truesize, 0U);
	KUNIT_EXPECT_FALSE(test, log->bad);

	/* Still waiting at the terminate: the frame as it came. */
	peer_rx(test, emu, ec, 7000, 1000);
	expect_sack(test, ec, 6000, 1, s6);
	__skb_queue_head_init(&q);
	spin_lock_bh(&ec->lock);
	chim_eng_ooo_release(ec, &q);
	spin_unlock_bh(&ec->lock);
	skb = __skb_dequeue(&q);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_EXPECT_EQ(test, (u32)ip_hdr(skb)->version, 4U);
	KUNIT_EXPECT_PTR_EQ(test, skb->data, skb_network_header(skb));
	KUNIT_EXPECT_EQ(test, skb->len, 1040U);
	KUNIT_EXPECT_EQ(test, ntohl(((struct tcphdr *)(skb->data + 20))->seq), 7000U);
	kfree_skb(skb);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&q));
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&ec->txq));
	rx_fixture_end(ec);
}

/*
 * The offload brings 1,000 unread bytes: the engine indicates them back
 * as the owner reports room, before anything newer.  Data the owner
 * refuses is acknowledged and kept; the window closes by as much and
 * never moves its right edge left; a segment beyond it is answered with
 * the closed window; a read opens it again, the kept data first, in order,
 * every byte once; what is still kept at a terminate is the BufferedData.
 */
static void refused_data_kept(struct kunit *test)
{
	struct chim_emu *emu;
	struct rx_log *log;
	struct chim_emu_conn *ec = rx_fixture(test, &emu, &log, 4000);
	u32 seq;

	log->room = 2500;
	rx_chunk(test, &ec->d.buffered_data, 0, 600);
	rx_chunk(test, &ec->d.buffered_data, 600, 400);
	chim_eng_start(emu, ec);
	KUNIT_ASSERT_TRUE(test, ec->engine);
	KUNIT_EXPECT_EQ(test, ec->buffered, 1000U);
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 5000U);
	KUNIT_EXPECT_EQ(test, log->got, 0U);
	/* The owner's first report: the unread data goes back, from 0. */
	KUNIT_EXPECT_FALSE(test, chim_eng_window_update(emu, ec, 2500));
	KUNIT_EXPECT_EQ(test, log->got, 1000U);
	KUNIT_EXPECT_EQ(test, ec->buffered, 0U);

	/* Taken (room 1,500 -> 500); the edge stays at 5000. */
	peer_rx(test, emu, ec, 1000, 1000);
	KUNIT_EXPECT_EQ(test, log->got, 2000U);
	expect_ack(test, ec, 2000, 3000);
	/* Refused: kept and acknowledged, the window closes by as much. */
	peer_rx(test, emu, ec, 2000, 1000);
	KUNIT_EXPECT_EQ(test, log->got, 2000U);
	KUNIT_EXPECT_EQ(test, ec->buffered, 1000U);
	KUNIT_EXPECT_EQ(test, ec->d.rcv_nxt, 3000U);
	expect_ack(test, ec, 3000, 2000);
	/* Room again: the next segment delivers the kept one first. */
	log->room = 5000;
	peer_rx(test, emu, ec, 3000, 1000);
	KUNIT_EXPECT_EQ(test, log->got, 4000U);
	KUNIT_EXPECT_EQ(test, ec->buffered, 0U);
	expect_ack(test, ec, 4000, 3000);
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 7000U);

	/* No room: three segments fill the window to its edge. */
	log->room = 0;
	for (seq = 4000; seq < 7000; seq += 1000) {
		peer_rx(test, emu, ec, seq, 1000);
		expect_ack(test, ec, seq + 1000, 7000 - seq - 1000);
	}
	KUNIT_EXPECT_EQ(test, ec->buffered, 3000U);
	/* Beyond the closed window: not taken, answered with window 0. */
	peer_rx(test, emu, ec, 7000, 1);
	KUNIT_EXPECT_EQ(test, ec->d.rcv_nxt, 7000U);
	expect_ack(test, ec, 7000, 0);
	KUNIT_EXPECT_EQ(test, ec->buffered, 3000U);

	/* A read: the kept data goes, then the window opens. */
	log->room = 10000;
	KUNIT_EXPECT_TRUE(test, chim_eng_window_update(emu, ec, 10000));
	KUNIT_EXPECT_EQ(test, log->got, 7000U);
	KUNIT_EXPECT_EQ(test, ec->buffered, 0U);
	expect_ack(test, ec, 7000, 7000);
	KUNIT_EXPECT_EQ(test, ec->rcv_edge, 14000U);

	/* Refused again: what a terminate hands back, stamped in order. */
	log->room = 0;
	peer_rx(test, emu, ec, 7000, 1000);
	expect_ack(test, ec, 8000, 6000);
	KUNIT_ASSERT_EQ(test, skb_queue_len(&ec->d.buffered_data), 1U);
	KUNIT_EXPECT_EQ(test, TCP_SKB_CB(skb_peek(&ec->d.buffered_data))->seq,
			7000U);
	KUNIT_EXPECT_EQ(test, chim_skb_queue_bytes(&ec->d.buffered_data), 1000U);
	KUNIT_EXPECT_FALSE(test, log->bad);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&ec->txq));

	rx_fixture_end(ec);
}

static struct kunit_case engine_cases[] = {
	KUNIT_CASE(frame_ipv4_ts_payload),
	KUNIT_CASE(frame_ipv6_ack),
	KUNIT_CASE(frame_ipv6_paged_payload),
	KUNIT_CASE(frame_checksum_offload),
	KUNIT_CASE(frame_gso_v4),
	KUNIT_CASE(frame_gso_v6),
	KUNIT_CASE(gso_only_where_the_device_segments),
	KUNIT_CASE_PARAM(classify_segment, classify_gen_params),
	KUNIT_CASE(parse_header),
	KUNIT_CASE(window_update_after_read),
	KUNIT_CASE(send_within_windows),
	KUNIT_CASE(send_loss_recovery),
	KUNIT_CASE(spurious_timeout_undone),
	KUNIT_CASE(ack_every_second_segment),
	KUNIT_CASE(refused_data_kept),
	KUNIT_CASE(out_of_order_queue),
	{}
};

static struct kunit_suite engine_suite = {
	.name = "chimney_engine",
	.test_cases = engine_cases,
};

kunit_test_suite(engine_suite);
