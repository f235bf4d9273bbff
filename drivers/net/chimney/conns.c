// SPDX-License-Identifier: GPL-2.0
/*
 * The host's connections: its index of them by 4-tuple (what the control
 * plane finds and dumps, without asking the target), and the walks of its
 * tree that pick some (triggers, terminate by address), with the
 * eviction of a lower priority at capacity.
 *
 * A connection is in the index from the moment it is put into an
 * initiate's tree to the moment its terminate completes, before its owner
 * has it back (so that the owner may offload it again at once).  Index
 * readers hold RCU and take a reference with chim_obj_get(); objects are
 * freed after a grace period.
 */
#include <kunit/visibility.h>
#include <net/ipv6.h>

#include "defs.h"
#include "host.h"

/*
 * Under host->lock: the first TCP object of a path from @path on (in
 * @neigh, then in the neighbors after it), or NULL.  @path may be the
 * head of @neigh's list (none left there).
 */
static struct chim_obj *conn_from(struct chim_host *host,
				  struct chim_obj *neigh, struct chim_obj *path)
{
	for (;;) {
		list_for_each_entry_from(path, &neigh->children, sibling)
			if (!list_empty(&path->children))
				return list_first_entry(&path->children,
							struct chim_obj, sibling);
		neigh = list_next_entry(neigh, sibling);
		if (list_entry_is_head(neigh, &host->neighs, sibling))
			return NULL;
		path = list_first_entry(&neigh->children, struct chim_obj,
					sibling);
	}
}

/* Under host->lock: the first TCP object of the tree, in its order. */
static struct chim_obj *first_conn(struct chim_host *host)
{
	struct chim_obj *neigh;

	lockdep_assert_held(&host->lock);
	if (list_empty(&host->neighs))
		return NULL;
	neigh = list_first_entry(&host->neighs, struct chim_obj, sibling);
	return conn_from(host, neigh, list_first_entry(&neigh->children,
						       struct chim_obj, sibling));
}

static struct chim_obj *next_conn(struct chim_host *host, struct chim_obj *obj)
{
	struct chim_obj *path = obj->parent;

	if (!list_is_last(&obj->sibling, &path->children))
		return list_next_entry(obj, sibling);
	return conn_from(host, path->parent, list_next_entry(path, sibling));
}

/**
 * chim_host_conn_lookup() - a connection by 4-tuple
 * @host: the host
 * @tuple: the 4-tuple, seen from the host
 *
 * Context: any.
 * Return: the connection with a reference for the caller, or NULL.
 */
struct chim_conn *chim_host_conn_lookup(struct chim_host *host,
					const struct chim_tuple *tuple)
{
	struct chim_table_entry *e;
	struct chim_conn *conn = NULL;

	rcu_read_lock();
	e = chim_table_lookup_rcu(&host->conns, tuple);
	if (e) {
		conn = container_of(e, struct chim_conn, index);
		if (!chim_obj_get(&conn->obj))
			conn = NULL;
	}
	rcu_read_unlock();
	return conn;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_conn_lookup);

/**
 * chim_host_conn_next() - the next connection of a walk over the index
 * @host: the host
 * @pos: where the walk is; zero to start, moved past the connection
 *	returned
 *
 * Each call costs at most one bucket's length, so a walk of N connections
 * costs O(N) whatever the number of calls (a dump resumed per message).
 * A connection in the index during the whole walk is returned once; one
 * that comes or goes meanwhile may be missed.
 *
 * Context: any.
 * Return: the connection with a reference for the caller, or NULL at the
 * end.
 */
struct chim_conn *chim_host_conn_next(struct chim_host *host,
				      struct chim_table_pos *pos)
{
	struct chim_table_entry *e;
	struct chim_conn *conn;

	rcu_read_lock();
	for (;;) {
		e = chim_table_next_rcu(&host->conns, pos);
		if (!e)
			break;
		pos->idx++;
		conn = container_of(e, struct chim_conn, index);
		if (chim_obj_get(&conn->obj))
			break;
	}
	rcu_read_unlock();
	return e ? conn : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_conn_next);

