#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: two peers in two namespaces, configured with ip(8) and wg(8)
# exactly as the in-tree driver would be, joined by a veth pair.
#
#   +------------- ns "left" -------------+   +------------ ns "right" ------------+
#   | wg0 10.9.0.1/24  fd09::1/64          |   | wg0 10.9.0.2/24  fd09::2/64         |
#   |  udp 51820 on 192.168.241.1 (veth0) +---+ udp 51821 on 192.168.241.2 (veth1) |
#   +-------------------------------------+   +------------------------------------+
#
# It prints `wg show` for both sides, then pings across the tunnel (IPv4 and
# IPv6 inside) and runs a short iperf3, and shows both sides again.

set -e
. "$(dirname "$0")/lib.sh"

cleanup() {
	set +e
	ip netns del left 2>/dev/null
	ip netns del right 2>/dev/null
}
trap cleanup EXIT

wg_load_module
echo "loaded $(modinfo -F name "$WGMPSC_KO") $(modinfo -F version "$WGMPSC_KO") from $WGMPSC_KO"

ip netns add left
ip netns add right
ip -n left link add veth0 type veth peer name veth1 netns right
ip -n left addr add 192.168.241.1/24 dev veth0
ip -n right addr add 192.168.241.2/24 dev veth1
ip -n left link set veth0 up
ip -n right link set veth1 up

left_key=$(wg genkey)
right_key=$(wg genkey)
psk=$(wg genpsk)

for side in left right; do
	ip -n $side link add wg0 type wireguard
done

ip netns exec left wg set wg0 \
	private-key <(echo "$left_key") listen-port 51820 \
	peer "$(echo "$right_key" | wg pubkey)" \
		preshared-key <(echo "$psk") \
		endpoint 192.168.241.2:51821 \
		allowed-ips 10.9.0.2/32,fd09::2/128 \
		persistent-keepalive 25
ip netns exec right wg set wg0 \
	private-key <(echo "$right_key") listen-port 51821 \
	peer "$(echo "$left_key" | wg pubkey)" \
		preshared-key <(echo "$psk") \
		endpoint 192.168.241.1:51820 \
		allowed-ips 10.9.0.1/32,fd09::1/128

ip -n left addr add 10.9.0.1/24 dev wg0
ip -n left addr add fd09::1/64 dev wg0 nodad
ip -n right addr add 10.9.0.2/24 dev wg0
ip -n right addr add fd09::2/64 dev wg0 nodad
ip -n left link set wg0 up
ip -n right link set wg0 up

for side in left right; do
	echo
	echo "=== $side: ip -d link show wg0"
	ip -n $side -d link show wg0
	echo "=== $side: wg show"
	ip netns exec $side wg show
done

echo
echo "=== sockets (ss -uln in left)"
ip netns exec left ss -uln

echo
echo "=== ping across the tunnel, left -> right"
ip netns exec left ping -c 3 10.9.0.2
ip netns exec left ping -c 3 fd09::2

echo
echo "=== iperf3 across the tunnel (TCP, 5 s), left -> right"
ip netns exec right iperf3 -s -1 -D
sleep 1
ip netns exec left iperf3 -c 10.9.0.2 -t 5

for side in left right; do
	echo
	echo "=== $side: wg show (after traffic)"
	ip netns exec $side wg show
done
echo
echo "=== left: ethtool -S wg0 (drops and events by cause)"
ip netns exec left ethtool -S wg0
