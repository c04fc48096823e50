#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Probes the kernel being built against for the API differences that
# compat.h bridges, by compiling a small program for each with the kernel's
# own compiler and flags (src/Kbuild passes them), and prints
# compat-probed.h: one WG_HAVE_<feature> per probe that compiled.
#
# Probes, not version numbers: Debian's kernels carry backports, and a
# distribution kernel of one version may have the API of the next.  Each
# probe says between which of the kernels we build for the API changed.
#
# usage: compat-probe.sh CC [CFLAGS...]   (the Kbuild rule runs it)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wgmpsc-probe.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Each compile of the kernel's headers costs seconds here and over a
# minute under emulation (tests/install.sh's DKMS builds run in a TCG VM),
# so the probes share compiles.  A header's presence is one preprocessor
# pass for all of them (__has_include: gcc knows it; sparse, which never
# sees this file, does not).  The programs are one translation unit, each
# probe its own lines: a probe the compiler complains about (a warning
# counts: an argument of the wrong type is only a warning in older
# compilers) is dropped and the rest compiled again until they compile
# clean, so a probe counts only when it compiled along with all that remain.

# header NAME PATH: WG_HAVE_NAME when <PATH> exists.
header() {
	printf '#if __has_include(<%s>)\nWG_PROBE_HAVE %s\n#endif\n' "$2" "$1" >>"$tmp/headers.c"
	headers="${headers:+$headers }$1"
}
# probe NAME: the program on stdin compiles.
probe() {
	cat >"$tmp/$1.c"
	probes="${probes:+$probes }$1"
}

# Headers that moved or went.
# 6.1 -> 6.12: <asm/unaligned.h> became <linux/unaligned.h>.
header LINUX_UNALIGNED_H linux/unaligned.h
# 6.1 -> 6.12: skb_gso_segment() moved to <net/gso.h>.
header NET_GSO_H net/gso.h
# 6.12 -> 7.3: <net/ipv6_stubs.h> is gone.
header NET_IPV6_STUBS_H net/ipv6_stubs.h

# 6.1 -> 6.12: a dump's parsed attributes are in genl_dumpit_info.info.attrs.
probe GENL_DUMPIT_INFO_INFO <<'C'
#include <net/genetlink.h>
struct nlattr **f(const struct genl_dumpit_info *i);
struct nlattr **f(const struct genl_dumpit_info *i) { return i->info.attrs; }
C

# 6.12 -> 7.3: rtnl_link_ops.newlink takes struct rtnl_newlink_params.
probe RTNL_NEWLINK_PARAMS <<'C'
#include <net/rtnetlink.h>
int f(struct net_device *d, struct rtnl_newlink_params *p,
      struct netlink_ext_ack *e);
static struct rtnl_link_ops o __maybe_unused = { .newlink = f };
C

# 6.12 -> 7.3: udp_tunnel{,6}_xmit_skb() take the IP control block's flags.
probe UDP_TUNNEL_XMIT_CB_FLAGS <<'C'
#include <net/udp_tunnel.h>
void f(struct rtable *rt, struct sock *sk, struct sk_buff *skb);
void f(struct rtable *rt, struct sock *sk, struct sk_buff *skb)
{
	udp_tunnel_xmit_skb(rt, sk, skb, 0, 0, 0, 0, 0, 0, 0, false, false, 0);
}
C

# 6.12 -> 7.3 (lib/crypto's rework): the BLAKE2s context is struct blake2s_ctx.
probe BLAKE2S_CTX <<'C'
#include <crypto/blake2s.h>
void f(struct blake2s_ctx *c);
void f(struct blake2s_ctx *c) { blake2s_final(c, NULL); }
C

# 6.12 -> 7.3: the UDP tunnel socket helpers take the struct sock.
probe UDP_TUNNEL_SOCK_SK <<'C'
#include <net/udp_tunnel.h>
void f(struct sock *sk);
void f(struct sock *sk) { udp_tunnel_sock_release(sk); }
C

# 6.1 -> 6.12: the core allocates a device's per-CPU stats of the type
# dev->pcpu_stat_type names, and the tunnel helpers count only into those.
probe NETDEV_PCPU_STAT_TYPE <<'C'
#include <linux/netdevice.h>
void f(struct net_device *dev);
void f(struct net_device *dev) { dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS; }
C

