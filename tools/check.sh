#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: runs the VM tests and totals their TAP results.
#
# usage: tools/check.sh RELEASE_KO DEBUG_KO
#
#   boot 1: tests/load.sh with RELEASE_KO and DEBUG_KO in its environment
#   then:   one boot per other tests/*.sh (not lib.sh, load.sh, demo.sh),
#           except tests/pair-*.sh: two VMs at once (see run_pair),
#           with WGMPSC_KO=DEBUG_KO and 2 vCPUs
#   then:   tests/netlink.sh (some blocks), tests/netns.sh,
#           tests/datapath.sh (some blocks) and tests/conformance.sh
#           against the distro's wireguard.ko of the kernel booted
#   then:   on a kernel with kmemleak, tools/debug-kernel/kmemleak.sh
#   last:   the smoke run of `make bench` (two boots, RELEASE_KO)
#
# Every "ok"/"not ok" line of a test's output counts ("# SKIP" ones as
# skipped, never as passed).  A run that fails as a whole (the VM timed
# out, crashed, logged a kernel warning, exited non-zero without a failed
# TAP line, or printed no or an incomplete TAP plan) adds one failed test
# named after its file.  The last line of output is always
# "N passed, N failed, N skipped"; the exit status is non-zero on any
# failure.  Per-run serial logs and results are kept in
# build/vm/check-LABEL/ (below).  Each run's line and the summary give its
# seconds; the line before the totals, the whole run's.
#
# CHECK_KERNEL: the kernel to boot, a name of tools/kernels/list or a
# bzImage with its module tree next to it (tools/vm.sh --kernel; `make
# check KERNEL=NAME` passes that kernel's, `make check-debug` the debug
# kernel's); default $KERNEL, else trixie.  What the kernel has decides
# the rest (tools/vm.sh --info): the runs against the distro's wireguard.ko
# (load.sh's conflict case, the -intree runs, tests/pair-*.sh, the bench
# smoke run) need it in the kernel's tree, and report a SKIP where it is
# not (the debug kernel); a kernel with kmemleak (the debug kernel) boots
# its test runs with kmemleak off, and the kmemleak step
# (tools/debug-kernel/kmemleak.sh), the only one that scans for leaks, with
# kmemleak on.  Logs go to build/vm/check-LABEL/, LABEL the kernel's name
# ("debug" for the debug kernel, else its release).
# CHECK_PREEMPT=MODE boots every VM with preempt=MODE (vm.sh --preempt: a
# PREEMPT_DYNAMIC kernel, not RT); LABEL gets "-preempt-MODE".
# CHECK_TIMEOUT (seconds, default 900) bounds each boot.
# CHECK_ENV ("NAME=VALUE ...", a word without '=' continuing the value
# before it: "WGT_BLOCKS=ping stress") is exported in every guest (vm.sh
# --env), CHECK_ENV_<run> in one run's (run_test below).
# CHECK_ONLY ("load datapath conformance-intree bench ..."): only these
# runs (names as in the summary); an -intree run is only run when named.

set -u

# The tests' VMs emulate a CPU without AVX: TCG runs the guest's SSE code
# paths (glibc's string functions, the kernel's crypto) faster than its
# emulation of AVX2.  Measured on trixie, 2 vCPUs: the module's build
# under DKMS 265 -> 225 s and its xz 28 -> 20 s, netns.sh 165 -> 146 s,
# conformance.sh 140 -> 133 s.  Nehalem has no RDRAND, which TCG can
# emulate: with it the guest's crng is ready 0.2 s into the boot, not 3-7 s
# (its jitter entropy, a vCPU spinning while getrandom() callers such as
# wg genkey wait).  VM_CPU=max runs them as the bench does.
export VM_CPU=${VM_CPU:-Nehalem,+rdrand}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VM=$TOP/tools/vm.sh
# kernel_image
# shellcheck source=tools/lib.sh
. "$TOP/tools/lib.sh"
TIMEOUT=${CHECK_TIMEOUT:-900}
# The blocks of tests/datapath.sh run against the in-tree driver: in
# `make check` only the routing loop, where the two drivers differ on
# purpose (README's deliberate differences; each side asserts its own);
# with CHECK_INTREE_ALL=1 its traffic and counters, namespaces, roaming,
# NAT, MTU and the loop, then a second boot with the rest (handshake
# flood, receive stress of 10 s, churn, teardown).  All of it passed
# against the in-tree driver too, but its 4-5 minutes more per run are
# what the kernel matrix needs (.ci/run).  churn must follow stress (it
# checks that deleting wg-b closes wgs2's sockets).
if [ -n "${CHECK_INTREE_ALL:-}" ]; then
	DATAPATH_INTREE_BLOCKS="topology ping iperf4 outer6 roam nat mtu loop"
