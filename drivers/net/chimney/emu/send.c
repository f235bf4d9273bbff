// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated NIC's engine, transmit side.  Data the owner hands over
 * (->send()) is appended to the connection's send chain, whose first byte
 * is SndUna; the engine cuts it into segments of one MSS and sends them
 * within the peer's window and a congestion window (NewReno in bytes, RFC
 * 5681 and 6582).  ACKs free what they cover and complete it to the owner
 * (chim_send_complete()); three duplicate ACKs retransmit the first
 * unacknowledged segment; one timer per connection retransmits on timeout
 * with backoff (RFC 6298), probes a zero window, and gives up after
 * CHIM_ENG_MAX_RETRIES with TimeoutExpiration.
 *
 * Frames are built under the connection's lock and sent outside it by the
 * context that built them (chim_eng_take(), chim_eng_xmit()).
 */
#include <kunit/visibility.h>
#include <linux/netdevice.h>
#include <net/tcp.h>

#include "emu.h"

/**
 * chim_eng_count() - the engine's receive counters, and ACKs it sent
 * @emu: the target
 * @segs_in: segments received
 * @octets_in: their bytes
 * @segs_out: segments sent
 * @errors: segments dropped for a bad checksum
 *
 * Context: any, bottom halves disabled or softirq.
 */
void chim_eng_count(struct chim_emu *emu, unsigned int segs_in,
		    unsigned int octets_in, unsigned int segs_out,
		    unsigned int errors)
{
	struct chim_emu_stats *s;

	if (!emu->stats)
		return;
	s = this_cpu_ptr(emu->stats);
	u64_stats_update_begin(&s->syncp);
	s->tcp.in_segments += segs_in;
	s->ip.in_receives += segs_in;
	s->ip.in_delivers += segs_in;
	s->ip.in_octets += octets_in;
	s->tcp.out_segments += segs_out;
	s->ip.out_requests += segs_out;
	s->tcp.in_errors += errors;
	u64_stats_update_end(&s->syncp);
}

/* @segs data segments sent (@rexmit: again), in one frame. */
static void count_out(struct chim_emu *emu, unsigned int segs,
		      unsigned int octets, bool rexmit)
{
	struct chim_emu_stats *s;

	if (!emu->stats)
		return;
	s = get_cpu_ptr(emu->stats);
	u64_stats_update_begin(&s->syncp);
	s->tcp.out_segments += segs;
	s->ip.out_requests += segs;
	s->ip.out_octets += octets;
	s->tcp.retransmitted_segments += rexmit ? segs : 0;
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(emu->stats);
}

static void eng_timer(struct timer_list *t);
static void eng_delack(struct timer_list *t);

/**
 * chim_eng_init() - the engine's part of a new connection context
 * @emu: its target
 * @ec: the context, zeroed
 *
 * Context: any.
 */
void chim_eng_init(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	ec->emu = emu;
	skb_queue_head_init(&ec->txq);
	skb_queue_head_init(&ec->ooo);
	timer_setup(&ec->timer, eng_timer, 0);
	timer_setup(&ec->delack, eng_delack, 0);
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_init);

/* Under ec->lock: the ACK owed, if any, built now (counted). */
static void ack_owed_now(struct chim_emu_conn *ec)
{
	struct sk_buff *ack;

	if (!ec->ack_owed)
		return;
	ack = chim_eng_ack(ec->emu, ec, ec->room);
	if (ack)
		chim_eng_count(ec->emu, 0, 0, 1, 0);
	chim_eng_queue(ec, ack);
}

/**
 * chim_eng_stop() - no engine timer runs for @ec any more
 * @ec: a connection, @ec->stopped set (the timers are never armed again)
 *
 * A delayed ACK is sent now (the target flushes delayed ACKs before it
 * hands the connection back): the host's RcvNxt is acknowledged.
 *
 * Context: process, @ec->lock not held.
 */
