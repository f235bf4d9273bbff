// SPDX-License-Identifier: GPL-2.0
/*
 * The top of the host side: per-namespace state, the device notifier and
 * what an attach and a detach mean for the whole module.  A device that
 * goes away (unregistered, or moved to another namespace) is detached
 * first; its other events are triggers (trigger.c).
 */
#include <kunit/visibility.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/netns/generic.h>

#include "auto.h"
#include "net.h"
#include "sock.h"
#include "trigger.h"

/**
 * chim_net_attach() - attach a new target to a device
 * @dev: an Ethernet device without a target
 * @cfg: capacity and parameters, already validated
 *
 * The binding (chim_dev_create()), then the catch of the namespace's
 * frozen sockets (the first device of a namespace registers it) and its
 * low-activity scan.
 *
 * Context: RTNL held.
 * Return: the binding, or an ERR_PTR.
 */
struct chim_dev *chim_net_attach(struct net_device *dev,
				 const struct chim_dev_config *cfg)
{
	struct net *net = dev_net(dev);
	struct chim_dev *cd;
	int err;

	ASSERT_RTNL();
	cd = chim_dev_create(dev, cfg);
	if (IS_ERR(cd))
		return cd;
	err = chim_catch_update(net);
	if (err) {
		chim_dev_unlink(cd);
		chim_dev_destroy(cd);
		return ERR_PTR(err);
	}
	chim_trigger_idle_update(net);
	return cd;
}
EXPORT_SYMBOL_IF_KUNIT(chim_net_attach);

/**
 * chim_net_detach() - upload everything and free a device's binding
 * @cd: the binding
 *
 * Order: (1) unlink it, so no new request finds it, and stop what works
 * on the namespace's devices for it (the rules' hooks, the low-activity
 * scan), (2) upload every connection (reason detach) and free it
 * (chim_dev_destroy()), (3) without a device left, the catch goes: every
 * socket of the device is thawed.
 *
 * Context: RTNL held; sleeps.
 */
void chim_net_detach(struct chim_dev *cd)
{
	struct net *net = dev_net(cd->dev);

	ASSERT_RTNL();
	chim_dev_unlink(cd);
	if (cd->nr_policies)
		chim_auto_update(net);
	chim_trigger_idle_update(net);
	chim_dev_destroy(cd);
	chim_catch_update(net);
}
EXPORT_SYMBOL_IF_KUNIT(chim_net_detach);

static int chim_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct chim_dev *cd;

	cd = chim_dev_lookup(dev);
	if (!cd)
		return NOTIFY_DONE;
	/* Unregister also comes first when a device changes namespace. */
	if (event == NETDEV_UNREGISTER)
		chim_net_detach(cd);
	else
		chim_trigger_netdev(cd, event);
	return NOTIFY_DONE;
}

static struct notifier_block chim_netdev_nb = {
	.notifier_call = chim_netdev_event,
};

static int __net_init chim_net_init(struct net *net)
{
	INIT_LIST_HEAD(&chim_net(net)->devs);
	chim_auto_init(net, chim_net(net));
	chim_trigger_net_init(chim_net(net));
	return 0;
}

static void __net_exit chim_net_exit(struct net *net)
{
	struct chim_dev *cd, *tmp;

	rtnl_lock();
	list_for_each_entry_safe(cd, tmp, &chim_net(net)->devs, node)
		chim_net_detach(cd);
	rtnl_unlock();
	chim_trigger_net_exit(chim_net(net));
	chim_auto_exit(net);
}

static struct pernet_operations chim_net_ops = {
	.init = chim_net_init,
	.exit = chim_net_exit,
	.id = &chim_net_id,
	.size = sizeof(struct chim_net),
};

/**
 * chim_net_register() - per-namespace state and the device notifier
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int chim_net_register(void)
{
	int err;

	err = register_pernet_subsys(&chim_net_ops);
	if (err)
		return err;
	err = register_netdevice_notifier(&chim_netdev_nb);
	if (err)
		goto err_pernet;
	err = chim_trigger_init();
	if (err)
		goto err_notifier;
	return 0;

err_notifier:
	unregister_netdevice_notifier(&chim_netdev_nb);
err_pernet:
	unregister_pernet_subsys(&chim_net_ops);
	return err;
}

/**
 * chim_net_detach_all() - the module goes: detach every device of every
 *	namespace (every connection uploaded, reason detach)
 *
 * Context: module exit; takes RTNL.
 */
void chim_net_detach_all(void)
{
	struct chim_dev *cd, *tmp;

	rtnl_lock();
	list_for_each_entry_safe(cd, tmp, &chim_devs_all, all_node)
		chim_net_detach(cd);
	rtnl_unlock();
}

/**
 * chim_net_unregister() - detach every device of every namespace; no
 *	per-namespace state, no notifier any more
 *
 * Context: module exit.
 */
void chim_net_unregister(void)
{
	/*
	 * Detach first (a device attached since chim_net_detach_all()):
	 * unregistering the notifier replays GOING_DOWN and DOWN for every
	 * device, which would upload everything as link-down instead.
	 */
	chim_net_detach_all();
	chim_trigger_uninit();
	unregister_netdevice_notifier(&chim_netdev_nb);
	/* Runs chim_net_exit() for every namespace: detaches everything. */
	unregister_pernet_subsys(&chim_net_ops);
}
