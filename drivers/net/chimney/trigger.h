/* SPDX-License-Identifier: GPL-2.0 */
/* Why the host terminates: link, reconfiguration, suspend, low activity. */
#ifndef _CHIMNEY_TRIGGER_H
#define _CHIMNEY_TRIGGER_H

#include <linux/types.h>

struct chim_conn;
struct chim_dev;
struct chim_host;
struct chim_net;
struct net;

void chim_trigger_net_init(struct chim_net *cn);
void chim_trigger_net_exit(struct chim_net *cn);
void chim_trigger_netdev(struct chim_dev *cd, unsigned long event);
void chim_trigger_idle_update(struct net *net);
unsigned int chim_trigger_idle_conns(struct chim_host *host,
				     unsigned int window_ms, u64 idle_bytes,
				     struct chim_conn **conns,
				     unsigned int max, bool *left);
int chim_trigger_init(void);
void chim_trigger_uninit(void);

#endif /* _CHIMNEY_TRIGGER_H */