void chim_eng_stop(struct chim_emu_conn *ec)
{
	struct sk_buff_head q;

	del_timer_sync(&ec->timer);
	del_timer_sync(&ec->delack);
	__skb_queue_head_init(&q);
	spin_lock_bh(&ec->lock);
	ack_owed_now(ec);
	chim_eng_take(ec, &q);
	spin_unlock_bh(&ec->lock);
	chim_eng_xmit(ec, &q);
}

/* TSval now: the host's clock in ms plus the connection's offset (I5). */
static u32 ts_now(const struct chim_emu_conn *ec)
{
	return (u32)div_u64(tcp_clock_ns(), NSEC_PER_MSEC) + ec->d.ts_time;
}

/*
 * Under ec->lock: the window field of a segment sent now, from the
 * owner's last reported room, never moving the advertised right edge left
 * (RFC 7323 2.4).
 */
static u16 eng_window(struct chim_emu_conn *ec)
{
	u8 ws = ec->c.flags & CHIM_TCP_FLAG_WINDOW_SCALING_ENABLED ?
		ec->c.rcv_wind_scale : 0;
	struct chim_tcp_delegated *d = &ec->d;
	u32 win = clamp_t(int, ec->room, 0, 65535U << ws) >> ws;

	if (before(d->rcv_nxt + (win << ws), ec->rcv_edge))
		win = (ec->rcv_edge - d->rcv_nxt) >> ws;
	else
		ec->rcv_edge = d->rcv_nxt + (win << ws);
	d->rcv_wnd = win << ws;
	return win;
}

/**
 * chim_eng_seg_now() - the header fields of a segment @ec sends now
 * @ec: the connection, its lock held
 * @seg: receives them
 * @seq: its sequence number
 * @flags: its TCPHDR_* flags
 *
 * Every segment acknowledges RcvNxt and advertises the window.
 */
void chim_eng_seg_now(struct chim_emu_conn *ec, struct chim_eng_seg *seg,
		      u32 seq, u8 flags)
{
	seg->seq = seq;
	seg->nr_sacks = 0;
	seg->ack = ec->d.rcv_nxt;
	ec->ack_owed = 0;
	seg->flags = flags;
	seg->tsval = ts_now(ec);
	seg->tsecr = ec->d.ts_recent;
	seg->win = eng_window(ec);
}

/*
 * Under ec->lock: the SACK blocks of an ACK (RFC 2018), from the
 * out-of-order queue: first the range with the segment received last,
 * then the others from the lowest (the holes the peer fills next).
 */
static void eng_sacks(const struct chim_emu_conn *ec, struct chim_eng_seg *seg)
{
	unsigned int max = ec->c.flags & CHIM_TCP_FLAG_TIMESTAMP_ENABLED ?
			   CHIM_ENG_SACK_MAX - 1 : CHIM_ENG_SACK_MAX;
	u32 r[CHIM_ENG_SACK_MAX + 1][2];
	const struct sk_buff *skb;
	unsigned int n = 0, i, last = 0;
	bool seen = false;

	seg->nr_sacks = 0;
	if (!(ec->c.flags & CHIM_TCP_FLAG_SACK_ENABLED))
		return;
	/* The first max + 1 ranges, merged where segments touch or overlap. */
	skb_queue_walk(&ec->ooo, skb) {
		u32 s = TCP_SKB_CB(skb)->seq, e = TCP_SKB_CB(skb)->end_seq;

		if (n && !after(s, r[n - 1][1])) {
			if (after(e, r[n - 1][1]))
				r[n - 1][1] = e;
		} else if (n <= max) {
			r[n][0] = s;
			r[n][1] = e;
			n++;
		} else {
			if (!after(s, ec->sack_seq) && after(e, ec->sack_seq)) {
				/* The last one is beyond: it replaces the last kept. */
				r[max][0] = s;
				r[max][1] = e;
			}
			break;
		}
	}
	for (i = 0; i < n; i++)
		if (!after(r[i][0], ec->sack_seq) && after(r[i][1], ec->sack_seq)) {
			last = i;
			seen = true;
			break;
		}
	if (seen) {
		seg->sack[0][0] = r[last][0];
		seg->sack[0][1] = r[last][1];
		seg->nr_sacks = 1;
	}
	for (i = 0; i < n && seg->nr_sacks < max; i++) {
		if (seen && i == last)
			continue;
		seg->sack[seg->nr_sacks][0] = r[i][0];
		seg->sack[seg->nr_sacks][1] = r[i][1];
		seg->nr_sacks++;
	}
}

