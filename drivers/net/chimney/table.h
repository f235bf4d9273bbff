/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_TABLE_H
#define _CHIMNEY_TABLE_H

#include <linux/in6.h>
#include <linux/types.h>

/**
 * struct chim_tuple - the 4-tuple that names an offloaded TCP connection
 * @laddr: local address; IPv4 is stored v4-mapped
 * @raddr: remote address; IPv4 is stored v4-mapped
 * @lport: local port, network order
 * @rport: remote port, network order
 * @family: AF_INET or AF_INET6
 * @pad: zero, so that the whole structure can be hashed and compared
 */
struct chim_tuple {
	struct in6_addr laddr;
	struct in6_addr raddr;
	__be16 lport;
	__be16 rport;
	u8 family;
	u8 pad[3];
};

void chim_tuple_init4(struct chim_tuple *t, __be32 laddr, __be16 lport,
		      __be32 raddr, __be16 rport);
void chim_tuple_init6(struct chim_tuple *t, const struct in6_addr *laddr,
		      __be16 lport, const struct in6_addr *raddr, __be16 rport);
u32 chim_tuple_hash(const struct chim_tuple *t);
unsigned int chim_home_cpu(u32 hash);

void chim_table_init(void);

#endif /* _CHIMNEY_TABLE_H */
