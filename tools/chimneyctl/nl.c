// SPDX-License-Identifier: GPL-2.0
/*
 * chimneyctl: generic netlink.  One socket; the family and its "events"
 * group are resolved when the first request is built.  Every request asks
 * for an ack with extended ack TLVs; an error ends the program with the
 * kernel's message.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <net/if.h>
#include <stdalign.h>
#include <string.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "chimneyctl.h"

#define NL_SEND_SIZE	8192
#define NL_RECV_SIZE	65536
#define NL_MONITOR_RCVBUF	(4 << 20)

static struct {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t events_group;
	bool have_events;
} nl;

static alignas(8) char send_buf[NL_SEND_SIZE];
static alignas(8) char recv_buf[NL_RECV_SIZE];

#define POL(t)		{ .type = MNL_TYPE_ ## t }
#define POL_BIN(n)	{ .type = MNL_TYPE_BINARY, .len = (n) }

/* What the replies and events may carry; anything else is ignored. */
const struct attr_policy chimney_policy[] = {
	[CHIMNEY_A_IFINDEX]		= POL(U32),
	[CHIMNEY_A_IFNAME]		= POL(NUL_STRING),
	[CHIMNEY_A_CAPACITY]		= POL(U32),
	[CHIMNEY_A_IDLE_TIMEOUT]	= POL(U32),
	[CHIMNEY_A_IDLE_BYTES]		= POL(U64),
	[CHIMNEY_A_PAUSED]		= POL(U8),
	[CHIMNEY_A_LINK_UP]		= POL(U8),
	[CHIMNEY_A_OFFLOADED]		= POL(U32),
	[CHIMNEY_A_PARAMS]		= POL(NESTED),
	[CHIMNEY_A_ACCEPT_OPTIONAL]	= POL(U32),
	[CHIMNEY_A_POLICY_ID]		= POL(U32),
	[CHIMNEY_A_LOCAL_V4]		= POL(U32),
	[CHIMNEY_A_LOCAL_V6]		= POL_BIN(16),
	[CHIMNEY_A_REMOTE_V4]		= POL(U32),
	[CHIMNEY_A_REMOTE_V6]		= POL_BIN(16),
	[CHIMNEY_A_LOCAL_PORT]		= POL(U16),
	[CHIMNEY_A_REMOTE_PORT]		= POL(U16),
	[CHIMNEY_A_PRIORITY]		= POL(U8),
	[CHIMNEY_A_STATE]		= POL(U32),
	[CHIMNEY_A_CPU]			= POL(U32),
	[CHIMNEY_A_REASON]		= POL(U32),
	[CHIMNEY_A_STATUS]		= POL(U32),
	[CHIMNEY_A_DELEGATED]		= POL(NESTED),
	[CHIMNEY_A_WITH_DELEGATED]	= POL(FLAG),
	[CHIMNEY_A_BYTES_IN]		= POL(U64),
	[CHIMNEY_A_BYTES_OUT]		= POL(U64),
	[CHIMNEY_A_NEXT_HOP_V4]		= POL(U32),
	[CHIMNEY_A_NEXT_HOP_V6]		= POL_BIN(16),
	[CHIMNEY_A_MAC]			= POL_BIN(6),
	[CHIMNEY_A_MTU]			= POL(U32),
	[CHIMNEY_A_DEPENDENTS]		= POL(U32),
	[CHIMNEY_A_SCOPE]		= POL(U32),
	[CHIMNEY_A_UPLOAD_ALL]		= POL(FLAG),
	[CHIMNEY_A_TERMINATE_FAIL]	= POL(U32),
	[CHIMNEY_A_INITIATE_FAIL]	= POL(U32),
	[CHIMNEY_A_INITIATE_STATUS]	= POL(U32),
	[CHIMNEY_A_COMPLETE_DELAY]	= POL(U32),
	[CHIMNEY_A_FAULT_CLEAR]		= POL(FLAG),
	[CHIMNEY_A_HOST_STATS]		= POL(NESTED),
	[CHIMNEY_A_OFFLOAD_STATS]	= POL(NESTED),
	[CHIMNEY_A_PER_CPU]		= POL(FLAG),
	[CHIMNEY_A_CPU_STATS]		= POL(NESTED),
	[CHIMNEY_A_EVENT]		= POL(U32),
	[CHIMNEY_A_SEND_BYTES]		= POL(U32),
	[CHIMNEY_A_RECV_BYTES]		= POL(U32),
	[CHIMNEY_A_FAMILY]		= POL(U8),
	[CHIMNEY_A_OPT_IN]		= POL(U8),
	[CHIMNEY_A_ENGINE]		= POL(U8),
};

static_assert(ARRAY_SIZE(chimney_policy) == __CHIMNEY_A_MAX,
	      "chimney_policy does not match CHIMNEY_A_*");

