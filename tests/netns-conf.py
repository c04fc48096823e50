#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Config and dump plumbing for tests/netns.sh, so the shell only compares
# text:
#
#   netns-conf.py norm FILE         a wg(8) config in canonical form: keys
#                                   in a fixed order, peers sorted by public
#                                   key, allowed IPs sorted and canonical
#   netns-conf.py normdump          `wg show IF dump` (stdin), peers sorted
#                                   and each peer's allowed IPs sorted
#   netns-conf.py aips              `wg show IF allowed-ips` (stdin) as one
#                                   "PUBKEY PREFIX" line per allowed IP,
#                                   sorted, duplicates kept
#   netns-conf.py dumpaips          the same from `wg show IF dump` (stdin)
#   netns-conf.py keys N            N random base64 32-byte keys (valid for
#                                   configuration, not necessarily points)
#   netns-conf.py gen-aips CONF EXPECT PRIVKEY NPEERS NV4 NV6
#                                   a config of NPEERS peers with NV4 IPv4
#                                   and NV6 IPv6 prefixes each, all distinct
#                                   and of mixed lengths, and EXPECT in the
#                                   `aips` format
#   netns-conf.py gen-peers CONF NPEERS
#                                   NPEERS peers with one /32 each
#   netns-conf.py clamp KEY         KEY clamped as a Curve25519 secret
#   netns-conf.py raw HEX           the base64 key of 32 bytes given in hex

import base64
import ipaddress
import os
import sys


def b64(raw):
    return base64.b64encode(raw).decode()


def canon_prefix(text):
    return str(ipaddress.ip_network(text.strip(), strict=False))


def prefix_sort_key(text):
    net = ipaddress.ip_network(text)
    return (net.version, int(net.network_address), net.prefixlen)


def norm(path):
    iface, peers, cur = {}, [], None
    with open(path) as f:
        for raw in f:
            line = raw.split('#', 1)[0].strip()
            if not line:
                continue
            if line.lower() == '[interface]':
                cur = iface
                continue
            if line.lower() == '[peer]':
                cur = {}
                peers.append(cur)
                continue
            name, _, value = line.partition('=')
            name, value = name.strip().lower(), value.strip()
            if cur is None:
                raise SystemExit('%s: %s outside a section' % (path, name))
            if name == 'allowedips':
                cur.setdefault(name, []).extend(v for v in value.split(',') if v.strip())
            else:
                cur[name] = value
    out = ['[Interface]']
    for name in ('privatekey', 'listenport', 'fwmark'):
        value = iface.get(name)
        if value is None:
            continue
        if name in ('listenport', 'fwmark'):
            value = int(value, 0) if value != 'off' else 0
            if value == 0:
                continue
            value = hex(value) if name == 'fwmark' else str(value)
        out.append('%s=%s' % (name, value))
    for p in sorted(peers, key=lambda p: p.get('publickey', '')):
        out.append('[Peer]')
        for name in ('publickey', 'presharedkey', 'endpoint', 'persistentkeepalive', 'allowedips'):
            value = p.get(name)
            if value is None:
                continue
            if name == 'persistentkeepalive':
                value = 0 if value == 'off' else int(value)
                if value == 0:
                    continue
            if name == 'allowedips':
                value = ','.join(sorted((canon_prefix(v) for v in value), key=prefix_sort_key))
            out.append('%s=%s' % (name, value))
    print('\n'.join(out))


def normdump():
    lines = sys.stdin.read().splitlines()
    if not lines:
        raise SystemExit('empty dump')
    out = [lines[0]]
    rest = []
    for line in lines[1:]:
        f = line.split('\t')
        if len(f) == 8 and f[3] != '(none)':
            f[3] = ','.join(sorted(f[3].split(','), key=prefix_sort_key))
        rest.append('\t'.join(f))
    print('\n'.join(out + sorted(rest)))


def aips():
    out = []
    for line in sys.stdin.read().splitlines():
        pub, _, rest = line.partition('\t')
        for prefix in rest.split():
            if prefix != '(none)':
                out.append('%s %s' % (pub, prefix))
    out.sort()
    if out:
        print('\n'.join(out))


def dumpaips():
    # Peer lines of `wg show IF dump` have 8 tab-separated fields, the 4th
    # being the comma-separated allowed IPs.
    out = []
    for line in sys.stdin.read().splitlines()[1:]:
        f = line.split('\t')
        if len(f) != 8:
            raise SystemExit('bad dump line: %r' % line)
        out += ['%s %s' % (f[0], p) for p in f[3].split(',') if p != '(none)']
    out.sort()
    if out:
        print('\n'.join(out))


def gen_aips(conf, expect, priv, npeers, nv4, nv6):
    # Entry n (counted over the whole file) owns the block 10.0.0.0 + n*256
    # (a /24) and fd00:0:n::/64, and picks a prefix of some length inside
    # it, so no two entries are the same network after masking.
    lines, exp, n = ['[Interface]', 'PrivateKey = %s' % priv], [], 0
    for _ in range(npeers):
        pub = b64(os.urandom(32))
        prefixes = []
        for j in range(nv4):
            plen = (32, 24, 28, 30, 25)[j % 5]
            addr = ipaddress.IPv4Address((10 << 24) + (n << 8) + (n * 37 & 0xff))
            prefixes.append(str(ipaddress.ip_network('%s/%d' % (addr, plen), strict=False)))
            n += 1
        for j in range(nv6):
            plen = (128, 64, 80, 96, 127, 65)[j % 6]
            addr = ipaddress.IPv6Address((0xfd00 << 112) | (n << 64) | (n * 0x9e3779b97f4a7c15 & (2**64 - 1)))
            prefixes.append(str(ipaddress.ip_network('%s/%d' % (addr, plen), strict=False)))
            n += 1
        lines += ['', '[Peer]', 'PublicKey = %s' % pub, 'AllowedIPs = %s' % ', '.join(prefixes)]
        exp += ['%s %s' % (pub, p) for p in prefixes]
    if n >= 1 << 16 or len(set(p.split()[1] for p in exp)) != len(exp):
        raise SystemExit('generated colliding prefixes')
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(expect, 'w') as f:
        f.write('\n'.join(sorted(exp)) + '\n')


def gen_peers(conf, npeers):
    out = ['[Interface]']
    for i in range(npeers):
        out += ['[Peer]', 'PublicKey = %s' % b64(os.urandom(32)),
                'AllowedIPs = 10.%d.%d.%d/32' % (i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff)]
    with open(conf, 'w') as f:
        f.write('\n'.join(out) + '\n')


def clamp(text):
    raw = bytearray(base64.b64decode(text))
    raw[0] &= 248
    raw[31] = (raw[31] & 127) | 64
    print(b64(bytes(raw)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'norm':
        norm(args[0])
    elif cmd == 'normdump':
        normdump()
    elif cmd == 'aips':
        aips()
    elif cmd == 'dumpaips':
        dumpaips()
    elif cmd == 'keys':
        for _ in range(int(args[0])):
            print(b64(os.urandom(32)))
    elif cmd == 'gen-aips':
        gen_aips(args[0], args[1], args[2], *(int(a) for a in args[3:]))
    elif cmd == 'gen-peers':
        gen_peers(args[0], int(args[1]))
    elif cmd == 'clamp':
        clamp(args[0])
    elif cmd == 'raw':
        print(b64(bytes.fromhex(args[0])))
    else:
        raise SystemExit('unknown command %s' % cmd)


if __name__ == '__main__':
    main()