else
	DATAPATH_INTREE_BLOCKS="topology loop"
fi
DATAPATH_INTREE2_BLOCKS="topology flood stress churn teardown"
# env_args "NAME=VALUE NAME=VALUE ...": prints vm.sh's --env options, one
# a line, for it; a word without '=' continues the value before it
# ("WGT_BLOCKS=topology ping NAME=..." gives WGT_BLOCKS "topology ping").
env_args() {
	local w kv=
	local -a words
	read -r -d "" -a words <<<"$1" || true
	for w in "${words[@]}"; do
		if [[ $w == *=* ]] || [ -z "$kv" ]; then
			[ -z "$kv" ] || printf -- '--env\n%s\n' "$kv"
			kv=$w
		else
			kv+=" $w"
		fi
	done
	[ -z "$kv" ] || printf -- '--env\n%s\n' "$kv"
}
VMOPTS=()
TESTOPTS=()
mapfile -t -O 0 VMOPTS < <(env_args "${CHECK_ENV:-}")
if [ $# -ne 2 ]; then
	sed -n 's/^# usage: /usage: /p' "${BASH_SOURCE[0]}" >&2
	exit 2
fi
fail_setup() {
	echo "check: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
for ko in "$1" "$2"; do
	[ -f "$ko" ] || fail_setup "no module at '$ko'"
done
RELEASE_KO=$(realpath "$1")
DEBUG_KO=$(realpath "$2")

# The kernel, and what it has (tools/vm.sh --info).
IMAGE=$(kernel_image "${CHECK_KERNEL:-}") || fail_setup "no kernel '${CHECK_KERNEL:-${KERNEL:-trixie}}'"
declare -A KF=()
while IFS='=' read -r k v; do KF[$k]=$v; done < <("$VM" --kernel "$IMAGE" --info)
[ -n "${KF[release]:-}" ] || fail_setup "cannot read $IMAGE (tools/vm.sh --info)"
VMOPTS+=(--kernel "${KF[image]}")
LABEL=${KF[name]:-${KF[release]}}
[ "${KF[debug]}" = 0 ] || LABEL=debug
if [ -n "${CHECK_PREEMPT:-}" ]; then
	VMOPTS+=(--preempt "$CHECK_PREEMPT")
	LABEL+=-preempt-$CHECK_PREEMPT
fi
# On a kernel with kmemleak the tests' boots have it off (vm.sh
# --no-kmemleak): only the kmemleak step at the end scans for leaks, and in
# every other boot kmemleak's bookkeeping of each allocation only slows
# the guest down (each exec took 1.8 times as long with it under TCG).
[ "${KF[kmemleak]}" = 0 ] || TESTOPTS+=(--no-kmemleak)
OUT=$TOP/build/vm/check-$LABEL
NO_ANCHOR="needs the distro's wireguard.ko, which ${KF[release]}'s module tree does not have"
echo "=== kernel: ${KF[release]} (${KF[image]})${CHECK_PREEMPT:+, preempt=$CHECK_PREEMPT}; logs in ${OUT#"$TOP"/}"

# A module built for another kernel cannot load, which the tests will
# report, but say why up front.
for ko in "$RELEASE_KO" "$DEBUG_KO"; do
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null) || magic=
	[ "${magic%% *}" = "${KF[release]}" ] ||
		echo "check: warning: $ko is built for '${magic%% *}', the VM boots ${KF[release]}" >&2
done
CHECK_START=$(date +%s)

cd "$TOP" || exit 1
rm -rf "$OUT"
mkdir -p "$OUT"

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
SUMMARY=()

# run_test FILE [vm.sh options...]: boots one VM for FILE and adds its
# results to the totals.  RUN_AS=NAME runs it under another name (its
# own log directory and summary line).  CHECK_ENV_<NAME> ("NAME=VALUE
# ...", '-' in NAME as '_': CHECK_ENV_datapath_intree) is exported in that
# run's guest only, after (over) CHECK_ENV and what this script sets.
run_test() {
	local file=$1 name dir vmrc start envvar
	local -a envs=()
	shift
	name=${RUN_AS:-$(basename "$file" .sh)}
	dir=$OUT/$name
	mkdir -p "$dir"
	envvar=CHECK_ENV_${name//-/_}
	mapfile -t envs < <(env_args "${!envvar:-}")

	echo "=== $file${RUN_AS:+ ($RUN_AS)}"
	start=$(date +%s)
	"$VM" --timeout "$TIMEOUT" --results "$dir/results" \
		--log "$dir/serial.log" "$@" "${envs[@]}" -- "$file" </dev/null
	vmrc=$?
	tally "$file${RUN_AS:+ ($RUN_AS)}" "$dir" "$vmrc" $(($(date +%s) - start))
}

# run_pair FILE: a test that needs two kernels (tests/pair-*.sh): two VMs
# of one vCPU each, joined by a virtio-net link (vm.sh --nic-dgram), boot
# at once, one with the distro's wireguard.ko (WGT_ROLE=anchor) and one
# with wgmpsc (WGT_ROLE=wgmpsc); each side's TAP lines count.  They share
# WGT_PAIR_SEED, from which both derive the keys.
run_pair() {
	local file=$1 name dir seed start pa pb rca=0 rcb=0 port
	name=$(basename "$file" .sh)
	dir=$OUT/$name
	mkdir -p "$dir"
	seed=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	# Free UDP ports on the host's loopback for the link's two ends.
	port=$((40000 + RANDOM % 20000))
	echo "=== $file (two VMs)"
	start=$(date +%s)
	"$VM" --timeout "$TIMEOUT" --results "$dir/anchor/results" --log "$dir/anchor/serial.log" \
		--smp 1 --keep-distro-wireguard --module /opt/anchor/wireguard.ko "${VMOPTS[@]}" \
		--nic-dgram "$port:$((port + 1))" --env WGT_ROLE=anchor --env "WGT_PAIR_SEED=$seed" \
		-- "$file" </dev/null >"$dir/anchor.out" 2>&1 &
	pa=$!
	"$VM" --timeout "$TIMEOUT" --results "$dir/wgmpsc/results" --log "$dir/wgmpsc/serial.log" \
		--smp 1 --module "$DEBUG_KO" "${VMOPTS[@]}" \
		--nic-dgram "$((port + 1)):$port" --env WGT_ROLE=wgmpsc --env "WGT_PAIR_SEED=$seed" \
		-- "$file" </dev/null >"$dir/wgmpsc.out" 2>&1 &
	pb=$!
	wait "$pa" || rca=$?
	wait "$pb" || rcb=$?
	sed 's/^/anchor: /' "$dir/anchor.out" | grep -v '^anchor: \[' || true
	sed 's/^/wgmpsc: /' "$dir/wgmpsc.out" | grep -v '^wgmpsc: \[' || true
	tally "$file (anchor side)" "$dir/anchor" "$rca" $(($(date +%s) - start))
	tally "$file (wgmpsc side)" "$dir/wgmpsc" "$rcb" $(($(date +%s) - start))
}

# tally NAME DIR VMRC SECS: adds the TAP results of the boot whose results
# are in DIR/results to the totals.
tally() {
	local file=$1 dir=$2 vmrc=$3 secs=$4 verdict
	local pass=0 fail=0 skip=0 plan='' line count reason=''
	local -a notok=()

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
	# vm.sh reran the boot once after a known emulator fault: said, not
	# hidden (results/*.try1 and the serial log's .try1 keep that attempt).
	if [ -f "$dir/results/retried" ]; then
		SUMMARY+=("    # booted twice: the first attempt died of an emulator fault: $(<"$dir/results/retried")")
	fi
	echo "=== $file: $pass passed, $fail failed, $skip skipped (${secs}s)"
}

# CHECK_ONLY ("load datapath bench ..."): only these runs, for working on
# one of them or for a subset (.ci/run); the summary says what was left out.
wanted() {
	[ -z "${CHECK_ONLY:-}" ] && return 0
	case " $CHECK_ONLY " in *" $1 "*) return 0 ;; esac
	SUMMARY+=("$1: not run (CHECK_ONLY)")
	return 1
}

# load.sh also proves that ours refuses to load next to the distro's
# module, which it finds at /opt/anchor (never in the module tree).
# Without it in the kernel's tree, load.sh reports that case as a SKIP.
if wanted load; then
	keep=()
	[ "${KF[anchor]}" = 0 ] || keep=(--keep-distro-wireguard)
	run_test tests/load.sh --smp 2 --module "$RELEASE_KO" "${keep[@]}" "${VMOPTS[@]}" \
		"${TESTOPTS[@]}" --env "RELEASE_KO=$RELEASE_KO" --env "DEBUG_KO=$DEBUG_KO"
fi

# install.sh boots a Debian machine of the kernel's own release
# (tools/kernels/machine.sh: its packages installed, dkms, wireguard-tools)
# with the package (CHECK_DEB, else `make deb`'s build/deb/*.deb) and the
# distro's wireguard.ko in place: which of the two the system loads is the
# point.  CHECK_INSTALL_LATER=NAME also installs kernel NAME's headers
# afterwards (tools/kernels/machine.sh --headers-debs), which DKMS must
# build for too.  DKMS's build under TCG takes minutes: its own timeout.
run_install() {
	local deb=${CHECK_DEB:-} root later=() dir=$OUT/install-later
	if [ -z "${KF[name]}" ] || [ "${KF[anchor]}" = 0 ]; then
		TOTAL_SKIP=$((TOTAL_SKIP + 1))
		SUMMARY+=("tests/install.sh: SKIP: ${KF[image]} is not a Debian kernel of tools/kernels/list")
		return 0
	fi
	if [ -z "$deb" ]; then
		# tools/deb.sh leaves one package there.
		for deb in "$TOP"/build/deb/wgmpsc-dkms_*_all.deb; do :; done
	fi
	if [ ! -f "$deb" ] || ! root=$("$TOP/tools/kernels/machine.sh" "${KF[name]}"); then
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		SUMMARY+=("tests/install.sh: FAILED: no package ('${deb}'; make deb) or no machine root")
		return 0
	fi
	if [ -n "${CHECK_INSTALL_LATER:-}" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		# shellcheck disable=SC2046 # one path a line
		cp $("$TOP/tools/kernels/machine.sh" --headers-debs "$CHECK_INSTALL_LATER") "$dir/" &&
			sed -n 's/^KREL=//p' "$("$TOP/tools/kernels/fetch.sh" "$CHECK_INSTALL_LATER")/kernel.env" \
				>"$dir/release" || return 1
		later=(--env "LATER_DEBS=$dir")
	fi
	run_test tests/install.sh --smp 2 "${VMOPTS[@]}" --timeout 1500 --root "$root" \
		--distro-wireguard-in-place --env "WGMPSC_DEB=$deb" "${later[@]}"
}
! wanted install || run_install

for file in tests/*.sh; do
	case "${file##*/}" in
	lib.sh|load.sh|demo.sh|install.sh) continue ;;
	esac
	wanted "$(basename "$file" .sh)" || continue
	case "${file##*/}" in
	pair-*.sh)
		# The anchor side needs the distro's wireguard.ko.
		if [ "${KF[anchor]}" = 1 ]; then
			run_pair "$file"
		else
			TOTAL_SKIP=$((TOTAL_SKIP + 1))
			SUMMARY+=("$file: SKIP: $NO_ANCHOR")
		fi
		continue ;;
	esac
	run_test "$file" --smp 2 --module "$DEBUG_KO" "${VMOPTS[@]}" "${TESTOPTS[@]}"
