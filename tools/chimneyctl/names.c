// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: every name printed or parsed, in one place.  Enum names are
 * the spec's names (kebab case); JSON keys are the same names in snake case.
 */
#include <assert.h>
#include <string.h>

#include "chimneyctl.h"

static const char *const reason_names[] = {
	[CHIMNEY_REASON_NONE]				= "none",
	[CHIMNEY_REASON_LOW_ACTIVITY]			= "low-activity",
	[CHIMNEY_REASON_HIGH_DROP_RATE]			= "high-drop-rate",
	[CHIMNEY_REASON_SMALL_IO]			= "small-io",
	[CHIMNEY_REASON_NO_BUFFER_PREPOSTING]		= "no-buffer-preposting",
	[CHIMNEY_REASON_RECEIVED_URGENT_DATA]		= "received-urgent-data",
	[CHIMNEY_REASON_HIGH_FRAGMENTATION]		= "high-fragmentation",
	[CHIMNEY_REASON_HIGH_OUT_OF_ORDER_PACKETS]	= "high-out-of-order-packets",
	[CHIMNEY_REASON_TIMEOUT_EXPIRATION]		= "timeout-expiration",
	[CHIMNEY_REASON_INVALID_STATE]			= "invalid-state",
	[CHIMNEY_REASON_UPLOAD_REQUESTED]		= "upload-requested",
	[CHIMNEY_REASON_HARDWARE_FAILURE]		= "hardware-failure",
	[CHIMNEY_REASON_ADMIN]				= "admin",
	[CHIMNEY_REASON_LINK_DOWN]			= "link-down",
	[CHIMNEY_REASON_PAUSE]				= "pause",
	[CHIMNEY_REASON_PRIORITY]			= "priority",
	[CHIMNEY_REASON_CLOSE]				= "close",
	[CHIMNEY_REASON_DETACH]				= "detach",
	[CHIMNEY_REASON_UPLOAD_ALL]			= "upload-all",
	[CHIMNEY_REASON_PARENT]				= "parent",
	[CHIMNEY_REASON_DISCONNECT]			= "disconnect",
	[CHIMNEY_REASON_ABORT]				= "abort",
};

static_assert(ARRAY_SIZE(reason_names) == CHIMNEY_REASON_ABORT + 1,
	      "reason_names does not match enum chimney_reason");
/* accept-optional is a u32 bitmask of 1 << reason */
static_assert(ARRAY_SIZE(reason_names) <= 32, "too many reasons for a u32 mask");

static const char *const status_names[] = {
	[CHIMNEY_STATUS_SUCCESS]			= "success",
	[CHIMNEY_STATUS_PENDING]			= "pending",
	[CHIMNEY_STATUS_PARTIAL_SUCCESS]		= "partial-success",
	[CHIMNEY_STATUS_FAILURE]			= "failure",
	[CHIMNEY_STATUS_RESOURCES]			= "resources",
	[CHIMNEY_STATUS_OFFLOAD_TCP_ENTRIES]		= "offload-tcp-entries",
	[CHIMNEY_STATUS_OFFLOAD_PATH_ENTRIES]		= "offload-path-entries",
	[CHIMNEY_STATUS_OFFLOAD_NEIGHBOR_ENTRIES]	= "offload-neighbor-entries",
	[CHIMNEY_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES]	= "offload-hw-address-entries",
	[CHIMNEY_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES]	= "offload-ip-address-entries",
	[CHIMNEY_STATUS_OFFLOAD_TCP_XMIT_BUFFER]	= "offload-tcp-xmit-buffer",
	[CHIMNEY_STATUS_OFFLOAD_TCP_RCV_BUFFER]		= "offload-tcp-rcv-buffer",
	[CHIMNEY_STATUS_OFFLOAD_TCP_RCV_WINDOW]		= "offload-tcp-rcv-window",
	[CHIMNEY_STATUS_OFFLOAD_VLAN_ENTRIES]		= "offload-vlan-entries",
	[CHIMNEY_STATUS_OFFLOAD_VLAN_MISMATCH]		= "offload-vlan-mismatch",
	[CHIMNEY_STATUS_OFFLOAD_PATH_MTU]		= "offload-path-mtu",
	[CHIMNEY_STATUS_OFFLOAD_CONNECTION_REJECTED]	= "offload-connection-rejected",
	[CHIMNEY_STATUS_UPLOAD_IN_PROGRESS]		= "upload-in-progress",
	[CHIMNEY_STATUS_REQUEST_ABORTED]		= "request-aborted",
};

