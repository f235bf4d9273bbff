/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/chimney.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_CHIMNEY_GEN_H
#define _LINUX_CHIMNEY_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/chimney.h>

/* Common nested types */
extern const struct nla_policy chimney_params_nl_policy[CHIMNEY_A_PARAMS_NCE_STALE_TICKS + 1];

/* Global operation policy for chimney */
extern const struct nla_policy chimney_nl_policy[CHIMNEY_A_ENGINE + 1];

/* Ops table for chimney */
extern const struct genl_small_ops chimney_nl_ops[16];

int chimney_nl_dev_attach_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_dev_detach_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_dev_pause_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_dev_resume_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int chimney_nl_policy_add_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_policy_del_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_policy_get_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb);
int chimney_nl_neigh_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb);
int chimney_nl_path_get_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int chimney_nl_conn_get_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_conn_get_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int chimney_nl_conn_offload_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_conn_terminate_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_target_request_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_target_fault_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info);
int chimney_nl_stats_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb);

enum {
	CHIMNEY_NLGRP_EVENTS,
};

#endif /* _LINUX_CHIMNEY_GEN_H */