/**
 * chim_eng_ack() - an ACK of everything received
 * @emu: the target
 * @ec: the connection, its lock held
 * @room: what the owner can take now
 *
 * Return: the frame, or NULL without memory or without a device (the
 * window is computed either way).
 */
struct sk_buff *chim_eng_ack(struct chim_emu *emu, struct chim_emu_conn *ec,
			     int room)
{
	struct chim_eng_seg seg;

	ec->room = room;
	chim_eng_seg_now(ec, &seg, ec->d.snd_nxt, TCPHDR_ACK);
	eng_sacks(ec, &seg);
	if (!emu->dev)
		return NULL;
	return chim_eng_frame(ec, emu->dev, &seg, NULL, 0, 0);
}

/**
 * chim_eng_ack_data() - acknowledge in-order data the owner took
 * @emu: the target
 * @ec: the connection, its lock held, RcvNxt past the data
 * @in: the data's segment
 * @room: what the owner can take now
 *
 * At once for two full segments' worth not acknowledged yet, or a segment
 * with PSH (the sender waits for an answer); otherwise the ACK waits for
 * a segment the engine sends anyway, or CHIM_ENG_DELACK_MS.
 *
 * Return: the ACK to send now, or NULL.
 */
struct sk_buff *chim_eng_ack_data(struct chim_emu *emu,
				  struct chim_emu_conn *ec,
				  const struct chim_eng_in *in, int room)
{
	ec->room = room;
	ec->ack_owed += in->len;
	if (ec->ack_owed >= 2 * ec->mss || (in->flags & TCPHDR_PSH))
		return chim_eng_ack(emu, ec, room);
	if (!timer_pending(&ec->delack))
		mod_timer(&ec->delack,
			  jiffies + msecs_to_jiffies(CHIM_ENG_DELACK_MS));
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_ack_data);

/**
 * chim_eng_queue() - a frame to send, after the ones built before it
 * @ec: the connection, its lock held
 * @frame: the frame, or NULL (nothing)
 */
void chim_eng_queue(struct chim_emu_conn *ec, struct sk_buff *frame)
{
	if (frame)
		__skb_queue_tail(&ec->txq, frame);
}

/**
 * chim_eng_take() - the frames built so far, for the caller to send
 * @ec: the connection, its lock held
 * @q: receives them, in the order they were built
 *
 * The context that built frames sends them itself, once it dropped the
 * lock (chim_eng_xmit()), as the stock stack sends a socket's segments
 * from the context that made them.  One context at a time sends a
 * connection's frames, so that they leave in the order they were built
 * (two CPUs sending their own would reorder them on the wire, and the
 * peer's duplicate ACKs would make retransmissions): while another
 * context sends, the frames stay on @ec->txq, and that one sends them
 * after its own.
 */
void chim_eng_take(struct chim_emu_conn *ec, struct sk_buff_head *q)
{
	if (ec->xmitting || skb_queue_empty(&ec->txq))
		return;
	ec->xmitting = true;
	skb_queue_splice_tail_init(&ec->txq, q);
}

/**
 * chim_eng_xmit() - send frames taken with chim_eng_take()
 * @ec: their connection, alive until the terminate stopped every sender
 *	(the receive hook's RCU section, del_timer_sync(), the host's data
 *	calls' RCU section)
 * @q: the frames, consumed; empty when another context sends
 *
 * Context: any, no lock of the connection held.
 */
