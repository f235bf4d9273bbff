// SPDX-License-Identifier: GPL-2.0
/*
 * Neighbor, path and TCP objects: creation, the lookup of a route's
 * path in the host's tree, references, the dependent links
 * conn -> path -> neigh and the state machine.
 */
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <net/ipv6.h>

#include "host.h"
#include "object.h"

static const char * const state_names[__CHIM_STATE_MAX] = {
	[CHIM_STATE_NEW] = "new",
	[CHIM_STATE_OFFLOADING] = "offloading",
	[CHIM_STATE_OFFLOADED] = "offloaded",
	[CHIM_STATE_UPLOADING] = "uploading",
	[CHIM_STATE_INVALIDATED] = "invalidated",
	[CHIM_STATE_ABORTED] = "aborted",
	[CHIM_STATE_DEAD] = "dead",
};

/* transitions[from] = bitmask of the states reachable from it */
static const u8 transitions[__CHIM_STATE_MAX] = {
	[CHIM_STATE_NEW] = BIT(CHIM_STATE_OFFLOADING) | BIT(CHIM_STATE_DEAD),
	[CHIM_STATE_OFFLOADING] = BIT(CHIM_STATE_OFFLOADED) | BIT(CHIM_STATE_DEAD),
	[CHIM_STATE_OFFLOADED] = BIT(CHIM_STATE_UPLOADING) |
				 BIT(CHIM_STATE_INVALIDATED),
	[CHIM_STATE_INVALIDATED] = BIT(CHIM_STATE_UPLOADING),
	[CHIM_STATE_UPLOADING] = BIT(CHIM_STATE_DEAD) | BIT(CHIM_STATE_ABORTED),
	[CHIM_STATE_ABORTED] = BIT(CHIM_STATE_DEAD),
	[CHIM_STATE_DEAD] = 0,
};

/**
 * chim_state_name() - printable name of an object state
 * @state: the state
 *
 * Return: a static string.
 */
const char *chim_state_name(enum chim_obj_state state)
{
	return state < __CHIM_STATE_MAX ? state_names[state] : "?";
}
EXPORT_SYMBOL_IF_KUNIT(chim_state_name);

static void obj_init(struct chim_obj *obj, enum chim_obj_type type,
		     struct chim_host *host)
{
	obj->type = type;
	obj->state = CHIM_STATE_NEW;
	refcount_set(&obj->ref, 1);
	obj->host = host;
	INIT_LIST_HEAD(&obj->children);
	INIT_LIST_HEAD(&obj->sibling);
	INIT_LIST_HEAD(&obj->req_node);
	INIT_LIST_HEAD(&obj->defer_node);
}

/* Link @obj under @parent; the child holds a reference on its parent. */
static void obj_link(struct chim_obj *obj, struct chim_obj *parent)
{
	lockdep_assert_held(&obj->host->lock);
	chim_obj_hold(parent);
	obj->parent = parent;
	list_add_tail(&obj->sibling, &parent->children);
}

/**
 * chim_neigh_create() - create a neighbor object (state NEW)
 * @host: owning host
 * @next_hop: next-hop IP address (IPv4 v4-mapped)
 * @c: constant variables
 * @cached: cached variables
 *
 * Context: process; takes host->lock.
 * Return: the neighbor with one reference for the caller, or NULL.
 */
struct chim_neigh *chim_neigh_create(struct chim_host *host,
				     const struct in6_addr *next_hop,
				     const struct chim_neigh_const *c,
				     const struct chim_neigh_cached *cached)
{
	struct chim_neigh *neigh = kzalloc(sizeof(*neigh), GFP_KERNEL);

	if (!neigh)
		return NULL;
	obj_init(&neigh->obj, CHIM_OBJ_NEIGH, host);
	neigh->next_hop = *next_hop;
	neigh->c = *c;
	neigh->cached = *cached;
	/* HRD and NRD are equal at offload. */
	neigh->delegated.nic_reachability_delta = cached->host_reachability_delta;

	mutex_lock(&host->lock);
	chim_obj_hold(&neigh->obj);	/* the host's list */
	list_add_tail(&neigh->obj.sibling, &host->neighs);
	mutex_unlock(&host->lock);
	return neigh;
}
EXPORT_SYMBOL_IF_KUNIT(chim_neigh_create);

/**
 * chim_path_create() - create a path object under a neighbor (state NEW)
 * @neigh: its neighbor
 * @c: constant variables
 * @cached: cached variables
 *
 * Context: process; takes host->lock.
 * Return: the path with one reference for the caller, or NULL (no memory,
 * or @neigh is no longer NEW nor OFFLOADED).
 */