done

# The differential runs: the same scenarios against the distro's
# wireguard.ko of the kernel booted, so that every expected outcome that
# is not wgmpsc's own is the in-tree driver's too.  The tests know which
# driver they load (lib.sh, WG_UNDER_TEST) and report what reads wgmpsc's
# debug log or ethtool counters as "# SKIP wgmpsc-specific: ...", and
# assert the in-tree side of README's deliberate differences.
# CHECK_ONLY="netns-intree" (etc.) runs one of them alone; CHECK_ONLY=netns
# runs netns.sh on wgmpsc only.  Without the distro's module: a SKIP each.
INTREE=(--smp 2 --keep-distro-wireguard --module /opt/anchor/wireguard.ko "${VMOPTS[@]}")
if [ "${KF[anchor]}" = 0 ]; then
	for n in netlink netns datapath conformance; do
		wanted "$n-intree" || continue
		TOTAL_SKIP=$((TOTAL_SKIP + 1))
		SUMMARY+=("$n-intree: SKIP: $NO_ANCHOR")
	done
else
	# What netlink.sh expects of requests that name a peer twice, or
	# keep a peer through REPLACE_PEERS.
	wanted netlink-intree &&
		RUN_AS=netlink-intree run_test tests/netlink.sh "${INTREE[@]}" \
			--env "NETLINK_BLOCKS=block_same_key block_differences"
	# The configuration surface, every block; 1,000 peers rather than
	# 20,000 in block_many_peers: the in-tree driver takes about 6
	# minutes under TCG to delete 20,000.
	wanted netns-intree &&
		RUN_AS=netns-intree run_test tests/netns.sh "${INTREE[@]}" \
			--env "WGT_MANY_PEERS=1000"
	# The data path's scenarios (DATAPATH_INTREE_BLOCKS above).
	if wanted datapath-intree; then
		RUN_AS=datapath-intree run_test tests/datapath.sh "${INTREE[@]}" \
			--env "WGT_BLOCKS=$DATAPATH_INTREE_BLOCKS"
		[ -z "${CHECK_INTREE_ALL:-}" ] ||
			RUN_AS=datapath-intree2 run_test tests/datapath.sh "${INTREE[@]}" \
				--env "WGT_BLOCKS=$DATAPATH_INTREE2_BLOCKS" --env WGT_STRESS_SECONDS=10
	fi
	# tests/conformance.sh asserts outcomes (exact counters, key
	# change, down/up, nested tunnels, allowed-IPs drops) that must be
	# the same for both modules: the loop above ran it on wgmpsc.
	wanted conformance-intree &&
		RUN_AS=conformance-intree run_test tests/conformance.sh "${INTREE[@]}"