/* Up to @max connections offloaded now into @conns, each held; how many. */
static unsigned int get_conns(struct chim_host *host, struct chim_conn **conns,
			      unsigned int max)
{
	struct chim_obj *obj;
	unsigned int n = 0;

	lockdep_assert_held(&host->lock);
	for (obj = first_conn(host); obj; obj = next_conn(host, obj)) {
		if (n == max)
			return n;
		if (obj->state != CHIM_STATE_OFFLOADED)
			continue;
		chim_obj_hold(obj);
		conns[n++] = chim_obj_conn(obj);
	}
	return n;
}

/*
 * Under host->lock, of an offloaded connection: what its target reports
 * (->activity(), whose context is valid while no terminate is issued).
 * False when the target does not run it (any more) or reports nothing.
 */
static bool conn_activity(struct chim_host *host, struct chim_obj *obj,
			  struct chim_activity *a)
{
	const struct chim_target_ops *ops = host->target->ops;

	lockdep_assert_held(&host->lock);
	return obj->state == CHIM_STATE_OFFLOADED && obj->target_ctx &&
	       ops->activity && ops->activity(host->target, obj->target_ctx, a);
}

/**
 * chim_host_conn_activity() - what the target reports of one connection
 * @host: the host
 * @conn: one of its connections, held
 * @a: receives the report
 *
 * Context: process; host->lock not held.
 * Return: false when the connection is not offloaded now or its target
 * reports nothing (@a is then zero).
 */
bool chim_host_conn_activity(struct chim_host *host, struct chim_conn *conn,
			     struct chim_activity *a)
{
	bool ok;

	*a = (struct chim_activity){};
	mutex_lock(&host->lock);
	ok = conn_activity(host, &conn->obj, a);
	mutex_unlock(&host->lock);
	return ok;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_conn_activity);

/**
 * chim_host_conn_room() - tell the target what the owner of a connection
 *	can take now, after a read
 * @conn: the connection
 * @room: bytes
 *
 * Context: the owner guarantees that @conn is offloaded and that no
 * terminate of it has begun (the socket layer: the socket locked and
 * offloaded; a terminate locks it first); does not sleep.
 */
void chim_host_conn_room(struct chim_conn *conn, int room)
{
	struct chim_target *target = conn->obj.host->target;
	void *ctx = READ_ONCE(conn->obj.target_ctx);

	if (ctx && target->ops->receive)
		target->ops->receive(target, ctx, room);
}

/**
 * chim_host_conn_send() - hand data the owner's application wrote to the
 *	target that runs the connection
 * @conn: the connection
 * @q: linear skbs, in order; the target's on success
 *
 * Context: as chim_host_conn_room().
 * Return: 0, or -EOPNOTSUPP when the target does not run the connection
 * itself (@q untouched: the owner gets the connection back to send).
 */
int chim_host_conn_send(struct chim_conn *conn, struct sk_buff_head *q)
{
	struct chim_target *target = conn->obj.host->target;
	void *ctx = READ_ONCE(conn->obj.target_ctx);

	if (!ctx || !target->ops->send)
		return -EOPNOTSUPP;
	return target->ops->send(target, ctx, q);
}

/**
 * chim_host_pick_conns() - the connections offloaded now that @pick takes,
 *	each held
 * @host: the host
 * @pick: called for each of them that its target reports on, in the
 *	tree's order, with the host lock held and the target's report; true
 *	to take it
 * @arg: for @pick
 * @conns: receives them
 * @max: at most this many (the walk goes on, for @pick, when full)
 *
 * A walk of the tree with nothing copied: the work under the host lock is
 * the target's report and @pick's for each connection.
 *
 * Context: process; host->lock not held; @pick must not sleep.
 * Return: how many are in @conns, each to be put.
 */
