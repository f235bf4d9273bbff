/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_DEV_H
#define _CHIMNEY_DEV_H

#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <net/net_namespace.h>

#include "driver.h"
#include "auto.h"
#include "host.h"

/* NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS */
struct chim_params {
	u32 ticks_per_second;
	u32 ack_frequency;
	u32 delayed_ack_ticks;
	u32 max_retransmissions;
	u32 doubt_reachability_retransmissions;
	u32 sws_prevention_ticks;
	u32 dup_ack_threshold;
	u32 push_ticks;
	u32 nce_stale_ticks;
};

/**
 * struct chim_policy - an offload rule: connections matching every key set
 *	are offloaded with @priority
 * @node: entry in the device's rules
 * @id: its number, unique on the device
 * @family: AF_INET or AF_INET6 when an address is set, else 0
 * @laddr: local address (IPv4 v4-mapped), if @has_laddr
 * @raddr: remote address, if @has_raddr
 * @has_laddr: match on @laddr
 * @has_raddr: match on @raddr
 * @lport: local port, 0 for any
 * @rport: remote port, 0 for any
 * @priority: 0 (lowest) to 7
 */
struct chim_policy {
	struct list_head node;
	u32 id;
	u8 family;
	struct in6_addr laddr;
	struct in6_addr raddr;
	bool has_laddr;
	bool has_raddr;
	__be16 lport;
	__be16 rport;
	u8 priority;
};

/**
 * struct chim_dev - an offload target bound to a net_device
 * @node: entry in the netns's list; RTNL
 * @dev: the device, held with @dev_tracker
 * @dev_tracker: reference tracker
 * @drv: the driver that created @target
 * @target: the target
 * @host: the host side
 * @idle_timeout_ms: low-activity window (0: off)
 * @idle_bytes: fewer bytes than this in the window is low activity
 * @params: offload parameters
 * @all_node: entry in the list of every namespace's bindings; RTNL
 * @paused_by: why new offloads are refused (CHIM_PAUSE_*); RTNL
 * @link_down: the device is down or has no carrier: nothing is offloaded
 *	until it is up again; RTNL
 * @scan_pending: its rules are to be applied to the established
 *	connections (chim_auto_scan()); RTNL
 * @policies: offload rules; RTNL
 * @nr_policies: number of rules
 * @next_policy_id: id of the next rule
 * @opt_in: applications may opt in (setsockopt TCP_ULP) without a rule
 * @engine: the target's engine runs the connections (issue 16: receive)
 */
struct chim_dev {
	struct list_head node;
	struct net_device *dev;
	netdevice_tracker dev_tracker;
	const struct chim_target_driver *drv;
	struct chim_target *target;
	struct chim_host *host;
	u32 idle_timeout_ms;
	u64 idle_bytes;
	struct chim_params params;
	struct list_head all_node;
	u8 paused_by;
	bool link_down;
	bool scan_pending;
	struct list_head policies;
	unsigned int nr_policies;
	u32 next_policy_id;
	bool opt_in;
	bool engine;
};

extern struct list_head chim_devs_all;
extern unsigned int chim_net_id;

/* Why a device refuses new offloads (&chim_dev.paused_by). */
#define CHIM_PAUSE_ADMIN	BIT(0)	/* `dev pause`, until `dev resume` */
#define CHIM_PAUSE_RECONF	BIT(1)	/* a reconfiguration, until it is over */
#define CHIM_PAUSE_SUSPEND	BIT(2)	/* system suspend, until resume */
#define CHIM_PAUSE_PORT		BIT(3)	/* a port of a bond or bridge, until released */

/* Why a port refuses offloads and `dev resume`. */
#define CHIM_PORT_REFUSAL "the device is a port of a master device (bond, bridge)"

/**
 * struct chim_net - chimney's state in a network namespace
 * @devs: the attached devices; RTNL
 * @rules: its offload rules at work
 * @reconf_work: resumes devices paused by a reconfiguration, once the
 *	RTNL section that reconfigures them is over
 * @idle_work: the low-activity scan, while a device has an idle timeout
 * @catching: the catch's hooks are registered (catch.c); RTNL
 */
struct chim_net {
	struct list_head devs;
	bool catching;
	struct chim_auto rules;
	struct work_struct reconf_work;
	struct delayed_work idle_work;
};

struct chim_dev_config {
	u32 capacity;
	u32 idle_timeout_ms;
	u64 idle_bytes;
	u32 accept_optional;
	struct chim_params params;
	bool opt_in;
	bool engine;
};

struct chim_net *chim_net(struct net *net);
void chim_dev_config_init(struct chim_dev_config *cfg);
struct chim_dev *chim_dev_create(struct net_device *dev,
				 const struct chim_dev_config *cfg);
void chim_dev_unlink(struct chim_dev *cd);
void chim_dev_destroy(struct chim_dev *cd);
struct chim_dev *chim_dev_lookup(struct net_device *dev);
void chim_dev_pause(struct chim_dev *cd, unsigned int why,
		    enum chim_upload_reason reason);
bool chim_dev_resume(struct chim_dev *cd, unsigned int why);
int chim_dev_admit(struct chim_dev *cd, struct netlink_ext_ack *extack);
void chim_dev_terminate_all(struct net *net, int ifindex,
			    enum chim_upload_reason reason);
const struct chim_policy *chim_dev_match(struct chim_dev *cd,
					 const struct chim_tuple *t);
bool chim_policy_match(const struct chim_policy *p, const struct chim_tuple *t);

/**
 * chim_dev_paused() - whether new offloads are refused for a pause
 * @cd: the binding
 *
 * Return: true when paused by the host (administrator, reconfiguration,
 * suspend) or by the target.
 */
static inline bool chim_dev_paused(struct chim_dev *cd)
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
static inline bool chim_dev_refuses(struct chim_dev *cd)
{
	return chim_dev_paused(cd) || cd->link_down;
}

#endif /* _CHIMNEY_DEV_H */
