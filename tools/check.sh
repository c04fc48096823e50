#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: runs the VM tests and totals their TAP results.
#
# usage: tools/check.sh RELEASE_KO DEBUG_KO
#
#   boot 1: tests/load.sh with RELEASE_KO and DEBUG_KO in its environment
#   then:   one boot per other tests/*.sh (not lib.sh, load.sh, demo.sh),
#           with WGMPSC_KO=DEBUG_KO and 2 vCPUs
#
# Every "ok"/"not ok" line of a test's output counts ("# SKIP" ones as
# skipped, never as passed).  A run that fails as a whole (the VM timed
# out, crashed, logged a kernel warning, exited non-zero without a failed
# TAP line, or printed no or an incomplete TAP plan) adds one failed test
# named after its file.  The last line of output is always
# "N passed, N failed, N skipped"; the exit status is non-zero on any
# failure.  Per-run serial logs and results are kept in build/vm/check/.
#
# CHECK_TIMEOUT (seconds, default 900) bounds each boot.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VM=$TOP/tools/vm.sh
OUT=$TOP/build/vm/check
TIMEOUT=${CHECK_TIMEOUT:-900}

if [ $# -ne 2 ]; then
	sed -n 's/^# usage: /usage: /p' "${BASH_SOURCE[0]}" >&2
	exit 2
fi
for ko in "$1" "$2"; do
	[ -f "$ko" ] || { echo "check: no module at '$ko'" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
done
RELEASE_KO=$(realpath "$1")
DEBUG_KO=$(realpath "$2")

# The VM boots the newest /boot kernel; a module built for another one
# cannot load, which the tests will report, but say why up front.
kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
kver=${kver#/boot/vmlinuz-}
for ko in "$RELEASE_KO" "$DEBUG_KO"; do
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null) || magic=
	[ "${magic%% *}" = "$kver" ] ||
		echo "check: warning: $ko is built for '${magic%% *}', the VM boots $kver" >&2
done

cd "$TOP" || exit 1
rm -rf "$OUT"
mkdir -p "$OUT"

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
SUMMARY=()

# run_test FILE [vm.sh options...]: boots one VM for FILE and adds its
# results to the totals.
run_test() {
	local file=$1 name dir vmrc verdict start secs
	local pass=0 fail=0 skip=0 plan='' line count reason=''
	local -a notok=()
	shift
	name=$(basename "$file" .sh)
	dir=$OUT/$name
	mkdir -p "$dir"

	echo "=== $file"
	start=$(date +%s)
	"$VM" --timeout "$TIMEOUT" --results "$dir/results" \
		--log "$dir/serial.log" "$@" -- "$file" </dev/null
	vmrc=$?
	secs=$(($(date +%s) - start))

	if [ -f "$dir/results/output" ]; then
		while IFS= read -r line; do
			line=${line%$'\r'}
			if [[ $line =~ ^ok\ [0-9]+ ]]; then
				if [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
					skip=$((skip + 1))
				else
					pass=$((pass + 1))
				fi
			elif [[ $line =~ ^not\ ok\ [0-9]+ ]]; then
				fail=$((fail + 1))
				notok+=("$line")
			elif [[ $line =~ ^1\.\.([0-9]+)$ ]]; then
				plan=${BASH_REMATCH[1]}
			fi
		done <"$dir/results/output"
	fi
	count=$((pass + fail + skip))

	verdict=$(cat "$dir/results/verdict" 2>/dev/null) ||
		verdict="FAILED: vm.sh exited $vmrc without a verdict"
	if [ "$verdict" != clean ]; then
		reason=${verdict#FAILED: }
	elif [ "$vmrc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		reason="exited $vmrc with no failed test"
	elif [ "$count" -eq 0 ]; then
		reason="no TAP results"
	elif [ -z "$plan" ]; then
		reason="no TAP plan: the test stopped early"
	elif [ "$plan" -ne "$count" ]; then
		reason="planned $plan tests, ran $count"
	fi
	if [ -n "$reason" ]; then
		fail=$((fail + 1))
		notok+=("not ok - $file: $reason (logs: ${dir#"$TOP"/})")
	fi

	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	TOTAL_SKIP=$((TOTAL_SKIP + skip))
	SUMMARY+=("$file: $pass passed, $fail failed, $skip skipped (${secs}s)")
	for line in "${notok[@]}"; do
		SUMMARY+=("    $line")
	done
	echo "=== $file: $pass passed, $fail failed, $skip skipped (${secs}s)"
}

# load.sh also proves that ours refuses to load next to the distro's
# module, which it finds at /opt/anchor (never in the module tree).
run_test tests/load.sh --smp 2 --module "$RELEASE_KO" --keep-distro-wireguard \
	--env "RELEASE_KO=$RELEASE_KO" --env "DEBUG_KO=$DEBUG_KO"

for file in tests/*.sh; do
	case "${file##*/}" in
	lib.sh|load.sh|demo.sh) continue ;;
	esac
	run_test "$file" --smp 2 --module "$DEBUG_KO"
done

echo
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
[ "$TOTAL_FAIL" -eq 0 ] && [ "$((TOTAL_PASS + TOTAL_SKIP))" -gt 0 ]
