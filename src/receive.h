/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that arrives on a device's UDP sockets.
 *
 * Handshake messages cost a Curve25519 multiplication or more each, so the
 * encapsulation hook only queues them on a bounded per-device backlog,
 * drained by one work item per CPU; beyond the bound they are dropped and
 * counted.  A long backlog is what "under load" means: cookies are then
 * demanded (mac2) and sources rate-limited.
 */
#ifndef _WG_RECEIVE_H
#define _WG_RECEIVE_H

#include <linux/types.h>
#include <linux/workqueue.h>

struct sk_buff;
struct sock;
struct wg_device;

enum {
	WG_MAX_QUEUED_HANDSHAKES = 4096,
	/* Backlog length from which the device counts as under load. */
	WG_UNDER_LOAD_HANDSHAKES = WG_MAX_QUEUED_HANDSHAKES / 8,
};

int wg_receive_init(struct wg_device *wg);
void wg_receive_uninit(struct wg_device *wg);
/* Device going down: the backlog is dropped and the workers are idle. */
void wg_receive_stop(struct wg_device *wg);

/* The UDP encapsulation hook; always consumes @skb and returns 0. */
int wg_receive(struct sock *sk, struct sk_buff *skb);

struct wg_peer;
struct napi_struct;
/* Single consumer of the peer's receive queue (WG_STAGE_RX_DISPATCH). */
unsigned int wg_receive_dispatch(struct wg_peer *peer, unsigned int budget);
/* The decryption workers' function and the NAPI poll. */
void wg_receive_decrypt_work(struct work_struct *work);
int wg_receive_napi_poll(struct napi_struct *napi, int budget);

#endif /* _WG_RECEIVE_H */
