#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The last step of `make check-debug`, in the VM on the debug kernel
# (tools/debug-kernel/build.sh; kmemleak built in, automatic scans off):
# the module leaks nothing.  Loads $WGMPSC_KO, drives it through
# configuration, handshakes and traffic in both families, peer churn and a
# key change, deletes every device and namespace, then asks kmemleak: no
# unreferenced object, first with the module still loaded (the reports'
# backtraces then name its functions), then after it is unloaded.
#
#   +------------- ns "wgk-a" ------------+   +------------- ns "wgk-b" ------------+
#   | wg0 10.7.0.1/24  fd07::1/64          |   | wg0 10.7.0.2/24  fd07::2/64         |
#   |  udp 51820 on 192.168.207.1 (veth0) +---+ udp 51821 on 192.168.207.2 (veth1) |
#   |  + 1,000 extra peers, added, removed |   |                                     |
#   +-------------------------------------+   +-------------------------------------+
#
# Output is TAP.

# shellcheck disable=SC2119 # wg_unload_module defaults to $WGMPSC_KO
set -e
umask 077
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh disable=SC1091
. "$HERE/../../tests/lib.sh"

KMEMLEAK=/sys/kernel/debug/kmemleak
T=$(mktemp -d /tmp/wgk.XXXXXX)
LOADED=0

cleanup() {
	set +e
	ip netns del wgk-a 2>/dev/null
	ip netns del wgk-b 2>/dev/null
	[ "$LOADED" = 0 ] || wg_unload_module 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -e "$KMEMLEAK" ]; then
	tap_skip "kmemleak" "no $KMEMLEAK: this kernel has no kmemleak (make check-debug's has)"
	tap_done
	exit
fi

# scan_twice: an object is reported only once it has stayed unreferenced
# and unchanged across two scans, the second at least 5 s after its
# allocation (mm/kmemleak.c: unreferenced_object()).  So the second scan
# starts 6 s after the first one started: every object that existed then
# is old enough.  A scan takes seconds on the debug kernel under TCG, so
# only what remains of the 6 s is slept.
scan_twice() {
	local t0=${EPOCHREALTIME/[.,]/} left
	echo scan >"$KMEMLEAK"
	left=$((6000000 - (${EPOCHREALTIME/[.,]/} - t0)))
	[ "$left" -le 0 ] || sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
	echo scan >"$KMEMLEAK"
}

# no_leaks WHEN: kmemleak reports nothing; any report is printed.
no_leaks() {
	local report
	report=$(cat "$KMEMLEAK")
	[ -z "$report" ] && return 0
	echo "kmemleak reports $(grep -c '^unreferenced object' <<<"$report") unreferenced objects $1:"
	printf '%s\n' "$report"
	return 1
}

# Whatever the kernel itself left unreferenced while booting is not ours:
# it is reported once and forgotten ("clear") before the module loads.
t0=$SECONDS
scan_twice
echo clear >"$KMEMLEAK"
echo "# boot-time scan and clear: $((SECONDS - t0)) s"

tap_check "module loads" wg_load_module
LOADED=1

nsx() { ns_timeout 60 "$@"; }

# The demo's two peers over a veth pair, keys and preshared key, with
# keepalive so that the timers run too.
ip netns add wgk-a
ip netns add wgk-b
ip -n wgk-a link add veth0 type veth peer name veth1 netns wgk-b
ip -n wgk-a addr add 192.168.207.1/24 dev veth0
ip -n wgk-b addr add 192.168.207.2/24 dev veth1
ip -n wgk-a link set veth0 up
ip -n wgk-b link set veth1 up
wg genkey >"$T/a.key"
wg genkey >"$T/b.key"
wg genkey >"$T/a2.key"
wg genpsk >"$T/psk"
wg pubkey <"$T/a.key" >"$T/a.pub"
wg pubkey <"$T/b.key" >"$T/b.pub"
for ns in wgk-a wgk-b; do
	ip -n $ns link add wg0 type wireguard
done
nsx wgk-a wg set wg0 private-key "$T/a.key" listen-port 51820 \
	peer "$(cat "$T/b.pub")" preshared-key "$T/psk" \
	endpoint 192.168.207.2:51821 allowed-ips 10.7.0.2/32,fd07::2/128 \
	persistent-keepalive 1
nsx wgk-b wg set wg0 private-key "$T/b.key" listen-port 51821 \
	peer "$(cat "$T/a.pub")" preshared-key "$T/psk" \
	endpoint 192.168.207.1:51820 allowed-ips 10.7.0.1/32,fd07::1/128
