// SPDX-License-Identifier: GPL-2.0
/*
 * Segments the emulated NIC does not run itself: held for the stock stack,
 * with a Part 1 request for the upload, and indicated up like any received
 * frame once the connection is back.  What it holds is bounded per
 * connection and for the target as a whole.
 */
#include <kunit/visibility.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>

#include "emu.h"

static void rx_count(struct chim_emu *emu, struct sk_buff *skb, bool held)
{
	struct chim_emu_stats *s = this_cpu_ptr(emu->stats);

	u64_stats_update_begin(&s->syncp);
	s->tcp.in_segments++;
	s->ip.in_receives++;
	s->ip.in_octets += skb->len;
	if (!held)
		s->ip.in_discards++;
	u64_stats_update_end(&s->syncp);
}

/* Room for @size more held bytes, per connection and per target. */
static bool rx_room(struct chim_emu *emu, struct chim_emu_conn *ec,
		    unsigned int size)
{
	if (ec->rx_truesize + size > CHIM_RX_HOLD_MAX)
		return false;
	if (atomic_long_add_return(size, &emu->rx_held) <= emu->rx_held_max)
		return true;
	atomic_long_sub(size, &emu->rx_held);
	return false;
}

/**
 * chim_emu_rx_charge() - count @size more bytes the target holds for @ec
 * @emu: the target
 * @ec: the connection, its lock held
 * @size: a segment's truesize
 *
 * The engine's out-of-order queue counts with the held segments, under
 * the same bounds (per connection, per target).
 *
 * Return: false beyond a bound (nothing counted).
 */
bool chim_emu_rx_charge(struct chim_emu *emu, struct chim_emu_conn *ec,
			unsigned int size)
{
	if (!rx_room(emu, ec, size))
		return false;
	ec->rx_truesize += size;
	return true;
}

/**
 * chim_emu_rx_uncharge() - @size bytes @ec held are gone
 * @emu: the target
 * @ec: the connection, its lock held
 * @size: what chim_emu_rx_charge() counted
 */
void chim_emu_rx_uncharge(struct chim_emu *emu, struct chim_emu_conn *ec,
			  unsigned int size)
{
	ec->rx_truesize -= size;
	atomic_long_sub(size, &emu->rx_held);
}

/**
 * chim_emu_rx_punt() - hold a segment of @ec for the stock stack; ask for
 *	an upload
 * @emu: the target
 * @ec: the connection, found in the table
 * @skb: the segment, consumed
 * @payload: its TCP payload length
 * @reason: the reason of the ask (TCP_UPLOAD_REASON), or
 *	%CHIM_REASON_DISCONNECT for the peer's FIN (TcpIndicateDisconnect)
 *
 * What the target holds is bounded per connection and for the target as a
 * whole; beyond, the segment is dropped and counted (the peer retransmits
 * it).  The target asks at its first held segment, and again at a segment
 * held CHIM_REASK_MS or more after its last ask: a request the host did
 * not act on is not the end of the connection.  A segment that arrives
 * while the initiate runs, before the engine decided whether it runs the
 * connection, is held without asking: chim_eng_start() decides for it.
 *
 * Context: softirq (the ingress hook).
 * Return: NF_STOLEN.
 */
unsigned int chim_emu_rx_punt(struct chim_emu *emu, struct chim_emu_conn *ec,
			      struct sk_buff *skb, u32 payload,
			      enum chim_upload_reason reason)
{
	bool ask = false, held = false;

	/* The core may still hand this skb to others (taps): own it. */
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return NF_STOLEN;
	spin_lock(&ec->lock);
	if (ec->stopped) {
		/* Uploaded meanwhile: the stock stack takes it from here. */
		spin_unlock(&ec->lock);
		netif_rx(skb);
		return NF_STOLEN;
	}
	ec->active = jiffies;
	if (rx_room(emu, ec, skb->truesize)) {
		ec->bytes_in += payload;
		ec->rx_truesize += skb->truesize;
		__skb_queue_tail(&ec->rx, skb);
		held = true;
		/* Before the engine decided, it replays them (chim_eng_start()). */
		ask = ec->decided &&
		      (!ec->upload_asked ||
		       time_after_eq(jiffies, ec->asked_at +
				     msecs_to_jiffies(CHIM_REASK_MS)));
		if (ask) {
			ec->upload_asked = true;
			ec->asked_at = jiffies;
		}
	}
	/* The handle lives until the terminate, which stops us first. */
	if (ask && reason == CHIM_REASON_DISCONNECT)
		chim_indicate_disconnect(ec->handle);
	else if (ask)
		chim_indicate_retrieve(ec->handle, reason);
	spin_unlock(&ec->lock);
	rx_count(emu, skb, held);
	if (!held)
		kfree_skb(skb);	/* the peer retransmits it */
	return NF_STOLEN;
}

/**
 * chim_emu_rx_hold() - chim_emu_rx_punt() for UploadRequested: a segment
 *	of a connection the target does not run itself
 * @emu: the target
 * @ec: the connection, found in the table
 * @skb: the segment, consumed
 * @payload: its TCP payload length
 *
 * Context: softirq (the ingress hook).
 * Return: NF_STOLEN.
 */
unsigned int chim_emu_rx_hold(struct chim_emu *emu, struct chim_emu_conn *ec,
			      struct sk_buff *skb, u32 payload)
{
	return chim_emu_rx_punt(emu, ec, skb, payload,
				CHIM_REASON_UPLOAD_REQUESTED);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_rx_hold);

/**
 * chim_emu_rx_reinject() - indicate held segments up to the stock stack
 * @q: the segments, consumed
 *
 * Context: process.
 */
void chim_emu_rx_reinject(struct sk_buff_head *q)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(q)))
		netif_rx(skb);
}