static_assert(ARRAY_SIZE(status_names) == CHIMNEY_STATUS_REQUEST_ABORTED + 1,
	      "status_names does not match enum chimney_status");

static const char *const state_names[] = {
	[CHIMNEY_OBJ_STATE_NEW]			= "new",
	[CHIMNEY_OBJ_STATE_OFFLOADING]		= "offloading",
	[CHIMNEY_OBJ_STATE_OFFLOADED]		= "offloaded",
	[CHIMNEY_OBJ_STATE_UPLOADING]		= "uploading",
	[CHIMNEY_OBJ_STATE_INVALIDATED]		= "invalidated",
	[CHIMNEY_OBJ_STATE_ABORTED]		= "aborted",
	[CHIMNEY_OBJ_STATE_DEAD]		= "dead",
};

static_assert(ARRAY_SIZE(state_names) == CHIMNEY_OBJ_STATE_DEAD + 1,
	      "state_names does not match enum chimney_obj_state");

static const char *const tcp_state_names[] = {
	[CHIMNEY_TCP_STATE_CLOSED]		= "closed",
	[CHIMNEY_TCP_STATE_LISTEN]		= "listen",
	[CHIMNEY_TCP_STATE_SYN_SENT]		= "syn-sent",
	[CHIMNEY_TCP_STATE_SYN_RCVD]		= "syn-rcvd",
	[CHIMNEY_TCP_STATE_ESTABLISHED]		= "established",
	[CHIMNEY_TCP_STATE_FIN_WAIT1]		= "fin-wait1",
	[CHIMNEY_TCP_STATE_FIN_WAIT2]		= "fin-wait2",
	[CHIMNEY_TCP_STATE_CLOSE_WAIT]		= "close-wait",
	[CHIMNEY_TCP_STATE_CLOSING]		= "closing",
	[CHIMNEY_TCP_STATE_LAST_ACK]		= "last-ack",
	[CHIMNEY_TCP_STATE_TIME_WAIT]		= "time-wait",
};

static_assert(ARRAY_SIZE(tcp_state_names) == CHIMNEY_TCP_STATE_TIME_WAIT + 1,
	      "tcp_state_names does not match enum chimney_tcp_state");

static const char *const event_names[] = {
	[CHIMNEY_EVENT_TYPE_UNSPEC]		= "unspec",
	[CHIMNEY_EVENT_TYPE_ATTACH]		= "attach",
	[CHIMNEY_EVENT_TYPE_DETACH]		= "detach",
	[CHIMNEY_EVENT_TYPE_PAUSE]		= "pause",
	[CHIMNEY_EVENT_TYPE_RESUME]		= "resume",
	[CHIMNEY_EVENT_TYPE_OFFLOAD]		= "offload",
	[CHIMNEY_EVENT_TYPE_RETRIEVE]		= "retrieve",
	[CHIMNEY_EVENT_TYPE_TERMINATE_START]	= "terminate-start",
	[CHIMNEY_EVENT_TYPE_TERMINATE_DONE]	= "terminate-done",
	[CHIMNEY_EVENT_TYPE_LINK]		= "link",
	[CHIMNEY_EVENT_TYPE_FAULT]		= "fault",
	[CHIMNEY_EVENT_TYPE_DISCONNECT]		= "disconnect",
	[CHIMNEY_EVENT_TYPE_ABORT]		= "abort",
};

static_assert(ARRAY_SIZE(event_names) == CHIMNEY_EVENT_TYPE_ABORT + 1,
	      "event_names does not match enum chimney_event_type");

const struct name_table reason_table = {
	"reason", reason_names, ARRAY_SIZE(reason_names)
};

const struct name_table status_table = {
	"status", status_names, ARRAY_SIZE(status_names)
};