void chim_eng_xmit(struct chim_emu_conn *ec, struct sk_buff_head *q)
{
	struct sk_buff *skb;

	while (!skb_queue_empty(q)) {
		/* The device counts what its queue drops (tx_dropped). */
		while ((skb = __skb_dequeue(q)))
			dev_queue_xmit(skb);
		/* What others built meanwhile, in order after ours. */
		spin_lock_bh(&ec->lock);
		skb_queue_splice_tail_init(&ec->txq, q);
		if (skb_queue_empty(q))
			ec->xmitting = false;
		spin_unlock_bh(&ec->lock);
	}
}

/*
 * Under ec->lock: the segment at @seq, queued: at most one MSS, or
 * several whole ones in one frame the device cuts (chim_eng_gso_segs()).
 */
static bool send_seg(struct chim_emu *emu, struct chim_emu_conn *ec, u32 seq,
		     u32 len, bool push)
{
	struct chim_tcp_delegated *d = &ec->d;
	struct chim_eng_seg seg;
	struct sk_buff *frame;
	bool rexmit = before(seq, d->snd_max);
	unsigned int segs = DIV_ROUND_UP(len, ec->mss);

	chim_eng_seg_now(ec, &seg, seq, TCPHDR_ACK | (push ? TCPHDR_PSH : 0));
	frame = chim_eng_data_frame(ec, emu->dev, &seg, &d->send_data,
				    seq - d->snd_una, len);
	if (!frame)
		return false;
	chim_eng_queue(ec, frame);
	count_out(emu, segs, len, rexmit);
	if (rexmit)
		d->total_rt += segs;
	return true;
}

/*
 * Under ec->lock: the first unacknowledged segment again (fast
 * retransmit, a partial ACK in recovery).
 */
static void resend_first(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	struct chim_tcp_delegated *d = &ec->d;
	u32 len = min(ec->mss, d->snd_max - d->snd_una);

	if (len && emu->dev)
		send_seg(emu, ec, d->snd_una, len, false);
}

/**
 * chim_eng_arm() - the timer as the connection needs it now
 * @ec: the connection, its lock held
 *
 * Armed for a retransmission while data is outstanding (kept if already
 * armed), for a window probe (or another try) while data waits unsent,
 * stopped otherwise.
 */
