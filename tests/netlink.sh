#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad configuration input, through wg(8) and raw generic netlink
# (tests/netns-genl.py): every malformed, inconsistent or unsupported
# request is refused with the right error and leaves the device exactly as
# it was (wgmpsc validates a whole request before applying any of it).
# Then requests that name one peer more than once, whose entries take
# effect in order as they do with the in-tree driver, and README's
# deliberate differences, each driver's side (tools/check.sh runs those
# two blocks against the distro's wireguard.ko too).
# Runs inside the test VM as root (tools/vm.sh), loading $WGMPSC_KO.
#
#   +- wgt-bad ---------------------------------------+
#   | wg0  configured from $T/bad.conf, then attacked |
#   | wgo  a second device, for cross-device requests |
#   +-------------------------------------------------+
#   +- wgt-same --------------------------------------+
#   | wg0  two peers, a and b; down, so no handshakes |
#   +-------------------------------------------------+
#
# Output is TAP; the exit status is non-zero if any test failed.

set -e

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

wgt_init netlink '^wgt-'

cleanup() {
	set +e
	wgt_cleanup
}
trap cleanup EXIT

# refused CMD...: CMD fails.
refused() {
	if "$@" >/dev/null 2>&1; then
		echo "unexpectedly succeeded: $*"
		return 1
	fi
}

# bad_refused NAME CMD...: CMD must fail and leave wgt-bad's wg0 exactly
# as in $T/bad.before.
bad_refused() {
	local name=$1
	shift
	tap_check "$name" refused "$@"
	tap_check "$name: device unchanged" same_dump wgt-bad wg0 "$T/bad.before"
}

# bad_genl CASE WANT [KEY...]: a raw request must be answered WANT
# ("errno=EINVAL", ...) and leave wg0 unchanged.
bad_genl() {
	local case=$1 want=$2 out
	shift 2
	out=$(genl wgt-bad "$case" wg0 "$@")
	tap_check "bad input: genl $case -> ${want#errno=}" eq "${out%% extack=*}" "$want" reply
	[ "$out" = "${out%% extack=*}" ] || echo "# $case: ${out#* }"
	tap_check "bad input: genl $case: device unchanged" same_dump wgt-bad wg0 "$T/bad.before"
}