fi

# Last on a debug kernel: nothing leaked once every device is gone and the
# module is unloaded (kmemleak).  Each scan also reads the struct page of
# every page in use: 1 GB of guest memory (not vm.sh's 2) is plenty for
# this test and made a scan a third shorter under TCG (6.9 s -> 4.7 s).
[ "${KF[kmemleak]}" = 0 ] || ! wanted kmemleak ||
	run_test tools/debug-kernel/kmemleak.sh --smp 2 --mem 1024 --module "$DEBUG_KO" "${VMOPTS[@]}"

# The bench tooling's smoke run (tools/bench/bench.sh with BENCH_QUICK=1:
# one round, 2 vCPUs, tiny sizes, two boots, a few minutes), so that it
# does not rot.  Its TAP lines assert that every table row came out with
# numbers and every plot was written, never the figures themselves.
run_bench_smoke() {
	local dir=$OUT/bench-smoke start rc
	echo "=== tools/bench (smoke run)"
	start=$(date +%s)
	mkdir -p "$dir/results"
	BENCH_QUICK=1 BENCH_WORK=$dir/work BENCH_OUT_DIR=$dir/out BENCH_TAP=$dir/results/output \
		KERNEL=${KF[name]} BENCH_PREEMPT=${CHECK_PREEMPT:-} \
		"$TOP/tools/bench/bench.sh" "$RELEASE_KO" </dev/null 2>&1 | tee "$OUT/bench-smoke.log"
	rc=${PIPESTATUS[0]}
	# Its VMs have their own verdicts (bench.sh fails on any of them):
	# what tally needs is the exit status, in vm.sh's terms.
	if [ "$rc" = 0 ]; then
		echo clean
	else
		echo "FAILED: bench.sh exited $rc (log: ${OUT#"$TOP"/}/bench-smoke.log)"
	fi >"$dir/results/verdict"
	tally "tools/bench (smoke)" "$dir" "$rc" $(($(date +%s) - start))
}
if ! wanted bench; then
	:
elif [ "${KF[anchor]}" = 0 ]; then
	# It measures against the distro's wireguard.ko.
	TOTAL_SKIP=$((TOTAL_SKIP + 1))
	SUMMARY+=("tools/bench (smoke): SKIP: $NO_ANCHOR")
elif [ -z "${KF[name]}" ]; then
	# It builds its queue module with that kernel's own compiler.
	TOTAL_SKIP=$((TOTAL_SKIP + 1))
	SUMMARY+=("tools/bench (smoke): SKIP: ${KF[image]} is not a kernel of tools/kernels/list")
else
	run_bench_smoke
fi

echo
echo "=== summary (${KF[release]}${CHECK_PREEMPT:+, preempt=$CHECK_PREEMPT})"
printf '%s\n' "${SUMMARY[@]}"
secs=$(($(date +%s) - CHECK_START))
echo "time: $((secs / 60)) min $((secs % 60)) s"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
[ "$TOTAL_FAIL" -eq 0 ] && [ "$((TOTAL_PASS + TOTAL_SKIP))" -gt 0 ]
