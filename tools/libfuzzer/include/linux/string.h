/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/string.h>. */
#ifndef WGSHIM_LINUX_STRING_H
#define WGSHIM_LINUX_STRING_H

#include <string.h>

#endif
