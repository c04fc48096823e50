/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the error numbers the sources return (Linux values). */
#ifndef _WGSHIM_LINUX_ERRNO_H
#define _WGSHIM_LINUX_ERRNO_H

#define ENOENT		2
#define ENOMEM		12
#define EINVAL		22

#endif
