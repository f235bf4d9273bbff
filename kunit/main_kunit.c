// SPDX-License-Identifier: GPL-2.0
/*
 * chimney_kunit.ko: the KUnit suites of every chimney unit.  The suites run
 * when this module is loaded; chimney.ko must be loaded first.
 */
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for the chimney module");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