struct chim_path *chim_path_create(struct chim_neigh *neigh,
				   const struct chim_path_const *c,
				   const struct chim_path_cached *cached)
{
	struct chim_host *host = neigh->obj.host;
	struct chim_path *path = kzalloc(sizeof(*path), GFP_KERNEL);

	if (!path)
		return NULL;
	obj_init(&path->obj, CHIM_OBJ_PATH, host);
	path->c = *c;
	path->cached = *cached;

	mutex_lock(&host->lock);
	/*
	 * A neighbor terminated since it was found (its last path uploaded)
	 * takes no new path: one linked under it would never be offloaded
	 * nor unlinked, and the two would keep each other for good.
	 */
	if (neigh->obj.state != CHIM_STATE_NEW &&
	    neigh->obj.state != CHIM_STATE_OFFLOADED) {
		mutex_unlock(&host->lock);
		kfree(path);
		return NULL;
	}
	chim_obj_hold(&path->obj);	/* the parent's list */
	obj_link(&path->obj, &neigh->obj);
	mutex_unlock(&host->lock);
	return path;
}
EXPORT_SYMBOL_IF_KUNIT(chim_path_create);

/**
 * chim_conn_create() - create a TCP object under a path (state NEW)
 * @path: its path
 * @tuple: its 4-tuple
 *
 * The caller fills the const, cached and delegated variables before
 * offloading it.  Its HashValue is the tuple's flow hash.
 *
 * Context: process; takes host->lock.
 * Return: the connection with one reference for the caller, or NULL.
 */
struct chim_conn *chim_conn_create(struct chim_path *path,
				   const struct chim_tuple *tuple)
{
	struct chim_host *host = path->obj.host;
	struct chim_conn *conn = kzalloc(sizeof(*conn), GFP_KERNEL);

	if (!conn)
		return NULL;
	obj_init(&conn->obj, CHIM_OBJ_TCP, host);
	INIT_HLIST_NODE(&conn->index.node);
	conn->index.tuple = *tuple;
	conn->c.local_port = tuple->lport;
	conn->c.remote_port = tuple->rport;
	conn->c.hash_value = chim_tuple_hash(tuple);
	conn->d.state = CHIM_TCP_ESTABLISHED;
	conn->d.keepalive.timeout_delta = CHIM_TIMER_NOT_RUNNING;
	conn->d.retransmit.timeout_delta = CHIM_TIMER_NOT_RUNNING;
	skb_queue_head_init(&conn->d.send_data);
	skb_queue_head_init(&conn->d.buffered_data);

	mutex_lock(&host->lock);
	chim_obj_hold(&conn->obj);	/* the parent's list */
	obj_link(&conn->obj, &path->obj);
	mutex_unlock(&host->lock);
	return conn;
}
EXPORT_SYMBOL_IF_KUNIT(chim_conn_create);

static struct chim_neigh *find_neigh(struct chim_host *host,
				     const struct in6_addr *next_hop)
{
	struct chim_obj *obj;

	list_for_each_entry(obj, &host->neighs, sibling)
		if ((obj->state == CHIM_STATE_NEW ||
		     obj->state == CHIM_STATE_OFFLOADED) &&
		    ipv6_addr_equal(&chim_obj_neigh(obj)->next_hop, next_hop)) {
			chim_obj_hold(obj);
			return chim_obj_neigh(obj);
		}
	return NULL;
}

static struct chim_path *find_path(struct chim_neigh *neigh,
				   const struct chim_path_const *c)
{
	struct chim_obj *obj;

	list_for_each_entry(obj, &neigh->obj.children, sibling) {
		struct chim_path *path = chim_obj_path(obj);

		if ((obj->state == CHIM_STATE_NEW ||
		     obj->state == CHIM_STATE_OFFLOADED) &&
		    ipv6_addr_equal(&path->c.source_address, &c->source_address) &&
		    ipv6_addr_equal(&path->c.destination_address,
				    &c->destination_address)) {
			chim_obj_hold(obj);
			return path;
		}
	}
	return NULL;
}

/**
 * chim_path_lookup() - the path object of a route, found in the host's
 *	tree or created (with its neighbor when that is new too)
 * @host: the host
 * @next_hop: the route's next hop (IPv4 v4-mapped), the neighbor's key
 * @nc: a new neighbor's constant variables
 * @ncached: a new neighbor's cached variables
 * @pc: the path's constant variables; its addresses are its key
 * @pcached: a new path's cached variables
 *
 * Only a NEW or OFFLOADED neighbor or path is found.  The lookup and a
 * creation take host->lock one after the other: two callers at once may
 * each create an object for the same key (the socket layer's offloads are
 * serialized by RTNL).
 *
 * Context: process; takes host->lock.
 * Return: the path with one reference for the caller, or NULL without
 * memory.
 */
