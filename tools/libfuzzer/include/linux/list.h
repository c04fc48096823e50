/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: circular doubly linked lists.  Deleted entries get
 * non-canonical pointers so that a later use of them faults.
 */
#ifndef _WGSHIM_LINUX_LIST_H
#define _WGSHIM_LINUX_LIST_H

#include <linux/types.h>
#include <linux/kernel.h>

#define WGSHIM_LIST_POISON1	((struct list_head *)0xdead000000000100UL)
#define WGSHIM_LIST_POISON2	((struct list_head *)0xdead000000000122UL)

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void wgshim_list_link(struct list_head *e, struct list_head *prev,
				    struct list_head *next)
{
	if (prev->next != next || next->prev != prev)
		wgshim_bug(__FILE__, __LINE__, "list corruption on add");
	e->prev = prev;
	e->next = next;
	prev->next = e;
	next->prev = e;
}

static inline void list_add(struct list_head *e, struct list_head *h)
{
	wgshim_list_link(e, h, h->next);
}

static inline void list_add_tail(struct list_head *e, struct list_head *h)
{
	wgshim_list_link(e, h->prev, h);
}

static inline void wgshim_list_unlink(struct list_head *e)
{
	if (e->next->prev != e || e->prev->next != e)
		wgshim_bug(__FILE__, __LINE__, "list corruption on del");
	e->next->prev = e->prev;
	e->prev->next = e->next;
}

static inline void list_del(struct list_head *e)
{
	wgshim_list_unlink(e);
	e->next = WGSHIM_LIST_POISON1;
	e->prev = WGSHIM_LIST_POISON2;
}

static inline void list_del_init(struct list_head *e)
{
	wgshim_list_unlink(e);
	INIT_LIST_HEAD(e);
}

static inline void list_move_tail(struct list_head *e, struct list_head *h)
{
	wgshim_list_unlink(e);
	list_add_tail(e, h);
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_next_entry(pos, member) \
	list_entry((pos)->member.next, __typeof__(*(pos)), member)

#define list_for_each_entry(pos, h, member)				\
	for (pos = list_first_entry(h, __typeof__(*pos), member);	\
	     &pos->member != (h);					\
	     pos = list_next_entry(pos, member))

#define list_for_each_entry_safe(pos, n, h, member)			\
	for (pos = list_first_entry(h, __typeof__(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     &pos->member != (h);					\
	     pos = n, n = list_next_entry(n, member))

#endif
