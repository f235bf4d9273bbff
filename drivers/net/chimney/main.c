// SPDX-License-Identifier: GPL-2.0
/*
 * chimney: an emulation of TCP chimney offload over a real NIC.
 *
 * This file holds only the module's init/exit ladder.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/tcp.h>

#include "defs.h"
#include "net.h"
#include "netlink.h"
#include "sock.h"
#include "table.h"

static int __init chimney_init(void)
{
	int err;

	chim_table_init();
	err = chim_net_register();
	if (err)
		goto err_dev;
	err = chim_nl_init();
	if (err)
		goto err_nl;
	err = chim_sock_init();
	if (err)
		goto err_sock;
	pr_info("version " CHIMNEY_VERSION " loaded, %u CPUs\n", nr_cpu_ids);
	return 0;

err_sock:
	chim_nl_uninit();
err_nl:
	chim_net_unregister();
err_dev:
	return err;
}

static void __exit chimney_exit(void)
{
	/*
	 * No new socket can take the ULP; every device is detached (every
	 * connection uploaded, the events still sent); no new request, then
	 * what was attached meanwhile is detached too, and the sockets that
	 * had the ULP are given their stock operations back.
	 */
	chim_sock_stop();
	chim_net_detach_all();
	chim_nl_uninit();
	chim_net_unregister();
	chim_sock_uninit();
	pr_info("unloaded\n");
}

module_init(chimney_init);
module_exit(chimney_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Emulated TCP chimney offload over a real NIC");
MODULE_VERSION(CHIMNEY_VERSION);
MODULE_AUTHOR("The chimney developers");
MODULE_ALIAS_TCP_ULP("chimney");
