// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated NIC's control: what the control plane creates on a device
 * (chim_emu_driver), and the knobs a real NIC would not have: fault
 * injection and requests made on demand.
 */
#include <kunit/visibility.h>

#include "../driver.h"
#include "emu.h"

/**
 * chim_emu_fault_terminate() - fail the next @n TCP blocks of terminates
 * @emu: the target
 * @n: how many
 *
 * Context: any.
 */
void chim_emu_fault_terminate(struct chim_emu *emu, unsigned int n)
{
	atomic_set(&emu->faults.terminate_fail, n);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_fault_terminate);

/**
 * chim_emu_fault_initiate() - fail the next @n TCP blocks of initiates
 * @emu: the target
 * @n: how many
 * @status: with this status, a failure code of an initiate
 *
 * Context: any.
 * Return: 0, or -EINVAL for a status that is not a failure.
 */
int chim_emu_fault_initiate(struct chim_emu *emu, unsigned int n,
			    enum chim_status status)
{
	if (status < CHIM_STATUS_FAILURE ||
	    status > CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED)
		return -EINVAL;
	WRITE_ONCE(emu->faults.initiate_status, status);
	atomic_set(&emu->faults.initiate_fail, n);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_fault_initiate);

/**
 * chim_emu_fault_delay() - delay every completion
 * @emu: the target
 * @ms: by this many milliseconds
 *
 * Context: any.
 */
void chim_emu_fault_delay(struct chim_emu *emu, unsigned int ms)
{
	WRITE_ONCE(emu->faults.complete_delay_ms, ms);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_fault_delay);

/**
 * chim_emu_fault_clear() - no more fault injection
 * @emu: the target
 *
 * Context: any.
 */
void chim_emu_fault_clear(struct chim_emu *emu)
{
	atomic_set(&emu->faults.terminate_fail, 0);
	atomic_set(&emu->faults.initiate_fail, 0);
	WRITE_ONCE(emu->faults.complete_delay_ms, 0);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_fault_clear);

/*
 * The connection with @tuple, locked, if the target still runs it (once
 * stopped, its handle may be gone).  Context: RCU read-side section.
 */
static struct chim_emu_conn *lock_running(struct chim_emu *emu,
					  const struct chim_tuple *tuple)
{
	struct chim_table_entry *e = chim_table_lookup_rcu(&emu->table, tuple);
	struct chim_emu_conn *ec;

	if (!e)
		return NULL;
	ec = container_of(e, struct chim_emu_conn, entry);
	spin_lock_bh(&ec->lock);
	if (!ec->stopped)
		return ec;
	spin_unlock_bh(&ec->lock);
	return NULL;
}

/**
 * chim_emu_request_retrieve() - make the target ask for one upload
 * @emu: the target
 * @tuple: the connection
 * @reason: a TCP_UPLOAD_REASON (1-11)
 *
 * Context: any.
 * Return: 0, -EINVAL for a reason a target cannot give, -ENOENT when the
 * target does not run that connection.
 */
int chim_emu_request_retrieve(struct chim_emu *emu,
			      const struct chim_tuple *tuple,
			      enum chim_upload_reason reason)
{
	struct chim_emu_conn *ec;
	int err = -ENOENT;

	if (reason < CHIM_REASON_LOW_ACTIVITY || reason > CHIM_REASON_TARGET_MAX)
		return -EINVAL;
	rcu_read_lock();
	ec = lock_running(emu, tuple);
	if (ec) {
		chim_indicate_retrieve(ec->handle, reason);
		spin_unlock_bh(&ec->lock);
		err = 0;
	}
	rcu_read_unlock();
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_request_retrieve);

/**
 * chim_emu_request_upload_all() - make the target ask for everything
 * @emu: the target
 *
 * Context: any.
 */
void chim_emu_request_upload_all(struct chim_emu *emu)
{
	chim_indicate_upload_all(&emu->target);
}
EXPORT_SYMBOL_IF_KUNIT(chim_emu_request_upload_all);

static struct chim_target *emu_drv_create(struct net_device *dev,
					  u32 capacity, bool engine)
{
	struct chim_emu *emu = chim_emu_create(netdev_name(dev), capacity);
	int err;

	if (IS_ERR(emu))
		return ERR_CAST(emu);
	emu->engine = engine;
	err = chim_emu_rx_start(emu, dev);
	if (err) {
		chim_emu_destroy(emu);
		return ERR_PTR(err);
	}
	return &emu->target;
}

static void emu_drv_destroy(struct chim_target *target)
{
	chim_emu_destroy(chim_target_emu(target));
}

static int emu_drv_set_faults(struct chim_target *target, unsigned int which,
			      const struct chim_faults *f)
{
	struct chim_emu *emu = chim_target_emu(target);
	int err;

	if (which & CHIM_FAULT_INITIATE &&
	    (f->initiate_status < CHIM_STATUS_FAILURE ||
	     f->initiate_status > CHIM_STATUS_OFFLOAD_CONNECTION_REJECTED))
		return -EINVAL;
	if (which & CHIM_FAULT_CLEAR)
		chim_emu_fault_clear(emu);
	if (which & CHIM_FAULT_INITIATE) {
		err = chim_emu_fault_initiate(emu, f->initiate_fail,
					      f->initiate_status);
		if (err)
			return err;
	}
	if (which & CHIM_FAULT_TERMINATE)
		chim_emu_fault_terminate(emu, f->terminate_fail);
	if (which & CHIM_FAULT_DELAY)
		chim_emu_fault_delay(emu, f->complete_delay_ms);
	return 0;
}

static void emu_drv_get_faults(struct chim_target *target,
			       struct chim_faults *f)
{
	const struct chim_emu_faults *ef = &chim_target_emu(target)->faults;

	f->terminate_fail = atomic_read(&ef->terminate_fail);
	f->initiate_fail = atomic_read(&ef->initiate_fail);
	f->initiate_status = READ_ONCE(ef->initiate_status);
	f->complete_delay_ms = READ_ONCE(ef->complete_delay_ms);
}

static int emu_drv_request(struct chim_target *target,
			   const struct chim_tuple *tuple,
			   enum chim_upload_reason reason)
{
	struct chim_emu *emu = chim_target_emu(target);

	if (!tuple) {
		chim_emu_request_upload_all(emu);
		return 0;
	}
	return chim_emu_request_retrieve(emu, tuple, reason);
}

const struct chim_target_driver chim_emu_driver = {
	.create = emu_drv_create,
	.destroy = emu_drv_destroy,
	.set_faults = emu_drv_set_faults,
	.get_faults = emu_drv_get_faults,
	.request = emu_drv_request,
};