ip -n wgk-a addr add 10.7.0.1/24 dev wg0
ip -n wgk-a addr add fd07::1/64 dev wg0 nodad
ip -n wgk-b addr add 10.7.0.2/24 dev wg0
ip -n wgk-b addr add fd07::2/64 dev wg0 nodad
ip -n wgk-a link set wg0 up
ip -n wgk-b link set wg0 up

# Handshake and data both ways, both families, then a burst of packets
# of every size up to the MTU.
tap_check "ping a -> b over the tunnel (IPv4)" nsx wgk-a ping -c 3 -W 5 10.7.0.2
tap_check "ping b -> a over the tunnel (IPv6)" nsx wgk-b ping -c 3 -W 5 fd07::1
# shellcheck disable=SC2016 # expanded by the inner sh
tap_check "a burst of 300 pings of sizes up to 1392 bytes" \
	nsx wgk-a sh -c 'for s in 0 56 700 1392; do
		ping -q -c 75 -i 0.01 -s "$s" -W 5 10.7.0.2 || exit 1; done'

# Peer churn: 1,000 peers added and removed on a running device.
{
	echo "[Interface]"
	echo "PrivateKey = $(cat "$T/a.key")"
	echo "ListenPort = 51820"
	echo "[Peer]"
	echo "PublicKey = $(cat "$T/b.pub")"
	echo "PresharedKey = $(cat "$T/psk")"
	echo "Endpoint = 192.168.207.2:51821"
	echo "AllowedIPs = 10.7.0.2/32, fd07::2/128"
	echo "PersistentKeepalive = 1"
	# Any 32 bytes make a public key; one process, not 2,000 execs of wg.
	python3 -c 'import base64, os
for i in range(1, 1001):
    print("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.0/24, fd99:%d::/64" %
          (base64.b64encode(os.urandom(32)).decode(), 100 + i // 250, i % 250, i))'
} >"$T/many.conf"
tap_check "1,000 more peers added" nsx wgk-a wg setconf wg0 "$T/many.conf"
tap_check "the device has 1,001 peers" \
	test "$(nsx wgk-a wg show wg0 peers | wc -l)" -eq 1001
tap_check "traffic still flows with them" nsx wgk-a ping -c 2 -W 5 10.7.0.2
nsx wgk-a wg show wg0 peers | grep -vxF "$(cat "$T/b.pub")" |
	sed 's/$/ remove/; s/^/peer /' | tr '\n' ' ' >"$T/remove"
# shellcheck disable=SC2046 # one word per argument
tap_check "and removed again" nsx wgk-a wg set wg0 $(cat "$T/remove")
tap_check "the device has 1 peer" test "$(nsx wgk-a wg show wg0 peers | wc -l)" -eq 1

# A new private key on a: b drops the old sessions and must learn the new
# public key before traffic flows again.
nsx wgk-a wg set wg0 private-key "$T/a2.key"
nsx wgk-b wg set wg0 peer "$(cat "$T/a.pub")" remove
nsx wgk-b wg set wg0 peer "$(wg pubkey <"$T/a2.key")" preshared-key "$T/psk" \
	endpoint 192.168.207.1:51820 allowed-ips 10.7.0.1/32,fd07::1/128
# a's old session may stay in use until b's silence makes a handshake
# again, so up to 30 s.
tap_check "after a key change, ping a -> b (IPv6) within 30 s" nsx wgk-a ping -c 1 -w 30 fd07::2

# Everything goes: one device by hand, the other with its namespace.
tap_check "ip link del wg0 in wgk-a" ip -n wgk-a link del wg0
ip netns del wgk-a
ip netns del wgk-b
gone() {
	local n
	for _ in $(seq 100); do
		n=$(ip -o link show type wireguard 2>/dev/null | wc -l)
		[ "$n" -eq 0 ] && [ -z "$(ip netns list)" ] && return 0
		sleep 0.2
	done
	echo "still $n wireguard devices, namespaces: $(ip netns list)"
	return 1
}
tap_check "every device and namespace is gone" gone

# Namespace teardown and RCU frees finish in the background: the scans
# come after a grace period of quiet.
sleep 5
t0=$SECONDS
scan_twice
tap_check "kmemleak: nothing leaked with the module still loaded" no_leaks "with the module loaded"
echo "# scan: $((SECONDS - t0)) s"
echo clear >"$KMEMLEAK"

unload() {
	for _ in $(seq 50); do
		wg_unload_module && return 0
		sleep 0.2
	done
	return 1
}
tap_check "module unloads" unload
[ -d "/sys/module/$(modinfo -F name "$WGMPSC_KO")" ] || LOADED=0
sleep 5
scan_twice
tap_check "kmemleak: nothing leaked after unloading the module" no_leaks "after the unload"

tap_done