const struct attr_policy params_policy[] = {
	[CHIMNEY_A_PARAMS_TICKS_PER_SECOND ... CHIMNEY_A_PARAMS_MAX] = POL(U32),
};

static_assert(ARRAY_SIZE(params_policy) == __CHIMNEY_A_PARAMS_MAX,
	      "params_policy does not match CHIMNEY_A_PARAMS_*");

const struct attr_policy delegated_policy[] = {
	[CHIMNEY_A_DELEGATED_TCP_STATE ... CHIMNEY_A_DELEGATED_MAX] = POL(U32),
};

static_assert(ARRAY_SIZE(delegated_policy) == __CHIMNEY_A_DELEGATED_MAX,
	      "delegated_policy does not match CHIMNEY_A_DELEGATED_*");

const struct attr_policy reason_counts_policy[] = {
	[CHIMNEY_A_REASON_COUNTS_LOW_ACTIVITY ... CHIMNEY_A_REASON_COUNTS_MAX] = POL(U64),
};

static_assert(ARRAY_SIZE(reason_counts_policy) == __CHIMNEY_A_REASON_COUNTS_MAX,
	      "reason_counts_policy does not match CHIMNEY_A_REASON_COUNTS_*");

const struct attr_policy host_stats_policy[] = {
	[CHIMNEY_A_HOST_STATS_OFFLOADED]		= POL(U32),
	[CHIMNEY_A_HOST_STATS_OFFLOADS]			= POL(U64),
	[CHIMNEY_A_HOST_STATS_OFFLOAD_FAILURES]		= POL(U64),
	[CHIMNEY_A_HOST_STATS_TERMINATES]		= POL(NESTED),
	[CHIMNEY_A_HOST_STATS_TERMINATE_FAILURES]	= POL(U64),
	[CHIMNEY_A_HOST_STATS_RETRIEVES]		= POL(NESTED),
	[CHIMNEY_A_HOST_STATS_RETRIEVES_DECLINED]	= POL(NESTED),
	[CHIMNEY_A_HOST_STATS_RETRIEVES_IGNORED]	= POL(U64),
	[CHIMNEY_A_HOST_STATS_UPLOAD_ALL]		= POL(U64),
	[CHIMNEY_A_HOST_STATS_FROZEN_CAUGHT]		= POL(U64),
	[CHIMNEY_A_HOST_STATS_FROZEN_DROPPED]		= POL(U64),
	[CHIMNEY_A_HOST_STATS_FROZEN_TX_DROPPED]	= POL(U64),
};

static_assert(ARRAY_SIZE(host_stats_policy) == __CHIMNEY_A_HOST_STATS_MAX,
	      "host_stats_policy does not match CHIMNEY_A_HOST_STATS_*");

const struct attr_policy offload_stats_policy[] = {
	[CHIMNEY_A_OFFLOAD_STATS_CPU]	= POL(U32),
	[CHIMNEY_A_OFFLOAD_STATS_IN_SEGMENTS ... CHIMNEY_A_OFFLOAD_STATS_MAX] = POL(U64),
};

static_assert(ARRAY_SIZE(offload_stats_policy) == __CHIMNEY_A_OFFLOAD_STATS_MAX,
	      "offload_stats_policy does not match CHIMNEY_A_OFFLOAD_STATS_*");

struct parse_ctx {
	const struct nlattr **tb;
	const struct attr_policy *policy;
	unsigned int count;
};

/* Keep the attributes of known type and valid length; ignore the rest. */
static int parse_cb(const struct nlattr *attr, void *data)
{
	const struct parse_ctx *ctx = data;
	uint16_t type = mnl_attr_get_type(attr);
	const struct attr_policy *p;

	if (type >= ctx->count)
		return MNL_CB_OK;
	p = &ctx->policy[type];
	if (p->type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (p->type == MNL_TYPE_BINARY) {
		if (mnl_attr_get_payload_len(attr) != p->len)
			return MNL_CB_OK;
	} else if (mnl_attr_validate(attr, p->type) < 0) {
		return MNL_CB_OK;
	}
	ctx->tb[type] = attr;
	return MNL_CB_OK;
}

void nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
	      const struct attr_policy *policy, unsigned int count)
{
	struct parse_ctx ctx = { tb, policy, count };

	memset(tb, 0, count * sizeof(*tb));
	mnl_attr_parse(nlh, GENL_HDRLEN, parse_cb, &ctx);
}

void nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		     const struct attr_policy *policy, unsigned int count)
{
	struct parse_ctx ctx = { tb, policy, count };

	memset(tb, 0, count * sizeof(*tb));
	if (nest)
		mnl_attr_parse_nested(nest, parse_cb, &ctx);
}

