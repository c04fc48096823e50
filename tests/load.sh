#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load test: the first VM boot of `make check` (tools/check.sh).  Proves,
# in this order, that
#   - the distro's wireguard.ko is gone from the guest's module tree, so
#     `modprobe wireguard` and the "wireguard" link kind fail until one of
#     our modules is loaded;
#   - the release module ($RELEASE_KO) loads, `ip link add ... type
#     wireguard` creates a device whose `ip -d link` kind is wireguard,
#     `wg show` works on it, and the module unloads;
#   - the debug module ($DEBUG_KO) loads and the kernel log has one
#     "wgmpsc: <unit> self-tests: pass" line for every unit listed in
#     tests/selftests.expected, and no "self-tests: fail" line;
#   - with the distro's wireguard.ko loaded (from /opt/anchor, where the
#     harness keeps it out of the module tree), ours refuses to load with
#     a message naming the conflict, and nothing breaks.
# Runs inside the test VM as root; output is TAP.

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh disable=SC1091
. "$HERE/lib.sh"

: "${RELEASE_KO:?RELEASE_KO not set (tools/check.sh passes it)}"
: "${DEBUG_KO:?DEBUG_KO not set (tools/check.sh passes it)}"

KDIR=/lib/modules/$(uname -r)

# --- the distro module is out of reach --------------------------------

distro_wg_absent() {
	local found
	found=$(find "$KDIR" -name 'wireguard.ko*')
	[ -z "$found" ] || { echo "still in the module tree: $found"; return 1; }
}

modprobe_wireguard_fails() {
	if modprobe wireguard; then
		echo "modprobe wireguard succeeded"
		return 1
	fi
	[ ! -d /sys/module/wireguard ] || { echo "a wireguard module is loaded"; return 1; }
}

no_link_kind_yet() {
	if ip link add wgprobe type wireguard 2>/dev/null; then
		ip link del wgprobe
		echo "the wireguard link kind exists before any module is loaded"
		return 1
	fi
}

tap_check "distro wireguard.ko absent from $KDIR" distro_wg_absent
tap_check "modprobe wireguard fails" modprobe_wireguard_fails
tap_check "no wireguard link kind before loading" no_link_kind_yet

# --- release module ----------------------------------------------------

module_gone() {
	[ ! -d "/sys/module/$1" ] || { echo "/sys/module/$1 still there"; return 1; }
}

link_kind_is_wireguard() {
	local out
	out=$(ip -d link show dev "$1") || return 1
	printf '%s\n' "$out"
	printf '%s\n' "$out" | sed 1d | grep -qw wireguard
}

rel_name=$(modinfo -F name "$RELEASE_KO" 2>/dev/null) || rel_name=
if tap_check "release module loads ($RELEASE_KO)" wg_load_module "$RELEASE_KO"; then
	tap_check "release module is in /sys/module" test -d "/sys/module/$rel_name"
	if tap_check "release: ip link add wg0 type wireguard" \
		ip link add wg0 type wireguard; then
		tap_check "release: ip -d link shows kind wireguard" link_kind_is_wireguard wg0
		tap_check "release: wg show wg0" wg show wg0
		tap_check "release: ip link del wg0" ip link del wg0
	fi
	tap_check "release module unloads" wg_unload_module "$RELEASE_KO"
	tap_check "release module is gone" module_gone "$rel_name"
fi

# --- debug module and its self-tests -----------------------------------

dbg_name=$(modinfo -F name "$DEBUG_KO" 2>/dev/null) || dbg_name=
before=$(dmesg | wc -l)
if tap_check "debug module loads ($DEBUG_KO)" wg_load_module "$DEBUG_KO"; then
	if tap_check "debug: ip link add wg0 type wireguard" \
		ip link add wg0 type wireguard; then
		tap_check "debug: ip -d link shows kind wireguard" link_kind_is_wireguard wg0
		tap_check "debug: wg show wg0" wg show wg0
		tap_check "debug: ip link del wg0" ip link del wg0
	fi
	tap_check "debug module unloads" wg_unload_module "$DEBUG_KO"
	tap_check "debug module is gone" module_gone "$dbg_name"
fi
# The self-test lines are checked whether or not the load succeeded: a
# failing self-test makes the load fail, and the lines say which.
log=$(dmesg -t | tail -n +"$((before + 1))")

mapfile -t units < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' \
	"$HERE/selftests.expected")
tap_check "tests/selftests.expected lists at least one unit" test "${#units[@]}" -gt 0

selftest_passed() {
	printf '%s\n' "$log" | grep -qFx "wgmpsc: $1 self-tests: pass" && return 0
	echo "no 'wgmpsc: $1 self-tests: pass' in the kernel log; self-test lines:"
	printf '%s\n' "$log" | grep -F 'self-tests' || echo "(none)"
	return 1
}
for unit in "${units[@]}"; do
	tap_check "self-test $unit passes" selftest_passed "$unit"
done

no_selftest_failed() {
	! dmesg -t | grep -F 'self-tests: fail'
}
tap_check "no self-test reports failure" no_selftest_failed

# Units that ran but are not listed are only reported.
printf '%s\n' "$log" | sed -n 's/^wgmpsc: \([^ ]*\) self-tests: pass$/\1/p' |
	while read -r unit; do
		printf '%s\n' "${units[@]}" | grep -qFx "$unit" ||
			echo "# self-test $unit passed but is not in tests/selftests.expected"
	done

# --- next to the distro's module ----------------------------------------

ANCHOR=/opt/anchor/wireguard.ko
conflict_refused() {
	dmesg -C
	if wg_load_module "$RELEASE_KO"; then
		echo "wgmpsc loaded next to wireguard.ko"
		wg_unload_module "$RELEASE_KO"
		return 1
	fi
	dmesg | grep -q 'already registered, most likely by the distribution' ||
		{ dmesg | tail -5; return 1; }
}

# The two register the same link kind and genl family: ours must say so
# and fail cleanly, and the distro's must keep working.
if [ -f "$ANCHOR" ]; then
	if tap_check "distro wireguard.ko loads from $ANCHOR" wg_load_module "$ANCHOR"; then
		tap_check "wgmpsc refuses to load next to it, naming the conflict" conflict_refused
		tap_check "the distro module still creates devices" \
			sh -c 'ip link add wgd type wireguard && ip link del wgd'
		tap_check "the distro module unloads" rmmod wireguard
	fi
else
	tap_skip "wgmpsc refuses to load next to the distro module" "no $ANCHOR (run without --keep-distro-wireguard)"
fi

tap_done
