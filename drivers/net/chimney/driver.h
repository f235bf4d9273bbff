/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_DRIVER_H
#define _CHIMNEY_DRIVER_H

#include <linux/netdevice.h>
#include <net/chimney.h>

#include "table.h"

/**
 * struct chim_faults - what a target's fault injection does next
 * @terminate_fail: fail this many next TCP blocks of terminates (FAILURE)
 * @initiate_fail: fail this many next TCP blocks of initiates
 * @initiate_status: with this status
 * @complete_delay_ms: delay every completion by this much
 */
struct chim_faults {
	u32 terminate_fail;
	u32 initiate_fail;
	enum chim_status initiate_status;
	u32 complete_delay_ms;
};

/* Which fields of a struct chim_faults a target-fault request sets. */
enum {
	CHIM_FAULT_CLEAR	= BIT(0),	/* all of them to zero, first */
	CHIM_FAULT_INITIATE	= BIT(1),
	CHIM_FAULT_TERMINATE	= BIT(2),
	CHIM_FAULT_DELAY	= BIT(3),
};

/**
 * struct chim_target_driver - how the control plane creates a target on a
 *	device, and drives the test knobs a real NIC would not have
 *
 * The host side reaches a target it runs only through &struct
 * chim_target_ops and the upcalls of <net/chimney.h>; this is the rest of
 * what `chimneyctl dev attach`, `target fault` and `target request` need.
 * One driver today: the emulated NIC (emu/).
 *
 * @create: a target on @dev (RTNL held) that runs at most @capacity TCP
 *	connections, with its TCP engine when @engine, seeing the device's
 *	traffic from its return; an ERR_PTR on failure
 * @destroy: free a target whose host is gone
 * @set_faults: target-fault: the fields of @f that @which names, after a
 *	clear if it names one; -EINVAL (nothing changed) for an initiate
 *	status that is not a failure
 * @get_faults: what is left to inject
 * @request: target-request: make the target ask for the upload of the
 *	connection @tuple (Part 1, @reason), or with a NULL @tuple indicate
 *	an upload-all; -ENOENT when it does not run that connection
 */
struct chim_target_driver {
	struct chim_target *(*create)(struct net_device *dev, u32 capacity,
				      bool engine);
	void (*destroy)(struct chim_target *target);
	int (*set_faults)(struct chim_target *target, unsigned int which,
			  const struct chim_faults *f);
	void (*get_faults)(struct chim_target *target, struct chim_faults *f);
	int (*request)(struct chim_target *target,
		       const struct chim_tuple *tuple,
		       enum chim_upload_reason reason);
};

extern const struct chim_target_driver chim_emu_driver;

#endif /* _CHIMNEY_DRIVER_H */