const struct name_table state_table = {
	"state", state_names, ARRAY_SIZE(state_names)
};

const struct name_table tcp_state_table = {
	"tcp-state", tcp_state_names, ARRAY_SIZE(tcp_state_names)
};

const struct name_table event_table = {
	"event", event_names, ARRAY_SIZE(event_names)
};

/*
 * The attribute sets printed key by key.  params carries the command-line
 * keyword of `dev attach` (and of the text output) where it is shorter than
 * the attribute's name.
 */
const struct attr_name params_attrs[] = {
	[CHIMNEY_A_PARAMS_TICKS_PER_SECOND]	= {
		.name = "ticks-per-second", .keyword = "ticks"
	},
	[CHIMNEY_A_PARAMS_ACK_FREQUENCY]	= { .name = "ack-frequency" },
	[CHIMNEY_A_PARAMS_DELAYED_ACK_TICKS]	= { .name = "delayed-ack-ticks" },
	[CHIMNEY_A_PARAMS_MAX_RETRANSMISSIONS]	= { .name = "max-retransmissions" },
	[CHIMNEY_A_PARAMS_DOUBT_REACHABILITY_RETRANSMISSIONS] = {
		.name = "doubt-reachability-retransmissions"
	},
	[CHIMNEY_A_PARAMS_SWS_PREVENTION_TICKS]	= { .name = "sws-prevention-ticks" },
	[CHIMNEY_A_PARAMS_DUP_ACK_THRESHOLD]	= { .name = "dup-ack-threshold" },
	[CHIMNEY_A_PARAMS_PUSH_TICKS]		= { .name = "push-ticks" },
	[CHIMNEY_A_PARAMS_NCE_STALE_TICKS]	= { .name = "nce-stale-ticks" },
};

static_assert(ARRAY_SIZE(params_attrs) == __CHIMNEY_A_PARAMS_MAX,
	      "params_attrs does not match CHIMNEY_A_PARAMS_*");

const struct attr_name delegated_attrs[] = {
	[CHIMNEY_A_DELEGATED_TCP_STATE]		= { .name = "tcp-state" },
	[CHIMNEY_A_DELEGATED_SND_UNA]		= { .name = "snd-una" },
	[CHIMNEY_A_DELEGATED_SND_NXT]		= { .name = "snd-nxt" },
	[CHIMNEY_A_DELEGATED_SND_MAX]		= { .name = "snd-max" },
	[CHIMNEY_A_DELEGATED_SND_WND]		= { .name = "snd-wnd" },
	[CHIMNEY_A_DELEGATED_MAX_SND_WND]	= { .name = "max-snd-wnd" },
	[CHIMNEY_A_DELEGATED_SEND_WL1]		= { .name = "send-wl1" },
	[CHIMNEY_A_DELEGATED_RCV_NXT]		= { .name = "rcv-nxt" },
	[CHIMNEY_A_DELEGATED_RCV_WND]		= { .name = "rcv-wnd" },
	[CHIMNEY_A_DELEGATED_CWND]		= { .name = "cwnd" },
	[CHIMNEY_A_DELEGATED_SS_THRESH]		= { .name = "ss-thresh" },
	[CHIMNEY_A_DELEGATED_SRTT]		= { .name = "srtt" },
	[CHIMNEY_A_DELEGATED_RTT_VAR]		= { .name = "rtt-var" },
	[CHIMNEY_A_DELEGATED_TS_RECENT]		= { .name = "ts-recent" },
	[CHIMNEY_A_DELEGATED_TS_RECENT_AGE]	= { .name = "ts-recent-age" },
	[CHIMNEY_A_DELEGATED_TS_TIME]		= { .name = "ts-time" },
	[CHIMNEY_A_DELEGATED_TOTAL_RT]		= { .name = "total-rt" },
	[CHIMNEY_A_DELEGATED_DUP_ACK_COUNT]	= { .name = "dup-ack-count" },
	[CHIMNEY_A_DELEGATED_SND_WND_PROBE_COUNT] = { .name = "snd-wnd-probe-count" },
	[CHIMNEY_A_DELEGATED_KA_PROBE_COUNT]	= { .name = "ka-probe-count" },
	[CHIMNEY_A_DELEGATED_KA_TIMEOUT_DELTA]	= { .name = "ka-timeout-delta" },
	[CHIMNEY_A_DELEGATED_RT_COUNT]		= { .name = "rt-count" },
	[CHIMNEY_A_DELEGATED_RT_TIMEOUT_DELTA]	= { .name = "rt-timeout-delta" },
	[CHIMNEY_A_DELEGATED_SEND_BACKLOG_SIZE]	= { .name = "send-backlog-size" },
	[CHIMNEY_A_DELEGATED_RECEIVE_BACKLOG_SIZE] = { .name = "receive-backlog-size" },
};

