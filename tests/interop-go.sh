#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interoperability with wireguard-go (Debian's package, a TUN device driven
# through its UAPI socket by wg(8)): Noise handshakes in both directions,
# with and without a preshared key, over IPv4 and IPv6 outer addresses;
# handshakes that must fail (wrong public key, wrong preshared key); and a
# restarted wireguard-go re-handshaking with a live wgmpsc device.  Then
# the data path through a tunnel with a preshared key: pings both ways,
# IPv4 and IPv6 inside, over IPv4 and IPv6 outside, fragmented inner
# pings, iperf3 TCP streams both ways, and the counters of both sides
# afterwards.
# Runs inside the test VM as root (tools/vm.sh), loading $WGMPSC_KO.
#
# Topology, rebuilt from scratch for every case:
#
#   +--------------- ns "kern" ---------------+   +---------------- ns "go" ----------------+
#   | wg0: wgmpsc (ip link ... type wireguard)|   | wg1: TUN of `wireguard-go -f wg1`       |
#   |      UDP :51820, configured by wg(8)    |   |      UDP :51821, wg(8) through          |
#   |      over generic netlink               |   |      /run/wireguard/wg1.sock            |
#   |                                         |   |                                         |
#   | veth-k 192.168.77.1/24  fd77::1/64      +---+ veth-g 192.168.77.2/24  fd77::2/64      |
#   +-----------------------------------------+   +-----------------------------------------+
#
# The data-path cases add inner addresses: wg0 10.77.0.1/24 fd77:1::1/64
# in "kern", wg1 10.77.0.2/24 fd77:1::2/64 in "go".
#
# A handshake is complete on a side when `wg show <dev> latest-handshakes`
# is non-zero there.  The initiator records it when the response arrives,
# the responder only once the initiator's first keepalive confirms the
# session, so both sides non-zero means both halves of the exchange worked.
#
# WGT_IPERF_SECONDS (default 3): the length of each iperf3 TCP run.
# WGT_CASES: the cases to run, in order, without "case_" (default: all of
# them; .ci/run's subset on the other kernels leaves out the handshakes
# that must fail, whose outcome the kernel does not change).
# Output is TAP; the exit status is non-zero if any test failed.

set -e

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

# Private keys are written to files: keep them private (and wg(8) quiet).
umask 077
T=$(mktemp -d /tmp/wgt-interop-go.XXXXXX)
MODULE_LOADED=0
KPORT=51820
GPORT=51821
# How long a handshake may take (TCG is slow), and how long a handshake
# that must not happen is given to happen anyway (more than one
# REKEY_TIMEOUT, so each side retries at least once).
HS_WAIT=15
NO_HS_WAIT=8

# --- helpers -------------------------------------------------------------

# nsk / nsg CMD...: CMD in the namespace "kern" / "go".  nsenter only
# switches the network namespace: cheaper under TCG than `ip netns exec`,
# which also remounts /sys; lib.sh's ns_timeout uses busybox's timeout
# and nsenter, static, which cost less again.
nsk() { ns_timeout 60 kern "$@"; }
nsg() { ns_timeout 60 go "$@"; }
# wg(8) finds wireguard-go through /run/wireguard/wg1.sock from any
# namespace; it is run in "go" anyway, like an administrator there would.
wgk() { nsk wg "$@"; }
wgg() { nsg wg "$@"; }

go_stop() {
	local pid i
	[ -s "$T/go.pid" ] || return 0
	pid=$(<"$T/go.pid")
	rm -f "$T/go.pid"
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	# The TUN device goes with the process's last file descriptor; a
	# stale UAPI socket (after SIGKILL) is replaced by the next start.
	kill -KILL "$pid" 2>/dev/null || true
}

teardown() {
	go_stop
	printf 'netns del kern\nnetns del go\n' | ip -force -batch - 2>/dev/null || true
}

