#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the tests that run inside the VM (tools/vm.sh).
# Source it; it sets nothing but functions and the TAP counters.
#
# WGMPSC_KO names the module under test (tools/vm.sh passes it through).

TAP_N=0
TAP_FAILED=0

# Prints one TAP line; the host harness totals them.
tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N $*"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N $*"
}

# tap_check NAME CMD...: ok when CMD exits 0.  Its output is shown only on
# failure, as TAP diagnostics.  A test may set TAP_ON_FAILURE to a command
# that gathers more (state dumps): it runs once, at the first failure after
# TAP_ON_FAILURE_DONE was last emptied.
TAP_ON_FAILURE=
TAP_ON_FAILURE_DONE=
tap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$name"
	else
		tap_not_ok "$name"
		printf '%s\n' "$out" | sed 's/^/# /'
		if [ -n "$TAP_ON_FAILURE" ] && [ -z "$TAP_ON_FAILURE_DONE" ]; then
			TAP_ON_FAILURE_DONE=1
			$TAP_ON_FAILURE
		fi
	fi
}

# tap_skip NAME REASON: a skip is reported as one, never as a pass.
tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N $1 # SKIP $2"
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# Loads the module's dependencies with modprobe (from the distro tree) and
# then the module itself by path, so nothing is ever resolved by name to the
# distro's wireguard.ko.
wg_load_module() {
	local ko=${1:-$WGMPSC_KO} dep
	[ -n "$ko" ] && [ -f "$ko" ] || { echo "no module at '$ko'" >&2; return 1; }
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		modprobe "$dep" || return 1
	done
	insmod "$ko"
}

