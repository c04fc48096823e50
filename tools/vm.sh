#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs one command in a throw-away QEMU (TCG) VM booted from one of Debian's
# kernels (tools/kernels/list, fetched into the cache) or any other kernel
# image with its module tree next to it, with the host's / as a read-only
# root (9p under a tmpfs overlay), and fails closed: the verdict comes only
# from the exit code the guest wrote, and any kernel warning/BUG/oops/stall
# in the serial log or the guest's dmesg fails the run.
#
# usage: tools/vm.sh [--smp N] [--mem MB] [--timeout SEC] [--module PATH]
#                    [--kernel BZIMAGE|NAME] [--preempt MODE]
#                    [--keep-distro-wireguard | --distro-wireguard-in-place]
#                    [--root DIR] [--no-kmemleak]
#                    [--env NAME=VALUE]... [--nic-dgram LPORT:RPORT]
#                    [--log FILE] [--results DIR] -- CMD [ARGS...]
#        tools/vm.sh [--kernel BZIMAGE|NAME] --info
#
#   --smp N          vCPUs (default 2)
#   --mem MB         guest memory (default 2048)
#   --timeout SEC    wall-clock limit for the whole VM (default 900)
#   --module PATH    module under test; the guest sees WGMPSC_KO=<abs path>
#   --kernel BZIMAGE|NAME
#                    the kernel to boot: a NAME of tools/kernels/list
#                    (fetched first if need be), or a bzImage whose
#                    /lib/modules/<release> is DIR/lib/modules/<release>
#                    next to it (DIR as in `make modules_install
#                    INSTALL_MOD_PATH=DIR`: tools/kernels/fetch.sh,
#                    tools/debug-kernel/build.sh) or, for an installed
#                    /boot/vmlinuz-<release>, /lib/modules/<release>.
#                    Default: $KERNEL, else trixie (Debian 13's 6.12)
#   --preempt MODE   boot with preempt=MODE (full, voluntary, none, lazy; a
#                    PREEMPT_DYNAMIC kernel only, which must then say it
#                    runs so, in /sys/kernel/debug/sched/preempt or its
#                    log's "Dynamic Preempt: MODE", else the run fails)
#   --keep-distro-wireguard
#                    keep the distro wireguard.ko at /opt/anchor/wireguard.ko
#                    (it is always removed from the guest's module tree);
#                    --module may then name that guest-only path
#   --distro-wireguard-in-place
#                    leave the distro's wireguard.ko where the kernel's
#                    packages put it, for the one test whose point is that
#                    wgmpsc wins over it when both are installed
#                    (tests/install.sh, which asserts which module loaded)
#   --root DIR       boot into DIR (a directory of this host: a Debian
#                    machine of tools/kernels/machine.sh, with the kernel's
#                    own module tree installed) instead of this host's /;
#                    the project, the module and the files named by --env
#                    are bound into it at their own paths
#   --no-kmemleak    boot with kmemleak=off when the kernel has kmemleak
#                    (tools/debug-kernel/, no automatic scans; a no-op on
#                    others), for runs that never scan for leaks: its
#                    bookkeeping of every allocation makes each exec about
#                    1.8 times slower under TCG for nothing
#   --env NAME=VALUE export NAME in the guest (repeatable)
#   VM_CPU (environment) QEMU's -cpu model, default max (the bench's: its
#                    published figures were measured so); tools/check.sh
#                    sets Nehalem,+rdrand for the tests
#   --nic-dgram LPORT:RPORT
#                    a virtio-net NIC (eth0 once virtio_net is loaded) whose
#                    frames are UDP datagrams from host 127.0.0.1:LPORT to
#                    127.0.0.1:RPORT: two VMs with crossed ports share a
#                    link (tests that need two kernels)
#   --log FILE       keep the serial console log in FILE
#   --results DIR    use (and keep) DIR as the guest's /results: cmd, output,
#                    dmesg, tainted, preempt, rc and, from this script,
#                    verdict
#   --info           boot nothing: print what is known of the kernel, one
#                    NAME=VALUE a line: image, release, moddir, name (of
#                    tools/kernels/list, or empty), and 0/1 facts: pvh (a
#                    PVH entry: QEMU boots the extracted vmlinux, faster),
#                    debug (KASAN: tools/debug-kernel/), kmemleak,
#                    preempt_rt, preempt_dynamic, anchor (its tree has the
#                    distro's wireguard.ko)
#
# CMD runs in the guest from the project directory (this repo's path, which
# is the same in the guest): a single argument that is not a file is run
# with `bash -c`, a script without the execute bit with `bash`, anything
# else is executed.  Its output appears live on stdout (the serial console).
#
# Exit status: CMD's exit code when the run is clean, 125 otherwise.  A last
# line on stderr sums up: "vm: rc=N (clean)" or "vm: FAILED: <reasons>".

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMDIR=$TOP/build/vm
# kernel_image, kernel_moddir, bzimage_version, bzimage_release
# shellcheck source=tools/lib.sh
. "$TOP/tools/lib.sh"
HARNESS_FAIL=125

