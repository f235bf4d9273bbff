// SPDX-License-Identifier: GPL-2.0
/*
 * Why the host terminates offloads, the host alone deciding (the target
 * only asks, indicate.c):
 *
 *  - link down: the device goes down or loses its carrier.  Everything on
 *    it is uploaded (reason link-down) and nothing is offloaded until the
 *    link is back; then the device's offload rules apply again.
 *  - reconfiguration (NetEventPause): features, MTU, hardware address or
 *    upper device (bond, bridge, VLAN) change.  A pause (reason pause) that
 *    ends by itself once the RTNL section reconfiguring the device is over.
 *  - a port: while the device is a port of a master device (a bond, a
 *    bridge), its traffic is the master's; paused until it is released.
 *  - system suspend: every device pauses until the system resumes.
 *  - priority: at capacity, an eligible connection of a higher priority
 *    takes the place of the lowest-priority, least recently active one
 *    (reason priority); equal or lower priority never evicts.
 *  - low activity: a connection that carried fewer than the device's
 *    idle-bytes in idle-timeout ms is uploaded (reason low-activity).
 *
 * Detach, unregister, a move to another namespace and module unload detach
 * the target (dev.c), which uploads everything with reason detach (a move
 * closes the device first: there the uploads are link-down).
 */
#include <kunit/visibility.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/suspend.h>

#include "defs.h"
#include "dev.h"
#include "netlink.h"
#include "trigger.h"

/* How often the low-activity scan runs while a device has an idle timeout. */
#define CHIM_IDLE_TICK_MS	100

/* ---- link and reconfiguration ------------------------------------------ */

static void link_change(struct chim_dev *cd, bool up)
{
	if (up == !cd->link_down)
		return;
	cd->link_down = !up;
	chim_nl_notify_dev(cd, CHIMNEY_EVENT_TYPE_LINK, GFP_KERNEL);
	if (!up)
		chim_host_terminate_all(cd->host, CHIM_REASON_LINK_DOWN);
	else if (cd->nr_policies && !chim_dev_paused(cd))
		chim_auto_scan(cd);
}

/**
 * chim_trigger_netdev() - a device with a target changed
 * @cd: its binding
 * @event: the NETDEV_* event (not NETDEV_UNREGISTER: that detaches)
 *
 * Context: RTNL held (the netdevice notifier); sleeps.
 */
void chim_trigger_netdev(struct chim_dev *cd, unsigned long event)
{
	struct net_device *dev = cd->dev;

	switch (event) {
	case NETDEV_GOING_DOWN:
	case NETDEV_DOWN:
		link_change(cd, false);
		break;
	case NETDEV_UP:
	case NETDEV_CHANGE:
		link_change(cd, netif_running(dev) && netif_carrier_ok(dev));
		break;
	case NETDEV_FEAT_CHANGE:
	case NETDEV_PRECHANGEMTU:
	case NETDEV_PRE_CHANGEADDR:
	case NETDEV_PRECHANGEUPPER:
	case NETDEV_PRE_TYPE_CHANGE:
		chim_dev_pause(cd, CHIM_PAUSE_RECONF, CHIM_REASON_PAUSE);
		/* Runs once this RTNL section, the reconfiguration, is over. */
		schedule_work(&chim_net(dev_net(dev))->reconf_work);
		break;
	case NETDEV_CHANGEUPPER:
		if (netdev_master_upper_dev_get(dev))
			chim_dev_pause(cd, CHIM_PAUSE_PORT, CHIM_REASON_PAUSE);
		else if (cd->paused_by & CHIM_PAUSE_PORT)
			chim_auto_resume(cd, CHIM_PAUSE_PORT);
		break;
	}
}

static void reconf_work(struct work_struct *work)
{
	struct chim_net *cn = container_of(work, struct chim_net, reconf_work);
	struct chim_dev *cd;

	rtnl_lock();
	list_for_each_entry(cd, &cn->devs, node)
		if (cd->paused_by & CHIM_PAUSE_RECONF)
			chim_auto_resume(cd, CHIM_PAUSE_RECONF);
	rtnl_unlock();
}

/* ---- system suspend ------------------------------------------------------ */

