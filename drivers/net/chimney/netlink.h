/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the handlers of the chimney family. */
#ifndef _CHIMNEY_NETLINK_H
#define _CHIMNEY_NETLINK_H

#include <net/genetlink.h>

#include "dev.h"
#include "netlink-gen.h"

/*
 * A dump over the devices of the caller's namespace, optionally one of
 * them; ctx->dev is the position to resume at.
 */
struct chim_nl_dump_ctx {
	int dev_done;		/* ifindex of the last device dumped whole */
	int dev_cur;		/* ifindex the positions below belong to */
	unsigned int cpu;	/* connections: shard */
	unsigned int bucket;	/* connections: bucket */
	unsigned int idx;	/* position within the bucket or list */
	int ifindex;		/* filter, 0 for all */
	bool started;
};

/* Fills a dump with what one device has, from the position in the context. */
typedef int (*chim_nl_dump_fn)(struct sk_buff *skb, struct netlink_callback *cb,
			       struct chim_dev *cd);

/* A handler's work on the device of its request, under RTNL. */
typedef int (*chim_nl_dev_fn)(struct chim_dev *cd, struct genl_info *info,
			      void *arg);

struct net_device *chim_nl_netdev(struct genl_info *info);
struct chim_dev *chim_nl_dev(struct genl_info *info);
int chim_nl_dev_op(struct genl_info *info, chim_nl_dev_fn op, void *arg);
int chim_nl_addr(struct genl_info *info, int v4, int v6, struct in6_addr *addr,
		 u8 *family);
int chim_nl_tuple(struct genl_info *info, struct chim_tuple *t);
enum chim_upload_reason chim_nl_reason(struct genl_info *info,
				       enum chim_upload_reason dflt);
int chim_nl_put_addr(struct sk_buff *skb, int v4, int v6,
		     const struct in6_addr *addr, u8 family);
int chim_nl_put_tuple(struct sk_buff *skb, const struct chim_tuple *t);
int chim_nl_put_dev(struct sk_buff *skb, struct chim_dev *cd);
int chim_nl_reply(struct genl_info *info,
		  int (*fill)(struct sk_buff *skb, void *arg), void *arg);
struct chim_nl_dump_ctx *chim_nl_dump_ctx(struct netlink_callback *cb);
void *chim_nl_dump_put(struct sk_buff *skb, struct netlink_callback *cb);
int chim_nl_dump_devs(struct sk_buff *skb, struct netlink_callback *cb,
		      chim_nl_dump_fn fill);
void chim_nl_notify_dev(struct chim_dev *cd, enum chimney_event_type type,
			gfp_t gfp);
void chim_nl_notify_host(struct chim_host *host,
			 const struct chim_host_event *ev, gfp_t gfp);
int chim_nl_init(void);
void chim_nl_uninit(void);

#endif /* _CHIMNEY_NETLINK_H */