static_assert(ARRAY_SIZE(delegated_attrs) == __CHIMNEY_A_DELEGATED_MAX,
	      "delegated_attrs does not match CHIMNEY_A_DELEGATED_*");

/* CHIMNEY_A_OFFLOAD_STATS_CPU is printed on its own, so it has no name. */
const struct attr_name offload_stats_attrs[] = {
	[CHIMNEY_A_OFFLOAD_STATS_IN_SEGMENTS]		= { .name = "in-segments" },
	[CHIMNEY_A_OFFLOAD_STATS_OUT_SEGMENTS]		= { .name = "out-segments" },
	[CHIMNEY_A_OFFLOAD_STATS_CURRENTLY_ESTABLISHED]	= { .name = "currently-established" },
	[CHIMNEY_A_OFFLOAD_STATS_RESET_ESTABLISHED]	= { .name = "reset-established" },
	[CHIMNEY_A_OFFLOAD_STATS_RETRANSMITTED_SEGMENTS] = { .name = "retransmitted-segments" },
	[CHIMNEY_A_OFFLOAD_STATS_IN_ERRORS]		= { .name = "in-errors" },
	[CHIMNEY_A_OFFLOAD_STATS_OUT_RESETS]		= { .name = "out-resets" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_RECEIVES]	= { .name = "ip-in-receives" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_OCTETS]		= { .name = "ip-in-octets" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_DELIVERS]	= { .name = "ip-in-delivers" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_OUT_REQUESTS]	= { .name = "ip-out-requests" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_OUT_OCTETS]		= { .name = "ip-out-octets" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_HEADER_ERRORS]	= { .name = "ip-in-header-errors" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_TRUNCATED_PACKETS] = { .name = "ip-in-truncated-packets" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_IN_DISCARDS]	= { .name = "ip-in-discards" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_OUT_DISCARDS]	= { .name = "ip-out-discards" },
	[CHIMNEY_A_OFFLOAD_STATS_IP_OUT_NO_ROUTES]	= { .name = "ip-out-no-routes" },
	[CHIMNEY_A_OFFLOAD_STATS_INITIATED]		= { .name = "initiated" },
	[CHIMNEY_A_OFFLOAD_STATS_TERMINATED]		= { .name = "terminated" },
};

static_assert(ARRAY_SIZE(offload_stats_attrs) == __CHIMNEY_A_OFFLOAD_STATS_MAX,
	      "offload_stats_attrs does not match CHIMNEY_A_OFFLOAD_STATS_*");

/*
 * The counter of each reason in a reason-counts nest.  The set has no
 * counter for "none" (its slot holds the pad attribute), so the attribute
 * types are not the reason values.
 */
