#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM once tools/guest/init has switched to the overlay
# root (the host's / read-only, a tmpfs on top).  Sets up a minimal
# userspace, removes the distro's wireguard.ko, runs the command described
# in /results/cmd (written by tools/vm.sh) from the project directory, then
# records its exit code and the kernel log in /results and powers off.
#
# /results/rc is written last and only after the command has finished:
# the host counts a run without it as failed.
#
# Every exec costs ~20-100 ms under TCG, so setup sticks to bash builtins
# and the static busybox (no dynamic linking) where it can.

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
bb=/bin/busybox

halt_vm() {
	$bb sync
	# busybox's poweroff -f calls reboot(2) itself; Debian's poweroff
	# would try to talk to systemd.
	$bb poweroff -f
	echo o >/proc/sysrq-trigger
	# PID 1 must never exit: that would be a kernel panic.
	while :; do $bb sleep 3600; done
}

fatal() {
	echo "vm-run: FATAL: $*" >&2
	halt_vm
}

declare -A mounted=()
if [ -r /proc/self/mounts ]; then
	while read -r _ mp _; do mounted[$mp]=1; done </proc/self/mounts
fi

# mnt TYPE DIR [OPTIONS]: mounts unless DIR already is a mount point.
mnt() {
	[ -z "${mounted[$2]:-}" ] || return 0
	if ! $bb mkdir -p "$2" || ! $bb mount -t "$1" ${3:+-o "$3"} "$1" "$2"; then
		fatal "cannot mount $1 on $2"
	fi
	mounted[$2]=1
}

# shellcheck source=/dev/null
. /results/cmd || fatal "cannot read /results/cmd"
: "${VM_CWD:?}" "${VM_KEEP_WG:?}" "${VM_CMD[0]:?}"
[ -n "${VM_HOST_PATHS+set}" ] || VM_HOST_PATHS=()

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devtmpfs /dev nosuid,mode=0755
mnt devpts /dev/pts nosuid,noexec,gid=5,mode=0620,ptmxmode=0666
mnt tmpfs /dev/shm nosuid,nodev,mode=1777
$bb ln -sfn pts/ptmx /dev/ptmx
$bb ln -sfn /proc/self/fd /dev/fd
$bb ln -sfn /proc/self/fd/0 /dev/stdin
$bb ln -sfn /proc/self/fd/1 /dev/stdout
$bb ln -sfn /proc/self/fd/2 /dev/stderr
mnt debugfs /sys/kernel/debug
# /run must not show the host's (netns handles, pid files, sockets).
mnt tmpfs /run nosuid,nodev,mode=0755
$bb mkdir -p /run/netns /run/lock
# Scratch directories get a fresh tmpfs, unless it would hide the project,
# the module under test or another host path handed over (VM_HOST_PATHS):
# the overlay is writable anyway.
for d in /tmp /var/tmp /root; do
	for p in "$VM_CWD" "${VM_HOST_PATHS[@]}"; do
		case "$p/" in "$d"/*) continue 2 ;; esac
	done
	mode=1777
	[ "$d" = /root ] && mode=0700
	mnt tmpfs "$d" "nosuid,nodev,mode=$mode"
done

echo wgmpsc-vm >/proc/sys/kernel/hostname
# The preemption mode the kernel runs in, for vm.sh --preempt to check,
# recorded before the command runs (a test may clear the kernel log):
# the scheduler's debugfs file ("none voluntary (full) lazy") and the
# boot's "Dynamic Preempt: full".
if [ -n "${VM_PREEMPT:-}" ]; then
	{
		[ ! -r /sys/kernel/debug/sched/preempt ] || $bb cat /sys/kernel/debug/sched/preempt
		$bb dmesg | $bb grep -o 'Dynamic Preempt: [a-z]*'
	} >/results/preempt 2>/dev/null
fi
# A hung task, soft lockup or RCU stall then ends the run at once (the host
# fails it on the panic) rather than at the timeout.  Set here, not on the
# kernel command line, which the host's log scan would match.
for knob in hung_task_panic softlockup_panic panic_on_rcu_stall; do
	[ ! -w "/proc/sys/kernel/$knob" ] || echo 1 >"/proc/sys/kernel/$knob"
done
$bb ip link set lo up || fatal "cannot bring lo up"

# No test may ever run against the distro's wireguard.ko by accident: it
# leaves the module tree (in this guest's overlay only).  With
# --keep-distro-wireguard it is kept, uncompressed, where only an explicit
# insmod by path can find it.  modules.dep knows every installed copy.
read -r kver </proc/sys/kernel/osrelease
kdir=/lib/modules/$kver
# The kernel's module tree (modules.builtin too, so modprobe of a built-in
# succeeds) is next to its image in the cache (vm.sh --kernel): it is
# /lib/modules/<release> here, also over the host's own tree of the same
# release, which may be another build.
if [ -n "${VM_MODDIR:-}" ] && [ "$VM_MODDIR" != "$kdir" ]; then
	if [ -e "$kdir" ]; then
		$bb mount --bind "$VM_MODDIR" "$kdir"
	else
		$bb mkdir -p /lib/modules && $bb ln -s "$VM_MODDIR" "$kdir"
	fi || fatal "cannot make $VM_MODDIR the module tree $kdir"
fi
mapfile -t distro_wg < <($bb grep -oE '^([^:]*/)?wireguard\.ko(\.[a-z]+)?:' \
	"$kdir/modules.dep" | $bb sed "s|^|$kdir/|; s|:\$||")
