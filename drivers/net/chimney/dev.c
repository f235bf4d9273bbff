// SPDX-License-Identifier: GPL-2.0
/*
 * A device's binding: the target a driver created on it, its host side,
 * its parameters and rules, whether it takes new offloads (pause, resume,
 * link), and per namespace the list of bindings.  What an attach and a
 * detach mean for the rest of the module (the catch, the rules at work,
 * the low-activity scan) is net.c's.
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
#include "netlink.h"

unsigned int chim_net_id __read_mostly;

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
 * chim_dev_create() - bind a new target to a device
 * @dev: an Ethernet device without a target
 * @cfg: capacity and parameters, already validated
 *
 * The binding is on the namespace's list when this returns (an attach
 * event sent); chim_net_attach() is the whole attach.
 *
 * Context: RTNL held.
 * Return: the binding, or an ERR_PTR.
 */
struct chim_dev *chim_dev_create(struct net_device *dev,
				 const struct chim_dev_config *cfg)
{
	struct chim_dev *cd;
	int err = -ENOMEM;

	ASSERT_RTNL();
	cd = kzalloc(sizeof(*cd), GFP_KERNEL_ACCOUNT);
	if (!cd)
		return ERR_PTR(-ENOMEM);
	cd->drv = &chim_emu_driver;
	cd->target = cd->drv->create(dev, cfg->capacity, cfg->engine);
	if (IS_ERR(cd->target)) {
		err = PTR_ERR(cd->target);
		goto err_free;
	}
	cd->host = chim_host_create(cd->target);
	if (!cd->host)
		goto err_target;
	cd->host->accept_optional = cfg->accept_optional;
	cd->opt_in = cfg->opt_in;
	cd->engine = cfg->engine;
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
	netdev_hold(dev, &cd->dev_tracker, GFP_KERNEL);
	list_add_tail(&cd->all_node, &chim_devs_all);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_ATTACH, GFP_KERNEL);
	return cd;

err_target:
	cd->drv->destroy(cd->target);
err_free:
	kfree(cd);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_IF_KUNIT(chim_dev_create);

/**
 * chim_dev_unlink() - no request finds the binding any more
 * @cd: the binding
 *
 * Context: RTNL held.
 */
void chim_dev_unlink(struct chim_dev *cd)
{
	ASSERT_RTNL();
	list_del(&cd->node);
	list_del(&cd->all_node);
}

/**
 * chim_dev_destroy() - upload everything and free an unlinked binding
 * @cd: the binding, off the lists (chim_dev_unlink())
 *
 * Order: (1) upload every connection (reason detach) and free the host
 * side, (2) free the target, (3) the detach event, (4) drop the device.
 *
 * Context: RTNL held; sleeps.
 */
void chim_dev_destroy(struct chim_dev *cd)
{
	struct chim_policy *p, *tmp;

	ASSERT_RTNL();
	chim_host_destroy(cd->host);
	cd->host = NULL;
	cd->drv->destroy(cd->target);
	list_for_each_entry_safe(p, tmp, &cd->policies, node)
		kfree(p);
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_DETACH, GFP_KERNEL);
	netdev_put(cd->dev, &cd->dev_tracker);
	kfree(cd);
}

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
 * With the last cause gone, offloads may start again (an event).  The
 * administrator's resume also ends a pause the target indicated.
 * chim_auto_resume() also applies the device's rules again.
 *
 * Context: RTNL held; sleeps.
 * Return: true when the device resumed (it was paused and is no more).
 */
bool chim_dev_resume(struct chim_dev *cd, unsigned int why)
{
	bool was = chim_dev_paused(cd);

	ASSERT_RTNL();
	cd->paused_by &= ~why;
	if (why & CHIM_PAUSE_ADMIN && cd->host->paused)
		chim_indicate_resume(cd->target);
	if (!was || chim_dev_paused(cd))
		return false;
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_RESUME, GFP_KERNEL);
	return true;
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

/* The target attached to device @ifindex of @net, looked up again. */
static struct chim_dev *ifindex_binding(struct net *net, int ifindex)
{
	struct net_device *dev = __dev_get_by_index(net, ifindex);

	return dev ? chim_dev_lookup(dev) : NULL;
}

/**
 * chim_dev_terminate_all() - upload everything a device's target runs, a
 *	batch per RTNL hold
 * @net: the namespace
 * @ifindex: the device
 * @reason: why
 *
 * CHIM_RTNL_BATCH connections per RTNL hold, so that 100,000 connections
 * never hold it for minutes.  The binding is looked up again for each
 * batch (a detach meanwhile has uploaded everything itself).  No more
 * connections than it had at the start go by batches; the last step
 * uploads what remains (paths, neighbors, connections offloaded meanwhile)
 * in one go.
 *
 * Context: process, RTNL not held; sleeps.
 */
void chim_dev_terminate_all(struct net *net, int ifindex,
			    enum chim_upload_reason reason)
{
	struct chim_conn *batch[CHIM_RTNL_BATCH];
	unsigned int budget = UINT_MAX, total, n, i;
	struct chim_obj *obj;
	struct chim_dev *cd;

	do {
		rtnl_lock();
		cd = ifindex_binding(net, ifindex);
		if (!cd) {
			rtnl_unlock();
			return;
		}
		n = chim_host_some_conns(cd->host, batch,
					 min_t(unsigned int, budget, CHIM_RTNL_BATCH), &total);
		budget = min(budget, total) - n;
		for (i = 0; i < n; i++) {
			obj = &batch[i]->obj;
			chim_host_terminate(cd->host, &obj, 1, reason);
			chim_obj_put(obj);
		}
		if (!n)
			chim_host_terminate_all(cd->host, reason);
		rtnl_unlock();
		cond_resched();
	} while (n);
}
