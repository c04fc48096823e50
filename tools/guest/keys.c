// SPDX-License-Identifier: GPL-2.0
/*
 * vm-keys: started by the test VM's /init (tools/guest/init), holds two
 * sockets open until the VM powers off so that the static keys they
 * switch on stay on for the whole boot.
 *
 * Why: QEMU's TCG now and then runs a stale translation of kernel text
 * that a static key has just re-patched with text_poke_bp()'s temporary
 * int3, and the guest dies of "Oops: int3" (tools/vm.sh).  The keys that
 * flip while tests run are the receive timestamps' (every ping's
 * SO_TIMESTAMP socket turns netstamp_needed_key on and closing the last
 * one turns it off) and the UDP encapsulation ones (each wg device's
 * sockets).  With one holder of each for the boot, the tests' own sockets
 * only move reference counts: a conformance.sh run patched kernel text
 * 139 times before, 37 after (30 of them a loading module's own static
 * calls).  Nothing a test observes changes, but that every received
 * packet is timestamped.
 *
 * Static (glibc's libc.a), so that it runs from the initramfs without a
 * loader; a fork leaves the holder behind and the parent's exit status
 * says whether both keys were switched on.
 */
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int on = 1, none = 0, stamp, encap;
	pid_t pid;

	stamp = socket(AF_INET, SOCK_DGRAM, 0);
	encap = socket(AF_INET6, SOCK_DGRAM, 0);
	if (stamp < 0 || encap < 0 ||
	    setsockopt(stamp, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof(on)) ||
	    /* Encapsulation type 0: no handler; the socket is never bound. */
	    setsockopt(encap, IPPROTO_UDP, UDP_ENCAP, &none, sizeof(none))) {
		perror("vm-keys");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("vm-keys: fork");
		return 1;
	}
	if (pid > 0)
		return 0;
	setsid();
	close(0);
	close(1);
	close(2);
	for (;;)
		pause();
}