const uint16_t reason_count_attr[] = {
	[CHIMNEY_REASON_NONE]			= 0,
	[CHIMNEY_REASON_LOW_ACTIVITY]		= CHIMNEY_A_REASON_COUNTS_LOW_ACTIVITY,
	[CHIMNEY_REASON_HIGH_DROP_RATE]		= CHIMNEY_A_REASON_COUNTS_HIGH_DROP_RATE,
	[CHIMNEY_REASON_SMALL_IO]		= CHIMNEY_A_REASON_COUNTS_SMALL_IO,
	[CHIMNEY_REASON_NO_BUFFER_PREPOSTING]	= CHIMNEY_A_REASON_COUNTS_NO_BUFFER_PREPOSTING,
	[CHIMNEY_REASON_RECEIVED_URGENT_DATA]	= CHIMNEY_A_REASON_COUNTS_RECEIVED_URGENT_DATA,
	[CHIMNEY_REASON_HIGH_FRAGMENTATION]	= CHIMNEY_A_REASON_COUNTS_HIGH_FRAGMENTATION,
	[CHIMNEY_REASON_HIGH_OUT_OF_ORDER_PACKETS] =
		CHIMNEY_A_REASON_COUNTS_HIGH_OUT_OF_ORDER_PACKETS,
	[CHIMNEY_REASON_TIMEOUT_EXPIRATION]	= CHIMNEY_A_REASON_COUNTS_TIMEOUT_EXPIRATION,
	[CHIMNEY_REASON_INVALID_STATE]		= CHIMNEY_A_REASON_COUNTS_INVALID_STATE,
	[CHIMNEY_REASON_UPLOAD_REQUESTED]	= CHIMNEY_A_REASON_COUNTS_UPLOAD_REQUESTED,
	[CHIMNEY_REASON_HARDWARE_FAILURE]	= CHIMNEY_A_REASON_COUNTS_HARDWARE_FAILURE,
	[CHIMNEY_REASON_ADMIN]			= CHIMNEY_A_REASON_COUNTS_ADMIN,
	[CHIMNEY_REASON_LINK_DOWN]		= CHIMNEY_A_REASON_COUNTS_LINK_DOWN,
	[CHIMNEY_REASON_PAUSE]			= CHIMNEY_A_REASON_COUNTS_PAUSE,
	[CHIMNEY_REASON_PRIORITY]		= CHIMNEY_A_REASON_COUNTS_PRIORITY,
	[CHIMNEY_REASON_CLOSE]			= CHIMNEY_A_REASON_COUNTS_CLOSE,
	[CHIMNEY_REASON_DETACH]			= CHIMNEY_A_REASON_COUNTS_DETACH,
	[CHIMNEY_REASON_UPLOAD_ALL]		= CHIMNEY_A_REASON_COUNTS_UPLOAD_ALL,
	[CHIMNEY_REASON_PARENT]			= CHIMNEY_A_REASON_COUNTS_PARENT,
	[CHIMNEY_REASON_DISCONNECT]		= CHIMNEY_A_REASON_COUNTS_DISCONNECT,
	[CHIMNEY_REASON_ABORT]			= CHIMNEY_A_REASON_COUNTS_ABORT,
};

static_assert(ARRAY_SIZE(reason_count_attr) == ARRAY_SIZE(reason_names),
	      "reason_count_attr does not match enum chimney_reason");
static_assert(ARRAY_SIZE(reason_names) == __CHIMNEY_A_REASON_COUNTS_MAX - 1,
	      "reason-counts does not have one counter per reason");

/* The name of @value, or NULL when it has none. */
const char *name_of(const struct name_table *t, uint32_t value)
{
	return value < t->count ? t->names[value] : NULL;
}

uint32_t parse_name(const struct name_table *t, const char *s)
{
	uint32_t i;

	for (i = 0; i < t->count; i++)
		if (t->names[i] && !strcmp(t->names[i], s))
			return i;
	die("invalid %s \"%s\"", t->what, s);
}

/*
 * REASON[,REASON...] to a bitmask of 1 << reason.  "none" names no reason,
 * so "none" alone is the empty mask.
 */
uint32_t parse_reason_mask(const char *s)
{
	const char *p = s;
	uint32_t mask = 0;

	for (;;) {
		size_t len = strcspn(p, ",");
		char word[64];
		uint32_t r;

		if (len >= sizeof(word))
			die("invalid reason \"%.*s\"", (int)len, p);
		memcpy(word, p, len);
		word[len] = '\0';
		r = parse_name(&reason_table, word);
		if (r != CHIMNEY_REASON_NONE)
			mask |= 1U << r;
		if (!p[len])
			break;
		p += len + 1;
	}
	return mask;
}

void snake_case(char *buf, size_t len, const char *kebab)
{
	size_t i;

	for (i = 0; i + 1 < len && kebab[i]; i++)
		buf[i] = kebab[i] == '-' ? '_' : kebab[i];
	buf[i] = '\0';
}
