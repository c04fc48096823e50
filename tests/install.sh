#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# wgmpsc as an operator gets it: the Debian package installed with apt on a
# Debian machine (tools/kernels/machine.sh: the kernel's own packages, its
# headers, dkms, wireguard-tools), DKMS building the module, the link kind
# loading it instead of the distribution's wireguard.ko, wg-quick and the
# wg-quick@ unit bringing tunnels up and down from the configuration files
# README.md shows (read from README.md, so both stay the same), and a purge
# that gives the machine back to the in-tree driver.
#
#   +---------- the machine (init netns) ---------+   +------ netns "peer" ------+
#   | wg0 (wg-quick, README's configurations)     |   | wg0 (wg(8) by hand)      |
#   |   10.70.0.1/24  fd70::1/64                  |   |   10.70.0.2  fd70::2     |
#   |   full tunnel: 0.0.0.0/0, ::/0 via wg0      |   |   dummy0 198.51.100.1    |
#   | veth0 192.168.77.1/24 ------------------------+---- veth1 192.168.77.2/24  |
#   +---------------------------------------------+   +--------------------------+
#
# Run by tools/check.sh as tools/vm.sh --root <machine> --distro-wireguard-in-place
# (the distro's module stays installed: which one loads is what this test
# asserts), with WGMPSC_DEB (the package) and, optionally, LATER_DEBS (a
# directory with another kernel's packages, installed after ours: DKMS
# must build for it too).
set -e
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"
wgt_init install '^peer$'
KREL=$(uname -r)
CONF=/etc/wireguard/wg0.conf
cleanup() {
	set +e
	wg-quick down wg0 >/dev/null 2>&1
	ip link del wg0 2>/dev/null
	ip link del veth0 2>/dev/null
	wgt_cleanup
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive

# state: what wg-quick may touch, to compare before up and after down.
# An address still in duplicate address detection prints "tentative" and
# loses it a second later: wait that out so two snapshots differ only by
# what wg-quick did.
state() {
	local i
	for i in $(seq 50); do
		[ -z "$(ip -6 addr show tentative)" ] && break
		sleep 0.2
	done
	ip -4 rule show
	ip -6 rule show
	ip -4 route show table all | grep -v ' table local ' || true
	ip -6 route show table all | grep -vE ' table local |^(multicast|anycast) ' || true
	ip -o addr show | awk '{ $1 = ""; print }'
	nft list ruleset
}
# files: the paths under the directories a package may write to.
files() {
	find /usr /etc /var/lib/dkms "/lib/modules/$KREL" -xdev \
		! -path '/etc/ld.so.cache' ! -path "/lib/modules/$KREL/modules.*" \
		2>/dev/null | sort
}
loaded() { [ -d "/sys/module/$1" ]; }
only_loaded() { # only_loaded MOD OTHER
	loaded "$1" || { echo "$1 is not loaded"; lsmod; return 1; }
	! loaded "$2" || { echo "$2 is loaded too"; lsmod; return 1; }
}
unload_all() {
	ip link del wg0 2>/dev/null || true
	in_ns peer ip link del wg0 2>/dev/null || true
	for m in wgmpsc wireguard; do
		! loaded "$m" || wait_until 10 rmmod "$m"
	done
}
# readme_block NAME: the code block after README.md's marker
# "<!-- tests/install.sh: NAME -->", verbatim.
readme_block() {
	awk -v m="<!-- tests/install.sh: $1 -->" '
		index($0, m) { found = 1; next }
		found && /^```/ { if (inblock) exit; inblock = 1; next }
		inblock { print }' "$HERE/../README.md"
}

# --- the fresh machine --------------------------------------------------
# The kernel's packages installed the in-tree driver, nothing of ours is
# there, and the link kind resolves to wireguard.ko.
tap_check "the distro's wireguard.ko is installed" modinfo -F filename wireguard
tap_check "no wgmpsc before the package" bash -c '! modinfo wgmpsc >/dev/null 2>&1'
files >"$T/files.before"
[ -f "${WGMPSC_DEB:-}" ] || { tap_not_ok "package at '${WGMPSC_DEB:-}'"; tap_done; exit 1; }

# --- apt install ---------------------------------------------------------
# The package installs offline (its dependency, dkms, is there) and DKMS
# builds and installs the module for the running kernel; a failed build
# shows DKMS's make.log.
# Each line of apt's output carries the seconds since the start, so the log
# shows which step the minutes under emulation went to.
t0=$SECONDS
if apt-get install -y "$WGMPSC_DEB" 2>&1 |
	while IFS= read -r line; do echo "+$((SECONDS - t0))s $line"; done >"$T/apt.log" &&
	[ "${PIPESTATUS[0]}" = 0 ]; then
	echo "# apt install with DKMS's build: $((SECONDS - t0)) s"
	grep -E 'dkms|DKMS|Building|Installing|Running|Setting up|depmod|initramfs' "$T/apt.log" |
		head -n 20 | sed 's/^/#   /'
	for f in /var/lib/dkms/wgmpsc/*/*/*/log/make.log; do
		[ -f "$f" ] && sed -n 's/^# elapsed time: /#   DKMS make: /p' "$f"
	done
	tap_ok "apt install ./${WGMPSC_DEB##*/}"
else
	tap_not_ok "apt install ./${WGMPSC_DEB##*/}"
	sed 's/^/# /' "$T/apt.log"
	for f in /var/lib/dkms/wgmpsc/*/build/make.log; do
		[ -f "$f" ] && { echo "# $f:"; sed 's/^/#   /' "$f"; }
	done
	tap_done
	exit 1
fi
VERSION=$(dpkg-query -W -f '${Version}' wgmpsc-dkms)
VERSION=${VERSION%-*}
tap_check "dkms status: installed for $KREL" \
	bash -c "dkms status -m wgmpsc -k $KREL | grep -E ': installed'"
tap_check "the module is in updates/ for $KREL" \
	bash -c "modinfo -k '$KREL' -F filename wgmpsc | grep -F 'modules/$KREL/updates/'"
tap_check "its vermagic is $KREL" \
	bash -c "modinfo -k '$KREL' -F vermagic wgmpsc | grep -F '$KREL '"

# --- the link kind and the genl family load wgmpsc -----------------------
# `ip link add ... type wireguard` asks the kernel for rtnl-link-wireguard,
# `wg show` for the genl family: both aliases must resolve to wgmpsc now
# that the package is installed, and the in-tree driver stays out.
ip link add wg0 type wireguard
tap_check "ip link add type wireguard loads wgmpsc, not wireguard" only_loaded wgmpsc wireguard
tap_check "/sys/module/wgmpsc/version is the package's ($VERSION)" \
	bash -c "[ \"\$(cat /sys/module/wgmpsc/version)\" = '$VERSION' ] || cat /sys/module/wgmpsc/version"
tap_check "the load message names the version" bash -c "dmesg | grep -F 'wgmpsc' | grep -F '$VERSION'"
unload_all
# wg(8) asks for the genl family before it looks for the device.
wg show wg0 >/dev/null 2>&1 || true
tap_check "wg show loads wgmpsc (genl family alias)" only_loaded wgmpsc wireguard
unload_all

# README's switch back without uninstalling: /etc/modprobe.d/wgmpsc.conf
# overrides the package's file of the same name, and blacklisting wgmpsc
# there leaves the aliases to the in-tree driver alone (masking it with
# /dev/null would let both answer, and the second fail to load); removing
# it gives them back to wgmpsc.
echo "blacklist wgmpsc" >/etc/modprobe.d/wgmpsc.conf
ip link add wg0 type wireguard
tap_check "switched back: the in-tree driver loads" only_loaded wireguard wgmpsc
tap_check "  and nothing tried wgmpsc" bash -c '! dmesg | grep -F "already registered"'
unload_all
rm /etc/modprobe.d/wgmpsc.conf
ip link add wg0 type wireguard
tap_check "switched again: wgmpsc loads" only_loaded wgmpsc wireguard
unload_all

# --- the peer: a namespace across a veth pair ----------------------------
ip netns add peer
ip link add veth0 type veth peer name veth1 netns peer
ip addr add 192.168.77.1/24 dev veth0
ip link set veth0 up
in_ns peer ip addr add 192.168.77.2/24 dev veth1
in_ns peer ip link set veth1 up
in_ns peer ip link set lo up
in_ns peer ip link add dummy0 type dummy
in_ns peer ip addr add 198.51.100.1/32 dev dummy0
in_ns peer ip -6 addr add 2001:db8:77::1/128 dev dummy0
in_ns peer ip link set dummy0 up
# peer_up: the far end, from README's peer configuration.
peer_up() {
	readme_block "peer.conf" >"$T/peer.conf"
	in_ns peer ip link add wg0 type wireguard
	in_ns peer wg setconf wg0 "$T/peer.conf"
	in_ns peer ip addr add 10.70.0.2/24 dev wg0
	in_ns peer ip -6 addr add fd70::2/64 dev wg0 nodad
	in_ns peer ip link set wg0 up
}
mkdir -p /etc/wireguard

# --- wg-quick: point to point -------------------------------------------
# README's point-to-point wg0.conf: up gives the address, the peer's route
# and a working tunnel both ways; down takes away exactly what up added.
readme_block "wg0.conf point-to-point" >"$CONF"
chmod 600 "$CONF"
tap_check "README has the point-to-point configuration" grep -q '^\[Peer\]' "$CONF"
state >"$T/state.before"
peer_up
tap_check "wg-quick up wg0" wg-quick up wg0
tap_check "wg0 is wgmpsc's" only_loaded wgmpsc wireguard
tap_check "ping over the tunnel (IPv4)" ping -c 3 -i 0.2 -W 3 10.70.0.2
tap_check "ping over the tunnel (IPv6)" ping -6 -c 3 -i 0.2 -W 3 fd70::2
tap_check "wg show: a handshake with the peer" \
	bash -c "wg show wg0 latest-handshakes | awk '\$2 > 0' | grep -q ."

# wg-quick strip, then wg syncconf: a live change (a second peer, the
# keepalive) while a ping runs throughout, with none of it lost.
ping -c 40 -i 0.1 -W 2 10.70.0.2 >"$T/live.ping" 2>&1 &
live=$!
sleep 1
sed -i 's/^PersistentKeepalive = .*/PersistentKeepalive = 15/' "$CONF"
extra=$(pubkey_new)
printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.70.0.9/32\n' "$extra" >>"$CONF"
tap_check "wg syncconf wg0 <(wg-quick strip wg0)" \
	bash -c 'wg syncconf wg0 <(wg-quick strip wg0)'
wait "$live" || true
tap_check "the live change applied (new peer, keepalive 15)" bash -c "
	wg show wg0 peers | grep -qxF '$extra' &&
	wg show wg0 persistent-keepalive | grep -q '	15\$'"
tap_check "no ping lost across syncconf" \
	bash -c "grep -q ' 0% packet loss' '$T/live.ping' || cat '$T/live.ping'"
tap_check "wg-quick down wg0" wg-quick down wg0
state >"$T/state.after"
tap_check "down restores addresses, routes, rules, nftables" diff "$T/state.before" "$T/state.after"
tap_check "wg0 is gone" bash -c '! ip link show wg0 2>/dev/null'

# --- wg-quick: full tunnel -----------------------------------------------
# AllowedIPs 0.0.0.0/0, ::/0: wg-quick's fwmark, its policy rules and
# table, nftables' rules for the mark; DNS goes to resolvconf (a stub here
# that records what it was given); SaveConfig writes the live state back
# on down.  Everything it changed is back after down.
readme_block "wg0.conf full tunnel" >"$CONF"
tap_check "README has the full-tunnel configuration" grep -q '^SaveConfig = true' "$CONF"
cat >/usr/local/sbin/resolvconf <<'EOF'
#!/bin/sh
# Test stub for resolvconf(8): records its arguments and input.
{ echo "args: $*"; cat; } >>/run/resolvconf.calls
EOF
chmod +x /usr/local/sbin/resolvconf
state >"$T/state.before"
tap_check "wg-quick up wg0 (full tunnel)" wg-quick up wg0
tap_check "everything routes via wg0" bash -c "
	ip route get 203.0.113.7 | grep -q 'dev wg0' &&
	ip -6 route get 2001:db8:1::7 | grep -q 'dev wg0'"
tap_check "the peer's endpoint still routes via veth0 (fwmark)" bash -c "
	ip route get 192.168.77.2 mark \$(wg show wg0 fwmark) | grep -q 'dev veth0'"
tap_check "wg-quick's policy rules are in place" bash -c "
	ip -4 rule | grep -q 'not from all fwmark' && ip -6 rule | grep -q 'not from all fwmark'"
tap_check "wg-quick's nftables table is in place" bash -c "nft list tables | grep -q 'wg-quick-wg0'"
# wg-quick sets src_valid_mark for its fwmark and, by its own design,
# leaves it set on down (so it is not in the before/after comparison).
# shellcheck disable=SC2016 # expanded by that bash
tap_check "src_valid_mark is on" bash -c '[ "$(sysctl -n net.ipv4.conf.all.src_valid_mark)" = 1 ]'
tap_check "the peer's far side over the full tunnel (IPv4)" ping -c 3 -i 0.2 -W 3 198.51.100.1
tap_check "the peer's far side over the full tunnel (IPv6)" ping -6 -c 3 -i 0.2 -W 3 2001:db8:77::1
tap_check "DNS went to resolvconf" bash -c "
	grep -qE 'args: -a (tun\.)?wg0 -m 0 -x' /run/resolvconf.calls &&
	grep -q '^nameserver 10.70.0.53' /run/resolvconf.calls"
saved=$(pubkey_new)
wg set wg0 peer "$saved" allowed-ips 10.70.0.10/32
tap_check "wg-quick down wg0 (full tunnel)" wg-quick down wg0
state >"$T/state.after"
tap_check "down restores addresses, routes, rules, nftables exactly" \
	diff "$T/state.before" "$T/state.after"
tap_check "SaveConfig wrote the peer added at run time" grep -qF "$saved" "$CONF"
tap_check "DNS was taken back (resolvconf -d)" grep -qE 'args: -d (tun\.)?wg0' /run/resolvconf.calls
rm /usr/local/sbin/resolvconf

# --- the wg-quick@ unit's commands ---------------------------------------
# Booting systemd under TCG is not part of this run (README says why):
# the unit's own ExecStart, ExecReload and ExecStop lines, %i expanded,
# with its Environment=, do the job systemctl would.
readme_block "wg0.conf point-to-point" >"$CONF"
unit=$(systemctl cat wg-quick@.service 2>/dev/null || cat /lib/systemd/system/wg-quick@.service)
unit_cmd() { # unit_cmd KEY: that line's command, %i expanded
	printf '%s\n' "$unit" | sed -n "s/^$1=//p" | sed 's/%i/wg0/g'
}
read -r -a unit_env < <(printf '%s\n' "$unit" | sed -n 's/^Environment=//p')
for key in ExecStart ExecReload ExecStop; do
	cmd=$(unit_cmd "$key")
	tap_check "wg-quick@wg0 $key: $cmd" env "${unit_env[@]}" bash -c "$cmd"
	[ "$key" = ExecStop ] || tap_check "  and the tunnel works" ping -c 2 -i 0.2 -W 3 10.70.0.2
done
tap_check "systemctl enable wg-quick@wg0 (offline)" systemctl enable wg-quick@wg0
tap_check "  the unit is enabled" bash -c \
	"[ -L /etc/systemd/system/multi-user.target.wants/wg-quick@wg0.service ]"
systemctl disable wg-quick@wg0 >/dev/null 2>&1 || true

# --- a kernel installed later --------------------------------------------
# Another kernel's packages (LATER_DEBS), installed after ours: DKMS's
# kernel hook builds and installs wgmpsc for it as well.
if [ -d "${LATER_DEBS:-}" ]; then
	later=$(cat "$LATER_DEBS/release")
	t0=$SECONDS
	if apt-get install -y "$LATER_DEBS"/*.deb >"$T/later.log" 2>&1; then
		echo "# apt install of $later with DKMS's build: $((SECONDS - t0)) s"
		tap_ok "a later kernel's packages install ($later)"
	else
		tap_not_ok "a later kernel's packages install ($later)"
		sed 's/^/# /' "$T/later.log"
	fi
	# Headers alone: that kernel has no modules.dep to look it up by name.
	tap_check "DKMS built and installed wgmpsc for $later" bash -c "
		dkms status -m wgmpsc -k '$later' | grep -E ': installed' &&
		modinfo -F vermagic /lib/modules/'$later'/updates/dkms/wgmpsc.ko* | grep -F '$later '"
	files_later=1
else
	tap_skip "a later kernel" "no LATER_DEBS given (tools/check.sh passes them on one kernel)"
	files_later=0
fi

# --- purge ---------------------------------------------------------------
# With a tunnel up, purging removes the package's files and DKMS's build,
# but unloads nothing in use: the tunnel keeps working.  Once it is down
# and the module unloaded, the link kind is the in-tree driver's again.
peer_tunnel=$(in_ns peer wg show wg0 public-key)
ip link add wg0 type wireguard
wg set wg0 private-key <(readme_block "wg0.conf point-to-point" | sed -n 's/^PrivateKey = //p') \
	peer "$(readme_block "wg0.conf point-to-point" | awk '/^\[Peer\]/ { p = 1 } p && /^PublicKey/ { print $3; exit }')" \
	endpoint 192.168.77.2:51820 allowed-ips 10.70.0.2/32
ip addr add 10.70.0.1/24 dev wg0
ip link set wg0 up
[ -n "$peer_tunnel" ]
t0=$SECONDS
if apt-get purge -y wgmpsc-dkms >"$T/purge.log" 2>&1; then
	echo "# apt purge: $((SECONDS - t0)) s"
	tap_ok "apt purge wgmpsc-dkms with a tunnel up"
else
	tap_not_ok "apt purge wgmpsc-dkms with a tunnel up"
	sed 's/^/# /' "$T/purge.log"
fi
tap_check "wgmpsc still loaded and the tunnel works" \
	bash -c "[ -d /sys/module/wgmpsc ] && ping -c 2 -i 0.2 -W 3 10.70.0.2"
unload_all
# The test's own file goes; the rest must be as before the install.
rm -f "$CONF"
files >"$T/files.after"
if [ "$files_later" = 1 ]; then
	# The later kernel's own packages stay, of course.
	grep -vF -e "/$later" -e "$later/" -e "${later%-*}" "$T/files.after" >"$T/f" || true
	grep -vF -e "/$later" -e "$later/" -e "${later%-*}" "$T/files.before" >"$T/b" || true
	mv "$T/f" "$T/files.after"
	mv "$T/b" "$T/files.before"
fi
tap_check "purge left no file behind (vs. before install)" \
	diff "$T/files.before" "$T/files.after"
tap_check "no wgmpsc module left for any kernel" \
	bash -c '! find /lib/modules -name "wgmpsc.ko*" | grep .'
ip link add wg0 type wireguard
tap_check "after purge, the in-tree driver serves the link kind" only_loaded wireguard wgmpsc
unload_all

tap_done
