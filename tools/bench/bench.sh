#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: wgmpsc against the distribution's wireguard.ko ("anchor"),
# both measured in the same QEMU (TCG) VMs of tools/vm.sh, interleaved.
#
# usage: tools/bench/bench.sh [WGMPSC_KO]     (default: src/wgmpsc.ko)
#
# ONLY="PART..." (space or comma separated; `make bench ONLY=mem`) runs some
# parts alone; the default is all of them:
#   mem    memory per peer and configuration times (alias: config)
#   queue  the queue microbenchmark (tools/bench/kmod)
#   net    ping, TCP, UDP through the tunnel and over the bare veth
#          (aliases: tput, throughput)
#   hs     handshakes: responder rate, throughput during a flood
#          (alias: handshakes)
#   profile where a TCP stream's CPU time goes, per MB, both modules:
#          softirqs, IPIs, context switches, threads' CPU time by kind
#          (guest-profile.sh; in the net boots; tools/bench/profile.sh
#          runs it alone)
#   native the queue benchmark natively on this host's cores, no VM
#          (tools/bench/native; `make bench-native` runs it alone)
#
# Boots, in this order (each its own VM; see guest.sh for what runs):
#   mem/queue: for each round r = 1..BENCH_ROUNDS, for each vCPU count of
#              BENCH_MEM_SMP, one boot "mem-S-rR": one run of the queue
#              microbenchmark, then the memory and configuration round r:
#              wgmpsc, then the anchor.  The anchor's device is never
#              deleted, except in round 1 (timed, capped at BENCH_DEL_CAP
#              s): a 20,000-peer anchor device takes many minutes to delete
#              under TCG, so the VM is powered off instead.  BENCH_BIG
#              peers on wgmpsc alone in round 1.  (ONLY=queue: one boot per
#              vCPU count with BENCH_ROUNDS runs.)
#   net/hs:    for each vCPU count of BENCH_NET_SMP (hs alone: BENCH_HS_SMP),
#              one boot "net-S": BENCH_ROUNDS rounds of the bare veth and
#              both modules, anchor and wgmpsc alternating first; the
#              handshake measures at the vCPU counts of BENCH_HS_SMP.
#   native:    before any boot, on the host: build/bench-native/qbench-native
#              (its quick run with BENCH_QUICK=1), output in native.txt.
# Then tools/bench/report.py writes BENCH_OUT_DIR/results.md (also printed)
# and the PNG plots.
#
# Environment (defaults):
#   BENCH_ROUNDS=5 BENCH_PEERS=20000 BENCH_BIG=1000000 BENCH_DEL_CAP=120
#   BENCH_DUR=5 (seconds per iperf3 run) BENCH_PINGS=50 BENCH_UDP_RATE=50M
#   BENCH_MEM_SMP="2 8" BENCH_NET_SMP="2 4" BENCH_HS_SMP=2
#   BENCH_VM_MEM=4096 (MB)  QBENCH_ITEMS=131072
#   BENCH_OUT_DIR=bench  BENCH_WORK=build/bench
#   KERNEL=trixie (the kernel of tools/kernels/list booted, whose
#   wireguard.ko is the anchor; `make bench KERNEL=NAME`)
#   BENCH_PREEMPT= (MODE: boot with preempt=MODE, tools/vm.sh --preempt)
# BENCH_QUICK=1 is the smoke run (also run by `make check`): one round,
# 2 vCPUs, tiny sizes, and its output goes to build/bench-quick/out, never
# over bench/results.md, unless BENCH_OUT_DIR says otherwise.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$TOP/tools/bench
VM=$TOP/tools/vm.sh
WORK=$TOP/build/bench
OUT=$TOP/bench
PY=/usr/bin/python3

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_ROUNDS:=1}" "${BENCH_PEERS:=200}" "${BENCH_BIG:=1000}"
	: "${BENCH_DEL_CAP:=30}" "${BENCH_DUR:=1}" "${BENCH_PINGS:=5}"
	: "${QBENCH_ITEMS:=4096}" "${BENCH_NET_SMP:=2}" "${BENCH_MEM_SMP:=2}"
	: "${BENCH_VM_MEM:=2048}"
	: "${BENCH_OUT_DIR:=$TOP/build/bench-quick/out}" "${BENCH_WORK:=$TOP/build/bench-quick}"