unsigned int chim_host_pick_conns(struct chim_host *host,
				  bool (*pick)(struct chim_conn *conn,
					       const struct chim_activity *a,
					       void *arg),
				  void *arg, struct chim_conn **conns,
				  unsigned int max)
{
	struct chim_obj *obj;
	struct chim_activity a;
	unsigned int n = 0;

	mutex_lock(&host->lock);
	for (obj = first_conn(host); obj; obj = next_conn(host, obj)) {
		if (!conn_activity(host, obj, &a) ||
		    !pick(chim_obj_conn(obj), &a, arg) || n == max)
			continue;
		chim_obj_hold(obj);
		conns[n++] = chim_obj_conn(obj);
	}
	mutex_unlock(&host->lock);
	return n;
}

/**
 * chim_host_some_conns() - the first connections offloaded now, each held
 * @host: the host
 * @conns: receives them
 * @max: at most this many
 * @total: set to the number of connections the host has (offloaded,
 *	being offloaded or uploaded), or NULL
 *
 * Context: process; host->lock not held.
 * Return: how many are in @conns, each to be put.
 */
unsigned int chim_host_some_conns(struct chim_host *host,
				  struct chim_conn **conns, unsigned int max,
				  unsigned int *total)
{
	unsigned int n;

	mutex_lock(&host->lock);
	n = get_conns(host, conns, max);
	if (total)
		*total = host->offloaded;
	mutex_unlock(&host->lock);
	return n;
}

/* Under host->lock: @obj is offloaded and its address is @addr. */
static bool addr_matches(struct chim_obj *obj, const struct in6_addr *addr)
{
	const struct in6_addr *a = obj->type == CHIM_OBJ_NEIGH ?
		&chim_obj_neigh(obj)->next_hop :
		&chim_obj_path(obj)->c.destination_address;

	return obj->state == CHIM_STATE_OFFLOADED && ipv6_addr_equal(a, addr);
}

/**
 * chim_host_terminate_addr() - terminate every offloaded neighbor with a
 *	next hop, or every offloaded path to a destination, with their
 *	dependents
 * @host: the host
 * @type: %CHIM_OBJ_NEIGH or %CHIM_OBJ_PATH
 * @addr: the next hop or the destination (IPv4 as v4-mapped)
 * @reason: why
 *
 * A terminate at a time for at most CHIM_RTNL_BATCH of them, until none
 * is left (or a terminate fails).
 *
 * Context: process; sleeps until the target completes.  host->lock not
 * held.
 * Return: how many were found and terminated.
 */
unsigned int chim_host_terminate_addr(struct chim_host *host,
				      enum chim_obj_type type,
				      const struct in6_addr *addr,
				      enum chim_upload_reason reason)
{
	struct chim_obj *objs[CHIM_RTNL_BATCH], *n, *p;
	unsigned int count, total = 0, i;
	int err = 0;

	do {
		count = 0;
		mutex_lock(&host->lock);
		list_for_each_entry(n, &host->neighs, sibling) {
			if (type == CHIM_OBJ_NEIGH) {
				if (count < ARRAY_SIZE(objs) &&
				    addr_matches(n, addr)) {
					chim_obj_hold(n);
					objs[count++] = n;
				}
				continue;
			}
			list_for_each_entry(p, &n->children, sibling)
				if (count < ARRAY_SIZE(objs) &&
				    addr_matches(p, addr)) {
					chim_obj_hold(p);
					objs[count++] = p;
				}
		}
		mutex_unlock(&host->lock);
		if (count)
			err = chim_host_terminate(host, objs, count, reason);
		for (i = 0; i < count; i++)
			chim_obj_put(objs[i]);
		total += count;
	} while (count == ARRAY_SIZE(objs) && !err);
	return total;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_terminate_addr);

/**
 * chim_host_full() - whether the target runs as many connections as its
 *	capacity (TcpConnectionOffloadCapacity)
 * @host: the host
 *
 * The host counts what it gave the target and has not had back: a
 * connection being uploaded holds its place until the terminate completes.
 *
 * Context: process; host->lock not held.
 * Return: true when one more connection would exceed the capacity.
 */
bool chim_host_full(struct chim_host *host)
{
	bool full;

	mutex_lock(&host->lock);
	full = host->offloaded >= host->target->capacity;
	mutex_unlock(&host->lock);
	return full;
}

