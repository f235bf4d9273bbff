/* SPDX-License-Identifier: GPL-2.0 */
/* The top of the host side (net.c): namespaces, the device notifier. */
#ifndef _CHIMNEY_NET_H
#define _CHIMNEY_NET_H

#include "dev.h"

struct chim_dev *chim_net_attach(struct net_device *dev,
				 const struct chim_dev_config *cfg);
void chim_net_detach(struct chim_dev *cd);
void chim_net_detach_all(void);
int chim_net_register(void);
void chim_net_unregister(void);

#endif /* _CHIMNEY_NET_H */
