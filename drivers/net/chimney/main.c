// SPDX-License-Identifier: GPL-2.0
/*
 * chimney: an emulation of TCP chimney offload over a real NIC.
 *
 * This file holds only the module's init/exit ladder.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "defs.h"
#include "table.h"

static int __init chimney_init(void)
{
	chim_table_init();
	pr_info("version " CHIMNEY_VERSION " loaded, %u CPUs\n", nr_cpu_ids);
	return 0;
}

static void __exit chimney_exit(void)
{
	pr_info("unloaded\n");
}

module_init(chimney_init);
module_exit(chimney_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Emulated TCP chimney offload over a real NIC");
MODULE_VERSION(CHIMNEY_VERSION);
MODULE_AUTHOR("The chimney developers");