# 6.12 -> 7.3: a workqueue says whether it is per-CPU (WQ_PERCPU) or
# unbound; one that says neither draws a warning.
probe WQ_PERCPU <<'C'
#include <linux/workqueue.h>
int f(void);
int f(void) { return WQ_PERCPU; }
C

# 6.12 -> 7.3: the uapi header is generated from the YNL spec and has no
# __WGDEVICE_F_ALL; the in-tree driver checks its flags by netlink policy.
probe UAPI_WG_F_ALL <<'C'
#include <uapi/linux/wireguard.h>
int f(void);
int f(void) { return __WGDEVICE_F_ALL | __WGPEER_F_ALL; }
C

# v6.16: WGALLOWEDIP_A_FLAGS and WGALLOWEDIP_F_REMOVE_ME in the uapi.
probe WGALLOWEDIP_A_FLAGS <<'C'
#include <uapi/linux/wireguard.h>
int f(void);
int f(void) { return WGALLOWEDIP_A_FLAGS + WGALLOWEDIP_F_REMOVE_ME; }
C

# 6.1 -> 6.12: the IPv6 jumbo hop-by-hop option of big TCP gets a helper
# that removes it for a device, measuring the headers before it (6.12);
# 6.12 -> 7.3: the option is gone.  See WG_TSO_MAX_SIZE in compat.h.
probe IPV6_HOPOPT_JUMBO_REMOVE <<'C'
#include <net/ipv6.h>
int f(struct sk_buff *s);
int f(struct sk_buff *s) { return ipv6_hopopt_jumbo_remove(s); }
C
probe IPV6_HAS_HOPOPT_JUMBO <<'C'
#include <net/ipv6.h>
int f(const struct sk_buff *s);
int f(const struct sk_buff *s) { return ipv6_has_hopopt_jumbo(s); }
C

# combine: all.c, the remaining probes one after the other, and all.map,
# each one's first and last line there.
combine() {
	: >"$tmp/all.c"
	: >"$tmp/all.map"
	line=1
	for name in $remaining; do
		n=$(wc -l <"$tmp/$name.c")
		# Each probe's own names: every probe calls its function f.
		sed "s/\<f\>/wg_probe_$name/g; s/\<o\>/wg_probe_o_$name/g" "$tmp/$name.c" >>"$tmp/all.c"
		echo "$line $((line + n - 1)) $name" >>"$tmp/all.map"
		line=$((line + n))
	done
}

have=$("$@" -E -P "$tmp/headers.c" 2>/dev/null | sed -n 's/^WG_PROBE_HAVE //p')
remaining=$probes
while [ -n "$remaining" ]; do
	combine
	if "$@" -Werror -fsyntax-only "$tmp/all.c" >"$tmp/all.log" 2>&1; then
		have="$have $remaining"
		break
	fi
	# The probes whose lines the compiler names (also as "included from").
	failed=$(grep -o 'all\.c:[0-9]*' "$tmp/all.log" | cut -d: -f2 | sort -un |
		awk 'NR == FNR { s[NR] = $1; e[NR] = $2; n[NR] = $3; m = NR; next }
		     { for (i = 1; i <= m; i++) if ($1 >= s[i] && $1 <= e[i]) print n[i] }' \
			"$tmp/all.map" - | sort -u)
	if [ -z "$failed" ]; then
		# Nothing to blame (an error of the compiler's own): each alone.
		for name in $remaining; do
			! "$@" -Werror -fsyntax-only "$tmp/$name.c" >/dev/null 2>&1 ||
				have="$have $name"
		done
		break
	fi
	remaining=$(for name in $remaining; do
		echo "$failed" | grep -qx "$name" || printf '%s ' "$name"
	done)
done

echo "/* Generated by compat-probe.sh for the kernel being built against. */"
for name in $(printf '%s\n' $probes $headers | sort); do
	case " $(echo $have) " in
	*" $name "*) echo "#define WG_HAVE_$name 1" ;;
	*) echo "/* #undef WG_HAVE_$name */" ;;
	esac
done