shopt -s nullglob
distro_wg+=("$kdir"/kernel/drivers/net/wireguard/wireguard.ko*)
shopt -u nullglob
wg_present=()
for ko in "${distro_wg[@]}"; do
	[ -e "$ko" ] && wg_present+=("$ko")
done
if [ "$VM_KEEP_WG" = 1 ]; then
	[ "${#wg_present[@]}" -gt 0 ] || echo "vm-run: no distro wireguard.ko to keep" >&2
	$bb mkdir -p /opt/anchor
	for ko in "${wg_present[@]}"; do
		[ -e /opt/anchor/wireguard.ko ] && break
		case "$ko" in
		*.ko) $bb cp "$ko" /opt/anchor/wireguard.ko ;;
		*.ko.xz) $bb xz -dc "$ko" >/opt/anchor/wireguard.ko ;;
		*.ko.zst) zstd -qdc "$ko" >/opt/anchor/wireguard.ko ;;
		*.ko.gz) $bb gzip -dc "$ko" >/opt/anchor/wireguard.ko ;;
		*) false ;;
		esac || fatal "cannot keep $ko"
	done
fi
# --distro-wireguard-in-place (VM_KEEP_WG=2): the test is about which of
# the two installed modules the system loads, and asserts it.
if [ "$VM_KEEP_WG" != 2 ]; then
	[ "${#wg_present[@]}" -eq 0 ] || $bb rm -f "${wg_present[@]}" ||
		fatal "cannot remove the distro wireguard.ko"
	for ko in "${distro_wg[@]}"; do
		[ ! -e "$ko" ] || fatal "distro $ko still present"
	done
fi

cd "$VM_CWD" || fatal "no project directory $VM_CWD"

# One argument that is not a file is a shell command line; a script
# without the execute bit is run by bash; anything else is executed.
run_cmd() {
	if [ $# -eq 1 ] && [ ! -f "$1" ]; then
		exec bash -c "$1"
	elif [ -f "$1" ] && [ ! -x "$1" ]; then
		exec bash "$@"
	fi
	exec "$@"
}

# The command's output goes to the console (live) and to /results/output.
# tee reads a fifo rather than a pipe from a subshell so that daemons the
# command leaves behind can be killed without losing tee.
$bb mkfifo /run/vm-output || fatal "mkfifo"
$bb tee /results/output </run/vm-output &
tee_pid=$!
run_cmd "${VM_CMD[@]}" >/run/vm-output 2>&1 </dev/null &
wait $!
rc=$?

for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	[ "$pid" -eq 1 ] || [ "$pid" -eq "$tee_pid" ] || kill -KILL "$pid" 2>/dev/null
done
wait "$tee_pid"

dmesg >/results/dmesg
read -r tainted </proc/sys/kernel/tainted
echo "$tainted" >/results/tainted
echo "$rc" >/results/rc
halt_vm
