#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest side of `make bench` (sourced by guest.sh, inside
# the VM of tools/vm.sh).  Results go to $BENCH_OUT (the VM's /results):
#   results.txt   one sample per line:  R PHASE SMP ROUND MODULE METRIC VALUE
#   raw/          iperf3 JSON, ping output, hsinit lines, queue bench lines
# and every R line is echoed on stdout as well.

BENCH_OUT=${BENCH_OUT:-/results}
SMP=$(nproc)
ANCHOR_KO=${ANCHOR_KO:-/opt/anchor/wireguard.ko}
mkdir -p "$BENCH_OUT/raw"

now() { echo "$EPOCHREALTIME"; }
# elapsed START: seconds since START (an EPOCHREALTIME value), 6 decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# result PHASE ROUND MODULE METRIC VALUE
result() {
	local line="R $1 $SMP $2 $3 $4 $5"
	echo "$line" >>"$BENCH_OUT/results.txt"
	echo "$line"
}

note() { echo "bench[$SMP cpu, $(awk '{ printf "%d", $1 }' /proc/uptime) s]: $*"; }

module_path() { # module_path NAME -> .ko path
	case $1 in
	anchor) echo "$ANCHOR_KO" ;;
	wgmpsc) echo "$WGMPSC_KO" ;;
	*) return 1 ;;
	esac
}

load() { # load NAME
	local ko
	ko=$(module_path "$1") || return 1
	wg_load_module "$ko" || { note "cannot load $1 ($ko)"; return 1; }
}

unload() { # unload NAME
	local ko i
	ko=$(module_path "$1") || return 1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		wg_unload_module "$ko" 2>/dev/null && return 0
		sleep 1
	done
	wg_unload_module "$ko"
}

# Slab + Percpu of /proc/meminfo, in bytes, after dropping caches and
# shrinking every slab cache (empty slabs held on per-CPU partial lists
# would otherwise count or not depending on where frees happened).
kmem_bytes() {
	local f
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f" 2>/dev/null
	done
	awk '/^Slab:|^Percpu:/ { s += $2 } END { print s * 1024 }' /proc/meminfo
}

# The modules' own work (RCU callbacks, kworkers) settles before a memory
# reading; the VM has nothing else running.
settle() { sleep "${1:-2}"; }

# --- two namespaces joined by a veth, optionally a tunnel over it ---------
#
#   ns wa: veth0 192.168.77.1/24   wg0 10.77.0.1/24   (udp 51820)
#   ns wb: veth1 192.168.77.2/24   wg0 10.77.0.2/24   (udp 51820)
VETH_A=192.168.77.1 VETH_B=192.168.77.2
TUN_A=10.77.0.1 TUN_B=10.77.0.2

netns_up() {
	ip netns add wa && ip netns add wb || return 1
	ip -n wa link set lo up
	ip -n wb link set lo up
	ip -n wa link add veth0 type veth peer name veth1 netns wb || return 1
	ip -n wa addr add $VETH_A/24 dev veth0
	ip -n wb addr add $VETH_B/24 dev veth1
	ip -n wa link set veth0 up
	ip -n wb link set veth1 up
	iperf_server
}

netns_down() {
	ip netns pids wa 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns pids wb 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del wa 2>/dev/null
	ip netns del wb 2>/dev/null
	# Namespace teardown is asynchronous: wait until the devices are gone
	# so that the module can be unloaded and nothing runs in the
	# background of the next measurement.
	local i
	for i in $(seq 100); do
		[ -z "$(ls /run/netns 2>/dev/null)" ] && ! ip link show type veth 2>/dev/null | grep -q . && break
		sleep 0.2
	done
	settle 1
}

# tunnel_up: wg0 in both namespaces, keys from $BENCH_KEYS (wa.key,
# wb.key, *.pub), then pings until the handshake is done.
tunnel_up() {
	local i
	ip -n wa link add wg0 type wireguard || return 1
	ip -n wb link add wg0 type wireguard || return 1
	ip netns exec wa wg set wg0 private-key "$BENCH_KEYS/wa.key" listen-port 51820 \
		peer "$(cat "$BENCH_KEYS/wb.pub")" endpoint $VETH_B:51820 \
		allowed-ips $TUN_B/32 || return 1
	ip netns exec wb wg set wg0 private-key "$BENCH_KEYS/wb.key" listen-port 51820 \
		peer "$(cat "$BENCH_KEYS/wa.pub")" allowed-ips $TUN_A/32 || return 1
	ip -n wa addr add $TUN_A/24 dev wg0
	ip -n wb addr add $TUN_B/24 dev wg0
	ip -n wa link set wg0 up
	ip -n wb link set wg0 up
	for i in $(seq 30); do
		ip netns exec wa ping -c 1 -W 1 -q $TUN_B >/dev/null 2>&1 && return 0
	done
	note "no traffic through the tunnel after 30 pings"
	return 1
}

# round_down MODULE: after a module's round, its tunnel, the namespaces
# and the module itself go (returns 1 if the module stays loaded).
round_down() {
	tunnel_down
	netns_down
	unload "$1"
}

tunnel_down() {
	ip -n wa link del wg0 2>/dev/null
	ip -n wb link del wg0 2>/dev/null
	return 0
}

# One iperf3 server in wb for the namespaces' lifetime (tests run one at a
# time); netns_down kills it.
iperf_server() {
	ip netns exec wb iperf3 -s -D -p 5201 >/dev/null 2>&1
	local i
	for i in $(seq 50); do
		ip netns exec wb ss -ltn 2>/dev/null | grep -q ':5201 ' && return 0
		sleep 0.1
	done
	note "no iperf3 server"
	return 1
}

# iperf DEST OUTFILE ARGS...: one iperf3 client run from wa, JSON to OUTFILE.
iperf() {
	local dest=$1 out=$2
	shift 2
	ip netns exec wa timeout $((BENCH_DUR + 30)) \
		iperf3 -c "$dest" -p 5201 -J -t "$BENCH_DUR" "$@" >"$out" 2>&1
}