fi
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_PEERS=${BENCH_PEERS:-20000}
BENCH_BIG=${BENCH_BIG:-1000000}
BENCH_DEL_CAP=${BENCH_DEL_CAP:-120}
BENCH_DUR=${BENCH_DUR:-5}
BENCH_PINGS=${BENCH_PINGS:-50}
BENCH_UDP_RATE=${BENCH_UDP_RATE:-50M}
BENCH_MEM_SMP=${BENCH_MEM_SMP:-2 8}
BENCH_NET_SMP=${BENCH_NET_SMP:-2 4}
BENCH_HS_SMP=${BENCH_HS_SMP:-2}
BENCH_VM_MEM=${BENCH_VM_MEM:-4096}
QBENCH_ITEMS=${QBENCH_ITEMS:-131072}
WORK=${BENCH_WORK:-$WORK}
OUT=${BENCH_OUT_DIR:-$OUT}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: [$(date +%H:%M:%S)] $*"; }

# The parts to run, canonical names only.
PARTS=
for p in ${ONLY:-mem queue net hs profile native}; do
	p=${p//,/ }
	for q in $p; do
		case $q in
		mem|config) q=mem ;;
		queue) ;;
		net|tput|throughput) q=net ;;
		hs|handshakes) q=hs ;;
		profile|native) ;;
		*) die "ONLY: unknown part '$q' (mem, queue, net, hs, profile, native)" ;;
		esac
		[[ " $PARTS " == *" $q "* ]] || PARTS="$PARTS $q"
	done