/**
 * chim_host_lowest_conns() - connections offloaded now of the lowest
 *	priority below a given one, each held, with their target's report
 * @host: the host
 * @below: only priorities lower than this
 * @conns: receives them
 * @act: receives what the target reports of each (zero when its target
 *	has no ->activity())
 * @max: at most this many (the first of that priority in the host's tree)
 *
 * Two walks of the tree that take nothing but the host lock: one finds
 * the lowest priority, the other holds up to @max of its connections.
 *
 * Context: process; host->lock not held.
 * Return: how many are in @conns, each to be put.
 */
unsigned int chim_host_lowest_conns(struct chim_host *host, u8 below,
				    struct chim_conn **conns,
				    struct chim_activity *act, unsigned int max)
{
	bool reports = !!host->target->ops->activity;
	struct chim_obj *obj;
	unsigned int n = 0;
	int lowest = below;

	mutex_lock(&host->lock);
	for (obj = first_conn(host); obj; obj = next_conn(host, obj))
		if (obj->state == CHIM_STATE_OFFLOADED &&
		    chim_obj_conn(obj)->priority < lowest)
			lowest = chim_obj_conn(obj)->priority;
	if (lowest == below)
		goto out;
	for (obj = first_conn(host); obj; obj = next_conn(host, obj)) {
		if (obj->state != CHIM_STATE_OFFLOADED ||
		    chim_obj_conn(obj)->priority != lowest)
			continue;
		act[n] = (struct chim_activity){};
		if (reports && !conn_activity(host, obj, &act[n]))
			continue;
		chim_obj_hold(obj);
		conns[n++] = chim_obj_conn(obj);
		if (n == max)
			goto out;
	}
out:
	mutex_unlock(&host->lock);
	return n;
}

/**
 * chim_host_victim() - the connection an offload at capacity uploads
 * @host: the device's host
 * @priority: the new connection's priority
 *
 * The victim has the lowest priority; of the first CHIM_VICTIM_SAMPLE
 * connections of that priority (all of them up to that many), the least
 * recently active (its last segment, or its offload).  The work is bounded
 * whatever the capacity: no copy of every connection, nothing allocated, a
 * report of the target for at most CHIM_VICTIM_SAMPLE of them.
 *
 * Context: process; sleeps (the host lock).
 * Return: the victim, held, or NULL when no connection has a lower
 * priority.
 */
struct chim_conn *chim_host_victim(struct chim_host *host, u8 priority)
{
	struct chim_conn *conns[CHIM_VICTIM_SAMPLE], *v = NULL;
	struct chim_activity act[CHIM_VICTIM_SAMPLE];
	unsigned int i, n, vi = 0;

	n = chim_host_lowest_conns(host, priority, conns, act,
				   ARRAY_SIZE(conns));
	for (i = 0; i < n; i++)
		if (!v || time_before(act[i].active, act[vi].active)) {
			v = conns[i];
			vi = i;
		}
	for (i = 0; i < n; i++)
		if (conns[i] != v)
			chim_obj_put(&conns[i]->obj);
	return v;
}
EXPORT_SYMBOL_IF_KUNIT(chim_host_victim);

/**
 * chim_host_make_room() - at capacity: upload a connection of lower
 *	priority than a new one (reason priority)
 * @host: the host, whose target is full
 * @priority: the new connection's priority
 *
 * The victim is chim_host_victim()'s.
 *
 * Context: process, no socket locked; sleeps.
 * Return: 0 when one was uploaded, else -ENOSPC.
 */
int chim_host_make_room(struct chim_host *host, u8 priority)
{
	struct chim_conn *v = chim_host_victim(host, priority);
	struct chim_obj *obj;
	int err = -ENOSPC;

	if (v) {
		obj = &v->obj;
		if (!chim_host_terminate(host, &obj, 1, CHIM_REASON_PRIORITY))
			err = 0;
		chim_obj_put(&v->obj);
	}
	return err;
}
