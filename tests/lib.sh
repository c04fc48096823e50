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
# failure, as TAP diagnostics.
tap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$name"
	else
		tap_not_ok "$name"
		printf '%s\n' "$out" | sed 's/^/# /'
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

wg_unload_module() {
	local name
	name=$(modinfo -F name "${1:-$WGMPSC_KO}")
	rmmod "$name"
}
