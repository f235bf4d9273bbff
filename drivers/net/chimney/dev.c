// SPDX-License-Identifier: GPL-2.0
/*
 * Binding an emulated offload target to a net_device, per network
 * namespace, and following the device's life: a device that goes away
 * (unregistered, or moved to another namespace) is detached first; its
 * other events are triggers (trigger.c).
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

/* Every namespace's bindings, for system-wide events (suspend); RTNL. */
LIST_HEAD(chim_devs_all);

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
	cd = kzalloc(sizeof(*cd), GFP_KERNEL_ACCOUNT);
	if (!cd)
		return ERR_PTR(-ENOMEM);
	cd->drv = &chim_emu_driver;
	cd->target = cd->drv->create(dev, cfg->capacity);
	if (IS_ERR(cd->target)) {
		err = PTR_ERR(cd->target);
		goto err_free;
	}
	cd->host = chim_host_create(cd->target);
	if (!cd->host)
		goto err_target;
	cd->host->accept_optional = cfg->accept_optional;
	cd->opt_in = cfg->opt_in;
	cd->host->notify = chim_nl_notify_host;
	cd->host->priv = cd;
	cd->idle_timeout_ms = cfg->idle_timeout_ms;
	cd->idle_bytes = cfg->idle_bytes;
	cd->params = cfg->params;
	INIT_LIST_HEAD(&cd->policies);
	cd->next_policy_id = 1;
	cd->dev = dev;
	cd->link_down = !netif_running(dev) || !netif_carrier_ok(dev);
	/* A port's traffic belongs to its master (a bond, a bridge). */
	if (netdev_master_upper_dev_get(dev))
		cd->paused_by = CHIM_PAUSE_PORT;
	list_add_tail(&cd->node, &chim_net(dev_net(dev))->devs);
	err = chim_catch_update(dev_net(dev));
	if (err) {
		list_del(&cd->node);
		goto err_host;
	}
	netdev_hold(dev, &cd->dev_tracker, GFP_KERNEL);
	list_add_tail(&cd->all_node, &chim_devs_all);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_ATTACH, GFP_KERNEL);
	chim_trigger_idle_update(dev_net(dev));
	return cd;

err_host:
	chim_host_destroy(cd->host);
err_target:
	cd->drv->destroy(cd->target);
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
	list_del(&cd->all_node);
	if (cd->nr_policies)
		chim_auto_update(dev_net(cd->dev));
	chim_trigger_idle_update(dev_net(cd->dev));
	chim_host_destroy(cd->host);
	cd->host = NULL;
	/* Every socket of the device is thawed: no catch needed for it. */
	chim_catch_update(dev_net(cd->dev));
	cd->drv->destroy(cd->target);
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
 * @why: a CHIM_PAUSE_* cause, kept until chim_dev_resume() with it
 * @reason: the reason of the uploads
 *
 * The first cause pauses the device (NetEventPause, an event); every call
 * uploads what is offloaded.
 *
 * Context: RTNL held; sleeps.
 */
void chim_dev_pause(struct chim_dev *cd, unsigned int why,
		    enum chim_upload_reason reason)
{
	bool first = !cd->paused_by;

	ASSERT_RTNL();
	cd->paused_by |= why;
	if (first)
		chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_PAUSE, GFP_KERNEL);
	chim_host_terminate_all(cd->host, reason);
}

/**
 * chim_dev_resume() - a cause of a pause is over
 * @cd: the binding
 * @why: the CHIM_PAUSE_* cause
 *
 * With the last cause gone, offloads may start again (an event) and the
 * device's offload rules apply to the established connections again.  The
 * administrator's resume also ends a pause the target indicated.
 *
 * Context: RTNL held; sleeps.
 */
void chim_dev_resume(struct chim_dev *cd, unsigned int why)
{
	bool was = chim_dev_paused(cd);

	ASSERT_RTNL();
	cd->paused_by &= ~why;
	if (why & CHIM_PAUSE_ADMIN && cd->host->paused)
		chim_indicate_resume(cd->target);
	if (!was || chim_dev_paused(cd))
		return;
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_RESUME, GFP_KERNEL);
	if (cd->nr_policies && !cd->link_down)
		chim_auto_scan(cd);
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
 * chim_dev_paused() - whether new offloads are refused for a pause
 * @cd: the binding
 *
 * Return: true when paused by the host (administrator, reconfiguration,
 * suspend) or by the target.
 */
bool chim_dev_paused(struct chim_dev *cd)
{
	/* No host: detached, the detach event is being sent. */
	return cd->paused_by || (cd->host && READ_ONCE(cd->host->paused));
}

/**
 * chim_dev_refuses() - whether new offloads are refused, paused or down
 * @cd: the binding
 *
 * Return: true when paused or when the device's link is down.
 */
bool chim_dev_refuses(struct chim_dev *cd)
{
	return chim_dev_paused(cd) || cd->link_down;
}

/**
 * chim_dev_admit() - whether the device takes new offloads now
 * @cd: the binding
 * @extack: receives the reason of a refusal
 *
 * Context: RTNL held.
 * Return: 0, -ENETDOWN when its link is down, -EAGAIN when paused.
 */
int chim_dev_admit(struct chim_dev *cd, struct netlink_ext_ack *extack)
{
	ASSERT_RTNL();
	if (cd->link_down) {
		NL_SET_ERR_MSG(extack, "the device's link is down");
		return -ENETDOWN;
	}
	if (cd->paused_by & CHIM_PAUSE_PORT) {
		NL_SET_ERR_MSG(extack, CHIM_PORT_REFUSAL);
		return -EAGAIN;
	}
	if (chim_dev_paused(cd)) {
		NL_SET_ERR_MSG(extack, "offloads are paused on this device");
		return -EAGAIN;
	}
	return 0;
}

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
		chim_dev_detach(cd);
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
		chim_dev_detach(cd);
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
 * chim_dev_detach_all() - the module goes: detach every device of every
 *	namespace (every connection uploaded, reason detach)
 *
 * Context: module exit; takes RTNL.
 */
void chim_dev_detach_all(void)
{
	struct chim_dev *cd, *tmp;

	rtnl_lock();
	list_for_each_entry_safe(cd, tmp, &chim_devs_all, all_node)
		chim_dev_detach(cd);
	rtnl_unlock();
}

/**
 * chim_dev_uninit() - detach every device of every namespace
 *
 * Context: module exit.
 */
void chim_dev_uninit(void)
{
	/*
	 * Detach first (a device attached since chim_dev_detach_all()):
	 * unregistering the notifier replays GOING_DOWN and DOWN for every
	 * device, which would upload everything as link-down instead.
	 */
	chim_dev_detach_all();
	chim_trigger_uninit();
	unregister_netdevice_notifier(&chim_netdev_nb);
	/* Runs chim_net_exit() for every namespace: detaches everything. */
	unregister_pernet_subsys(&chim_net_ops);
}