cleanup() {
	set +e
	teardown
	if [ "$MODULE_LOADED" = 1 ] && [ -d "/sys/module/$(modinfo -F name "$WGMPSC_KO")" ]; then
		# Namespace teardown is asynchronous; give it a moment.
		for _ in $(seq 50); do
			wg_unload_module 2>/dev/null && break
			sleep 0.2
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# go_start: wireguard-go in "go", in the foreground (-f) so that its PID is
# ours to kill, logging verbosely to $T/go.log; returns once its UAPI
# socket answers, with wg1 up (wireguard-go's device follows the link).
# Debian's 0.0.20220316 only prints a banner when the kernel has WireGuard
# support and runs anyway; WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
# is set for builds that refuse instead.
go_start() {
	local pid i
	mkdir -p /run/wireguard
	echo "--- wireguard-go started" >>"$T/go.log"
	ns_argv 0 go env LOG_LEVEL=verbose \
		WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		wireguard-go -f wg1
	"${NS_ARGV[@]}" >>"$T/go.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$T/go.pid"
	for ((i = 0; i < 100; i++)); do
		[ -S /run/wireguard/wg1.sock ] && wgg show wg1 >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { echo "wireguard-go exited" >&2; return 1; }
		"$BB" sleep 0.1
	done
	wgg show wg1 >/dev/null
	ip -n go link set wg1 up
}

# setup: fresh namespaces, veth pair, wgmpsc wg0 (up) and wireguard-go
# wg1 (up), both with their private key and listen port, no peer yet.
# Sets KPRIV GPRIV (key files) and KPUB GPUB.  The ip(8) commands go in
# batches, one process per namespace: every exec is slow under TCG.
setup() {
	teardown
	ip -batch - <<-EOF
	netns add kern
	netns add go
	link add veth-k netns kern type veth peer name veth-g netns go
	EOF
	ip -n kern -batch - <<-EOF
	addr add 192.168.77.1/24 dev veth-k
	addr add fd77::1/64 dev veth-k nodad
	link set lo up
	link set veth-k up
	link add wg0 type wireguard
	EOF
	ip -n go -batch - <<-EOF
	addr add 192.168.77.2/24 dev veth-g
	addr add fd77::2/64 dev veth-g nodad
	link set lo up
	link set veth-g up
	EOF

	KPRIV=$T/k.priv GPRIV=$T/g.priv
	wg genkey >"$KPRIV"
	wg genkey >"$GPRIV"
	KPUB=$(wg pubkey <"$KPRIV")
	GPUB=$(wg pubkey <"$GPRIV")

	wgk set wg0 private-key "$KPRIV" listen-port $KPORT
	ip -n kern link set wg0 up

	: >"$T/go.log"
	go_start
	wgg set wg1 private-key "$GPRIV" listen-port $GPORT
}

# hs_kern / hs_go: the one peer's latest handshake (unix seconds, 0: none).
hs_kern() { wgk show wg0 latest-handshakes | awk 'NR == 1 {print $2}'; }
hs_go() { wgg show wg1 latest-handshakes | awk 'NR == 1 {print $2}'; }

# wait_handshakes SECONDS [KERN_AFTER]: polls every 0.5s until both sides
# have a handshake (the kernel side's newer than KERN_AFTER, default 0).
# Leaves the last values in HK and HG.
wait_handshakes() {
	local deadline=$((SECONDS + $1)) after=${2:-0}
	while :; do
		HK=$(hs_kern) HG=$(hs_go)
		[ "${HK:-0}" -gt "$after" ] && [ "${HG:-0}" -gt 0 ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		"$BB" sleep 0.5
	done
}

# The case's state, once per case, at its first failed check.
TAP_ON_FAILURE=diag
# diag: what happened in this case, as TAP diagnostics.
diag() {
	{
		set +e
		echo "kern: wg show wg0 dump:"
		wgk show wg0 dump
		echo "go: wg show wg1 dump:"
		wgg show wg1 dump
		echo "kern: ethtool -S wg0 (non-zero):"
		nsk ethtool -S wg0 | awk 'NR > 1 && $2 != 0'
		echo "kern: ip -s link:"
		nsk ip -s link
		echo "go: ip -s link:"
		nsg ip -s link
		echo "kern: dmesg (module lines) since the case started:"
		dmesg | tail -n +$((DMESG0 + 1)) | grep -E 'wgmpsc|wg0' | tail -n 40
		echo "go: wireguard-go log:"
		tail -n 40 "$T/go.log"
	} 2>&1 | sed 's/^/# /'
}

# check_hs NAME SIDE: one TAP line, the SIDE's handshake (from the last
# wait_handshakes) non-zero.
check_hs() {
	local v
	case $2 in kern) v=$HK ;; go) v=$HG ;; esac
	if [ "${v:-0}" -gt 0 ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		echo "# latest handshake on $2: '${v}' after ${HS_WAIT}s"
		[ -n "$TAP_ON_FAILURE_DONE" ] || { diag; TAP_ON_FAILURE_DONE=1; }
	fi
}

# transfer_both: the kernel side's peer has received and sent bytes.
transfer_both() {
	local rx tx
	read -r _ rx tx < <(wgk show wg0 transfer)
	[ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ] && return 0
	echo "wg show wg0 transfer: rx=$rx tx=$tx"
	return 1
}

# endpoint_is NS DEV WANT: the one peer's endpoint is WANT.
endpoint_is() {
	local got
	got=$(ns_timeout 60 "$1" wg show "$2" endpoints | awk 'NR == 1 {print $2}')
	[ "$got" = "$3" ] && return 0
	echo "$1/$2 endpoint: expected [$3], got [$got]"
	return 1
}

# udp_count NS In|Out: UDP (v4) datagrams delivered to / sent from sockets
# in NS so far (/proc/self/net is the reader's namespace).
udp_count() {
	ns_timeout 60 "$1" cat /proc/net/snmp |
		awk -v f="$2Datagrams" '$1 == "Udp:" && !n {for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next}
			$1 == "Udp:" {print $col[f]}'
}

is_zero() {
	[ "$1" = 0 ] && return 0
	echo "latest handshake: expected 0, got '$1'"
	return 1
}

# no_handshake NAME WHAT: waits NO_HS_WAIT seconds, then one TAP line per
# side for "still no handshake", and one ("NAME: WHAT") that UDP datagrams
# went both ways meanwhile, so that a silent pair cannot pass.  The only
# UDP sockets in "go" are wireguard-go's: datagrams in are wgmpsc's
# handshake messages, datagrams out wireguard-go's.
no_handshake() {
	local in0 out0 in1 out1 name=$1 what=$2
	in0=$(udp_count go In) out0=$(udp_count go Out)
	sleep "$NO_HS_WAIT"
	HK=$(hs_kern) HG=$(hs_go)
	in1=$(udp_count go In) out1=$(udp_count go Out)
	tap_check "$name: no handshake on wgmpsc after ${NO_HS_WAIT}s" is_zero "$HK"
	tap_check "$name: no handshake on wireguard-go after ${NO_HS_WAIT}s" is_zero "$HG"
	if [ "$((in1 - in0))" -gt 0 ] && [ "$((out1 - out0))" -gt 0 ]; then
		tap_ok "$name: $what"
	else
		tap_not_ok "$name: $what"
		echo "# UDP datagrams in ns go during the wait: in $((in1 - in0)) out $((out1 - out0))"
		diag
		return 0
	fi
	if [ "${HK:-x}" != 0 ] || [ "${HG:-x}" != 0 ]; then diag; fi
}

# run_case FN: runs one case in a subshell with `set -e`, so a failing
# setup command ends that case with a "not ok" naming the command, never
# the file.  The TAP counters come back through a file.
run_case() {
	local fn=$1 rc t0=$SECONDS
	DMESG0=$(dmesg | wc -l)
	set +e
	(
		trap 'echo "$TAP_N $TAP_FAILED" >"$T/counters"' EXIT
		trap 'echo "# $fn: line $LINENO: command failed: $BASH_COMMAND"' ERR
		set -eE -o pipefail
		TAP_ON_FAILURE_DONE=
		"$fn"
	)
	rc=$?
	set -e
	read -r TAP_N TAP_FAILED <"$T/counters"
	if [ "$rc" -ne 0 ]; then
		tap_not_ok "$fn: case aborted by a failing setup command (status $rc)"
		diag
	fi
	echo "# $fn: $((SECONDS - t0)) s"
}

# --- setup ---------------------------------------------------------------

if ! command -v wireguard-go >/dev/null; then
	tap_skip "interop with wireguard-go" "wireguard-go is not installed"
	tap_done
	exit 0
fi
modprobe tun
dmesg_start=$(dmesg | wc -l)
wg_test_start
# The module's handshake debug lines, for the diagnostics of a failure.
if [ -w /sys/kernel/debug/dynamic_debug/control ]; then
	echo "module $(modinfo -F name "$WGMPSC_KO") +p" >/sys/kernel/debug/dynamic_debug/control || true
fi

# --- cases ---------------------------------------------------------------

# kern_initiates NAME PSK-FILE|"" : wgmpsc knows wireguard-go's endpoint
# and keeps a persistent keepalive, so it initiates; wireguard-go has no
# endpoint and must learn it from the initiation.
kern_initiates() {
	local name=$1 psk=$2
	wgg set wg1 peer "$KPUB" ${psk:+preshared-key "$psk"} allowed-ips 10.77.0.1/32
	wgk set wg0 peer "$GPUB" ${psk:+preshared-key "$psk"} allowed-ips 10.77.0.2/32 \
		endpoint 192.168.77.2:$GPORT persistent-keepalive 1
	wait_handshakes $HS_WAIT || true
	check_hs "$name: wgmpsc (initiator) completes the handshake" kern
	check_hs "$name: wireguard-go (responder) completes the handshake" go
	tap_check "$name: wireguard-go learned wgmpsc's endpoint" \
		endpoint_is go wg1 192.168.77.1:$KPORT
	tap_check "$name: wgmpsc counts bytes received and sent" transfer_both
}

# go_initiates NAME PSK-FILE|"" [ADDR]: wireguard-go knows the endpoint and
# keeps a persistent keepalive, so it initiates; wgmpsc has no endpoint
# and must learn (roam to) wireguard-go's address and port.
go_initiates() {
	local name=$1 psk=$2
	wgk set wg0 peer "$GPUB" ${psk:+preshared-key "$psk"} allowed-ips 10.77.0.2/32
	wgg set wg1 peer "$KPUB" ${psk:+preshared-key "$psk"} allowed-ips 10.77.0.1/32 \
		endpoint 192.168.77.1:$KPORT persistent-keepalive 1
	wait_handshakes $HS_WAIT || true
	check_hs "$name: wireguard-go (initiator) completes the handshake" go
	check_hs "$name: wgmpsc (responder) completes the handshake" kern
	tap_check "$name: wgmpsc learned wireguard-go's endpoint" \
		endpoint_is kern wg0 192.168.77.2:$GPORT
	tap_check "$name: wgmpsc counts bytes received and sent" transfer_both
}

# 1. wgmpsc initiates, no preshared key.
case_kern_init() {
	setup
	kern_initiates "kern->go"
}

# 2. wireguard-go initiates, no preshared key; wgmpsc roams to the
# initiator's address.
case_go_init() {
	setup
	go_initiates "go->kern"
}

# 3. wgmpsc initiates, same preshared key on both sides.
case_kern_init_psk() {
	setup
	wg genpsk >"$T/psk"
	kern_initiates "kern->go psk" "$T/psk"
}

# 4. wireguard-go initiates, same preshared key on both sides.
case_go_init_psk() {
	setup
	wg genpsk >"$T/psk"
	go_initiates "go->kern psk" "$T/psk"
}

# 5. IPv6 outer addresses: wgmpsc initiates to [fd77::2], wireguard-go
# learns [fd77::1] from the initiation.
case_kern_init_v6() {
	local name="kern->go ipv6"
	setup
	wgg set wg1 peer "$KPUB" allowed-ips 10.77.0.1/32
	wgk set wg0 peer "$GPUB" allowed-ips 10.77.0.2/32 \
		endpoint "[fd77::2]:$GPORT" persistent-keepalive 1
	wait_handshakes $HS_WAIT || true
	check_hs "$name: wgmpsc (initiator) completes the handshake" kern
	check_hs "$name: wireguard-go (responder) completes the handshake" go
	tap_check "$name: wireguard-go learned wgmpsc's IPv6 endpoint" \
		endpoint_is go wg1 "[fd77::1]:$KPORT"
	tap_check "$name: wgmpsc counts bytes received and sent" transfer_both
}

# 6. wgmpsc has a random public key for its peer, not wireguard-go's.
# Both sides have endpoints and persistent keepalives, so both keep
# initiating: wireguard-go must reject wgmpsc's initiations (made for
# another key) and wgmpsc wireguard-go's (from an unknown key).
case_wrong_pubkey() {
	local name="wrong public key"
	setup
	wgk set wg0 peer "$(wg genkey | wg pubkey)" allowed-ips 10.77.0.2/32 \
		endpoint 192.168.77.2:$GPORT persistent-keepalive 1
	wgg set wg1 peer "$KPUB" allowed-ips 10.77.0.1/32 \
		endpoint 192.168.77.1:$KPORT persistent-keepalive 1
	no_handshake "$name" "both sides kept initiating"
}

# 7. Different preshared keys, wgmpsc initiating: the PSK is mixed in only
# from the response on, so wireguard-go accepts the initiation and answers,
# and wgmpsc must reject that response.  Only one side initiates: a side
# that has just sent a response holds back its own initiations for
# REKEY_TIMEOUT, so with both initiating only one direction would be
# exercised, and which one would be left to chance.
case_wrong_psk_kern_init() {
	local name="wrong preshared key, kern->go"
	setup
	wg genpsk >"$T/psk1"
	wg genpsk >"$T/psk2"
	wgg set wg1 peer "$KPUB" preshared-key "$T/psk2" allowed-ips 10.77.0.1/32
	wgk set wg0 peer "$GPUB" preshared-key "$T/psk1" allowed-ips 10.77.0.2/32 \
		endpoint 192.168.77.2:$GPORT persistent-keepalive 1
	no_handshake "$name" "initiations were sent and answered"
}

# 7b. The same with wireguard-go initiating: wgmpsc accepts the initiation
# and answers it, wireguard-go rejects the response, and wgmpsc must not
# count a handshake for a session that is never confirmed.
case_wrong_psk_go_init() {
	local name="wrong preshared key, go->kern"
	setup
	wg genpsk >"$T/psk1"
	wg genpsk >"$T/psk2"
	wgk set wg0 peer "$GPUB" preshared-key "$T/psk1" allowed-ips 10.77.0.2/32
	wgg set wg1 peer "$KPUB" preshared-key "$T/psk2" allowed-ips 10.77.0.1/32 \
		endpoint 192.168.77.1:$KPORT persistent-keepalive 1
	no_handshake "$name" "initiations were sent and answered"
}

# 8. wireguard-go is killed after a handshake and started again with the
# same configuration: a fresh process with no sessions, whose initiation
# carries a newer TAI64N timestamp.  wgmpsc must accept it although it
# still holds a session with the same peer, and complete a new handshake:
# wireguard-go's latest handshake is set again and wgmpsc's advances.
case_go_restart() {
	local name="go restarted" hk0
	setup
	wgk set wg0 peer "$GPUB" allowed-ips 10.77.0.2/32
	wgg set wg1 peer "$KPUB" allowed-ips 10.77.0.1/32 \
		endpoint 192.168.77.1:$KPORT persistent-keepalive 1
	wait_handshakes $HS_WAIT || true
	check_hs "$name: first handshake completes on wgmpsc" kern
	check_hs "$name: first handshake completes on wireguard-go" go
	hk0=$HK
	# Timestamps are in seconds: let one pass, so that a new handshake
	# shows.
	while [ "$(date +%s)" -le "${hk0:-0}" ]; do sleep 0.2; done
	go_stop
	go_start
	wgg set wg1 private-key "$GPRIV" listen-port $GPORT \
		peer "$KPUB" allowed-ips 10.77.0.1/32 \
		endpoint 192.168.77.1:$KPORT persistent-keepalive 1
	TAP_ON_FAILURE_DONE=
	wait_handshakes $HS_WAIT "${hk0:-0}" || true
	check_hs "$name: the new wireguard-go process completes a handshake" go
	if [ "${HK:-0}" -gt "${hk0:-0}" ]; then
		tap_ok "$name: wgmpsc's latest handshake advances"
	else
		tap_not_ok "$name: wgmpsc's latest handshake advances"
		echo "# wgmpsc's latest handshake: $hk0 before the restart, $HK after"
		[ -n "$TAP_ON_FAILURE_DONE" ] || { diag; TAP_ON_FAILURE_DONE=1; }
	fi
	tap_check "$name: wgmpsc counts bytes received and sent" transfer_both
}

# --- data path -----------------------------------------------------------

# Inner addresses, on wg0 (kern) and wg1 (go).
K4=10.77.0.1 G4=10.77.0.2 K6=fd77:1::1 G6=fd77:1::2
# iperf3's duration per stream, seconds (WGT_IPERF_SECONDS, default 3).
IPERF_SECS=${WGT_IPERF_SECONDS:-3}
# What each side's transfer counters must exceed both ways after traffic.
MIN_TRANSFER=100000

# setup_tunnel 4|6: setup, then a tunnel ready for traffic: the inner
# addresses on wg0 and wg1, each side's peer allowing the other's inner
# addresses, the same preshared key on both sides, and each side knowing
# the other's endpoint over IPv4 or IPv6 outer addresses.  No keepalives:
# whichever side sends first initiates the handshake.
setup_tunnel() {
	local kep gep
	case $1 in
	4) kep=192.168.77.1:$KPORT gep=192.168.77.2:$GPORT ;;
	6) kep="[fd77::1]:$KPORT" gep="[fd77::2]:$GPORT" ;;
	esac
	setup
	wg genpsk >"$T/psk"
	ip -n kern -batch - <<-EOF
	addr add $K4/24 dev wg0
	addr add $K6/64 dev wg0 nodad
	EOF
	ip -n go -batch - <<-EOF
	addr add $G4/24 dev wg1
	addr add $G6/64 dev wg1 nodad
	link set wg1 up
	EOF
	wgk set wg0 peer "$GPUB" preshared-key "$T/psk" \
		allowed-ips $G4/32,$G6/128 endpoint "$gep"
	wgg set wg1 peer "$KPUB" preshared-key "$T/psk" \
		allowed-ips $K4/32,$K6/128 endpoint "$kep"
}

