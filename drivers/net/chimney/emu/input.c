// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated NIC's engine, receive side: what a segment of a connection
 * it runs is, decided from the delegated state alone.  The engine takes
 * only the common case (in-order data, pure ACKs, old duplicates); any
 * other segment is punted: held unacknowledged, with the Part 1 reason the
 * event implies (the seed's TCP_UPLOAD_REASON table), and given to the
 * stock stack after the upload.
 */
#include <kunit/visibility.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/tcp.h>
#include <net/ip6_checksum.h>
#include <net/tcp.h>

#include "emu.h"

/* Sequence number comparisons, modulo 2^32 (as before()/after()). */
static bool seq_lt(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

static bool seq_le(u32 a, u32 b)
{
	return (s32)(a - b) <= 0;
}

/**
 * chim_eng_parse() - the fields of a TCP header the engine decides on
 * @th: the header, its options included (doff * 4 bytes, linear)
 * @payload: the segment's payload length
 * @in: receives them
 *
 * Return: false for a malformed option list (the segment is punted).
 */
bool chim_eng_parse(const struct tcphdr *th, u32 payload,
		    struct chim_eng_in *in)
{
	const u8 *p = (const u8 *)(th + 1);
	int left = th->doff * 4 - (int)sizeof(*th);

	memset(in, 0, sizeof(*in));
	in->seq = ntohl(th->seq);
	in->end_seq = in->seq + payload;
	in->ack = ntohl(th->ack_seq);
	in->win = ntohs(th->window);
	in->flags = tcp_flag_byte(th);
	in->len = payload;
	while (left > 0) {
		u8 kind = p[0], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			p++;
			left--;
			continue;
		}
		if (left < 2)
			return false;
		olen = p[1];
		if (olen < 2 || olen > left)
			return false;
		if (kind == TCPOPT_TIMESTAMP && olen == TCPOLEN_TIMESTAMP) {
			in->has_ts = true;
			in->tsval = get_unaligned_be32(p + 2);
			in->tsecr = get_unaligned_be32(p + 6);
		}
		p += olen;
		left -= olen;
	}
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_parse);

/**
 * chim_eng_classify() - what the engine does with a segment
 * @d: the connection's delegated state (rcv_nxt, snd_una, snd_max,
 *	ts_recent)
 * @ts: the connection negotiated timestamps
 * @rcv_edge: the right edge of the window it advertised last
 * @in: the segment (chim_eng_parse())
 * @reason: receives the Part 1 reason of a punt
 *
 * The order follows RFC 9293's segment arrival in ESTABLISHED: sequence
 * acceptability (with PAWS), then RST, SYN, ACK, URG, the data, FIN; an
 * event the engine does not run is punted at the first check that finds
 * it.  Data that starts before RcvNxt and ends after it is DATA: the
 * engine trims the old part.  Data beyond a hole is OOO, with the reason
 * the engine asks with when its out-of-order queue is full.
 *
 * Context: any.
 * Return: the verdict.
 */
enum chim_eng_verdict chim_eng_classify(const struct chim_tcp_delegated *d,
					bool ts, u32 rcv_edge,
					const struct chim_eng_in *in,
					enum chim_upload_reason *reason)
{
	u8 f = in->flags;

	*reason = CHIM_REASON_UPLOAD_REQUESTED;
	/* PAWS: an old timestamp is a duplicate (RFC 7323 5.3). */
	if (ts && in->has_ts && !(f & TCPHDR_RST) &&
	    (s32)(in->tsval - d->ts_recent) < 0)
		return CHIM_ENG_DUP;
	/*
	 * An RST at RcvNxt aborts the connection (TcpIndicateAbort); one
	 * elsewhere in the window gets a challenge ACK, the connection goes
	 * on (RFC 5961 3.2); any other is dropped.
	 */
	if (f & TCPHDR_RST) {
		if (in->seq == d->rcv_nxt) {
			*reason = CHIM_REASON_ABORT;
			return CHIM_ENG_ABORT;
		}
		return seq_lt(d->rcv_nxt, in->seq) && seq_lt(in->seq, rcv_edge) ?
		       CHIM_ENG_DUP : CHIM_ENG_DROP;
	}
	/* Entirely old (a retransmission of what was delivered). */
	if (in->len ? seq_le(in->end_seq, d->rcv_nxt) :
		      seq_lt(in->seq, d->rcv_nxt))
		return CHIM_ENG_DUP;
	/* Beyond the window advertised: not acceptable. */
	if (seq_lt(rcv_edge, in->end_seq) && in->len)
		return CHIM_ENG_DUP;
	/* SYN: the stock stack answers it (a challenge ACK). */
	if (f & TCPHDR_SYN)
		return CHIM_ENG_PUNT;
	/* No ACK flag in a synchronized state: dropped (RFC 9293). */
	if (!(f & TCPHDR_ACK))
		return CHIM_ENG_DROP;
	/* An ACK of data never sent: answered with an ACK, dropped. */
	if (seq_lt(d->snd_max, in->ack))
		return CHIM_ENG_DUP;
	if (f & TCPHDR_URG) {
		*reason = CHIM_REASON_RECEIVED_URGENT_DATA;
		return CHIM_ENG_PUNT;
	}
	/*
	 * A hole before it (reordering or loss): data waits on the
	 * out-of-order queue, a pure ACK is taken; a FIN there is the stock
	 * stack's.
	 */
	if (seq_lt(d->rcv_nxt, in->seq)) {
		*reason = CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS;
		if (f & TCPHDR_FIN)
			return CHIM_ENG_PUNT;
		return in->len ? CHIM_ENG_OOO : CHIM_ENG_ACK;
	}
	/*
	 * A FIN at RcvNxt, every byte before it indicated: a disconnect
	 * (TcpIndicateDisconnect), and the host takes the connection back.
	 */
	if (f & TCPHDR_FIN) {
		*reason = CHIM_REASON_DISCONNECT;
		return CHIM_ENG_FIN;
	}
	return in->len ? CHIM_ENG_DATA : CHIM_ENG_ACK;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_classify);

/* The largest payload of one segment: the peer's MSS, the path's MTU. */
static u32 eng_mss(const struct chim_emu_conn *ec)
{
	u32 hdrs = ec->path->path.c.family == AF_INET6 ?
		   sizeof(struct ipv6hdr) + sizeof(struct tcphdr) :
		   sizeof(struct iphdr) + sizeof(struct tcphdr);
	u32 pmtu = ec->path->path.cached.path_mtu;
	u32 mss = ec->c.remote_mss ? ec->c.remote_mss : TCP_MSS_DEFAULT;

	if (pmtu > hdrs)
		mss = min(mss, pmtu - hdrs);
	if (ec->c.flags & CHIM_TCP_FLAG_TIMESTAMP_ENABLED)
		mss -= TCPOLEN_TSTAMP_ALIGNED;
	return max(mss, 64U);
}

/*
 * Where the TCP header of a frame (IP header on, as the receive hook
 * checked it) starts, and the TCP segment's length the IP header gives.
 */
static void ip_l4(const struct sk_buff *skb, unsigned int *thoff, u32 *tcplen)
{
	if (ip_hdr(skb)->version == 4) {
		*thoff = ip_hdr(skb)->ihl * 4;
		*tcplen = ntohs(ip_hdr(skb)->tot_len) - *thoff;
	} else {
		*thoff = sizeof(struct ipv6hdr);
		*tcplen = ntohs(ipv6_hdr(skb)->payload_len);
	}
}

/* The TCP payload length of a held frame (IP header on), or -1. */
static int held_payload(struct sk_buff *skb)
{
	unsigned int thoff;
	u32 tcplen, doff;

	ip_l4(skb, &thoff, &tcplen);
	if (!pskb_may_pull(skb, thoff + sizeof(struct tcphdr)))
		return -1;
	doff = ((struct tcphdr *)(skb->data + thoff))->doff * 4;
	/* A bogus IPv4 length below its header wraps tcplen negative. */
	return (int)tcplen >= (int)doff ? tcplen - doff : -1;
}

/* Under ec->lock: @skb's payload is the in-order data from @seq on. */
static void eng_stamp(struct sk_buff *skb, u32 seq, u8 flags)
{
	memset(skb->cb, 0, sizeof(skb->cb));
	TCP_SKB_CB(skb)->seq = seq;
	TCP_SKB_CB(skb)->end_seq = seq + skb->len;
	TCP_SKB_CB(skb)->tcp_flags = flags;
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}

/*
 * Under ec->lock: the unread data the offload brought ends at RcvNxt;
 * stamped as the data the engine receives, it is indicated the same way.
 */
static void eng_stamp_buffered(struct chim_emu_conn *ec)
{
	u32 seq = ec->d.rcv_nxt - chim_skb_queue_bytes(&ec->d.buffered_data);
	struct sk_buff *skb;

	ec->buffered = 0;
	skb_queue_walk(&ec->d.buffered_data, skb) {
		eng_stamp(skb, seq, TCPHDR_ACK);
		seq += skb->len;
		ec->buffered += skb->len;
	}
}

/*
 * Under ec->lock: in-order data to the owner (chim_indicate_receive()),
 * @skb (may be NULL) after what the target buffered before it.  What the
 * owner does not take stays buffered: received and acknowledged, offered
 * again when the owner reports room or the next segment arrives, and
 * handed back by a terminate (BufferedData).
 *
 * Return: the room the owner reports, less what is still buffered (the
 * window to advertise from).
 */
static int eng_deliver(struct chim_emu_conn *ec, struct sk_buff *skb)
{
	struct sk_buff_head *q = &ec->d.buffered_data;
	bool asked = false;
	int room = 0;
	u32 len;

	if (skb) {
		__skb_queue_tail(q, skb);
		ec->buffered += skb->len;
	}
	while ((skb = skb_peek(q))) {
		len = skb->len;
		__skb_unlink(skb, q);
		asked = true;
		if (!chim_indicate_receive(ec->handle, skb, &room)) {
			__skb_queue_head(q, skb);
			break;
		}
		ec->buffered -= len;
	}
	if (!asked)
		chim_indicate_receive(ec->handle, NULL, &room);
	return room - (int)min_t(u32, ec->buffered, INT_MAX);
}

/**
 * chim_eng_start() - the engine takes a connection the initiate gave the
 *	target
 * @emu: the target
 * @ec: the connection, its initiate successful
 *
 * Only an established connection: any other stays frozen, as without the
 * engine.  Data it came with is sent, or retransmitted when the timer the
 * host had armed runs out; unread data it came with (BufferedData) is
 * indicated back to the owner as the owner reports room
 * (chim_eng_window_update()), before anything received after it.  Segments
 * that arrived while the initiate ran are then given to the engine, in
 * order (or, when it does not take the connection, held with a request
 * for the upload).
 *
 * Context: process (the target's workqueue).
 */
void chim_eng_start(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	struct chim_tcp_delegated *d = &ec->d;
	u32 delta = d->retransmit.timeout_delta;
	struct sk_buff_head q, held;
	struct sk_buff *skb;
	int payload;

	__skb_queue_head_init(&q);
	__skb_queue_head_init(&held);
	spin_lock_bh(&ec->lock);
	ec->decided = true;
	if (READ_ONCE(emu->engine) && !ec->stopped &&
	    d->state == CHIM_TCP_ESTABLISHED) {
		ec->engine = true;
		eng_stamp_buffered(ec);
		ec->rcv_edge = d->rcv_nxt + d->rcv_wnd;
		ec->room = (int)d->rcv_wnd - (int)ec->buffered;
		ec->mss = eng_mss(ec);
		ec->tx_bytes = chim_skb_queue_bytes(&d->send_data);
		ec->recover = d->snd_una;
		ec->rto = d->srtt ? (d->srtt >> 3) + d->rtt_var : 1000;
		ec->rto = clamp_t(u32, ec->rto, CHIM_ENG_RTO_MIN_MS,
				  CHIM_ENG_RTO_MAX_MS);
		d->cwnd = clamp(d->cwnd, ec->mss,
				CHIM_ENG_CWND_MAX_SEGS * ec->mss);
		/* The host's retransmission timer goes on where it was. */
		if (delta == CHIM_TIMER_NOT_RUNNING)
			delta = ec->rto;
		if (d->snd_una != d->snd_max)
			mod_timer(&ec->timer, jiffies + msecs_to_jiffies(delta));
		chim_eng_push(emu, ec);
		chim_eng_take(ec, &q);
		/* What arrived meanwhile, replayed below. */
		skb_queue_splice_init(&ec->rx, &held);
		atomic_long_sub(ec->rx_truesize, &emu->rx_held);
		ec->rx_truesize = 0;
	} else if (!skb_queue_empty(&ec->rx) && !ec->stopped) {
		ec->upload_asked = true;
		ec->asked_at = jiffies;
		chim_indicate_retrieve(ec->handle, CHIM_REASON_UPLOAD_REQUESTED);
	}
	spin_unlock_bh(&ec->lock);
	chim_eng_xmit(ec, &q);
	while ((skb = __skb_dequeue(&held))) {
		payload = held_payload(skb);
		local_bh_disable();
		if (payload < 0)
			chim_emu_rx_hold(emu, ec, skb, 0);
		else
			chim_eng_rx(emu, ec, skb, payload);
		local_bh_enable();
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_start);

/* The TCP checksum, unless the device or the sender vouched for it. */
static bool tcp_csum_ok(struct sk_buff *skb, unsigned int thoff, u32 tcplen)
{
	__wsum csum;

	if (skb->ip_summed == CHECKSUM_UNNECESSARY ||
	    skb->ip_summed == CHECKSUM_PARTIAL)
		return true;
	csum = skb_checksum(skb, thoff, tcplen, 0);
	if (ip_hdr(skb)->version == 4)
		return !csum_tcpudp_magic(ip_hdr(skb)->saddr, ip_hdr(skb)->daddr,
					  tcplen, IPPROTO_TCP, csum);
	return !csum_ipv6_magic(&ipv6_hdr(skb)->saddr, &ipv6_hdr(skb)->daddr,
				tcplen, IPPROTO_TCP, csum);
}

/**
 * chim_eng_window_update() - the owner can take more: open the window
 * @emu: the target
 * @ec: a connection (the engine may or may not run it)
 * @room: what the owner can take now, in bytes
 *
 * Data the target kept while the owner had no room is indicated first,
 * in order.  A window update goes out only for a real gain of the right
 * edge (the
 * receiver's silly window avoidance of RFC 9293 3.8.6.2.2: at least half
 * the room or one MSS), so that reads of a few bytes do not each cost a
 * segment.
 *
 * Context: process or softirq; does not sleep.
 * Return: true when a wider window was advertised.
 */
bool chim_eng_window_update(struct chim_emu *emu, struct chim_emu_conn *ec,
			    int room)
{
	u32 mss = ec->c.remote_mss ? ec->c.remote_mss : TCP_MSS_DEFAULT;
	struct sk_buff *ack = NULL;
	struct sk_buff_head q;
	bool wider = false;
	u32 edge;

	__skb_queue_head_init(&q);
	spin_lock_bh(&ec->lock);
	/* What the target kept for want of room goes first. */
	if (ec->engine && !ec->stopped && ec->buffered)
		room = eng_deliver(ec, NULL);
	if (ec->engine && !ec->stopped && room > 0 &&
	    seq_lt(ec->rcv_edge + min_t(u32, room / 2, mss),
		   ec->d.rcv_nxt + room)) {
		edge = ec->rcv_edge;
		ack = chim_eng_ack(emu, ec, room);
		wider = ec->rcv_edge != edge;
		if (ack && !wider) {
			kfree_skb(ack);
			ack = NULL;
		}
		if (ack)
			chim_eng_count(emu, 0, 0, 1, 0);
		chim_eng_queue(ec, ack);
		chim_eng_take(ec, &q);
	}
	spin_unlock_bh(&ec->lock);
	chim_eng_xmit(ec, &q);
	return wider;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_window_update);

/* Under ec->lock: what an acceptable segment tells about the peer. */
static void eng_note(struct chim_emu_conn *ec, const struct chim_eng_in *in)
{
	struct chim_tcp_delegated *d = &ec->d;

	/* TS.Recent from a segment that starts at most at RcvNxt (RFC 7323). */
	if (in->has_ts && seq_le(in->seq, d->rcv_nxt) &&
	    (s32)(in->tsval - d->ts_recent) >= 0)
		d->ts_recent = in->tsval;
	/* The send window, from a segment no older than the last update. */
	if (!seq_lt(in->seq, d->send_wl1)) {
		u8 ws = ec->c.flags & CHIM_TCP_FLAG_WINDOW_SCALING_ENABLED ?
			ec->c.snd_wind_scale : 0;

		d->snd_wnd = (u32)in->win << ws;
		d->max_snd_wnd = max(d->max_snd_wnd, d->snd_wnd);
		d->send_wl1 = in->seq;
	}
	ec->active = jiffies;
}

/*
 * Under ec->lock: one more data segment (@hole: it opened a new hole).
 * Frequent holes make an optional request for the upload
 * (HighOutOfOrderPackets): the engine goes on meanwhile, and on for good
 * when the host declines.
 */
static void eng_count_order(struct chim_emu_conn *ec, bool hole)
{
	ec->order_segs++;
	ec->order_holes += hole;
	if (ec->order_segs < CHIM_ENG_OOO_SEGS)
		return;
	if (ec->order_holes * 100 >= CHIM_ENG_OOO_SEGS * CHIM_ENG_OOO_PCT &&
	    (!ec->ooo_asked_at || time_after(jiffies, ec->ooo_asked_at + HZ))) {
		ec->ooo_asked_at = jiffies ?: 1;
		chim_indicate_retrieve(ec->handle,
				       CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS);
	}
	ec->order_segs = 0;
	ec->order_holes = 0;
}

/*
 * Under ec->lock: @skb (pulled to its payload, stamped) beyond a hole, on
 * the out-of-order queue in sequence order.  A segment the queue already
 * holds whole is dropped (the peer resent it).
 *
 * Return: false when the queue is full (the held-segment bounds).
 */
static bool eng_ooo_insert(struct chim_emu *emu, struct chim_emu_conn *ec,
			   struct sk_buff *skb)
{
	u32 seq = TCP_SKB_CB(skb)->seq, end = TCP_SKB_CB(skb)->end_seq;
	struct sk_buff *p;

	/* Mostly at the tail: the next segment after the last one. */
	skb_queue_reverse_walk(&ec->ooo, p)
		if (seq_le(TCP_SKB_CB(p)->seq, seq))
			break;
	if (p != (struct sk_buff *)&ec->ooo &&
	    seq_le(end, TCP_SKB_CB(p)->end_seq)) {
		kfree_skb(skb);
		ec->sack_seq = seq;
		return true;
	}
	if (!chim_emu_rx_charge(emu, ec, skb->truesize))
		return false;
	/* Not right after the data before it: a new hole. */
	eng_count_order(ec, p == (struct sk_buff *)&ec->ooo ||
			seq_lt(TCP_SKB_CB(p)->end_seq, seq));
	__skb_queue_after(&ec->ooo, p, skb);
	ec->sack_seq = seq;
	return true;
}

/*
 * Under ec->lock: what the out-of-order queue holds from RcvNxt on, now
 * in order, to the owner (trimmed where segments overlap).  A segment
 * that cannot be trimmed (no memory) is dropped: the peer sends it again.
 *
 * Return: the owner's room, as eng_deliver().
 */
static int eng_ooo_drain(struct chim_emu *emu, struct chim_emu_conn *ec,
			 int room)
{
	struct chim_tcp_delegated *d = &ec->d;
	struct sk_buff *skb;
	u32 end, old;

	while ((skb = skb_peek(&ec->ooo)) &&
	       seq_le(TCP_SKB_CB(skb)->seq, d->rcv_nxt)) {
		__skb_unlink(skb, &ec->ooo);
		chim_emu_rx_uncharge(emu, ec, skb->truesize);
		end = TCP_SKB_CB(skb)->end_seq;
		old = d->rcv_nxt - TCP_SKB_CB(skb)->seq;
		if (seq_le(end, d->rcv_nxt) || (old && !pskb_pull(skb, old))) {
			kfree_skb(skb);
			continue;
		}
		eng_stamp(skb, d->rcv_nxt, TCP_SKB_CB(skb)->tcp_flags);
		room = eng_deliver(ec, skb);
		ec->bytes_in += end - d->rcv_nxt;
		d->rcv_nxt = end;
	}
	return room;
}

/**
 * chim_eng_ooo_release() - the out-of-order queue, for the stock stack
 * @ec: a stopped connection, its lock held
 * @to: receives the frames as they came (IP header on), after what it has
 *
 * The terminate gives them to the stock stack with the held segments:
 * the peer may have dropped what it knows was SACKed.  Their charge goes
 * with the held segments' (@ec->rx_truesize).
 */
void chim_eng_ooo_release(struct chim_emu_conn *ec, struct sk_buff_head *to)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&ec->ooo))) {
		__skb_push(skb, skb->data - skb_network_header(skb));
		__skb_queue_tail(to, skb);
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_ooo_release);

