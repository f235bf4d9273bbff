// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/chimney.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/chimney.h>

/* Common nested types */
const struct nla_policy chimney_params_nl_policy[CHIMNEY_A_PARAMS_NCE_STALE_TICKS + 1] = {
	[CHIMNEY_A_PARAMS_TICKS_PER_SECOND] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_ACK_FREQUENCY] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_DELAYED_ACK_TICKS] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_MAX_RETRANSMISSIONS] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_DOUBT_REACHABILITY_RETRANSMISSIONS] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_SWS_PREVENTION_TICKS] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_DUP_ACK_THRESHOLD] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_PUSH_TICKS] = { .type = NLA_U32, },
	[CHIMNEY_A_PARAMS_NCE_STALE_TICKS] = { .type = NLA_U32, },
};

/* Global operation policy for chimney */
const struct nla_policy chimney_nl_policy[CHIMNEY_A_ENGINE + 1] = {
	[CHIMNEY_A_IFINDEX] = { .type = NLA_U32, },
	[CHIMNEY_A_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[CHIMNEY_A_CAPACITY] = { .type = NLA_U32, },
	[CHIMNEY_A_IDLE_TIMEOUT] = { .type = NLA_U32, },
	[CHIMNEY_A_IDLE_BYTES] = { .type = NLA_U64, },
	[CHIMNEY_A_PARAMS] = NLA_POLICY_NESTED(chimney_params_nl_policy),
	[CHIMNEY_A_ACCEPT_OPTIONAL] = { .type = NLA_U32, },
	[CHIMNEY_A_POLICY_ID] = { .type = NLA_U32, },
	[CHIMNEY_A_LOCAL_V4] = { .type = NLA_U32, },
	[CHIMNEY_A_LOCAL_V6] = NLA_POLICY_EXACT_LEN(16),
	[CHIMNEY_A_REMOTE_V4] = { .type = NLA_U32, },
	[CHIMNEY_A_REMOTE_V6] = NLA_POLICY_EXACT_LEN(16),
	[CHIMNEY_A_LOCAL_PORT] = { .type = NLA_U16, },
	[CHIMNEY_A_REMOTE_PORT] = { .type = NLA_U16, },
	[CHIMNEY_A_PRIORITY] = NLA_POLICY_MAX(NLA_U8, 7),
	[CHIMNEY_A_REASON] = NLA_POLICY_MAX(NLA_U32, 21),
	[CHIMNEY_A_WITH_DELEGATED] = { .type = NLA_FLAG, },
	[CHIMNEY_A_NEXT_HOP_V4] = { .type = NLA_U32, },
	[CHIMNEY_A_NEXT_HOP_V6] = NLA_POLICY_EXACT_LEN(16),
	[CHIMNEY_A_SCOPE] = NLA_POLICY_MAX(NLA_U32, 3),
	[CHIMNEY_A_UPLOAD_ALL] = { .type = NLA_FLAG, },
	[CHIMNEY_A_TERMINATE_FAIL] = { .type = NLA_U32, },
	[CHIMNEY_A_INITIATE_FAIL] = { .type = NLA_U32, },
	[CHIMNEY_A_INITIATE_STATUS] = NLA_POLICY_MAX(NLA_U32, 18),
	[CHIMNEY_A_COMPLETE_DELAY] = { .type = NLA_U32, },
	[CHIMNEY_A_FAULT_CLEAR] = { .type = NLA_FLAG, },
	[CHIMNEY_A_PER_CPU] = { .type = NLA_FLAG, },
	[CHIMNEY_A_FAMILY] = { .type = NLA_U8, },
	[CHIMNEY_A_OPT_IN] = { .type = NLA_U8, },
	[CHIMNEY_A_ENGINE] = { .type = NLA_U8, },
};

/* Ops table for chimney */
const struct genl_small_ops chimney_nl_ops[16] = {
	{
		.cmd	= CHIMNEY_CMD_DEV_ATTACH,
		.doit	= chimney_nl_dev_attach_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_DEV_DETACH,
		.doit	= chimney_nl_dev_detach_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_DEV_PAUSE,
		.doit	= chimney_nl_dev_pause_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_DEV_RESUME,
		.doit	= chimney_nl_dev_resume_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_DEV_GET,
		.doit	= chimney_nl_dev_get_doit,
		.dumpit	= chimney_nl_dev_get_dumpit,
	},
	{
		.cmd	= CHIMNEY_CMD_POLICY_ADD,
		.doit	= chimney_nl_policy_add_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_POLICY_DEL,
		.doit	= chimney_nl_policy_del_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_POLICY_GET,
		.dumpit	= chimney_nl_policy_get_dumpit,
	},
	{
		.cmd	= CHIMNEY_CMD_NEIGH_GET,
		.dumpit	= chimney_nl_neigh_get_dumpit,
	},
	{
		.cmd	= CHIMNEY_CMD_PATH_GET,
		.dumpit	= chimney_nl_path_get_dumpit,
	},
	{
		.cmd	= CHIMNEY_CMD_CONN_GET,
		.doit	= chimney_nl_conn_get_doit,
		.dumpit	= chimney_nl_conn_get_dumpit,
	},
	{
		.cmd	= CHIMNEY_CMD_CONN_OFFLOAD,
		.doit	= chimney_nl_conn_offload_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_CONN_TERMINATE,
		.doit	= chimney_nl_conn_terminate_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_TARGET_REQUEST,
		.doit	= chimney_nl_target_request_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_TARGET_FAULT,
		.doit	= chimney_nl_target_fault_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= CHIMNEY_CMD_STATS_GET,
		.doit	= chimney_nl_stats_get_doit,
		.dumpit	= chimney_nl_stats_get_dumpit,
	},
};

static const struct genl_multicast_group chimney_nl_mcgrps[] = {
	[CHIMNEY_NLGRP_EVENTS] = { "events", },
};