block_bad_input() {
	local ns=wgt-bad a b c new out
	ip netns add $ns
	ip -n $ns link add wg0 type wireguard
	ip -n $ns link add wgo type wireguard
	a=$(pubkey_new); b=$(pubkey_new); c=$(pubkey_new); new=$(pubkey_new)
	cat >"$T/bad.conf" <<-EOF
	[Interface]
	PrivateKey = $(wg genkey)
	ListenPort = 41000
	FwMark = 0x42
	[Peer]
	PublicKey = $a
	PresharedKey = $(wg genpsk)
	Endpoint = 192.0.2.7:7
	AllowedIPs = 10.70.0.0/16, fd70::/64
	[Peer]
	PublicKey = $b
	Endpoint = [2001:db8::7]:7
	PersistentKeepalive = 30
	AllowedIPs = 10.71.0.0/16
	[Peer]
	PublicKey = $c
	EOF
	nsx $ns wg setconf wg0 "$T/bad.conf"
	nsx $ns wg set wgo listen-port 41001
	ip -n $ns link set wg0 up
	ip -n $ns link set wgo up
	dump $ns wg0 >"$T/bad.before"

	# Each refused request leaves keys, port, fwmark and peers exactly as
	# they were.
	bad_refused "bad input: wg set listen-port in use" nsx $ns wg set wg0 listen-port 41001
	bad_refused "bad input: wg set listen-port in use plus a new peer" \
		nsx $ns wg set wg0 listen-port 41001 peer "$new" allowed-ips 10.77.0.0/16
	bad_refused "bad input: ip link add of an existing name" ip -n $ns link add wg0 type wireguard
	bad_refused "bad input: ip link set mtu 2147483647 (above max_mtu)" \
		ip -n $ns link set wg0 mtu 2147483647
	bad_refused "bad input: ip link set address (no link-layer address)" \
		ip -n $ns link set wg0 address 02:00:00:00:00:01
	bad_refused "bad input: wg set private-key with a port in use" \
		nsx $ns wg set wg0 private-key "$(keyfile "$(wg genkey)")" listen-port 41001
	bad_refused "bad input: wg set peer with a non-base64 key" \
		nsx $ns wg set wg0 peer 'not-a-key' allowed-ips 10.78.0.0/16
	bad_refused "bad input: wg set allowed-ips 10.0.0.0/33" \
		nsx $ns wg set wg0 peer "$a" allowed-ips 10.0.0.0/33
	bad_refused "bad input: wg set on a missing device" nsx $ns wg set wgt-nosuchdev listen-port 1

	# Unprivileged callers may neither read nor change the device.
	tap_check "bad input: an unprivileged wg show is refused" \
		fails_with 'Operation not permitted' nsx $ns setpriv --reuid=65534 --regid=65534 \
		--clear-groups --inh-caps=-all --bounding-set=-all wg show wg0
	bad_refused "bad input: an unprivileged wg set" nsx $ns setpriv --reuid=65534 --regid=65534 \
		--clear-groups --inh-caps=-all --bounding-set=-all wg set wg0 listen-port 41002

	# Malformed WG_CMD_SET_DEVICE requests wg(8) would never send; peer
	# attributes aim at the existing peer $a.  The errnos are the in-tree
	# driver's: a wrong attribute length fails netlink policy validation
	# (ERANGE, with an extack message at device level), bad values EINVAL,
	# unknown flags EOPNOTSUPP (EINVAL from 7.3's driver, whose policy comes
	# from the YNL spec: measured with 6.1's, 6.12's and 7.3's
	# wireguard.ko), neither or both of ifindex/ifname EBADR, protocol
	# version != 1 EPFNOSUPPORT.
	local flags_errno=EOPNOTSUPP
	! kernel_at_least 7 0 || flags_errno=EINVAL
	bad_genl privkey-31 errno=ERANGE
	bad_genl privkey-33 errno=ERANGE
	bad_genl dev-flags-unknown errno=$flags_errno
	bad_genl no-ifname errno=EBADR
	bad_genl ifindex-and-ifname errno=EBADR
	bad_genl pubkey-33 errno=ERANGE "$a"
	bad_genl pubkey-31 errno=ERANGE "$a"
	bad_genl peer-nokey errno=EINVAL
	bad_genl psk-31 errno=ERANGE "$a"
	bad_genl peer-flags-unknown errno=$flags_errno "$a"
	bad_genl protocol-2 errno=EPFNOSUPPORT "$a"
	bad_genl aip-family-99 errno=EINVAL "$a"
	bad_genl aip-v4-cidr-33 errno=EINVAL "$a"
	bad_genl aip-v6-cidr-129 errno=EINVAL "$a"
	bad_genl aip-v4-addr-len-16 errno=EINVAL "$a"
	bad_genl aip-v6-addr-len-4 errno=EINVAL "$a"
	bad_genl endpoint-short errno=ERANGE "$a"
	# An endpoint whose length does not fit its family (AF_UNIX, or
	# AF_INET6 in a sockaddr_in's 16 bytes): the in-tree driver ignores
	# it silently; wgmpsc refuses the request with EINVAL and an extack
	# message, and (like every case here) leaves the device unchanged.
	bad_genl endpoint-family errno=EINVAL "$a"
	bad_genl endpoint-v6-short errno=EINVAL "$a"
	bad_genl nodev errno=ENODEV
	bad_genl get-nodev errno=ENODEV
	out=$(genl $ns notwg lo)
	tap_check "bad input: genl set on lo -> EOPNOTSUPP" eq "${out%% extack=*}" errno=EOPNOTSUPP reply
	out=$(genl $ns get-notwg lo)
	tap_check "bad input: genl get on lo -> EOPNOTSUPP" eq "${out%% extack=*}" errno=EOPNOTSUPP reply

	# A policy violation carries an extended-ACK message.
	out=$(genl $ns privkey-31 wg0)
	tap_check "bad input: a 31-byte private key is rejected with an extack message" \
		sh -c "case '$out' in *'extack=\"'?*) exit 0;; esac; echo '$out'; exit 1"

	# Requests that fail part-way change nothing at all: wgmpsc validates
	# the whole request before applying any of it.  (The in-tree driver
	# applies a request in order -- fwmark, port, private key, peers one
	# by one -- and keeps what it applied before the error.)
	tap_check "bad input: wg set fwmark with a port in use is refused" \
		refused nsx $ns wg set wg0 fwmark 0x99 listen-port 41001
	tap_check "bad input: wg set fwmark with a port in use: nothing changes" \
		same_dump $ns wg0 "$T/bad.before"
	nsx $ns wg set wg0 fwmark 0x42
	out=$(genl $ns fwmark-then-bad-peer wg0 "$a")
	tap_check "bad input: genl fwmark-then-bad-peer -> ERANGE" eq "${out%% extack=*}" errno=ERANGE reply
	tap_check "bad input: genl fwmark-then-bad-peer: nothing changes" \
		same_dump $ns wg0 "$T/bad.before"
	nsx $ns wg set wg0 fwmark 0x42
	out=$(genl $ns good-then-bad wg0 "$a" "$new")
	tap_check "bad input: genl good-then-bad -> ERANGE" eq "${out%% extack=*}" errno=ERANGE reply
	tap_check "bad input: genl good-then-bad: the valid first peer does not land" \
		same_dump $ns wg0 "$T/bad.before"
	ip netns del $ns
}