# Modules the initramfs needs to mount the host root; their dependencies
# are resolved from modules.dep.
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

# Kernel log lines that fail a run, wherever they appear.
PROBLEM_RE='WARNING:|BUG:|kernel BUG at|Oops|KASAN|UBSAN|Kernel panic|general protection fault|Call Trace:|[Rr][Cc][Uu].*[Ss]tall|kmemleak|hung_task|blocked for more than|[Ss]oft lockup|Unable to handle kernel|double fault'

# Lines that match PROBLEM_RE but are not problems: a kmemleak kernel
# (the debug kernel) announcing itself at boot.
# kmemleak's own bookkeeping may be refused an allocation when failslab
# injects failures (tests/churn.sh): it says so and scans more, no leak.
PROBLEM_OK_RE='kmemleak: Kernel memory leak detector initialized|kmemleak: Cannot allocate a scan area'
# With --no-kmemleak (only then), kmemleak saying it is off as asked and
# the kernel echoing its command line are not problems either.
PROBLEM_OK_RE_NO_KMEMLEAK='kmemleak: Kernel memory leak detector disabled|\] (Kernel c|C)ommand line: .* kmemleak=off([^[:alnum:]_]|$)'

# Taint flags that fail a run: B (bad page), D (oops), W (warning),
# L (soft lockup).  Unsigned/out-of-tree module taints are expected.
BAD_TAINT=$(((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))

usage() {
	sed -n '/^# usage:/,/^# line on stderr/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit "$HARNESS_FAIL"
}

die() {
	echo "vm: FAILED: $*" >&2
	exit "$HARNESS_FAIL"
}

# The arguments as given, for the one rerun after an emulator fault (below).
ARGS=("$@")
SMP=2
MEM=2048
TIMEOUT=900
MODULE=
KEEP_WG=0
ROOT=
NO_KMEMLEAK=0
KERNEL_ARG=
PREEMPT=
INFO=0
NIC=
LOG=
RESULTS=
ENVS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--smp) SMP=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--module) MODULE=${2:?}; shift 2 ;;
	--kernel) KERNEL_ARG=${2:?}; shift 2 ;;
	--preempt) PREEMPT=${2:?}; shift 2 ;;
	--info) INFO=1; shift ;;
	--keep-distro-wireguard) KEEP_WG=1; shift ;;
	--distro-wireguard-in-place) KEEP_WG=2; shift ;;
	--root) ROOT=${2:?}; shift 2 ;;
	--no-kmemleak) NO_KMEMLEAK=1; shift ;;
	--env) ENVS+=("${2:?}"); shift 2 ;;
	--nic-dgram) NIC=${2:?}; shift 2 ;;
	--log) LOG=${2:?}; shift 2 ;;
	--results) RESULTS=${2:?}; shift 2 ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) echo "vm: unknown option '$1'" >&2; usage ;;
	esac
