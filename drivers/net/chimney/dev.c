// SPDX-License-Identifier: GPL-2.0
/*
 * Binding an emulated offload target to a net_device, per network
 * namespace, and following the device's life: a device that goes away
 * (unregistered, or moved to another namespace) is detached first.
 */
#include <kunit/visibility.h>
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <net/ipv6.h>
#include <linux/slab.h>
#include <net/netns/generic.h>

#include "defs.h"
#include "dev.h"

static unsigned int chim_net_id __read_mostly;

/**
 * chim_net() - chimney's state in a network namespace
 * @net: the namespace
 *
 * Return: its &struct chim_net.
 */
struct chim_net *chim_net(struct net *net)
{
	return net_generic(net, chim_net_id);
}

/**
 * chim_dev_config_init() - the defaults of an attach
 * @cfg: filled with the defaults
 */
void chim_dev_config_init(struct chim_dev_config *cfg)
{
	*cfg = (struct chim_dev_config) {
		.capacity = CHIM_DEFAULT_CAPACITY,
		.accept_optional = CHIM_DEFAULT_ACCEPT_OPTIONAL,
		.params = {
			.ticks_per_second = CHIM_DEFAULT_TICKS_PER_SECOND,
			.ack_frequency = CHIM_DEFAULT_ACK_FREQUENCY,
			.delayed_ack_ticks = CHIM_DEFAULT_DELAYED_ACK_TICKS,
			.max_retransmissions = CHIM_DEFAULT_MAX_RETRANSMISSIONS,
			.doubt_reachability_retransmissions =
				CHIM_DEFAULT_DOUBT_REACHABILITY,
			.sws_prevention_ticks = CHIM_DEFAULT_SWS_PREVENTION_TICKS,
			.dup_ack_threshold = CHIM_DEFAULT_DUP_ACK_THRESHOLD,
			.push_ticks = CHIM_DEFAULT_PUSH_TICKS,
			.nce_stale_ticks = CHIM_DEFAULT_NCE_STALE_TICKS,
		},
	};
}
EXPORT_SYMBOL_IF_KUNIT(chim_dev_config_init);

/**
 * chim_dev_lookup() - the target attached to a device
 * @dev: the device
 *
 * Context: RTNL held.
 * Return: the binding, or NULL.
 */
struct chim_dev *chim_dev_lookup(struct net_device *dev)
{
	struct chim_dev *cd;

	ASSERT_RTNL();
	list_for_each_entry(cd, &chim_net(dev_net(dev))->devs, node)
		if (cd->dev == dev)
			return cd;
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(chim_dev_lookup);

/**
 * chim_dev_attach() - attach an emulated target to a device
 * @dev: an Ethernet device without a target
 * @cfg: capacity and parameters, already validated
 *
 * Context: RTNL held.
 * Return: the binding, or an ERR_PTR.
 */
struct chim_dev *chim_dev_attach(struct net_device *dev,
				 const struct chim_dev_config *cfg)
{
	struct chim_dev *cd;
	int err = -ENOMEM;

	ASSERT_RTNL();
	cd = kzalloc(sizeof(*cd), GFP_KERNEL);
	if (!cd)
		return ERR_PTR(-ENOMEM);
	cd->emu = chim_emu_create(netdev_name(dev), cfg->capacity);
	if (IS_ERR(cd->emu)) {
		err = PTR_ERR(cd->emu);
		goto err_free;
	}
	cd->host = chim_host_create(&cd->emu->target);
	if (!cd->host)
		goto err_emu;
	cd->host->accept_optional = cfg->accept_optional;
	cd->host->notify = chim_nl_notify_host;
	cd->host->priv = cd;
	cd->idle_timeout_ms = cfg->idle_timeout_ms;
	cd->idle_bytes = cfg->idle_bytes;
	cd->params = cfg->params;
	INIT_LIST_HEAD(&cd->policies);
	cd->next_policy_id = 1;
	cd->dev = dev;
	cd->emu->dev = dev;
	netdev_hold(dev, &cd->dev_tracker, GFP_KERNEL);
	list_add_tail(&cd->node, &chim_net(dev_net(dev))->devs);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_ATTACH, GFP_KERNEL);
	return cd;

err_emu:
	chim_emu_destroy(cd->emu);
err_free:
	kfree(cd);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_IF_KUNIT(chim_dev_attach);

/**
 * chim_dev_detach() - upload everything and free the binding
 * @cd: the binding
 *
 * Order: (1) unlink it, so no new request finds it, (2) upload every
 * connection (reason detach) and free the host side, (3) free the target,
 * (4) drop the device.
 *
 * Context: RTNL held; sleeps.
 */
void chim_dev_detach(struct chim_dev *cd)
{
	struct chim_policy *p, *tmp;

	ASSERT_RTNL();
	list_del(&cd->node);
	if (cd->nr_policies)
		chim_auto_update(dev_net(cd->dev));
	chim_host_destroy(cd->host);
	cd->host = NULL;
	chim_emu_destroy(cd->emu);
	list_for_each_entry_safe(p, tmp, &cd->policies, node)
		kfree(p);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_DETACH, GFP_KERNEL);
	netdev_put(cd->dev, &cd->dev_tracker);
	kfree(cd);
}
EXPORT_SYMBOL_IF_KUNIT(chim_dev_detach);