done
PARTS=${PARTS# }
[ -n "$PARTS" ] || die "ONLY: no part given"
has() { [[ " $PARTS " == *" $1 "* ]]; }
# Whether any part boots a VM (native alone needs no module).
vms() { has mem || has queue || has net || has hs || has profile; }

for n in "$BENCH_ROUNDS" "$BENCH_PEERS" "$BENCH_DEL_CAP" "$BENCH_DUR" "$BENCH_PINGS" "$QBENCH_ITEMS"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "not a positive number: '$n'"
done
[[ $BENCH_BIG =~ ^[0-9]+$ ]] || die "BENCH_BIG: not a number: '$BENCH_BIG'"
$PY -c 'import cryptography' 2>/dev/null || die "python3-cryptography is missing (make deps)"

SRC_KO=${1:-$TOP/src/wgmpsc.ko}
if vms; then
	[ -f "$SRC_KO" ] || die "no module at $SRC_KO (make module)"
	# The Makefile's stamp: the flavour, then the kernel tree built for.
	read -r flavour _ 2>/dev/null <"$TOP/src/.flavour" || flavour=
	if [ -z "${1:-}" ] && [ "$flavour" != release ]; then
		die "src/wgmpsc.ko is not the release build (src/.flavour: $(cat "$TOP/src/.flavour" 2>/dev/null)); run make module"
	fi
fi
# The kernel: booted, and built for with its own release's compiler
# (tools/kernels/make.sh), the same as `make KERNEL=...`.
KERNEL=${KERNEL:-trixie}
KERNEL_DIR=$("$TOP/tools/kernels/fetch.sh" "$KERNEL") || die "no kernel '$KERNEL' (tools/kernels/list)"
KDIR=$(sed -n 's/^KDIR=//p' "$KERNEL_DIR/kernel.env")
VM_KERNEL=(--kernel "$KERNEL_DIR/bzImage" ${BENCH_PREEMPT:+--preempt "$BENCH_PREEMPT"})

# WORK is wiped: refuse anything that is not a directory of its own.
case $(realpath -m "$WORK") in
"$TOP"/build/*|/tmp/?*) ;;
*) die "BENCH_WORK must be under $TOP/build or /tmp: '$WORK'" ;;
esac
T_START=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK/data/keys" "$WORK/runs" "$OUT"
rm -f "$OUT"/results.md "$OUT"/samples.txt "$OUT"/boots.txt "$OUT"/run-info.txt \
	"$OUT"/rows.txt "$OUT"/native.txt "$OUT"/*.png
log "parts: $PARTS; rounds $BENCH_ROUNDS; output in $OUT"

# The module under test is copied at once: others may rebuild src/ while
# the VMs run.
WGMPSC_KO=
GIT_DESC=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
if vms; then
	cp "$SRC_KO" "$WORK/wgmpsc.ko"
	WGMPSC_KO=$WORK/wgmpsc.ko
	log "wgmpsc: $SRC_KO ($(modinfo -F vermagic "$WGMPSC_KO" | cut -d' ' -f1), srcversion $(modinfo -F srcversion "$WGMPSC_KO"))"
fi

# The queue benchmark module, built from a copy of tools/bench/kmod
# against wgmpsc's src/mpsc.c.
QBENCH_KO=$WORK/kmod/wgmpsc_qbench.ko
if has queue; then
	log "building the queue benchmark module"
	cp -a "$HERE/kmod" "$WORK/kmod"
	"$TOP/tools/kernels/make.sh" "$KERNEL" -s -C "$KDIR" M="$WORK/kmod" WGMPSC_SRC="$TOP/src" modules >"$WORK/kmod/build.log" 2>&1 ||
		{ cat "$WORK/kmod/build.log"; die "queue benchmark module does not build"; }
fi

# Configuration files, made on the host (fast) and read by the guests.
log "generating keys and configurations"
D=$WORK/data
(
	umask 077
	for s in wa wb dev; do
		wg genkey >"$D/keys/$s.key"
		wg pubkey <"$D/keys/$s.key" >"$D/keys/$s.pub"
	done
)
if has mem; then
	for n in "$BENCH_PEERS" $([ "$BENCH_BIG" -gt 0 ] && echo "$BENCH_BIG"); do
		$PY "$HERE/genpeers.py" "$n" "$D/peers-$n.conf" "$D/keys/dev.key" >"$D/peers-$n.keys" || die "genpeers"
	done
fi
if has hs; then
	HS_IDS=64
	$PY "$HERE/hsinit.py" keys $HS_IDS "$D/hs-initiators.keys" >"$D/hs-initiators.pub" || die "hsinit keys"
	awk '{ printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.78.%d.%d/32\n", $1, int(NR / 256), NR % 256 }' \
		"$D/hs-initiators.pub" >"$D/hs-peers.conf"
	# Enough initiations that the closed loop never wraps at several
	# thousand per second (its timestamps must stay new); the flood wraps
	# around its file, replays are load too.
	$PY "$HERE/hsinit.py" gen "$(cat "$D/keys/wb.pub")" "$D/hs-initiators.keys" \
		$((8000 * BENCH_DUR)) "$D/hs-closed.bin" || die "hsinit gen"
	$PY "$HERE/hsinit.py" gen "$(cat "$D/keys/wb.pub")" "$D/hs-initiators.keys" \
		$((20000 * BENCH_DUR)) "$D/hs-flood.bin" || die "hsinit gen"
fi

COMMON_ENV=(--env "BENCH_DATA=$D" --env "BENCH_KEYS=$D/keys" --env "QBENCH_KO=$QBENCH_KO"
	--env "BENCH_PEERS=$BENCH_PEERS" --env "BENCH_DEL_CAP=$BENCH_DEL_CAP"
	--env "BENCH_DUR=$BENCH_DUR" --env "BENCH_PINGS=$BENCH_PINGS"
	--env "BENCH_UDP_RATE=$BENCH_UDP_RATE" --env "QBENCH_ITEMS=$QBENCH_ITEMS"
	--env "BENCH_PERF=${BENCH_PERF:-0}")

# A snapshot of vm.sh, taken now: bash reads a script as it runs it, and an
# edit to tools/vm.sh during a long run would break a boot halfway.  It
# sits in build/, one level below the top like tools/, so that it finds
# the repository from its own path as vm.sh does.  (tools/lib.sh, which
# vm.sh sources as it starts, is read whole then, not as a boot runs.)
VM_COPY=$TOP/build/.bench-vm-$$.sh
cp "$VM" "$VM_COPY" || die "cannot copy $VM"
trap 'rm -f "$VM_COPY"' EXIT
trap 'exit 130' INT TERM HUP
vm() { "$VM_COPY" "$@"; }

FAILED=()
: >"$OUT/boots.txt"
BOOT_N=0
# The boots of this run, for "boot i/N" progress lines.
BOOTS_TOTAL=0
if has mem; then
	BOOTS_TOTAL=$((BENCH_ROUNDS * $(wc -w <<<"$BENCH_MEM_SMP")))
elif has queue; then
	BOOTS_TOTAL=$(wc -w <<<"$BENCH_MEM_SMP")
fi
if has net || has profile; then
	BOOTS_TOTAL=$((BOOTS_TOTAL + $(wc -w <<<"$BENCH_NET_SMP")))
elif has hs; then
	BOOTS_TOTAL=$((BOOTS_TOTAL + $(wc -w <<<"$BENCH_HS_SMP")))
fi

# boot NAME SMP TIMEOUT ENV... -- PHASES...
boot() {
	local name=$1 smp=$2 timeout=$3 dir t0 rc secs
	local -a envs=()
	shift 3
	while [ "$1" != -- ]; do envs+=(--env "$1"); shift; done
	shift
	dir=$WORK/runs/$name
	mkdir -p "$dir"
	BOOT_N=$((BOOT_N + 1))
	log "boot $BOOT_N/$BOOTS_TOTAL $name: $smp vCPUs, phases: $* ($((($(date +%s) - T_START) / 60)) min so far)"
	t0=$(date +%s)
	# The guest's progress notes and samples are shown as they come.
	vm --smp "$smp" --mem "$BENCH_VM_MEM" --timeout "$timeout" "${VM_KERNEL[@]}" \
		--keep-distro-wireguard --module "$WGMPSC_KO" \
		--results "$dir/results" --log "$dir/serial.log" \
		"${COMMON_ENV[@]}" "${envs[@]}" -- "$HERE/guest.sh" "$@" \
		</dev/null 2>&1 | tee "$dir/console.txt" | sed -u 's/\r$//' |
		grep --line-buffered -E '^(R |bench\[|vm: )' | sed -u 's/^/    /'
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - t0))
	echo "$name smp=$smp rc=$rc seconds=$secs load=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/boots.txt"
	if [ -f "$dir/results/results.txt" ]; then
		sed "s/^R /R $name /" "$dir/results/results.txt" >>"$OUT/samples.txt"
	fi
	if [ "$rc" != 0 ]; then
		FAILED+=("$name (rc=$rc, see ${dir#"$TOP"/})")
		log "boot $name FAILED (rc=$rc)"
	fi
	log "boot $name: ${secs}s"
}

: >"$OUT/samples.txt"
# The native queue benchmark runs first, while no VM of this run is up:
# its figures are the host's cores'.  KERNEL's ptr_ring.h is compiled in.
if has native; then
	log "native queue benchmark (tools/bench/native), on the host"
	ring_h=$(find "$KERNEL_DIR/root/usr/src" -path '*-common/include/linux/ptr_ring.h' | head -n 1)
	make -s -C "$HERE/native" KERNEL="$KERNEL" ${ring_h:+PTR_RING_H="$ring_h"} \
		>"$WORK/native-build.log" 2>&1 ||
		{ cat "$WORK/native-build.log"; die "the native queue benchmark does not build"; }
	quick=()
	[ "${BENCH_QUICK:-0}" = 1 ] && quick=(-q)
	t0=$(date +%s)
	"$TOP/build/bench-native/qbench-native" "${quick[@]}" -s "$WORK/native-samples.txt" |
		tee "$OUT/native.txt" | sed -u 's/^/    /'
	rc=${PIPESTATUS[0]}
	echo "native (host, no VM) rc=$rc seconds=$(($(date +%s) - t0)) load=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/boots.txt"
	cat "$WORK/native-samples.txt" >>"$OUT/samples.txt" 2>/dev/null
	[ "$rc" = 0 ] || FAILED+=("native (rc=$rc, see ${OUT#"$TOP"/}/native.txt)")
fi
if has mem; then
	phases=mem
	has queue && phases="queue mem"
	for r in $(seq "$BENCH_ROUNDS"); do
		for smp in $BENCH_MEM_SMP; do
			envs=("BENCH_ROUND=$r")
			if [ "$r" = 1 ]; then
				envs+=("BENCH_DEL_ANCHOR=1" "BENCH_BIG=$BENCH_BIG")
			fi
			# shellcheck disable=SC2086
			boot "mem-$smp-r$r" "$smp" $((1200 + BENCH_DEL_CAP + BENCH_BIG / 100)) \
				"${envs[@]}" -- $phases
		done
	done
elif has queue; then
	for smp in $BENCH_MEM_SMP; do
		boot "queue-$smp" "$smp" $((600 + BENCH_ROUNDS * 300)) \
			"BENCH_QUEUE_ROUNDS=$BENCH_ROUNDS" -- queue
	done
fi
if has net || has hs || has profile; then
	smps=$BENCH_NET_SMP
	has net || has profile || smps=$BENCH_HS_SMP
	for smp in $smps; do
		hs=0 net=0 phases=
		has hs && [[ " $BENCH_HS_SMP " == *" $smp "* ]] && hs=1
		has net && net=1
		{ has net || [ $hs = 1 ]; } && phases=net
		# The profile's rounds ride on the same boot, after the others.
		has profile && phases="$phases profile"
		# shellcheck disable=SC2086
		boot "net-$smp" "$smp" $((600 + BENCH_ROUNDS * (400 + 16 * BENCH_DUR))) \
			"BENCH_ROUNDS=$BENCH_ROUNDS" "BENCH_NET=$net" "BENCH_HS=$hs" -- $phases
	done
fi

T_END=$(date +%s)
{
	echo "started=$T_START"
	echo "ended=$T_END"
	echo "rounds=$BENCH_ROUNDS"
	echo "peers=$BENCH_PEERS"
	echo "big=$BENCH_BIG"
	echo "del_cap=$BENCH_DEL_CAP"
	echo "dur=$BENCH_DUR"
	echo "pings=$BENCH_PINGS"
	echo "udp_rate=$BENCH_UDP_RATE"
	echo "qbench_items=$QBENCH_ITEMS"
	echo "mem_smp=$BENCH_MEM_SMP"
	echo "net_smp=$BENCH_NET_SMP"
	echo "hs_smp=$BENCH_HS_SMP"
	echo "vm_mem=$BENCH_VM_MEM"
	echo "parts=$PARTS"
	echo "quick=${BENCH_QUICK:-0}"
	echo "wgmpsc_git=$GIT_DESC"
	if [ -n "$WGMPSC_KO" ]; then
		echo "wgmpsc_srcversion=$(modinfo -F srcversion "$WGMPSC_KO")"
		anchor=$(find "$KERNEL_DIR/lib/modules/$(modinfo -F vermagic "$WGMPSC_KO" | cut -d' ' -f1)" -name 'wireguard.ko*' | head -n 1)
		echo "anchor_module=$anchor"
		echo "anchor_version=$( [ -n "$anchor" ] && modinfo -F version "$anchor")"
		echo "guest_kernel=$(modinfo -F vermagic "$WGMPSC_KO" | cut -d' ' -f1)"
	fi
	echo "guest_kernel_name=$KERNEL"
	echo "preempt=${BENCH_PREEMPT:-}"
	echo "qemu=$(qemu-system-x86_64 --version | head -n 1)"
	echo "failed=${#FAILED[@]}"
	for f in "${FAILED[@]}"; do echo "failed_boot=$f"; done
} >"$OUT/run-info.txt"

# BENCH_TAP=FILE: TAP lines on the table's completeness (make check).
# README.md shows the tables of the latest complete run into bench/.
readme=()
if [ "$OUT" = "$TOP/bench" ] && [ "${PARTS% native}" = "mem queue net hs profile" ] &&
	[ "${BENCH_QUICK:-0}" != 1 ] && [ ${#FAILED[@]} = 0 ]; then
	readme=(--readme "$TOP/README.md")
fi
$PY "$HERE/report.py" "$OUT" ${BENCH_TAP:+--tap "$BENCH_TAP"} "${readme[@]}" || die "report failed"
[ "$OUT" = "$TOP/bench" ] || log "written: $OUT/results.md and its plots"
log "total: $(((T_END - T_START) / 60)) min $(((T_END - T_START) % 60)) s of boots and measurement"
if [ ${#FAILED[@]} -gt 0 ]; then
	printf 'bench: failed boot: %s\n' "${FAILED[@]}" >&2
	exit 1
fi