done
[ $# -gt 0 ] || [ "$INFO" = 1 ] || usage
[ -z "$PREEMPT" ] || [[ $PREEMPT =~ ^(full|voluntary|none|lazy)$ ]] ||
	die "bad --preempt '$PREEMPT' (want full, voluntary, none or lazy)"
for n in "$SMP" "$MEM" "$TIMEOUT"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "not a positive number: '$n'"
done
for kv in "${ENVS[@]}"; do
	[[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "bad --env '$kv' (want NAME=VALUE)"
done
[ -z "$NIC" ] || [[ $NIC =~ ^[1-9][0-9]{3,4}:[1-9][0-9]{3,4}$ ]] ||
	die "bad --nic-dgram '$NIC' (want LPORT:RPORT)"
if [ -n "$ROOT" ]; then
	[ -d "$ROOT" ] || die "no root directory '$ROOT'"
	ROOT=$(realpath "$ROOT")
fi
# /opt/anchor/wireguard.ko exists only in the guest (--keep-distro-wireguard).
ANCHOR_KO=/opt/anchor/wireguard.ko
if [ -n "$MODULE" ] && ! { [ "$KEEP_WG" = 1 ] && [ "$MODULE" = "$ANCHOR_KO" ]; }; then
	[ -f "$MODULE" ] || die "no module at '$MODULE'"
	MODULE=$(realpath "$MODULE")
fi

KERNEL_ARG=${KERNEL_ARG:-${KERNEL:-trixie}}
KERNEL=$(kernel_image "$KERNEL_ARG") || die "no kernel '$KERNEL_ARG'"
KERNEL=$(realpath "$KERNEL")
KVER=$(bzimage_release "$KERNEL") || die "$KERNEL is not a bzImage"
MODDIR=$(kernel_moddir "$KERNEL" "$KVER")
[ -f "$MODDIR/modules.dep" ] || die "no $MODDIR/modules.dep"

# resolve_modules NAME...: prints the modules.dep paths of NAME... and their
# dependencies, each after everything it depends on.
resolve_modules() {
	local -A deps=() path_of=() seen=() builtin=()
	local mod rest name
	local -a order=()
	if [ -f "$MODDIR/modules.builtin" ]; then
		while read -r mod; do
			name=${mod##*/}
			name=${name%%.ko*}
			builtin[${name//-/_}]=1
		done <"$MODDIR/modules.builtin"
	fi
	while IFS=: read -r mod rest; do
		deps[$mod]=$rest
		name=${mod##*/}
		name=${name%%.ko*}
		path_of[${name//-/_}]=$mod
	done <"$MODDIR/modules.dep"

	visit() {
		local m=$1 i
		local -a d
		[ -z "${seen[$m]:-}" ] || return 0
		seen[$m]=1
		read -r -a d <<<"${deps[$m]}"
		# modules.dep lists the closure, innermost dependency last.
		for ((i = ${#d[@]} - 1; i >= 0; i--)); do
			visit "${d[i]}"
		done
		order+=("$m")
	}
	for name in "$@"; do
		[ -z "${builtin[${name//-/_}]:-}" ] || continue
		mod=${path_of[${name//-/_}]:-}
		[ -n "$mod" ] || { echo "vm: module $name not in $MODDIR" >&2; return 1; }
		visit "$mod"
	done
	printf '%s\n' "${order[@]}"
}

# build_initramfs OUT: busybox, /init, vm-keys (tools/guest/keys.c) and the
# modules (uncompressed, so the busybox insmod needs no decompressor), as a
# gzipped newc cpio.
build_initramfs() {
	local out=$1 stage mod ko mods
	mods=$(resolve_modules "${INITRD_MODULES[@]}") || return 1
	stage=$(mktemp -d "$VMDIR/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
	cp /bin/busybox "$stage/bin/busybox"
	gcc -static -Os -s -Wall -o "$stage/bin/vm-keys" "$TOP/tools/guest/keys.c" ||
		return 1
	install -m 0755 "$TOP/tools/guest/init" "$stage/init"
	# The kernel opens /dev/console before running /init.
	mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true
	mknod -m 0666 "$stage/dev/null" c 1 3 2>/dev/null || true
	: >"$stage/modules.list"
	for mod in $mods; do
		ko=${mod##*/}
		ko=${ko%%.ko*}.ko
		case "$mod" in
		*.ko) cp "$MODDIR/$mod" "$stage/lib/modules/$ko" ;;
		*.ko.xz) xz -dc "$MODDIR/$mod" >"$stage/lib/modules/$ko" ;;
		*.ko.zst) zstd -qdc "$MODDIR/$mod" >"$stage/lib/modules/$ko" ;;
		*.ko.gz) gzip -dc "$MODDIR/$mod" >"$stage/lib/modules/$ko" ;;
		*) echo "vm: unknown module format $mod" >&2; return 1 ;;
		esac
		echo "$ko" >>"$stage/modules.list"
	done
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet -R 0:0) | gzip -6n >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
}

# decompress_kernel BZIMAGE OUT: the uncompressed kernel inside a bzImage
# (an ELF of the size the payload announces) into OUT; fails when there is
# none to find.
decompress_kernel() {
	local in=$1 out=$2 ss off len start magic dec size
	ss=$(($(od -An -tu1 -j $((0x1f1)) -N1 "$in")))
	[ "$ss" -ne 0 ] || ss=4
	off=$(($(od -An -tu4 -j $((0x248)) -N4 "$in")))
	len=$(($(od -An -tu4 -j $((0x24c)) -N4 "$in")))
	start=$(((ss + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$start" -N4 "$in" | tr -d ' \n')
	case $magic in
	fd377a58) dec="xz -dc" ;;
	28b52ffd) dec="zstd -qdc" ;;
	1f8b*) dec="gzip -dc" ;;
	*) return 1 ;;
	esac
	# The payload ends with the uncompressed size (4 bytes, LE), which
	# gzip counts as its own trailer and xz/zstd see as garbage.
	size=$(($(od -An -tu4 -j $((start + len - 4)) -N4 "$in")))
	payload() { # payload BYTES
		dd if="$in" iflag=skip_bytes,count_bytes skip="$start" count="$1" \
			bs=1M status=none
	}
	payload $((len - 4)) | $dec >"$out" 2>/dev/null ||
		payload "$len" | $dec >"$out" 2>/dev/null || true
	[ "$(od -An -tx1 -N4 "$out" | tr -d ' \n')" = 7f454c46 ] &&
		[ "$(stat -c %s "$out")" -eq "$size" ]
}

# kernel_facts BZIMAGE FACTS VMLINUX: what the image itself says, read once
# from its uncompressed ELF and cached in FACTS (NAME=0/1 lines):
#   pvh       a Xen PHYS32_ENTRY (18) note: QEMU can boot the ELF directly,
#             saving several seconds of in-guest decompression under TCG
#   debug     KASAN (tools/debug-kernel/): it dies silently at the PVH
#             entry, so QEMU boots its bzImage; and its ACPI interpreter is
#             so slow under TCG that QEMU's PCI routing method hits
#             ACPICA's loop timeout, leaving virtio without interrupts, so
#             it boots with pci=noacpi (the BIOS's routing table)
#   kmemleak  kmemleak is built in (--no-kmemleak has something to turn off)
# The ELF is kept as VMLINUX when QEMU is to boot it (pvh and not debug).
kernel_facts() {
	local in=$1 facts=$2 vmlinux=$3 elf=$2.elf pvh=0 debug=0 kmemleak=0
	if decompress_kernel "$in" "$elf"; then
		LC_ALL=C grep -qaP '(?s)\x04\0\0\0.\0\0\0\x12\0\0\0Xen\0' "$elf" && pvh=1
		grep -qaF 'KernelAddressSanitizer initialized' "$elf" && debug=1
		grep -qaF 'Kernel memory leak detector' "$elf" && kmemleak=1
		if [ "$pvh" = 1 ] && [ "$debug" = 0 ]; then
			mv "$elf" "$vmlinux"
		fi
	else
		echo "vm: cannot decompress $in: booting it as is (slower), facts unknown" >&2
	fi
	rm -f "$elf"
	printf 'pvh=%d\ndebug=%d\nkmemleak=%d\n' "$pvh" "$debug" "$kmemleak" >"$facts.tmp"
	mv "$facts.tmp" "$facts"
}

mkdir -p "$VMDIR"
kkey=$(stat -c '%s %Y %n' "$KERNEL" | sha256sum | cut -c1-16)
VMLINUX=$VMDIR/vmlinux-$KVER-$kkey
FACTS=$VMDIR/kernel-$KVER-$kkey.facts
# facts_current: the facts are there, and so is the vmlinux they promise.
facts_current() {
	[ -s "$FACTS" ] && { [ -s "$VMLINUX" ] || ! grep -qx 'pvh=1' "$FACTS" ||
		grep -qx 'debug=1' "$FACTS"; }
}
if ! facts_current; then
	(
		flock 9
		facts_current && exit 0
		find "$VMDIR" -maxdepth 1 \( -name "vmlinux-$KVER-*" -o -name "kernel-$KVER-*.facts" \) -delete
		kernel_facts "$KERNEL" "$FACTS" "$VMLINUX"
	) 9>"$VMDIR/.vmlinux.lock" || die "cannot read $KERNEL"
fi
declare -A FACT=()
while IFS='=' read -r k v; do FACT[$k]=$v; done <"$FACTS"
# From the version string in the header: "#1 SMP PREEMPT_RT ...".
kversion=$(bzimage_version "$KERNEL")
FACT[preempt_rt]=0 FACT[preempt_dynamic]=0
[[ " $kversion " != *" PREEMPT_RT "* ]] || FACT[preempt_rt]=1
[[ " $kversion " != *" PREEMPT_DYNAMIC "* ]] || FACT[preempt_dynamic]=1
# The anchor: the distro's wireguard.ko in the kernel's own tree (the debug
# kernel has none).
FACT[anchor]=0
grep -qE '^([^:]*/)?wireguard\.ko(\.[a-z]+)?:' "$MODDIR/modules.dep" && FACT[anchor]=1
KIMG=$KERNEL
[ "${FACT[pvh]}" = 0 ] || [ "${FACT[debug]}" = 1 ] || KIMG=$VMLINUX

if [ "$INFO" = 1 ]; then
	kname=
	if [ -f "$(dirname "$KERNEL")/kernel.env" ]; then
		kname=$(sed -n 's/^NAME=//p' "$(dirname "$KERNEL")/kernel.env")
	fi
	printf 'image=%s\nrelease=%s\nmoddir=%s\nname=%s\n' "$KERNEL" "$KVER" "$MODDIR" "$kname"
	for k in pvh debug kmemleak preempt_rt preempt_dynamic anchor; do
		echo "$k=${FACT[$k]}"
	done
	exit 0
fi
[ -z "$PREEMPT" ] || [ "${FACT[preempt_dynamic]}" = 1 ] ||
	die "--preempt $PREEMPT: $KVER is not a PREEMPT_DYNAMIC kernel (${kversion#* \(*\) })"
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64: run tools/deps.sh"
[ -x /bin/busybox ] || die "no /bin/busybox: run tools/deps.sh"
# The initramfs has no libc: busybox must be busybox-static's.
! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is not static (install busybox-static)"

# The initramfs is cached under build/vm, keyed on everything it is made of.
key=$({
	echo "$KVER ${INITRD_MODULES[*]}"
	stat -c '%s %Y %n' "$KERNEL" "$MODDIR/modules.dep" /bin/busybox
	declare -f resolve_modules build_initramfs
	cat "$TOP"/tools/guest/*
} | sha256sum | cut -c1-16)
INITRD=$VMDIR/initramfs-$KVER-$key.cpio.gz
if [ ! -s "$INITRD" ]; then
	(
		flock 9
		if [ ! -s "$INITRD" ]; then
			echo "vm: building $INITRD" >&2
			build_initramfs "$INITRD" || exit 1
			# Older images of this kernel may still be starting a
			# VM elsewhere.
			find "$VMDIR" -maxdepth 1 -name "initramfs-$KVER-*.cpio.gz" \
				! -path "$INITRD" -mmin +60 -delete
		fi
	) 9>"$VMDIR/.initramfs.lock" || die "cannot build the initramfs"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wgmpsc-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -n "$RESULTS" ]; then
	mkdir -p "$RESULTS"
	RESULTS=$(realpath "$RESULTS")
	rm -f "$RESULTS"/{cmd,guest-init,guest-root,guest-binds,output,dmesg,tainted,rc,verdict,preempt}
	[ -n "${VM_RETRY_OF:-}" ] || rm -f "$RESULTS"/{retried,output.try1,dmesg.try1}
else
	RESULTS=$WORK/results
	mkdir "$RESULTS"
fi
if [ -n "$LOG" ]; then
	mkdir -p "$(dirname "$LOG")"
	: >"$LOG"
	LOG=$(realpath "$LOG")
else
	LOG=$WORK/serial.log
fi

# What the guest runs, as bash source: no quoting through the kernel
# command line.
# VM_HOST_PATHS: host files the guest must see, so that run.sh does not
# hide them under a fresh tmpfs (a checkout or module in /tmp, say).
{
	printf 'VM_CWD=%q\n' "$TOP"
	printf 'VM_KEEP_WG=%d\n' "$KEEP_WG"
	printf 'VM_HOST_PATHS=(%q' "$TOP"
	[ -z "$MODULE" ] || printf ' %q' "$MODULE"
	printf ' %q' "$MODDIR"
	for kv in "${ENVS[@]}"; do
		case "${kv#*=}" in /*) [ ! -e "${kv#*=}" ] || printf ' %q' "${kv#*=}" ;; esac
	done
	printf ')\n'
	[ -z "$MODULE" ] || printf 'export WGMPSC_KO=%q\n' "$MODULE"
	# A --root machine has the kernel's own packages installed.
	[ -n "$ROOT" ] || printf 'VM_MODDIR=%q\n' "$MODDIR"
	[ -z "$PREEMPT" ] || printf 'VM_PREEMPT=%q\n' "$PREEMPT"
	for kv in "${ENVS[@]}"; do
		printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
	done
	printf 'VM_CMD=('
	printf '%q ' "$@"
	printf ')\n'
} >"$RESULTS/cmd"
echo "$TOP/tools/guest/run.sh" >"$RESULTS/guest-init"
if [ -n "$ROOT" ]; then
	[ -d "$ROOT/lib/modules/$KVER" ] || die "$ROOT has no /lib/modules/$KVER"
	echo "$ROOT" >"$RESULTS/guest-root"
	{
		echo "$TOP"
		[ -z "$MODULE" ] || echo "$MODULE"
		for kv in "${ENVS[@]}"; do
			case "${kv#*=}" in /*) [ ! -e "${kv#*=}" ] || echo "${kv#*=}" ;; esac
		done
	} >"$RESULTS/guest-binds"
fi

APPEND="console=ttyS0 panic_on_warn=1 oops=panic panic=-1 loglevel=5"
APPEND+=" log_buf_len=16M rdinit=/init printk.devkmsg=on printk.time=1"
# Speed under TCG: no mitigation overhead, no probing for absent hardware.
APPEND+=" mitigations=off 8250.nr_uarts=1 i8042.noaux i8042.nokbd"
APPEND+=" no_timer_check"
# The crng seeded from RDRAND at once (the tests' CPU model has it,
# tools/check.sh), also on the debug kernel, whose config does not trust
# it by default: else getrandom() waits up to 20 s into its boots.
APPEND+=" random.trust_cpu=on"
# The debug kernel's slow ACPI interpreter (kernel_facts above).
[ "${FACT[debug]}" = 0 ] || APPEND+=" pci=noacpi"
[ -z "$PREEMPT" ] || APPEND+=" preempt=$PREEMPT"
if [ "$NO_KMEMLEAK" = 1 ] && [ "${FACT[kmemleak]}" = 1 ]; then
	APPEND+=" kmemleak=off"
	PROBLEM_OK_RE+="|$PROBLEM_OK_RE_NO_KMEMLEAK"
fi

# qemu option values escape ',' by doubling it.
qarg() { printf '%s' "${1//,/,,}"; }

QEMU=(qemu-system-x86_64 -nodefaults -no-user-config
	-machine pc -accel tcg -cpu "${VM_CPU:-max}" -smp "$SMP" -m "$MEM"
	-display none -monitor none -no-reboot
	-kernel "$KIMG" -initrd "$INITRD" -append "$APPEND"
	-chardev "stdio,id=con,signal=off,logfile=$(qarg "$LOG")"
	-serial chardev:con
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$(qarg "$RESULTS"),mount_tag=results,security_model=none,multidevs=remap")
if [ -n "$NIC" ]; then
	# The MAC is derived from the local port so that the two ends differ.
	QEMU+=(-netdev "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=${NIC%:*},remote.type=inet,remote.host=127.0.0.1,remote.port=${NIC#*:}"
		-device "virtio-net-pci,netdev=n0,mac=$(printf '52:54:00:00:%02x:%02x' $((${NIC%:*} >> 8 & 255)) $((${NIC%:*} & 255)))")
fi

# timeout runs QEMU in its own process group, so a signal to this script
# (Ctrl-C, a CI runner stopping the job) is passed on explicitly.
timeout --kill-after=10 "$TIMEOUT" "${QEMU[@]}" </dev/null &
qemu_pid=$!
interrupted=
for sig in INT TERM HUP; do
	# shellcheck disable=SC2064
	trap "interrupted=$sig; kill -TERM $qemu_pid 2>/dev/null" "$sig"
done
status=0
wait "$qemu_pid" || status=$?
while kill -0 "$qemu_pid" 2>/dev/null; do
	status=0
	wait "$qemu_pid" || status=$?
done
trap - INT TERM HUP

reasons=()
if [ -n "$interrupted" ]; then
	reasons+=("interrupted by SIG$interrupted")
else
	case $status in
	0) ;;
	124|137) reasons+=("timed out after ${TIMEOUT}s") ;;
	*) reasons+=("qemu exited with status $status") ;;
	esac
fi

rc=
if [ -f "$RESULTS/rc" ]; then
	rc=$(<"$RESULTS/rc")
	[[ $rc =~ ^[0-9]+$ ]] || { reasons+=("bad exit code '$rc' from the guest"); rc=; }
else
	reasons+=("the guest wrote no exit code (panic, crash or timeout)")
fi

# Kernel problems: on the serial console (sees a panic the guest never got
# to record) and in the guest's own dmesg (sees what the console loglevel
# hid).  On the console only kernel lines count, i.e. from a "[ 1.234567] "
# timestamp on (printk.time=1), which may follow the command's own output
# on the same line; the command may print what it likes.
problems=0
first_problem=
scan() { # scan FILE REGEX LABEL
	local first
	first=$(grep -aE "$2" "$1" 2>/dev/null | grep -vE "$PROBLEM_OK_RE" | head -n 1 | tr -d '\r') || true
	[ -n "$first" ] || return 0
	problems=1
	[ -n "$first_problem" ] || first_problem=$(sed -E 's/^.*\[ *[0-9]+\.[0-9]+\] //' <<<"$first")
	echo "vm: kernel problem lines $3:" >&2
	{ grep -anE "$2" "$1" | grep -vE "$PROBLEM_OK_RE" | tr -d '\r' |
		head -n 40 | sed 's/^/vm:   /' >&2; } || true
}
scan "$LOG" "\[ *[0-9]+\.[0-9]+\] .*($PROBLEM_RE)" "on the serial console"
scan "$RESULTS/dmesg" "$PROBLEM_RE" "in the guest's dmesg"
[ "$problems" -eq 0 ] || reasons+=("kernel problem in the log, first: '$first_problem'")
[ -n "$rc" ] && [ ! -f "$RESULTS/dmesg" ] && reasons+=("the guest wrote no dmesg")
# --preempt: the kernel must have taken the mode, or the run proved nothing
# about it.
# (tools/guest/run.sh wrote what it found in /results/preempt.)
if [ -n "$PREEMPT" ] && [ -n "$rc" ] &&
	! grep -qE "\($PREEMPT\)|Dynamic Preempt: $PREEMPT\b" "$RESULTS/preempt" 2>/dev/null; then
	reasons+=("booted with preempt=$PREEMPT, but the kernel does not say it runs so ($(tr '\n' ' ' <"$RESULTS/preempt" 2>/dev/null))")
fi

if [ -f "$RESULTS/tainted" ]; then
	taint=$(<"$RESULTS/tainted")
	if [[ $taint =~ ^[0-9]+$ ]] && ((taint & BAD_TAINT)); then
		reasons+=("kernel tainted ($taint)")
	fi
elif [ -n "$rc" ]; then
	reasons+=("the guest wrote no taint state")
fi

# Two faults of QEMU 7.2's TCG, not of the guest, that kill a boot now and
# then, seen on Debian's 6.12 only:
#  - a single-step #DB in kernel mode that nothing asked for: the
#    kernel's exc_debug_kernel() WARNs (with panic_on_warn, the guest
#    dies), garbage in the saved EFLAGS (in tcp_recvmsg under iperf3, no
#    frame of ours on the stack);
#  - "Oops: int3" in kernel text that the kernel has just patched (static
#    keys, text_poke_bp()'s int3 protocol): the other vCPU runs a stale
#    translation still holding the temporary int3 after the patching
#    ended (seen at 1.9 s into a boot, before any module was loaded, on
#    an idle vCPU woken by the patch's sync IPI); tools/guest/keys.c
#    keeps the keys that tests flip most switched on, which leaves the
#    boot's and the module loads' patches.
# Either, when it is the first problem of the run, reruns the boot once
# from scratch; the rerun's verdict is final, and results/retried (which
# tools/check.sh reports) keeps what the first attempt died of.
if [ ${#reasons[@]} -gt 0 ] && [ -z "${VM_RETRY_OF:-}" ] &&
	[[ $first_problem =~ ^WARNING:\ .*\ exc_debug_kernel\+|^Oops:\ int3: ]]; then
	echo "vm: RETRY: an emulator fault, not a test's: $first_problem" >&2
	[ "$LOG" = "$WORK/serial.log" ] || cp "$LOG" "$LOG.try1"
	echo "$first_problem" >"$RESULTS/retried"
	for f in output dmesg; do
		[ ! -f "$RESULTS/$f" ] || mv "$RESULTS/$f" "$RESULTS/$f.try1"
	done
	trap - EXIT
	rm -rf "$WORK"
	VM_RETRY_OF=$first_problem exec "${BASH_SOURCE[0]}" "${ARGS[@]}"
fi

if [ ${#reasons[@]} -eq 0 ]; then
	echo clean >"$RESULTS/verdict"
	echo "vm: rc=$rc (clean)" >&2
	exit "$rc"
fi
msg=$(IFS=';'; echo "${reasons[*]}")
msg=${msg//;/; }
echo "FAILED: $msg" >"$RESULTS/verdict"
echo "vm: FAILED: $msg${rc:+ (guest rc=$rc)}" >&2
exit "$HARNESS_FAIL"
