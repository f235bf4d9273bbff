// SPDX-License-Identifier: GPL-2.0
/*
 * The host stack's side of one target: its life (create, destroy), and
 * the worker that decides on the target's Part 1 requests and upload-all.
 * The operations are in initiate.c, terminate.c and query.c, the block
 * trees they build in tree.c, the connections' index and walks in conns.c.
 *
 * Every operation is synchronous for its caller: build the tree under
 * host->lock, drop the lock, hand the tree to the target, wait for its
 * completion, then take the lock again to apply the statuses.  host->lock
 * is never held across a target operation or an owner callback, so a
 * target may complete from any process context and an owner may lock its
 * socket in a callback.
 */
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <net/ipv6.h>

#include "block.h"
#include "defs.h"
#include "host.h"

/**
 * chim_trace_step() - record one step of a Part 2 terminate
 * @target: the target
 * @step: the step
 *
 * Context: any.
 */
void chim_trace_step(struct chim_target *target, enum chim_step step)
{
	struct chim_host *host = target->host;

	if (host && host->trace)
		host->trace(host, step);
}
EXPORT_SYMBOL_GPL(chim_trace_step);

/**
 * chim_host_create() - attach a host to a target
 * @target: the target; its ops and capacity are set
 *
 * Context: process.
 * Return: the host, or NULL.
 */
struct chim_host *chim_host_create(struct chim_target *target)
{
	struct chim_host *host = kzalloc(sizeof(*host), GFP_KERNEL_ACCOUNT);

	if (!host)
		return NULL;
	/*
	 * Sized for the target's capacity, not bounded by it: a connection
	 * leaves the target before it leaves the index, and the entries are
	 * part of objects that exist anyway.
	 */
	if (chim_table_create(&host->conns, target->capacity, U32_MAX)) {
		kfree(host);
		return NULL;
	}
	host->target = target;
	mutex_init(&host->lock);
	INIT_LIST_HEAD(&host->neighs);
	host->accept_optional = CHIM_DEFAULT_ACCEPT_OPTIONAL;
	spin_lock_init(&host->req_lock);
	INIT_LIST_HEAD(&host->requests);
	INIT_WORK(&host->req_work, chim_host_request_work);
	target->host = host;
	return host;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_create);

static struct chim_obj *next_request(struct chim_host *host,
				     enum chim_upload_reason *reason)
{
	struct chim_obj *obj = NULL;

	spin_lock_irq(&host->req_lock);
	if (!list_empty(&host->requests)) {
		obj = list_first_entry(&host->requests, struct chim_obj,
				       req_node);
		list_del_init(&obj->req_node);
		*reason = obj->retrieve_reason;
		obj->retrieve_reason = CHIM_REASON_NONE;
	}
	spin_unlock_irq(&host->req_lock);
	return obj;
}

/**
 * chim_host_request_work() - run the queued Part 1 requests and upload-all
 * @work: the host's req_work
 *
 * Context: process (the system workqueue).
 */
void chim_host_request_work(struct work_struct *work)
{
	struct chim_host *host = container_of(work, struct chim_host, req_work);
	enum chim_upload_reason reason;
	struct chim_obj *obj;
	bool all;

	spin_lock_irq(&host->req_lock);
	all = host->upload_all;
	host->upload_all = false;
	spin_unlock_irq(&host->req_lock);
	if (all) {
		mutex_lock(&host->lock);
		host->paused = true;
		mutex_unlock(&host->lock);
		chim_host_terminate_all(host, CHIM_REASON_UPLOAD_ALL);
	}

	while ((obj = next_request(host, &reason))) {
		bool accept;

		mutex_lock(&host->lock);
		accept = chim_reason_is_mandatory(reason) ||
			 (host->accept_optional & BIT(reason));
		if (!accept)
			host->stats.retrieves_declined[reason]++;
		mutex_unlock(&host->lock);
		/* Declined: the target keeps running the connection. */
		if (accept &&
		    chim_host_terminate(host, &obj, 1, reason) == -EALREADY) {
			spin_lock_irq(&host->req_lock);
			host->stats.retrieves_ignored++;
			spin_unlock_irq(&host->req_lock);
		}
		chim_obj_put(obj);
	}
}

/**
 * chim_host_flush() - wait until every queued Part 1 request ran
 * @host: the host
 *
 * Context: process.
 */
void chim_host_flush(struct chim_host *host)
{
	flush_work(&host->req_work);
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_flush);

/**
 * chim_host_destroy() - upload everything and detach from the target
 * @host: the host
 *
 * Teardown order: (1) mark dying so that indications are ignored, (2) drop
 * the queued requests, (3) wait for the request worker, (4) upload every
 * object (reason detach), (5) unlink what is left (objects never
 * offloaded) and free.  Owners must have dropped their references to
 * objects that were never offloaded.
 *
 * Context: process; sleeps.
 */
void chim_host_destroy(struct chim_host *host)
{
	struct chim_obj *obj, *tmp;
	LIST_HEAD(dropped);

	spin_lock_irq(&host->req_lock);
	host->dying = true;
	host->upload_all = false;
	list_splice_init(&host->requests, &dropped);
	spin_unlock_irq(&host->req_lock);
	list_for_each_entry_safe(obj, tmp, &dropped, req_node) {
		list_del_init(&obj->req_node);
		obj->retrieve_reason = CHIM_REASON_NONE;
		chim_obj_put(obj);
	}
	cancel_work_sync(&host->req_work);

	chim_host_terminate_all(host, CHIM_REASON_DETACH);

	mutex_lock(&host->lock);
	list_for_each_entry_safe(obj, tmp, &host->neighs, sibling) {
		struct chim_obj *path, *ptmp;

		list_for_each_entry_safe(path, ptmp, &obj->children, sibling) {
			struct chim_obj *conn, *ctmp;

			list_for_each_entry_safe(conn, ctmp, &path->children,
						 sibling) {
				chim_host_index_remove(host,
						       chim_obj_conn(conn));
				chim_obj_unlink(conn);
			}
			chim_obj_unlink(path);
		}
		chim_obj_unlink(obj);
	}
	mutex_unlock(&host->lock);
	if (host->target->ops->quiesce)
		host->target->ops->quiesce(host->target);
	host->target->host = NULL;
	chim_table_destroy(&host->conns);
	mutex_destroy(&host->lock);
	kfree(host);
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_destroy);