/**
 * chim_eng_rx() - a segment of a connection, for the engine
 * @emu: the target
 * @ec: the connection, found in the table
 * @skb: the frame from the IP header on, consumed
 * @payload: its TCP payload length
 *
 * In-order data is indicated to the connection's owner and acknowledged
 * with the room the owner reports (data the owner refuses is kept, and
 * the window closes); a pure ACK updates the send window; an old or
 * unacceptable segment is answered with an ACK.  A segment the engine
 * does not take, or any segment once the engine stopped (or never ran)
 * for the connection, is held for the
 * stock stack with a request for the upload (chim_emu_rx_punt()): from
 * the first punt on, the connection is frozen as without the engine.
 *
 * Context: softirq (the ingress hook).
 * Return: NF_STOLEN.
 */
unsigned int chim_eng_rx(struct chim_emu *emu, struct chim_emu_conn *ec,
			 struct sk_buff *skb, u32 payload)
{
	enum chim_upload_reason reason = CHIM_REASON_UPLOAD_REQUESTED;
	unsigned int thoff, hdrs, segs = max_t(u16, skb_shinfo(skb)->gso_segs, 1);
	struct sk_buff *ack = NULL;
	enum chim_eng_verdict v;
	struct sk_buff_head q;
	struct chim_eng_in in;
	u32 tcplen, octets, wnd, old;
	struct tcphdr *th;
	int room;

	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return NF_STOLEN;
	octets = skb->len;
	ip_l4(skb, &thoff, &tcplen);
	if (!pskb_may_pull(skb, thoff + sizeof(*th)))
		goto punt;
	th = (struct tcphdr *)(skb->data + thoff);
	hdrs = thoff + th->doff * 4;
	if (th->doff < 5 || !pskb_may_pull(skb, hdrs) ||
	    pskb_trim_rcsum(skb, thoff + tcplen))
		goto punt;
	th = (struct tcphdr *)(skb->data + thoff);
	if (!chim_eng_parse(th, payload, &in))
		goto punt;
	if (!tcp_csum_ok(skb, thoff, tcplen)) {
		chim_eng_count(emu, 0, 0, 0, 1);
		kfree_skb(skb);
		return NF_STOLEN;
	}

