/* SPDX-License-Identifier: GPL-2.0 */
/* Offload rules at work (auto.c). */
#ifndef _CHIMNEY_AUTO_H
#define _CHIMNEY_AUTO_H

#include <linux/netfilter.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

struct chim_auto_rules;
struct chim_dev;
struct chim_net;
struct net;

/**
 * struct chim_auto - offload rules at work in a namespace (auto.c)
 * @rules: a copy of every device's rules for @hooks; RCU, written under
 *	RTNL
 * @hooked: @hooks are registered (while there is a rule)
 * @hooks: NF_INET_LOCAL_OUT, IPv4 and IPv6: a connection's segments out
 * @lock: protects @pending and @npending
 * @pending: connections a rule matched, waiting for @work; each holds a
 *	socket reference
 * @npending: their number
 * @work: offloads them
 * @scan_work: walks the established hash for the devices whose
 *	&chim_dev.scan_pending is set
 * @net: the namespace
 */
struct chim_auto {
	struct chim_auto_rules __rcu *rules;
	bool hooked;
	struct nf_hook_ops hooks[2];
	spinlock_t lock;	/* see @lock above */
	struct list_head pending;
	unsigned int npending;
	struct work_struct work;
	struct work_struct scan_work;
	struct net *net;
};

void chim_auto_init(struct net *net, struct chim_net *cn);
void chim_auto_exit(struct net *net);
void chim_auto_update(struct net *net);
void chim_auto_scan(struct chim_dev *cd);
void chim_auto_resume(struct chim_dev *cd, unsigned int why);

#endif /* _CHIMNEY_AUTO_H */
