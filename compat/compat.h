/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Translate the newest kernel API chimney is written against (6.12) down to
 * the older kernels it supports (6.1).  Driven only by the header probes in
 * compat/Kbuild.include; no version-number tests anywhere else.
 */
#ifndef _CHIMNEY_COMPAT_H
#define _CHIMNEY_COMPAT_H

/*
 * Force-included before anything else: define macros only, include nothing
 * (a unit must still be able to set pr_fmt first).
 */

#ifndef CHIM_HAVE_NL_SET_ERR_MSG_FMT
/* 6.1: no formatted extack messages; keep the format string itself. */
#define NL_SET_ERR_MSG_FMT(extack, fmt, args...)	NL_SET_ERR_MSG(extack, fmt)
#define NL_SET_ERR_MSG_FMT_MOD(extack, fmt, args...)	NL_SET_ERR_MSG_MOD(extack, fmt)
#endif

#ifndef CHIM_HAVE_NL_SET_ERR_MSG_ATTR_FMT
#define NL_SET_ERR_MSG_ATTR_FMT(extack, attr, fmt, args...)	\
	NL_SET_ERR_MSG_ATTR(extack, attr, fmt)
#endif

#ifndef CHIM_HAVE_NL_ASSERT_DUMP_CTX_FITS
#define NL_ASSERT_DUMP_CTX_FITS(type_name)				\
	BUILD_BUG_ON(sizeof(type_name) >				\
		     sizeof_field(struct netlink_callback, ctx))
#endif

/* The parsed attributes of a dump request. */
#ifdef CHIM_HAVE_GENL_INFO_DUMP
#define chim_dump_attrs(cb)	(genl_info_dump(cb)->attrs)
#else
#define chim_dump_attrs(cb)	(genl_dumpit_info(cb)->attrs)
#endif

#endif /* _CHIMNEY_COMPAT_H */