void chim_eng_arm(struct chim_emu_conn *ec)
{
	struct chim_tcp_delegated *d = &ec->d;

	if (ec->stopped || !ec->engine)
		return;
	if (d->snd_una != d->snd_max || ec->tx_bytes) {
		if (!timer_pending(&ec->timer))
			mod_timer(&ec->timer,
				  jiffies + msecs_to_jiffies(ec->rto));
	} else {
		del_timer(&ec->timer);
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_arm);

/**
 * chim_eng_push() - send what the windows allow
 * @emu: the target
 * @ec: the connection, its lock held
 *
 * From SndNxt on, segments of one MSS while the data in flight stays
 * within the congestion window and the peer's window; a smaller segment
 * only for the last bytes (not while data is in flight, with Nagle), or
 * when the window allows no more and nothing is in flight.  New data goes
 * out several whole segments to a frame where the device segments itself
 * (chim_eng_gso_segs()).  The frames go onto @ec->txq (chim_eng_take()).
 */
void chim_eng_push(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	bool nagle = ec->cached.flags & CHIM_TCP_FLAG_NAGLING_ENABLED;
	struct chim_tcp_delegated *d = &ec->d;
	u32 end = d->snd_una + ec->tx_bytes;
	u32 gso;

	if (!ec->engine || ec->stopped || !emu->dev)
		return;
	gso = chim_eng_gso_segs(ec, emu->dev);
	while (before(d->snd_nxt, end)) {
		u32 flight = d->snd_nxt - d->snd_una;
		u32 wnd = min(d->cwnd, d->snd_wnd);
		u32 avail = end - d->snd_nxt;
		u32 len = min(ec->mss, avail);

		if (wnd <= flight)
			break;
		if (len > wnd - flight) {
			/* Window-limited: wait for ACKs while any are due. */
			if (flight)
				break;
			len = wnd - flight;
		} else if (len < ec->mss && flight && nagle) {
			break;
		} else if (len == ec->mss && gso > 1 && d->snd_nxt == d->snd_max) {
			/* New data: whole segments the windows allow, one frame. */
			len *= min3(gso, avail / ec->mss,
				    (wnd - flight) / ec->mss);
		}
		if (!send_seg(emu, ec, d->snd_nxt, len, len == avail))
			break;	/* no memory: the timer tries again */
		d->snd_nxt += len;
		if (after(d->snd_nxt, d->snd_max)) {
			ec->bytes_out += d->snd_nxt - d->snd_max;
			d->snd_max = d->snd_nxt;
		}
	}
	chim_eng_arm(ec);
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_push);

/* Under ec->lock: @n acknowledged bytes off the head of the send chain. */
static void free_acked(struct chim_emu_conn *ec, u32 n)
{
	struct sk_buff_head *q = &ec->d.send_data;

	ec->tx_bytes -= n;
	while (n) {
		struct sk_buff *skb = skb_peek(q);

		if (n < skb->len) {
			/* Linear (the owner's and the snapshot's skbs). */
			__skb_pull(skb, n);
			break;
		}
		n -= skb->len;
		__skb_unlink(skb, q);
		consume_skb(skb);
	}
}

/* Under ec->lock: an RTT sample from TSecr, into SRTT, RTTVAR and RTO. */
static void rtt_sample(struct chim_emu_conn *ec, const struct chim_eng_in *in)
{
	struct chim_tcp_delegated *d = &ec->d;
	s32 m = (s32)(ts_now(ec) - in->tsecr);
	u32 srtt = d->srtt, var = d->rtt_var;

	if (!in->has_ts || !in->tsecr || m < 0 || m > CHIM_ENG_RTO_MAX_MS)
		return;
	/* RFC 6298 2.2-2.3: SRTT scaled by 8, RTTVAR by 4, in ms. */
	if (!srtt) {
		srtt = m << 3;
		var = m << 1;
	} else {
		m -= srtt >> 3;
		srtt += m;
		if (m < 0)
			m = -m;
		m -= var >> 2;
		var += m;
	}
	d->srtt = min_t(u32, srtt, U16_MAX);
	d->rtt_var = min_t(u32, var, U16_MAX);
	ec->rto = clamp_t(u32, (d->srtt >> 3) + d->rtt_var,
			  CHIM_ENG_RTO_MIN_MS, CHIM_ENG_RTO_MAX_MS);
}

/* Under ec->lock: NewReno's answer to @acked new bytes (RFC 5681, 6582). */
static void cong_acked(struct chim_emu *emu, struct chim_emu_conn *ec,
		       u32 acked)
{
	struct chim_tcp_delegated *d = &ec->d;
	u32 mss = ec->mss;

	if (ec->in_recovery) {
		if (!before(d->snd_una, ec->recover)) {
			/* Full ACK: deflate, recovery is over. */
			d->cwnd = min(d->ss_thresh,
				      max(d->snd_max - d->snd_una, mss) + mss);
			ec->in_recovery = false;
		} else {
			/* Partial ACK: the next hole, at once. */
			resend_first(emu, ec);
			d->cwnd = (d->cwnd > acked ? d->cwnd - acked : 0) + mss;
		}
	} else if (d->cwnd < d->ss_thresh) {
		d->cwnd += min(acked, 2 * mss);
	} else {
		d->cwnd += max(mss * mss / max(d->cwnd, 1U), 1U);
	}
	d->cwnd = clamp(d->cwnd, mss, CHIM_ENG_CWND_MAX_SEGS * mss);
}

/* Under ec->lock: a duplicate ACK (RFC 5681 2): the third retransmits. */
static void cong_dupack(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	struct chim_tcp_delegated *d = &ec->d;
	u32 mss = ec->mss;

	if (d->dup_ack_count < U8_MAX)
		d->dup_ack_count++;
	if (ec->in_recovery) {
		d->cwnd += mss;
		return;
	}
	/* After a timeout, not for what it resent (RFC 6582 4.1). */
	if (d->dup_ack_count != CHIM_ENG_DUPACK_THRESHOLD || ec->rto_recover)
		return;
	d->ss_thresh = max((d->snd_max - d->snd_una) / 2, 2 * mss);
	ec->recover = d->snd_max;
	ec->in_recovery = true;
	resend_first(emu, ec);
	d->cwnd = d->ss_thresh + CHIM_ENG_DUPACK_THRESHOLD * mss;
}

/*
 * Under ec->lock, the first ACK of new data after a timeout: when it
 * echoes a TSval older than the resend's, it acknowledges what was sent
 * before the timeout, which was spurious (the Eifel detection of RFC
 * 3522): the congestion state comes back, and the engine goes on from
 * SndMax instead of sending again what is in flight (RFC 4015).
 */
static void eng_spurious_timeout(struct chim_emu_conn *ec,
				 const struct chim_eng_in *in)
{
	struct chim_tcp_delegated *d = &ec->d;

	if (!ec->eifel)
		return;
	ec->eifel = false;
	if (!in->has_ts || !before(in->tsecr, ec->rto_ts))
		return;
	d->cwnd = max(d->cwnd, ec->undo_cwnd);
	d->ss_thresh = max(d->ss_thresh, ec->undo_ssthresh);
	ec->rto_recover = false;
	d->snd_nxt = d->snd_max;
}

/**
 * chim_eng_acked() - what an acceptable segment's ACK field tells
 * @emu: the target
 * @ec: the connection, its lock held
 * @in: the segment
 * @old_wnd: the send window before the segment updated it
 *
 * New data acknowledged is freed and completed to the owner, with an RTT
 * sample, the congestion window's growth and the timer restarted; a
 * duplicate ACK counts towards a fast retransmit.  Then the engine sends
 * what the windows allow now.
 *
 * Return: true when new data was acknowledged.
 */
bool chim_eng_acked(struct chim_emu *emu, struct chim_emu_conn *ec,
		    const struct chim_eng_in *in, u32 old_wnd)
{
	struct chim_tcp_delegated *d = &ec->d;
	u32 acked = 0;

	if (after(in->ack, d->snd_una)) {
		eng_spurious_timeout(ec, in);
		acked = in->ack - d->snd_una;
		free_acked(ec, acked);
		d->snd_una = in->ack;
		if (before(d->snd_nxt, d->snd_una))
			d->snd_nxt = d->snd_una;	/* after a go-back-N */
		d->retransmit.count = 0;
		d->dup_ack_count = 0;
		if (ec->rto_recover && !before(d->snd_una, ec->recover))
			ec->rto_recover = false;
		rtt_sample(ec, in);
		cong_acked(emu, ec, acked);
		/* RFC 6298 5.3: restarted by an ACK of new data. */
		del_timer(&ec->timer);
		chim_send_complete(ec->handle, d->snd_una, acked);
	} else if (in->ack == d->snd_una && !in->len &&
		   d->snd_una != d->snd_max && d->snd_wnd == old_wnd) {
		cong_dupack(emu, ec);
	}
	chim_eng_push(emu, ec);
	return acked;
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_acked);

/* Under ec->lock: a zero-window probe, an old sequence number (RFC 9293). */
static void send_probe(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	struct chim_eng_seg seg;

	if (!emu->dev)
		return;
	chim_eng_seg_now(ec, &seg, ec->d.snd_una - 1, TCPHDR_ACK);
	chim_eng_queue(ec, chim_eng_frame(ec, emu->dev, &seg, NULL, 0, 0));
	chim_eng_count(emu, 0, 0, 1, 0);
	ec->d.snd_wnd_probe_count++;
}

/**
 * chim_eng_timeout() - the timer ran out: retransmit or probe
 * @emu: the target
 * @ec: the connection, its lock held
 *
 * With data in flight, the retransmission timeout of RFC 6298 5.4-5.7: go
 * back to SndUna with one segment of congestion window and back off; after
 * CHIM_ENG_MAX_RETRIES, the engine stops and asks for the upload with
 * TimeoutExpiration.  With data waiting unsent, a probe of the peer's zero
 * window (or another try after an allocation failure).
 */
void chim_eng_timeout(struct chim_emu *emu, struct chim_emu_conn *ec)
{
	struct chim_tcp_delegated *d = &ec->d;

	if (!ec->engine || ec->stopped)
		return;
	if (d->snd_una != d->snd_max &&
	    d->retransmit.count >= CHIM_ENG_MAX_RETRIES) {
		/* The peer is gone: the host decides (it resets or waits). */
		ec->engine = false;
		chim_indicate_retrieve(ec->handle,
				       CHIM_REASON_TIMEOUT_EXPIRATION);
		return;
	}
	if (d->snd_una != d->snd_max) {
		/* The first of an episode: what a spurious one would undo. */
		if (!d->retransmit.count &&
		    (ec->c.flags & CHIM_TCP_FLAG_TIMESTAMP_ENABLED)) {
			ec->eifel = true;
			ec->rto_ts = ts_now(ec);
			ec->undo_cwnd = d->cwnd;
			ec->undo_ssthresh = d->ss_thresh;
		}
		d->retransmit.count++;
		d->ss_thresh = max((d->snd_max - d->snd_una) / 2, 2 * ec->mss);
		d->cwnd = ec->mss;
		d->dup_ack_count = 0;
		ec->in_recovery = false;
		ec->recover = d->snd_max;
		ec->rto_recover = true;
		d->snd_nxt = d->snd_una;
		chim_eng_push(emu, ec);
	} else if (!ec->tx_bytes) {
		return;
	} else if (!d->snd_wnd) {
		send_probe(emu, ec);
	} else {
		chim_eng_push(emu, ec);
	}
	ec->rto = min_t(u32, ec->rto * 2, CHIM_ENG_RTO_MAX_MS);
	mod_timer(&ec->timer, jiffies + msecs_to_jiffies(ec->rto));
}
EXPORT_SYMBOL_IF_KUNIT(chim_eng_timeout);

static void eng_timer(struct timer_list *t)
{
	struct chim_emu_conn *ec = from_timer(ec, t, timer);
	struct sk_buff_head q;

	__skb_queue_head_init(&q);
	spin_lock(&ec->lock);
	/* Re-armed while this waited for the lock (an ACK restarted it). */
	if (!timer_pending(&ec->timer))
		chim_eng_timeout(ec->emu, ec);
	chim_eng_take(ec, &q);
	spin_unlock(&ec->lock);
	chim_eng_xmit(ec, &q);
}

/* The delayed ACK: data was acknowledged by no segment in time. */
static void eng_delack(struct timer_list *t)
{
	struct chim_emu_conn *ec = from_timer(ec, t, delack);
	struct sk_buff_head q;

	__skb_queue_head_init(&q);
	spin_lock(&ec->lock);
	if (!ec->stopped)
		ack_owed_now(ec);
	chim_eng_take(ec, &q);
	spin_unlock(&ec->lock);
	chim_eng_xmit(ec, &q);
}

/**
 * chim_eng_send() - ->send(): data the owner's application wrote
 * @emu: the target
 * @ec: the connection
 * @q: linear skbs, appended to the send chain when the engine runs it
 *
 * Context: process or softirq; does not sleep.
 * Return: 0, or -EOPNOTSUPP when the engine does not run the connection
 * (@q untouched).
 */
int chim_eng_send(struct chim_emu *emu, struct chim_emu_conn *ec,
		  struct sk_buff_head *q)
{
	struct sk_buff_head frames;

	__skb_queue_head_init(&frames);
	spin_lock_bh(&ec->lock);
	if (!ec->engine || ec->stopped) {
		spin_unlock_bh(&ec->lock);
		return -EOPNOTSUPP;
	}
	ec->tx_bytes += chim_skb_queue_bytes(q);
	skb_queue_splice_tail_init(q, &ec->d.send_data);
	ec->active = jiffies;
	chim_eng_push(emu, ec);
	chim_eng_take(ec, &frames);
	spin_unlock_bh(&ec->lock);
	chim_eng_xmit(ec, &frames);
	return 0;
}