# pings NS ADDR COUNT MAX_LOST [PING-ARGS...]: COUNT echo requests from NS
# to ADDR, at most MAX_LOST of them unanswered, no reply duplicated or
# with wrong data.  The first request of a tunnel waits for the handshake,
# and a busy TCG host delays some replies by far more than ping's usual
# wait for the last one: with a deadline (-w) ping instead sends on until
# it has COUNT replies, so the requests answered among the first COUNT are
# counted from the replies' sequence numbers.  A tunnel that loses
# everything costs the whole deadline.
pings() {
	local ns=$1 addr=$2 count=$3 max_lost=$4 out answered
	shift 4
	out=$(ns_timeout 30 "$ns" \
		ping -n -c "$count" -i 0.2 -w 15 "$@" "$addr" 2>&1) || true
	answered=$(printf '%s\n' "$out" | awk -v n="$count" '
		/ bytes from .* icmp_seq=/ && !/DUP!/ {
			sub(/.*icmp_seq=/, ""); sub(/ .*/, "")
			if ($0 + 0 >= 1 && $0 + 0 <= n) seen[$0 + 0] = 1 }
		END { print length(seen) }')
	if [ "$answered" -ge $((count - max_lost)) ] &&
		! printf '%s\n' "$out" | grep -q -e 'DUP!' -e 'wrong data'; then
		return 0
	fi
	echo "ping $* $addr from ns $ns: $answered of the first $count requests" \
		"answered (at most $max_lost may be lost), or duplicates or wrong data:"
	printf '%s\n' "$out" | awk '{ l[NR] = $0 } END {
		for (i = 1; i <= NR; i++) if (i <= 12 || i > NR - 3) print l[i]
		else if (i == 13) print "..." }'
	return 1
}