static struct nlmsghdr *nl_put_header(uint16_t type, uint8_t cmd,
				      uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(send_buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl.seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

/* The message of the extended ack TLVs at @offset in @nlh's payload. */
static void extack_msg(const struct nlmsghdr *nlh, size_t offset,
		       char *msg, size_t len)
{
	const struct nlattr *attr;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (mnl_nlmsg_size(offset) > nlh->nlmsg_len)
		return;
	mnl_attr_for_each(attr, nlh, offset) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG)
			continue;
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(msg, len, "%s", mnl_attr_get_str(attr));
	}
}

/* An ack (0) or an error (< 0), with its message if any. */
static int nl_error(const struct nlmsghdr *nlh, char *msg, size_t len)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*err);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		die("truncated netlink error message");
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > sizeof(*nlh))
		offset += err->msg.nlmsg_len - sizeof(*nlh);
	extack_msg(nlh, offset, msg, len);
	return err->error;
}

/* The end of a dump: it carries the dump's error, if any. */
static int nl_done(const struct nlmsghdr *nlh, char *msg, size_t len)
{
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(error))
		return 0;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error < 0)
		extack_msg(nlh, sizeof(error), msg, len);
	return error;
}

/*
 * Send @req and hand each reply to @cb until the ack (a do) or the end of
 * the dump.  Returns 0 or a negative errno, with the kernel's message in
 * @msg when it gave one.
 */
static int nl_exchange(struct nlmsghdr *req, nl_reply_cb cb, void *data,
		       char *msg, size_t msg_len)
{
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	uint32_t seq = req->nlmsg_seq;

	msg[0] = '\0';
	if (mnl_socket_sendto(nl.sock, req, req->nlmsg_len) < 0)
		die("netlink send: %s", strerror(errno));

	for (;;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)recv_buf;
		ssize_t ret = mnl_socket_recvfrom(nl.sock, recv_buf, sizeof(recv_buf));
		int len, err;

		if (ret < 0) {
			if (errno == EINTR)
				continue;
			die("netlink receive: %s", strerror(errno));
		}
		len = ret;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (!mnl_nlmsg_portid_ok(nlh, nl.portid) ||
			    !mnl_nlmsg_seq_ok(nlh, seq))
				continue;
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_ERROR:
				err = nl_error(nlh, msg, msg_len);
				if (err < 0 || !dump)
					return err;
				break;
			case NLMSG_DONE:
				if (dump)
					return nl_done(nlh, msg, msg_len);
				break;
			case NLMSG_OVERRUN:
				die("netlink overrun");
			default:
				if (cb)
					cb(nlh, data);
				break;
			}
		}
	}
}