	__skb_queue_head_init(&q);
	spin_lock(&ec->lock);
	if (!ec->engine || ec->stopped)
		goto punt_locked;
	v = chim_eng_classify(&ec->d, ec->c.flags & CHIM_TCP_FLAG_TIMESTAMP_ENABLED,
			      ec->rcv_edge, &in, &reason);
	switch (v) {
	case CHIM_ENG_DATA:
		/* The payload alone (from RcvNxt), stamped as the stock stack stamps it. */
		__skb_pull(skb, hdrs);
		old = ec->d.rcv_nxt - in.seq;
		if (old && !pskb_pull(skb, old))
			break;	/* no memory: dropped, the peer sends it again */
		eng_stamp(skb, ec->d.rcv_nxt, in.flags);
		/*
		 * Acknowledged whether the owner takes it now or not: what it
		 * refuses stays the target's, and the window closes by as
		 * much.  The handle is valid until the terminate, which stops
		 * us first.
		 */
		room = eng_deliver(ec, skb);
		skb = NULL;
		eng_count_order(ec, false);
		wnd = ec->d.snd_wnd;
		eng_note(ec, &in);
		ec->bytes_in += in.len - old;
		ec->d.rcv_nxt = in.end_seq;
		/* A hole filled: what waited behind it, and an ACK at once. */
		if (!skb_queue_empty(&ec->ooo)) {
			room = eng_ooo_drain(emu, ec, room);
			ack = chim_eng_ack(emu, ec, room);
		} else {
			ack = chim_eng_ack_data(emu, ec, &in, room);
		}
		chim_eng_queue(ec, ack);
		chim_eng_acked(emu, ec, &in, wnd);
		break;
	case CHIM_ENG_OOO:
		/* Only the ACK field counts: its window may be older. */
		ec->active = jiffies;
		__skb_pull(skb, hdrs);
		eng_stamp(skb, in.seq, in.flags);
		if (!eng_ooo_insert(emu, ec, skb)) {
			__skb_push(skb, hdrs);
			goto punt_locked;
		}
		skb = NULL;
		/* A duplicate ACK at once, with SACK blocks (RFC 5681 4.2). */
		ack = chim_eng_ack(emu, ec, ec->room);
		chim_eng_queue(ec, ack);
		chim_eng_acked(emu, ec, &in, ec->d.snd_wnd);
		break;
	case CHIM_ENG_ACK:
		wnd = ec->d.snd_wnd;
		eng_note(ec, &in);
		chim_eng_acked(emu, ec, &in, wnd);
		break;
	case CHIM_ENG_DUP:
		/* A probe of the closed window may find room now. */
		room = eng_deliver(ec, NULL);
		ack = chim_eng_ack(emu, ec, room);
		chim_eng_queue(ec, ack);
		break;
	case CHIM_ENG_DROP:
		break;
	case CHIM_ENG_PUNT:
	case CHIM_ENG_FIN:
		ec->engine = false;
		goto punt_locked;
	case CHIM_ENG_ABORT:
		/* Nothing more is sent or received: its terminate resets it. */
		ec->engine = false;
		ec->aborted = true;
		chim_indicate_abort(ec->handle);
		break;
	}
	chim_eng_take(ec, &q);
	spin_unlock(&ec->lock);
	kfree_skb(skb);
	chim_eng_count(emu, segs, octets, !!ack, 0);
	chim_eng_xmit(ec, &q);
	return NF_STOLEN;

punt_locked:
	ec->engine = false;
	spin_unlock(&ec->lock);
punt:
	return chim_emu_rx_punt(emu, ec, skb, payload, reason);
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_rx);