# same_key_step CASE DUMP KEY...: the raw request CASE succeeds and leaves
# wgt-same's wg0 as DUMP describes.
same_key_step() {
	local case=$1 want=$2 out
	shift 2
	out=$(genl wgt-same "$case" wg0 "$@")
	tap_check "same key: genl $case -> 0" eq "${out%% extack=*}" errno=0 reply
	tap_check "same key: genl $case: the device is as the entries in order make it" \
		expect_dump wgt-same wg0 <"$want"
}

block_same_key() {
	local ns=wgt-same a b new iface
	ip netns add $ns
	ip -n $ns link add wg0 type wireguard
	a=$(pubkey_new); b=$(pubkey_new); new=$(pubkey_new)
	printf '[Interface]\nPrivateKey = %s\nListenPort = 42000\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nEndpoint = 192.0.2.7:7\nAllowedIPs = 10.70.0.0/16\n[Peer]\nPublicKey = %s\nPersistentKeepalive = 25\nAllowedIPs = 10.71.0.0/16\n' \
		"$(wg genkey)" "$a" "$(wg genpsk)" "$b" >"$T/same.conf"
	nsx $ns wg setconf wg0 "$T/same.conf"
	iface=$(nsx $ns wg show wg0 dump | head -n 1)
	line() { printf '%s\t(none)\t%s\t%s\t0\t0\t0\t%s\n' "$@"; }

	# Removed, then added again: the peer comes back with only what the
	# second entry gives (its preshared key and allowed IPs are gone).
	{ echo "$iface"; line "$a" 192.0.2.50:50 "(none)" off
	  line "$b" "(none)" 10.71.0.0/16 25; } >"$T/same1.dump"
	same_key_step remove-then-add "$T/same1.dump" "$a"
	# A new peer added, then removed: it is not there, nothing else moved.
	same_key_step add-then-remove "$T/same1.dump" "$a" "$new"
	# Two updates of one peer: the later wins.
	{ echo "$iface"; line "$a" 192.0.2.52:52 "(none)" off
	  line "$b" "(none)" 10.71.0.0/16 25; } >"$T/same2.dump"
	same_key_step update-twice "$T/same2.dump" "$a"
	# REPLACE_PEERS naming b and a new peer: a goes; b comes back fresh
	# with only its listed endpoint (its keepalive and allowed IPs gone).
	{ echo "$iface"; line "$b" 192.0.2.53:53 "(none)" off
	  line "$new" "(none)" 10.95.0.0/16 off; } >"$T/same3.dump"
	same_key_step replace-peers-keep "$T/same3.dump" "$b" "$new"
	ip netns del $ns
}