# WG_UNDER_TEST: which driver $WGMPSC_KO is, from its module name: "intree"
# for the distribution's wireguard.ko (tools/vm.sh --keep-distro-wireguard
# --module /opt/anchor/wireguard.ko), "wgmpsc" for ours, "unknown" if
# there is no such module.  Tests run the same scenarios against both; a
# check whose expected outcome is wgmpsc's own (its debug log, its
# `ethtool -S` counters, a deliberate difference listed in README.md)
# asks wgmpsc_only first.
case $(modinfo -F name "${WGMPSC_KO:-/nonexistent}" 2>/dev/null) in
wireguard) WG_UNDER_TEST=intree ;;
wgmpsc) WG_UNDER_TEST=wgmpsc ;;
*) WG_UNDER_TEST=unknown ;;
esac
under_intree() { [ "$WG_UNDER_TEST" = intree ]; }
# kernel_at_least MAJOR MINOR: the running kernel is MAJOR.MINOR or newer.
kernel_at_least() {
	local major minor
	major=$(uname -r)
	minor=${major#*.}
	major=${major%%.*}
	minor=${minor%%[!0-9]*}
	[ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}

# wgmpsc_only NAME WHY: false, after a TAP skip of NAME ("wgmpsc-specific:
# WHY"), when the in-tree driver is under test; true otherwise.  Usage:
#   if wgmpsc_only "name" "why"; then tap_check "name" ...; fi
wgmpsc_only() {
	under_intree || return 0
	tap_skip "$1" "wgmpsc-specific: $2"
	return 1
}

wg_unload_module() {
	local name
	name=$(modinfo -F name "${1:-$WGMPSC_KO}")
	rmmod "$name"
}

# --- shared by the namespace tests ---------------------------------------
# Tests that use these set T to a scratch directory of their own first.

# Under TCG each exec of a dynamically linked program costs several times
# that of a static one, and the tests run thousands of them: on the debug
# kernel `ip netns exec` took 0.39 s and coreutils' timeout 0.35 s, the
# static busybox's nsenter and timeout (tools/vm.sh requires it) 0.08 and
# 0.09 s.  So commands enter a namespace through these, which run CMD
# like `ip netns exec NS CMD` (but without its private /sys, which no
# test reads) and `timeout`.  busybox runs its own applet for a command
# named like one (ping, sh, ip, awk, ...): CMD is given by its path.
BB=/bin/busybox

# ns_argv SECS NS CMD...: sets the array NS_ARGV to a command line that
# runs CMD in network namespace NS, killed after SECS seconds (0: no
# limit).  busybox's timeout and nsenter -F exec what they run in their
# own process: started in the background, $! is CMD's pid.
ns_argv() {
	local secs=$1 ns=$2 prog=$3
	shift 3
	if [[ $prog != */* ]]; then
		hash -- "$prog" 2>/dev/null || { echo "$prog: command not found" >&2; return 127; }
		prog=${BASH_CMDS[$prog]}
	fi
	NS_ARGV=("$BB" nsenter -F --net="/run/netns/$ns" "$prog" "$@")
	[ "$secs" = 0 ] || NS_ARGV=("$BB" timeout "$secs" "${NS_ARGV[@]}")
}
# in_ns NS CMD...: CMD in network namespace NS.
in_ns() { ns_argv 0 "$@" && "${NS_ARGV[@]}"; }
# ns_timeout SECS NS CMD...: the same, killed after SECS seconds.
ns_timeout() { ns_argv "$@" && "${NS_ARGV[@]}"; }

# The opening the namespace tests share:
#
#   set -e
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$HERE/lib.sh"
#   wgt_init NAME '^PREFIX-'
#   cleanup() {
#   	set +e
#   	...                  # the test's own, if any
#   	wgt_cleanup
#   }
#   trap cleanup EXIT
#
# wgt_init NAME NSREGEX: the scratch directory T (/tmp/wgt-NAME.XXXXXX),
# MODULE_LOADED=0 (wg_test_start sets it to 1), the namespaces wgt_cleanup
# deletes (those whose names match NSREGEX) and fd 3 on stdout, for TAP
# diagnostics from checks whose output tap_check captures.
wgt_init() {
	T=$(mktemp -d "/tmp/wgt-$1.XXXXXX")
	WGT_NS_RE=$2
	MODULE_LOADED=0
	exec 3>&1
}

# wgt_cleanup: the common part of a cleanup trap, in this order: kills the
# background jobs listed in $T/pids (bg), deletes the test's namespaces
# and what runs in them, unloads the module if wg_test_start loaded it
# (by its name in $WGMPSC_KO, which may be a copy in T) and removes T.
wgt_cleanup() {
	local pid
	if [ -f "$T/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done <"$T/pids"
	fi
	wg_cleanup_namespaces "$WGT_NS_RE"
	[ "$MODULE_LOADED" = 0 ] || wg_unload_module_retry
	rm -rf "$T"
}

# wg_test_start: loads the module under test, with a TAP line; a test
# that cannot load it ends here.  The cleanup trap unloads what it set.
wg_test_start() {
	if ! wg_load_module; then
		tap_not_ok "module loads from '${WGMPSC_KO:-}'"
		tap_done
		exit 1
	fi
	MODULE_LOADED=1
	tap_ok "module loads"
}

# keypair NAME: private key in $T/NAME.key, public key in $T/NAME.pub.
keypair() {
	wg genkey >"$T/$1.key"
	wg pubkey <"$T/$1.key" >"$T/$1.pub"
}
pub() { local k; IFS= read -r k <"$T/$1.pub" && printf '%s\n' "$k"; }

# Background jobs (their pids also in $T/pids, for the cleanup trap): bg NAME SECONDS NS CMD... runs CMD in NS with output in
# $T/NAME.out; bg_wait NAME waits for it, bg_stop NAME ends it.
bg() {
	local name=$1
	shift
	ns_argv "$@"
	"${NS_ARGV[@]}" >"$T/$name.out" 2>&1 &
	echo $! >"$T/$name.pid"
	echo $! >>"$T/pids"
}
bg_pid() { local p; read -r p <"$T/$1.pid" && echo "$p"; }
bg_wait() { wait "$(bg_pid "$1")" 2>/dev/null || true; }
bg_stop() {
	kill "$(bg_pid "$1")" 2>/dev/null || true
	bg_wait "$1"
}

# nsx NS CMD...: CMD in namespace NS, failing rather than hanging.
nsx() { ns_timeout 120 "$@"; }

# wait_until SECONDS CMD...: polls CMD every 0.2s until it succeeds; on
# timeout, runs it once more so that its complaint is shown.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || { "$@"; return 1; }
		"$BB" sleep 0.2
	done
}

# run_block FN: runs one block in a subshell with `set -e`, so a failing
# setup command ends that block with a "not ok" naming the command, but
# never the file; tap_check assertions inside never abort.  The TAP
# counters come back through $T/counters.
run_block() {
	local fn=$1 rc t0=$SECONDS
	set +e
	(
		trap 'echo "$TAP_N $TAP_FAILED" >"$T/counters"' EXIT
		trap 'echo "# $fn: line $LINENO: command failed: $BASH_COMMAND"' ERR
		set -eE -o pipefail
		"$fn"
	)
	rc=$?
	set -e
	read -r TAP_N TAP_FAILED <"$T/counters"
	[ "$rc" -eq 0 ] || tap_not_ok "$fn: block aborted by a failing setup command (status $rc)"
	echo "# $fn: $((SECONDS - t0)) s"
}

# wg_cleanup_namespaces REGEX: kills what runs in the namespaces whose
# names match REGEX and deletes them (a cleanup trap's work).
wg_cleanup_namespaces() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk -v re="$1" '$1 ~ re { print $1 }'); do
		# One that exits meanwhile is no failure (set -e callers).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.5
	for ns in $(ip netns list 2>/dev/null | awk -v re="$1" '$1 ~ re { print $1 }'); do
		ip netns del "$ns"
	done
}

# wg_unload_module_retry: namespace teardown is asynchronous, so the module
# may stay busy for a moment after the last device went.
wg_unload_module_retry() {
	[ -d "/sys/module/$(modinfo -F name "$WGMPSC_KO")" ] || return 0
	for _ in $(seq 50); do
		wg_unload_module 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# no_carrier NS DEV: the link shows NO-CARRIER.
no_carrier() {
	local out
	out=$(ip -n "$1" link show "$2") || return 1
	case $out in *NO-CARRIER*) return 0 ;; esac
	echo "$out"
	return 1
}

# stats_snapshot NS DEV FILE: `ethtool -S` counters as "name value" lines.
# They are wgmpsc's own (the in-tree driver has no `ethtool -S`): under
# it, FILE is left empty and the checks that read it are skipped
# (wgmpsc_only).
stats_snapshot() {
	if under_intree; then
		: >"$3"
		return 0
	fi
	in_ns "$1" ethtool -S "$2" | awk -F': *' 'NF == 2 { gsub(/ /, "", $1); print $1, $2 }' >"$3"
}
# delta BEFORE AFTER NAME: how much NAME grew between two snapshots.
delta() {
	awk -v k="$3" 'FNR == NR { if ($1 == k) b = $2; next } $1 == k { print $2 - b }' "$1" "$2"
}
# grew BEFORE AFTER NAME / unchanged BEFORE AFTER NAME...
grew() {
	local d
	d=$(delta "$@")
	[ "${d:-0}" -gt 0 ] && return 0
	echo "$3 did not grow (delta ${d:-none})"
	return 1
}
unchanged() {
	local b=$1 a=$2 k d bad=0
	shift 2
	for k; do
		d=$(delta "$b" "$a" "$k")
		[ "${d:-x}" = 0 ] && continue
		echo "$k grew by ${d:-?}"
		bad=1
	done
	return $bad
}

# link_stat NS DEV rx|tx FIELD: a standard net_device counter
# (`ip -s -j link`: packets, bytes, errors, dropped, ...), which both
# drivers keep.
link_stat() {
	ip -n "$1" -s -j link show "$2" |
		python3 -S -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"][sys.argv[1]][sys.argv[2]])' "$3" "$4"
}

# The debug build logs "<Kind> <n> created" and "<Kind> <n> destroyed" for
# peers and keypairs.  lifetime_count KIND EVENT counts such lines in
# dmesg.  lifetime_audit [LOG [FROM]] succeeds when every object created
# was destroyed exactly once and only those, in dmesg or in LOG (a full
# copy of /dev/kmsg, for runs that overflow the ring buffer; LOG.lost, if
# not empty, says records were missed) after its line FROM; it prints
# per-kind totals as diagnostics.
lifetime_count() { dmesg | grep -cE "wgmpsc: .*: $1 [0-9]+ $2\$" || true; }
# lifetime_none_alive DEV KIND: every KIND (Peer, Keypair) the lifetime log
# shows device DEV creating has been destroyed; else names the live ones.
lifetime_none_alive() {
	dmesg | awk -v dev="$1" -v kind="$2" '
	index($0, "wgmpsc: " dev ": " kind " ") && $NF ~ /^(created|destroyed)$/ {
		alive[$(NF - 1)] += $NF == "created" ? 1 : -1; n++
	}
	END {
		for (id in alive) if (alive[id] > 0) bad = bad " " id
		if (!n) { print "no " kind " of " dev " in the lifetime log"; exit 1 }
		if (bad != "") { print kind "s of " dev " still alive:" bad; exit 1 }
	}'
}
lifetime_audit() {
	local log=${1:-} from=${2:-0}
	if [ -n "$log" ] && [ -s "$log.lost" ]; then
		echo "# the kernel log copy missed $(cat "$log.lost") records"
		return 1
	fi
	{ if [ -n "$log" ]; then cat "$log"; else dmesg; fi; } | awk -v from="$from" '
	FNR > from && /wgmpsc: / && match($0, /[A-Z][A-Za-z]* [0-9]+ (created|destroyed)$/) {
		split(substr($0, RSTART), f, " ")
		k = f[1] " " f[2]
		if (f[3] == "created") { c[k]++; nc[f[1]]++ } else { d[k]++; nd[f[1]]++ }
		kinds[f[1]] = 1
		lines++
	}
	END {
		if (!lines) { print "# no lifetime lines at all"; exit 1 }
		for (x in kinds) printf "# %s: %d created, %d destroyed\n", x, nc[x], nd[x]
		bad = 0
		for (k in c) if (c[k] != 1 || d[k] != 1) { if (bad++ < 10) printf "# unbalanced: %s created %d, destroyed %d\n", k, c[k], d[k] }
		for (k in d) if (!(k in c)) { if (bad++ < 10) printf "# destroyed, never created: %s\n", k }
		if (bad) printf "# %d unbalanced objects\n", bad
		exit bad != 0
	}'
}

# kernel_clean: no warning (W), oops (D), bad page (B) or soft lockup (L)
# taint.
kernel_clean() {
	local t
	t=$(cat /proc/sys/kernel/tainted)
	[ $((t & ((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))) -eq 0 ] && return 0
	echo "tainted: $t"
	return 1
}

# --- configuration helpers (tests/netns-conf.py, tests/netns-genl.py) -----

WG_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# python3 -S: the helpers need only the standard library, and skipping
# site's start-up (its .pth files) saved 0.25 s a run on the debug kernel.
conf() { python3 -S "$WG_TESTS_DIR/netns-conf.py" "$@"; }
genl() { local ns=$1; shift; nsx "$ns" python3 -S "$WG_TESTS_DIR/netns-genl.py" "$@"; }
pubkey_new() { wg genkey | wg pubkey; }

# keyfile TEXT: a file holding TEXT, for wg's key-from-file options.
keyfile() {
	local f
	f=$(mktemp "$T/key.XXXXXX")
	printf '%s\n' "$1" >"$f"
	echo "$f"
}

# eq GOT WANT [WHAT]
eq() {
	[ "$1" = "$2" ] && return 0
	printf '%s: expected [%s]\n%s       got [%s]\n' "${3:-value}" "$2" "${3//?/ }" "$1"
	return 1
}

# dump NS DEV: `wg show DEV dump`, peers and allowed IPs sorted.
dump() { nsx "$1" wg show "$2" dump | conf normdump; }

# same_dump NS DEV FILE: the device's normalized dump equals FILE.
same_dump() {
	local now
	now=$(dump "$1" "$2") || return 1
	diff -u "$3" - <<<"$now"
}

# expect_dump NS DEV: compares the device with the dump lines on stdin
# (written unnormalized, tab-separated).
expect_dump() {
	local want
	want=$(conf normdump) || return 1
	diff -u <(printf '%s\n' "$want") <(dump "$1" "$2")
}

# peers NS DEV: the device's peer public keys, sorted, one a line.
peers() { nsx "$1" wg show "$2" peers | sort; }

has_peer() { peers "$1" "$2" | grep -xF -- "$3" >/dev/null; }

# peer_aips NS DEV PUB: that peer's allowed IPs, sorted, space-separated.
peer_aips() {
	nsx "$1" wg show "$2" allowed-ips | conf aips |
		awk -v p="$3" '$1 == p {print $2}' | sort | paste -sd' '
}

# fails_with PATTERN CMD...: CMD fails and its stderr matches PATTERN.
fails_with() {
	local pat=$1 err
	shift
	if err=$("$@" 2>&1 >/dev/null); then
		echo "succeeded, expected a failure matching '$pat': $*"
		return 1
	fi
	grep -qE -- "$pat" <<<"$err" && return 0
	echo "failed, but stderr does not match '$pat': $err"
	return 1
}

# Ping output, as saved in FILE: loss FILE, the "% packet loss"; received
# FILE, the replies; ping_summary FILE, the lines worth showing.
loss() { sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$1" | tail -n 1; }
received() { sed -n 's/.*transmitted, \([0-9]*\) received.*/\1/p' "$1" | tail -n 1; }
# (A flood ping's dots and backspaces may run into its summary lines.)
ping_summary() {
	grep -a -E 'transmitted|rtt|error|unreachable' "$1" | sed -e $'s/^[.\b]*//' | head -n 3
}

# loss_at_most FILE MAX: the ping run in FILE lost at most MAX percent.
loss_at_most() {
	local l
	l=$(loss "$1")
	[ -n "$l" ] && awk -v l="$l" -v m="$2" 'BEGIN { exit !(l <= m) }' && return 0
	echo "loss ${l:-unknown}%, at most $2% allowed"
	ping_summary "$1"
	return 1
}
