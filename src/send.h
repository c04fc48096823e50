/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a peer sends on its own: handshake messages, keepalives, and the
 * per-peer control work that does what may sleep (Noise takes semaphores
 * and allocates) on behalf of timers and the receive path.
 */
#ifndef _WG_SEND_H
#define _WG_SEND_H

#include <linux/netdevice.h>
#include <linux/types.h>

struct sk_buff;
struct wg_device;
struct wg_peer;

void wg_send_init_peer(struct wg_peer *peer);
/* Peer removal, after its timers stopped: returns once the work is idle. */
void wg_send_stop_peer(struct wg_peer *peer);

/* Any context.  At most one initiation per REKEY_TIMEOUT leaves. */
void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry);
/* Handshake worker, after consuming an initiation. */
void wg_send_handshake_response(struct wg_peer *peer);
/* Handshake worker, under load, to the source of @in_skb. */
void wg_send_cookie_reply(struct wg_device *wg, struct sk_buff *in_skb);
/* Any context: an empty data message on the current session. */
void wg_send_keepalive(struct wg_peer *peer);
/* ndo_start_xmit. */
netdev_tx_t wg_send_xmit(struct wg_device *wg, struct sk_buff *skb);
/* The peer's work: the control requests (stage.h), which may sleep. */
void wg_send_control(struct wg_peer *peer);
/* Stages (stage.h): at most @budget nodes, returns how many it handled. */
unsigned int wg_send_dispatch(struct wg_peer *peer, unsigned int budget);
unsigned int wg_send_flush(struct wg_peer *peer, unsigned int budget);
/* The encryption workers' function. */
void wg_send_encrypt_work(struct work_struct *work);
/* Timer context: schedules wiping of every key of @peer. */
void wg_send_queue_zero_key_material(struct wg_peer *peer);

#endif /* _WG_SEND_H */