struct chim_path *chim_path_lookup(struct chim_host *host,
				   const struct in6_addr *next_hop,
				   const struct chim_neigh_const *nc,
				   const struct chim_neigh_cached *ncached,
				   const struct chim_path_const *pc,
				   const struct chim_path_cached *pcached)
{
	struct chim_neigh *neigh;
	struct chim_path *path;
	int tries;

	/* Again when the neighbor found was terminated meanwhile. */
	for (tries = 0; tries < 2; tries++) {
		mutex_lock(&host->lock);
		neigh = find_neigh(host, next_hop);
		path = neigh ? find_path(neigh, pc) : NULL;
		mutex_unlock(&host->lock);
		if (!neigh) {
			neigh = chim_neigh_create(host, next_hop, nc, ncached);
			if (!neigh)
				return NULL;
		}
		if (!path)
			path = chim_path_create(neigh, pc, pcached);
		chim_obj_put(&neigh->obj);
		if (path)
			return path;
	}
	return NULL;
}

/**
 * chim_obj_hold() - take a reference on an object known to be alive
 * @obj: the object
 *
 * Context: any.
 */
void chim_obj_hold(struct chim_obj *obj)
{
	refcount_inc(&obj->ref);
}
EXPORT_SYMBOL_IF_KUNIT(chim_obj_hold);

/**
 * chim_obj_get() - take a reference unless the object is being freed
 * @obj: the object
 *
 * Context: any.
 * Return: true if a reference was taken.
 */
bool chim_obj_get(struct chim_obj *obj)
{
	return refcount_inc_not_zero(&obj->ref);
}
EXPORT_SYMBOL_IF_KUNIT(chim_obj_get);

static void obj_free(struct chim_obj *obj)
{
	if (obj->type == CHIM_OBJ_TCP) {
		struct chim_conn *conn = chim_obj_conn(obj);

		skb_queue_purge(&conn->d.send_data);
		skb_queue_purge(&conn->d.buffered_data);
	}
	kfree_rcu(obj, rcu);
}

/**
 * chim_obj_put() - drop a reference; the last one frees the object and
 *	drops its reference on the parent
 * @obj: the object, may be NULL
 *
 * Context: process (a put can free a chain of parents).
 */
void chim_obj_put(struct chim_obj *obj)
{
	while (obj && refcount_dec_and_test(&obj->ref)) {
		struct chim_obj *parent = obj->parent;

		obj_free(obj);
		obj = parent;
	}
}
EXPORT_SYMBOL_IF_KUNIT(chim_obj_put);

/**
 * chim_obj_set_state() - move an object to a new state
 * @obj: the object
 * @state: the new state
 *
 * Only the transitions of enum chim_obj_state are allowed.
 *
 * Context: host->lock held.
 * Return: 0, or -EINVAL (and no change) for a transition not allowed.
 */
int chim_obj_set_state(struct chim_obj *obj, enum chim_obj_state state)
{
	lockdep_assert_held(&obj->host->lock);
	if (state >= __CHIM_STATE_MAX || !(transitions[obj->state] & BIT(state)))
		return -EINVAL;
	/* A dependent is a child the target knows: from OFFLOADING to DEAD. */
	if (obj->parent && obj->state == CHIM_STATE_NEW &&
	    state == CHIM_STATE_OFFLOADING)
		obj->parent->dependents++;
	else if (obj->parent && obj->state != CHIM_STATE_NEW &&
		 state == CHIM_STATE_DEAD)
		obj->parent->dependents--;
	obj->state = state;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(chim_obj_set_state);

/**
 * chim_obj_unlink() - take a DEAD object out of the tree
 * @obj: the object, with no children left
 *
 * Drops the reference of the parent's list (or the host's list); the
 * object's own reference on its parent goes with its last reference.
 *
 * Context: host->lock held.
 */
void chim_obj_unlink(struct chim_obj *obj)
{
	lockdep_assert_held(&obj->host->lock);
	if (list_empty(&obj->sibling))
		return;
	list_del_init(&obj->sibling);
	chim_obj_put(obj);
}
EXPORT_SYMBOL_IF_KUNIT(chim_obj_unlink);
