/* SPDX-License-Identifier: GPL-2.0 */
/* The fuzz input as a byte stream that reads zeros once it runs out. */
#ifndef _WGSHIM_FUZZ_INPUT_H
#define _WGSHIM_FUZZ_INPUT_H

#include <stddef.h>
#include <linux/types.h>

struct input {
	const u8 *p;
	size_t n;
};

static inline u8 in_u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

#endif /* _WGSHIM_FUZZ_INPUT_H */