/**
 * chim_dev_pause() - upload everything; no new offload until resumed
 * @cd: the binding
 * @reason: why (pause, or the reason of a reconfiguration)
 *
 * Context: RTNL held; sleeps.
 */
void chim_dev_pause(struct chim_dev *cd, enum chim_upload_reason reason)
{
	chim_indicate_pause(&cd->emu->target);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_PAUSE, GFP_KERNEL);
	chim_host_terminate_all(cd->host, reason);
}

/**
 * chim_dev_resume() - allow offloads again
 * @cd: the binding
 *
 * Context: RTNL held.
 */
void chim_dev_resume(struct chim_dev *cd)
{
	cd->admin_paused = false;
	chim_indicate_resume(&cd->emu->target);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_RESUME, GFP_KERNEL);
}

/**
 * chim_dev_match() - the first offload rule a connection matches
 * @cd: the binding
 * @t: the connection's 4-tuple
 *
 * Context: RTNL held.
 * Return: the rule, or NULL.
 */
const struct chim_policy *chim_dev_match(struct chim_dev *cd,
					 const struct chim_tuple *t)
{
	const struct chim_policy *p;

	list_for_each_entry(p, &cd->policies, node)
		if (chim_policy_match(p, t))
			return p;
	return NULL;
}

/**
 * chim_policy_match() - whether a rule matches a connection
 * @p: the rule
 * @t: the connection's 4-tuple
 *
 * Return: true when every key the rule sets matches.
 */
bool chim_policy_match(const struct chim_policy *p, const struct chim_tuple *t)
{
	return (!p->lport || p->lport == t->lport) &&
	       (!p->rport || p->rport == t->rport) &&
	       (!p->has_laddr || ipv6_addr_equal(&p->laddr, &t->laddr)) &&
	       (!p->has_raddr || ipv6_addr_equal(&p->raddr, &t->raddr));
}

/**
 * chim_dev_paused() - whether new offloads are refused
 * @cd: the binding
 *
 * Return: true when paused by the administrator or by the target.
 */
bool chim_dev_paused(struct chim_dev *cd)
{
	/* No host: detached, the detach event is being sent. */
	return cd->admin_paused || (cd->host && READ_ONCE(cd->host->paused));
}

static int chim_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct chim_dev *cd;

	/* Unregister also comes first when a device changes namespace. */
	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	cd = chim_dev_lookup(dev);
	if (cd)
		chim_dev_detach(cd);
	return NOTIFY_DONE;
}

static struct notifier_block chim_netdev_nb = {
	.notifier_call = chim_netdev_event,
};

static int __net_init chim_net_init(struct net *net)
{
	INIT_LIST_HEAD(&chim_net(net)->devs);
	chim_auto_init(chim_net(net));
	return 0;
}

static void __net_exit chim_net_exit(struct net *net)
{
	struct chim_dev *cd, *tmp;

	rtnl_lock();
	list_for_each_entry_safe(cd, tmp, &chim_net(net)->devs, node)
		chim_dev_detach(cd);
	rtnl_unlock();
	chim_auto_exit(net);
}

static struct pernet_operations chim_net_ops = {
	.init = chim_net_init,
	.exit = chim_net_exit,
	.id = &chim_net_id,
	.size = sizeof(struct chim_net),
};

/**
 * chim_dev_init() - per-namespace state and the device notifier
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int chim_dev_init(void)
{
	int err;

	err = register_pernet_subsys(&chim_net_ops);
	if (err)
		return err;
	err = register_netdevice_notifier(&chim_netdev_nb);
	if (err)
		unregister_pernet_subsys(&chim_net_ops);
	return err;
}

/**
 * chim_dev_uninit() - detach every device of every namespace
 *
 * Context: module exit.
 */
void chim_dev_uninit(void)
{
	unregister_netdevice_notifier(&chim_netdev_nb);
	/* Runs chim_net_exit() for every namespace: detaches everything. */
	unregister_pernet_subsys(&chim_net_ops);
}
