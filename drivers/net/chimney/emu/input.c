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
#include <linux/tcp.h>
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
 * it.
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
	/* Entirely old (a retransmission of what was delivered). */
	if (in->len ? seq_le(in->end_seq, d->rcv_nxt) :
		      seq_lt(in->seq, d->rcv_nxt))
		return f & TCPHDR_RST ? CHIM_ENG_DROP : CHIM_ENG_DUP;
	/* Beyond the window advertised: not acceptable. */
	if (seq_lt(rcv_edge, in->end_seq) && in->len)
		return f & TCPHDR_RST ? CHIM_ENG_DROP : CHIM_ENG_DUP;
	/* RST, SYN: the stock stack decides (abort, challenge ACK). */
	if (f & (TCPHDR_RST | TCPHDR_SYN))
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
	/* A hole before it: reordering or loss. */
	if (seq_lt(d->rcv_nxt, in->seq)) {
		*reason = CHIM_REASON_HIGH_OUT_OF_ORDER_PACKETS;
		return CHIM_ENG_PUNT;
	}
	/* Partly old: the stock stack trims it. */
	if (in->seq != d->rcv_nxt && in->len)
		return CHIM_ENG_PUNT;
	/* A FIN is a disconnect: the host takes the connection back. */
	if (f & TCPHDR_FIN)
		return CHIM_ENG_PUNT;
	return in->len ? CHIM_ENG_DATA : CHIM_ENG_ACK;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_classify);