static void ctrl_groups(const struct nlattr *groups)
{
	const struct nlattr *grp;

	mnl_attr_for_each_nested(grp, groups) {
		const struct nlattr *attr, *name = NULL, *id = NULL;

		mnl_attr_for_each_nested(attr, grp) {
			uint16_t type = mnl_attr_get_type(attr);

			if (type == CTRL_ATTR_MCAST_GRP_NAME &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				name = attr;
			else if (type == CTRL_ATTR_MCAST_GRP_ID &&
				 mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				id = attr;
		}
		if (name && id && !strcmp(mnl_attr_get_str(name), CHIMNEY_MCGRP_EVENTS)) {
			nl.events_group = mnl_attr_get_u32(id);
			nl.have_events = true;
		}
	}
}

static void ctrl_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;

	(void)data;
	mnl_attr_for_each(attr, nlh, GENL_HDRLEN) {
		uint16_t type = mnl_attr_get_type(attr);

		if (type == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			nl.family = mnl_attr_get_u16(attr);
		else if (type == CTRL_ATTR_MCAST_GROUPS &&
			 mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			ctrl_groups(attr);
	}
}

static void nl_open(void)
{
	struct nlmsghdr *nlh;
	char msg[256];
	int one = 1;
	int err;

	if (nl.sock)
		return;
	nl.sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl.sock)
		die("cannot open a generic netlink socket: %s", strerror(errno));
	if (mnl_socket_bind(nl.sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die("cannot bind the netlink socket: %s", strerror(errno));
	nl.portid = mnl_socket_get_portid(nl.sock);
	nl.seq = time(NULL);
	/* kernels without them still work, with errno messages only */
	mnl_socket_setsockopt(nl.sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl.sock, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = nl_put_header(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, CHIMNEY_FAMILY_NAME);
	err = nl_exchange(nlh, ctrl_reply, NULL, msg, sizeof(msg));
	if (err == -ENOENT)
		die("netlink family \"%s\" not found (is chimney.ko loaded?)",
		    CHIMNEY_FAMILY_NAME);
	if (err < 0)
		die("cannot resolve netlink family \"%s\": %s", CHIMNEY_FAMILY_NAME,
		    msg[0] ? msg : strerror(-err));
	if (!nl.family)
		die("netlink family \"%s\" has no id", CHIMNEY_FAMILY_NAME);
}

/* A new request of @cmd to the chimney family, in a static buffer. */
struct nlmsghdr *nl_request(uint8_t cmd, bool dump)
{
	nl_open();
	return nl_put_header(nl.family, cmd, CHIMNEY_FAMILY_VERSION,
			     dump ? NLM_F_DUMP : 0);
}

void nl_talk(struct nlmsghdr *nlh, nl_reply_cb cb, void *data)
{
	char msg[1024];
	int err;

	err = nl_exchange(nlh, cb, data, msg, sizeof(msg));
	if (err < 0)
		die("%s", msg[0] ? msg : strerror(-err));
	if (msg[0])
		warn("%s", msg);
}

/* Hand every message of the events group to @cb, until killed. */
void nl_monitor(nl_reply_cb cb, void *data)
{
	int rcvbuf = NL_MONITOR_RCVBUF;

	nl_open();
	if (!nl.have_events)
		die("netlink family \"%s\" has no \"%s\" group", CHIMNEY_FAMILY_NAME,
		    CHIMNEY_MCGRP_EVENTS);
	if (mnl_socket_setsockopt(nl.sock, NETLINK_ADD_MEMBERSHIP, &nl.events_group,
				  sizeof(nl.events_group)) < 0)
		die("cannot join the \"%s\" group: %s", CHIMNEY_MCGRP_EVENTS,
		    strerror(errno));
	/* a burst (upload-all of a full table) is one event per connection */
	setsockopt(mnl_socket_get_fd(nl.sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		   sizeof(rcvbuf));

	for (;;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)recv_buf;
		ssize_t ret = mnl_socket_recvfrom(nl.sock, recv_buf, sizeof(recv_buf));
		int len;

		if (ret < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				warn("events lost (receive buffer overrun)");
				continue;
			}
			die("netlink receive: %s", strerror(errno));
		}
		len = ret;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct genlmsghdr *genl;

			if (nlh->nlmsg_type != nl.family ||
			    mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
				continue;
			genl = mnl_nlmsg_get_payload(nlh);
			if (genl->cmd == CHIMNEY_CMD_EVENT)
				cb(nlh, data);
		}
	}
}

void put_ifname(struct nlmsghdr *nlh, const char *ifname)
{
	mnl_attr_put_strz(nlh, CHIMNEY_A_IFNAME, ifname);
}

void put_addr(struct nlmsghdr *nlh, uint16_t type_v4, uint16_t type_v6,
	      const struct addr *addr)
{
	if (addr->family == AF_INET)
		mnl_attr_put_u32(nlh, type_v4, addr->v4.s_addr);
	else
		mnl_attr_put(nlh, type_v6, sizeof(addr->v6), &addr->v6);
}

/* FAMILY, the addresses and the ports of a connection. */
void put_tuple(struct nlmsghdr *nlh, const struct addr *local,
	       const struct addr *remote)
{
	mnl_attr_put_u8(nlh, CHIMNEY_A_FAMILY, local->family);
	put_addr(nlh, CHIMNEY_A_LOCAL_V4, CHIMNEY_A_LOCAL_V6, local);
	put_addr(nlh, CHIMNEY_A_REMOTE_V4, CHIMNEY_A_REMOTE_V6, remote);
	mnl_attr_put_u16(nlh, CHIMNEY_A_LOCAL_PORT, htons(local->port));
	mnl_attr_put_u16(nlh, CHIMNEY_A_REMOTE_PORT, htons(remote->port));
}

/* An address (and its port, when @port is there) from a reply. */
bool get_addr(const struct nlattr *v4, const struct nlattr *v6,
	      const struct nlattr *port, struct addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (v4) {
		addr->family = AF_INET;
		addr->v4.s_addr = mnl_attr_get_u32(v4);
	} else if (v6) {
		addr->family = AF_INET6;
		memcpy(&addr->v6, mnl_attr_get_payload(v6), sizeof(addr->v6));
	} else {
		return false;
	}
	if (port)
		addr->port = ntohs(mnl_attr_get_u16(port));
	return true;
}

/* The device of a reply: its name, else the name of its index, else NULL. */
const char *get_ifname(const struct nlattr **tb, char *buf)
{
	if (tb[CHIMNEY_A_IFNAME])
		return mnl_attr_get_str(tb[CHIMNEY_A_IFNAME]);
	if (tb[CHIMNEY_A_IFINDEX] &&
	    if_indextoname(mnl_attr_get_u32(tb[CHIMNEY_A_IFINDEX]), buf))
		return buf;
	return NULL;
}