# iperf_check NAME ADDR [-R]: one TAP line, an iperf3 TCP stream of
# IPERF_SECS through the tunnel, between a client in "kern" and a one-off
# server in "go" at ADDR (the client sends; with -R the server does), moved
# bytes.  The rate is a diagnostic only: benchmarks measure speed.
iperf_check() {
	local name=$1 addr=$2 spid out i res bytes mbps secs
	shift 2
	nsg iperf3 -s -1 --forceflush -B "$addr" >"$T/iperf-server.log" 2>&1 &
	spid=$!
	# Until the server listens (starting iperf3 can take seconds in TCG).
	for ((i = 0; i < 200; i++)); do
		nsg ss -Hltn 'sport = :5201' |
			awk -v a="$addr:5201" -v b="[$addr]:5201" '$4 == a || $4 == b {f = 1} END {exit !f}' &&
			break
		sleep 0.1
	done
	out=$(ns_timeout $((IPERF_SECS + 30)) kern \
		iperf3 -J -c "$addr" -t "$IPERF_SECS" --connect-timeout 10000 "$@" 2>&1) || true
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	res=$(printf '%s\n' "$out" | python3 -c '
import json, sys
d = None
try:
    d = json.load(sys.stdin)
    r = d["end"]["sum_received"]
    print(int(r["bytes"]), "%.1f" % (r["bits_per_second"] / 1e6), "%.1f" % r["seconds"])
except Exception as e:
    print(0, 0, 0, "no result:", d.get("error", e) if isinstance(d, dict) else e)
' 2>&1) || true
	read -r bytes mbps secs _ <<<"$res"
	if [ "${bytes:-0}" -gt 0 ] 2>/dev/null; then
		tap_ok "$name: iperf3 TCP moves data"
		echo "# $name: $bytes bytes received in $secs s, $mbps Mbit/s"
	else
		tap_not_ok "$name: iperf3 TCP moves data"
		echo "# iperf3 client: $res"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# client: /'
		sed 's/^/# server: /' "$T/iperf-server.log" | tail -n 10
		[ -n "$TAP_ON_FAILURE_DONE" ] || { diag; TAP_ON_FAILURE_DONE=1; }
	fi
}

# transfer_over NS DEV MIN: the one peer's rx and tx bytes both exceed MIN.
transfer_over() {
	local rx tx
	read -r _ rx tx < <(ns_timeout 60 "$1" wg show "$2" transfer)
	echo "$1/$2 transfer: rx $rx tx $tx bytes"
	[ "${rx:-0}" -gt "$3" ] && [ "${tx:-0}" -gt "$3" ]
}

# link_counters_agree: wgmpsc's interface counters (ip -s link, inner
# bytes) against its peer's transfer counters (whole WireGuard messages,
# handshakes included), each way: the inner bytes are fewer than the bytes
# of the messages that carried them, and, most of the traffic being
# full-sized packets (TCP segments, IP fragments), more than half of them.
link_counters_agree() {
	local rx tx lrx ltx
	read -r _ rx tx < <(wgk show wg0 transfer)
	read -r lrx ltx < <(nsk ip -s -j link show wg0 | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["bytes"], s["tx"]["bytes"])')
	echo "wg0: ip -s link: rx $lrx tx $ltx bytes; wg show wg0 transfer: rx $rx tx $tx bytes"
	[ "$lrx" -le "$rx" ] && [ $((2 * lrx)) -gt "$rx" ] &&
		[ "$ltx" -le "$tx" ] && [ $((2 * ltx)) -gt "$tx" ]
}

# no_drops: wgmpsc counted no received packet it had to drop as forged,
# malformed, replayed or from an address its peer may not use.
no_drops() {
	nsk ethtool -S wg0 | awk '
		/rx_(invalid_message|bad_mac|replay|allowedips_mismatch):/ {
			print; if ($2 != 0) bad = 1 }
		END { exit bad }'
}

# 9. Data path over IPv4, wgmpsc sending first (so initiating): pings both
# ways with IPv4 and IPv6 inside, inner packets larger than the MTU (IP
# fragments, each its own tunnel packet) both ways, TCP streams both ways
# with both families, and afterwards both sides' transfer counters show the
# traffic, wgmpsc's interface counters agree with its transfer counters,
# and wgmpsc dropped nothing.
case_data_v4() {
	local name="data ipv4"
	setup_tunnel 4
	tap_check "$name: ping kern->go ipv4 inside" pings kern $G4 5 1
	tap_check "$name: ping go->kern ipv4 inside" pings go $K4 5 1
	tap_check "$name: ping kern->go ipv6 inside" pings kern $G6 5 1
	tap_check "$name: ping go->kern ipv6 inside" pings go $K6 5 1
	tap_check "$name: 3000-byte ping kern->go ipv4 inside" pings kern $G4 4 1 -s 3000
	tap_check "$name: 3000-byte ping go->kern ipv4 inside" pings go $K4 4 1 -s 3000
	tap_check "$name: 3000-byte ping kern->go ipv6 inside" pings kern $G6 4 1 -s 3000
	tap_check "$name: 3000-byte ping go->kern ipv6 inside" pings go $K6 4 1 -s 3000
	iperf_check "$name: kern->go ipv4 inside" $G4
	iperf_check "$name: go->kern ipv4 inside" $G4 -R
	iperf_check "$name: kern->go ipv6 inside" $G6
	iperf_check "$name: go->kern ipv6 inside" $G6 -R
	tap_check "$name: wgmpsc's transfer counters exceed $MIN_TRANSFER bytes both ways" \
		transfer_over kern wg0 $MIN_TRANSFER
	tap_check "$name: wireguard-go's transfer counters exceed $MIN_TRANSFER bytes both ways" \
		transfer_over go wg1 $MIN_TRANSFER
	tap_check "$name: wgmpsc's interface byte counters agree with its transfer counters" \
		link_counters_agree
	tap_check "$name: wgmpsc dropped no received packet" no_drops
}

# 10. Data path over IPv6, wireguard-go sending first (so initiating, and
# wgmpsc responding): pings both ways with both families inside, and
# fragmented inner pings both ways; wgmpsc's interface counters agree with
# its transfer counters, and it dropped nothing.
case_data_v6() {
	local name="data ipv6"
	setup_tunnel 6
	tap_check "$name: ping go->kern ipv4 inside" pings go $K4 5 1
	tap_check "$name: ping kern->go ipv4 inside" pings kern $G4 5 1
	tap_check "$name: ping go->kern ipv6 inside" pings go $K6 5 1
	tap_check "$name: ping kern->go ipv6 inside" pings kern $G6 5 1
	tap_check "$name: 3000-byte ping go->kern ipv4 inside" pings go $K4 4 1 -s 3000
	tap_check "$name: 3000-byte ping kern->go ipv6 inside" pings kern $G6 4 1 -s 3000
	tap_check "$name: wgmpsc's interface byte counters agree with its transfer counters" \
		link_counters_agree
	tap_check "$name: wgmpsc dropped no received packet" no_drops
}

for c in ${WGT_CASES:-kern_init go_init kern_init_psk go_init_psk kern_init_v6 wrong_pubkey
	wrong_psk_kern_init wrong_psk_go_init go_restart data_v4 data_v6}; do
	declare -F "case_$c" >/dev/null || { tap_not_ok "WGT_CASES: no case '$c'"; continue; }
	run_case "case_$c"
done
teardown

# --- the end -------------------------------------------------------------

# Nothing went wrong in the kernel along the way.
dmesg | tail -n +$((dmesg_start + 1)) >"$T/dmesg"
no_warnings() { ! grep -E "WARNING|BUG" "$T/dmesg"; }
tap_check "dmesg has no WARNING or BUG" no_warnings

tap_done
