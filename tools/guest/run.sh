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

set -u
exec 2>/dev/console; PS4='+ $(read -r u _ </proc/uptime; echo $u) '; set -x
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

halt_vm() {
	sync
	# busybox's poweroff -f calls reboot(2) itself; Debian's poweroff
	# would try to talk to systemd.
	busybox poweroff -f 2>/dev/null
	echo o >/proc/sysrq-trigger
	# PID 1 must never exit: that would be a kernel panic.
	while :; do sleep 3600; done
}

fatal() {
	echo "vm-run: FATAL: $*" >&2
	halt_vm
}

# mnt TYPE DIR [OPTIONS]: mounts unless DIR already is a mount point.
mnt() {
	mountpoint -q "$2" && return 0
	mkdir -p "$2" && mount -t "$1" ${3:+-o "$3"} "$1" "$2" ||
		fatal "cannot mount $1 on $2"
}

# shellcheck source=/dev/null
. /results/cmd || fatal "cannot read /results/cmd"
: "${VM_CWD:?}" "${VM_KEEP_WG:?}" "${VM_CMD[0]:?}"

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devtmpfs /dev nosuid,mode=0755
mnt devpts /dev/pts nosuid,noexec,gid=5,mode=0620,ptmxmode=0666
ln -sf pts/ptmx /dev/ptmx
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mnt tmpfs /dev/shm nosuid,nodev,mode=1777
mnt debugfs /sys/kernel/debug
# /run must not show the host's (netns handles, pid files, sockets).
mnt tmpfs /run nosuid,nodev,mode=0755
mkdir -p /run/netns /run/lock
# Scratch directories get a fresh tmpfs, unless the project or the module
# under test lives below one of them: the overlay is writable anyway.
for d in /tmp /var/tmp /root; do
	case "$VM_CWD/" in "$d"/*) continue ;; esac
	case "${WGMPSC_KO:-}" in "$d"/*) continue ;; esac
	mode=1777
	[ "$d" = /root ] && mode=0700
	mnt tmpfs "$d" "nosuid,nodev,mode=$mode"
done

echo wgmpsc-vm >/proc/sys/kernel/hostname
ip link set lo up || fatal "cannot bring lo up"

# No test may ever run against the distro's wireguard.ko by accident: it
# leaves the module tree (in this guest's overlay only).  With
# --keep-distro-wireguard it is kept, uncompressed, where only an explicit
# insmod by path can find it.
kdir=/lib/modules/$(uname -r)
mapfile -t distro_wg < <(find "$kdir" -name 'wireguard.ko*')
if [ "$VM_KEEP_WG" = 1 ]; then
	[ "${#distro_wg[@]}" -gt 0 ] || echo "vm-run: no distro wireguard.ko to keep" >&2
	mkdir -p /opt/anchor
	for ko in "${distro_wg[@]}"; do
		case "$ko" in
		*.ko) cp "$ko" /opt/anchor/wireguard.ko ;;
		*.ko.xz) xz -dc "$ko" >/opt/anchor/wireguard.ko ;;
		*.ko.zst) zstd -qdc "$ko" >/opt/anchor/wireguard.ko ;;
		*.ko.gz) gzip -dc "$ko" >/opt/anchor/wireguard.ko ;;
		esac || fatal "cannot keep $ko"
	done
fi
[ "${#distro_wg[@]}" -eq 0 ] || rm -f "${distro_wg[@]}" ||
	fatal "cannot remove the distro wireguard.ko"
[ -z "$(find "$kdir" -name 'wireguard.ko*')" ] ||
	fatal "distro wireguard.ko still present"

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
mkfifo /run/vm-output || fatal "mkfifo"
tee /results/output </run/vm-output &
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
cat /proc/sys/kernel/tainted >/results/tainted
echo "$rc" >/results/rc
halt_vm