static int chim_pm_event(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct chim_dev *cd;

	switch (action) {
	case PM_HIBERNATION_PREPARE:
	case PM_SUSPEND_PREPARE:
	case PM_RESTORE_PREPARE:
		rtnl_lock();
		list_for_each_entry(cd, &chim_devs_all, all_node)
			chim_dev_pause(cd, CHIM_PAUSE_SUSPEND, CHIM_REASON_PAUSE);
		rtnl_unlock();
		break;
	case PM_POST_HIBERNATION:
	case PM_POST_SUSPEND:
	case PM_POST_RESTORE:
		rtnl_lock();
		list_for_each_entry(cd, &chim_devs_all, all_node)
			chim_auto_resume(cd, CHIM_PAUSE_SUSPEND);
		rtnl_unlock();
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block chim_pm_nb = {
	.notifier_call = chim_pm_event,
};

/* ---- activity: priority and low activity --------------------------------- */

static int terminate_conn(struct chim_dev *cd, struct chim_conn *conn,
			  enum chim_upload_reason reason)
{
	struct chim_obj *obj = &conn->obj;

	return chim_host_terminate(cd->host, &obj, 1, reason);
}

struct idle_scan {
	unsigned long now;
	unsigned long window;
	u64 min_bytes;
	unsigned int found;
};

/*
 * Under the host lock: measure one connection over windows of the idle
 * timeout, the first from its offload; take it when it carried fewer than
 * idle-bytes (at least 1) in a window.
 */
static bool idle_pick(struct chim_conn *c, const struct chim_activity *a,
		      void *arg)
{
	struct idle_scan *s = arg;

	if (!c->idle_since) {
		c->idle_since = a->since;
		c->idle_base = 0;
	}
	if (time_before(s->now, c->idle_since + s->window))
		return false;
	if (a->bytes_in + a->bytes_out - c->idle_base < s->min_bytes) {
		s->found++;
		return true;
	}
	c->idle_since = s->now;
	c->idle_base = a->bytes_in + a->bytes_out;
	return false;
}

/**
 * chim_trigger_idle_conns() - the connections that carried too little in
 *	a window, each held
 * @host: the device's host
 * @window_ms: the idle timeout
 * @idle_bytes: fewer bytes than this (at least 1) in a window is idle
 * @conns: receives them
 * @max: at most this many
 * @left: set when more were idle than @max (found again by the next scan)
 *
 * Each connection is measured over windows of @window_ms, the first from
 * its offload, by what its target reports.  The walk copies nothing and
 * holds only what it returns.
 *
 * Context: process; sleeps (the host lock).
 * Return: how many are in @conns, each to be put.
 */
unsigned int chim_trigger_idle_conns(struct chim_host *host,
				     unsigned int window_ms, u64 idle_bytes,
				     struct chim_conn **conns,
				     unsigned int max, bool *left)
{
	struct idle_scan s = {
		.now = jiffies,
		.window = msecs_to_jiffies(window_ms),
		.min_bytes = max_t(u64, idle_bytes, 1),
	};
	unsigned int n;

	n = chim_host_pick_conns(host, idle_pick, &s, conns, max);
	*left = s.found > n;
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(chim_trigger_idle_conns);

/*
 * One device's scan: the idle connections are uploaded as long as @budget
 * lasts.
 *
 * Return: whether a connection was left for want of budget.
 */
static bool idle_scan(struct chim_dev *cd, unsigned int *budget)
{
	struct chim_conn *conns[CHIM_RTNL_BATCH];
	unsigned int i, n;
	bool left;

	n = chim_trigger_idle_conns(cd->host, cd->idle_timeout_ms,
				    cd->idle_bytes, conns,
				    min_t(unsigned int, *budget, ARRAY_SIZE(conns)),
				    &left);
	for (i = 0; i < n; i++) {
		terminate_conn(cd, conns[i], CHIM_REASON_LOW_ACTIVITY);
		chim_obj_put(&conns[i]->obj);
	}
	*budget -= n;
	return left;
}

static void idle_work(struct work_struct *work)
{
	struct chim_net *cn = container_of(to_delayed_work(work),
					   struct chim_net, idle_work);
	unsigned int budget = CHIM_RTNL_BATCH;
	bool more = false, left = false;
	struct chim_dev *cd;

	/* At most a batch of uploads per RTNL hold; what is left, at once. */
	rtnl_lock();
	list_for_each_entry(cd, &cn->devs, node) {
		if (!cd->idle_timeout_ms)
			continue;
		more = true;
		if (idle_scan(cd, &budget))
			left = true;
	}
	rtnl_unlock();
	if (more)
		schedule_delayed_work(&cn->idle_work,
				      left ? 0 : msecs_to_jiffies(CHIM_IDLE_TICK_MS));
}

/**
 * chim_trigger_idle_update() - a device came or went: start the
 *	low-activity scan if a device of the namespace has an idle timeout
 * @net: the namespace
 *
 * The scan stops by itself once none has.
 *
 * Context: RTNL held.
 */
void chim_trigger_idle_update(struct net *net)
{
	struct chim_net *cn = chim_net(net);
	struct chim_dev *cd;

	ASSERT_RTNL();
	list_for_each_entry(cd, &cn->devs, node) {
		if (cd->idle_timeout_ms) {
			schedule_delayed_work(&cn->idle_work,
					      msecs_to_jiffies(CHIM_IDLE_TICK_MS));
			return;
		}
	}
}

/* ---- setup ----------------------------------------------------------------- */

/**
 * chim_trigger_net_init() - a namespace's trigger work items
 * @cn: its state
 */
void chim_trigger_net_init(struct chim_net *cn)
{
	INIT_WORK(&cn->reconf_work, reconf_work);
	INIT_DELAYED_WORK(&cn->idle_work, idle_work);
}

/**
 * chim_trigger_net_exit() - the namespace goes, its devices detached
 * @cn: its state
 *
 * Context: process, RTNL not held.
 */
void chim_trigger_net_exit(struct chim_net *cn)
{
	cancel_work_sync(&cn->reconf_work);
	cancel_delayed_work_sync(&cn->idle_work);
}

/**
 * chim_trigger_init() - follow system suspend
 *
 * Return: 0 or a negative errno.
 */
int chim_trigger_init(void)
{
	return register_pm_notifier(&chim_pm_nb);
}

/**
 * chim_trigger_uninit() - stop following system suspend
 */
void chim_trigger_uninit(void)
{
	unregister_pm_notifier(&chim_pm_nb);
}