# README's deliberate differences from the in-tree driver, each row
# asserted for the driver under test (lib.sh's WG_UNDER_TEST): what
# wgmpsc does (block_bad_input asserts it more thoroughly) or what the
# in-tree driver does.  tools/check.sh runs it against both.
block_differences() {
	local ns=wgt-diff a out want
	ip netns add $ns
	ip -n $ns link add wg0 type wireguard
	ip -n $ns link add wgo type wireguard
	a=$(pubkey_new)
	printf '[Interface]\nPrivateKey = %s\nListenPort = 43000\nFwMark = 0x42\n[Peer]\nPublicKey = %s\nEndpoint = 192.0.2.7:7\nAllowedIPs = 10.70.0.0/16\n' \
		"$(wg genkey)" "$a" >"$T/diff.conf"
	nsx $ns wg setconf wg0 "$T/diff.conf"
	nsx $ns wg set wgo listen-port 43001
	ip -n $ns link set wg0 up
	ip -n $ns link set wgo up
	dump $ns wg0 >"$T/diff.before"

	# An endpoint whose length does not fit its family: the in-tree
	# driver ignores it (the request succeeds, the endpoint stays);
	# wgmpsc refuses the request with EINVAL.  Neither takes it.
	want=errno=EINVAL
	under_intree && want=errno=0
	for c in endpoint-family endpoint-v6-short; do
		out=$(genl $ns $c wg0 "$a")
		tap_check "differences: genl $c -> ${want#errno=} ($WG_UNDER_TEST)" \
			eq "${out%% extack=*}" "$want" reply
		tap_check "differences: genl $c: the endpoint is not taken, nothing changes" \
			same_dump $ns wg0 "$T/diff.before"
	done

	# A request that fails part-way: the in-tree driver keeps what it
	# applied before the error (here the fwmark, applied before the
	# port); wgmpsc applies all of a request or nothing.
	tap_check "differences: wg set fwmark 0x99 listen-port <in use> is refused" \
		fails_with 'Address already in use' nsx $ns wg set wg0 fwmark 0x99 listen-port 43001
	if under_intree; then
		sed -e '1s/\t0x42$/\t0x99/' "$T/diff.before" >"$T/diff.fw"
		tap_check "differences: ... the in-tree driver kept the fwmark (0x99), nothing else changed" \
			same_dump $ns wg0 "$T/diff.fw"
	else
		tap_check "differences: ... wgmpsc changed nothing" same_dump $ns wg0 "$T/diff.before"
	fi
	nsx $ns wg set wg0 fwmark 0x42
	tap_check "differences: (fwmark back to 0x42)" same_dump $ns wg0 "$T/diff.before"
	ip netns del $ns
}

wg_test_start

# NETLINK_BLOCKS: a subset, e.g. the request semantics alone against the
# in-tree driver (tools/check.sh).
for block in ${NETLINK_BLOCKS:-block_bad_input block_same_key block_differences}; do
	run_block "$block"
done

ip netns del wgt-bad 2>/dev/null || true
ip netns del wgt-same 2>/dev/null || true
ip netns del wgt-diff 2>/dev/null || true
tap_check "teardown: module unloads" wg_unload_module_retry
MODULE_LOADED=0
tap_check "teardown: kernel not tainted by a warning, oops or lockup" kernel_clean
tap_done
