#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Raw generic-netlink client for tests/netns.sh: sends one hand-built
# WG_CMD_SET_DEVICE (or WG_CMD_GET_DEVICE) request, things wg(8) would never
# send, and prints the kernel's answer on one line:
#
#   errno=0                        the request was accepted
#   errno=EINVAL extack="..."      rejected; extack= only when the kernel
#                                  attached an extended-ACK message
#
# usage: netns-genl.py CASE IFNAME [BASE64KEY...]   (run inside the netns)
# Exits 0 when an answer came back, 2 on a usage or local error.
#
# Numbers are from <uapi/linux/wireguard.h> and <uapi/linux/netlink.h>.

import base64
import errno
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_F_NESTED = 0x8000
NLMSGERR_ATTR_MSG = 1
GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

WG_CMD_GET_DEVICE = 0
WG_CMD_SET_DEVICE = 1
WGDEVICE_F_REPLACE_PEERS = 1
(WGDEVICE_A_IFINDEX, WGDEVICE_A_IFNAME, WGDEVICE_A_PRIVATE_KEY,
 WGDEVICE_A_PUBLIC_KEY, WGDEVICE_A_FLAGS, WGDEVICE_A_LISTEN_PORT,
 WGDEVICE_A_FWMARK, WGDEVICE_A_PEERS) = range(1, 9)
WGPEER_F_REMOVE_ME = 1
WGPEER_F_REPLACE_ALLOWEDIPS = 2
WGPEER_F_UPDATE_ONLY = 4
(WGPEER_A_PUBLIC_KEY, WGPEER_A_PRESHARED_KEY, WGPEER_A_FLAGS,
 WGPEER_A_ENDPOINT, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
 WGPEER_A_LAST_HANDSHAKE_TIME, WGPEER_A_RX_BYTES, WGPEER_A_TX_BYTES,
 WGPEER_A_ALLOWEDIPS, WGPEER_A_PROTOCOL_VERSION) = range(1, 11)
(WGALLOWEDIP_A_FAMILY, WGALLOWEDIP_A_IPADDR, WGALLOWEDIP_A_CIDR_MASK,
 WGALLOWEDIP_A_FLAGS) = range(1, 5)
WGALLOWEDIP_F_REMOVE_ME = 1

AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6


def nla(kind, payload):
    size = 4 + len(payload)
    return struct.pack('=HH', size, kind) + payload + b'\0' * (-size % 4)


def nest(kind, *children):
    return nla(kind | NLA_F_NESTED, b''.join(children))


def u8(kind, v):
    return nla(kind, struct.pack('=B', v))


def u16(kind, v):
    return nla(kind, struct.pack('=H', v))


def u32(kind, v):
    return nla(kind, struct.pack('=I', v))


def ifname(name):
    return nla(WGDEVICE_A_IFNAME, name.encode() + b'\0')


def sockaddr_in(addr, port):
    return struct.pack('=H', AF_INET) + struct.pack('!H', port) + \
        socket.inet_pton(AF_INET, addr) + b'\0' * 8


def sockaddr_in6(addr, port):
    return struct.pack('=H', AF_INET6) + struct.pack('!HI', port, 0) + \
        socket.inet_pton(AF_INET6, addr) + struct.pack('=I', 0)


def aip(family, addr, cidr, *extra):
    return nest(0, u16(WGALLOWEDIP_A_FAMILY, family),
                nla(WGALLOWEDIP_A_IPADDR, addr), u8(WGALLOWEDIP_A_CIDR_MASK, cidr),
                *extra)


def prefix(text, *extra):
    """'10.0.0.0/8' or 'fd00::/64' as an allowed IP; a leading '-'
    (WGALLOWEDIP_F_REMOVE_ME) or '!' (the unknown flag bit 1 << 1) sets
    WGALLOWEDIP_A_FLAGS."""
    if text[0] == '-':
        extra += (u32(WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME),)
        text = text[1:]
    elif text[0] == '!':
        extra += (u32(WGALLOWEDIP_A_FLAGS, 1 << 1),)
        text = text[1:]
    addr, cidr = text.split('/')
    family = AF_INET6 if ':' in addr else AF_INET
    return aip(family, socket.inet_pton(family, addr), int(cidr), *extra)


def aips(*texts):
    return nest(WGPEER_A_ALLOWEDIPS, *(prefix(t) for t in texts))


def v4(text):
    return socket.inet_pton(AF_INET, text)


def v6(text):
    return socket.inet_pton(AF_INET6, text)


def peer(pub, *attrs):
    return nest(0, nla(WGPEER_A_PUBLIC_KEY, pub), *attrs)


def peers(*items):
    return nest(WGDEVICE_A_PEERS, *items)


def ifindex(name):
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0x7fffffff


def key(text):
    raw = base64.b64decode(text)
    assert len(raw) == 32, text
    return raw


class Genl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1

    def request(self, family, cmd, attrs, flags=NLM_F_REQUEST | NLM_F_ACK):
        """Returns (errno, extack message or None, list of data payloads)."""
        self.seq += 1
        body = struct.pack('=BBH', cmd, 1, 0) + attrs
        msg = struct.pack('=IHHII', 16 + len(body), family, flags, self.seq, 0) + body
        self.sock.send(msg)
        data = []
        while True:
            buf = self.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(buf):
                size, mtype, mflags, seq, _ = struct.unpack_from('=IHHII', buf, off)
                if size < 16:
                    raise RuntimeError('short netlink message')
                payload = buf[off + 16:off + size]
                off += (size + 3) & ~3
                if seq != self.seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from('=i', payload)[0]
                    text = None
                    if mflags & NLM_F_ACK_TLVS:
                        # Capped: the original message's header only.
                        text = parse_attrs(payload[4 + 16:]).get(NLMSGERR_ATTR_MSG)
                        if text is not None:
                            text = text.rstrip(b'\0').decode(errors='replace')
                    return err, text, data
                if mtype == NLMSG_DONE:
                    return -struct.unpack_from('=i', payload)[0] if payload else 0, None, data
                data.append(payload)

    def family(self, name):
        err, _, data = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                                    nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b'\0'))
        if err or not data:
            raise RuntimeError('no genl family %s: %s' % (name, os.strerror(err)))
        return struct.unpack('=H', parse_attrs(data[0][4:])[CTRL_ATTR_FAMILY_ID][:2])[0]


def parse_attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        size, kind = struct.unpack_from('=HH', buf, off)
        if size < 4:
            break
        out[kind & ~NLA_F_NESTED] = buf[off + 4:off + size]
        off += (size + 3) & ~3
    return out


def nested(buf):
    """The attributes of a nest, as a list (a nest's entries share type 0)."""
    out, off = [], 0
    while off + 4 <= len(buf):
        size, kind = struct.unpack_from('=HH', buf, off)
        if size < 4:
            break
        out.append((kind & ~NLA_F_NESTED, buf[off + 4:off + size]))
        off += (size + 3) & ~3
    return out


def aip_attr_types(data):
    """Every attribute type found in the dump's allowed-IP entries."""
    types = set()
    for payload in data:
        dev_attrs = parse_attrs(payload[4:])
        for _, p in nested(dev_attrs.get(WGDEVICE_A_PEERS, b'')):
            for _, ip in nested(parse_attrs(p).get(WGPEER_A_ALLOWEDIPS, b'')):
                types.update(kind for kind, _ in nested(ip))
    return types


def cases(dev, keys):
    """CASE -> (cmd, attrs[, flags]).  keys[0] is an existing peer's key
    where a case needs one, keys[1] a key that is not configured."""
    k0 = key(keys[0]) if len(keys) > 0 else b'\x11' * 32
    k1 = key(keys[1]) if len(keys) > 1 else b'\x22' * 32
    k2 = key(keys[2]) if len(keys) > 2 else b'\x33' * 32
    S = WG_CMD_SET_DEVICE
    return {
        # Device attributes.
        'privkey-31': (S, ifname(dev) + nla(WGDEVICE_A_PRIVATE_KEY, b'\x42' * 31)),
        'privkey-33': (S, ifname(dev) + nla(WGDEVICE_A_PRIVATE_KEY, b'\x42' * 33)),
        'dev-flags-unknown': (S, ifname(dev) + u32(WGDEVICE_A_FLAGS, 0x80)),
        'no-ifname': (S, u16(WGDEVICE_A_LISTEN_PORT, 1234)),
        'by-ifindex': (S, u32(WGDEVICE_A_IFINDEX, ifindex(dev)) + u32(WGDEVICE_A_FWMARK, 0x77)),
        'ifindex-and-ifname': (S, ifname(dev) + u32(WGDEVICE_A_IFINDEX, ifindex(dev))),
        'nodev': (S, ifname('wgt-nosuchdev') + u16(WGDEVICE_A_LISTEN_PORT, 1234)),
        'notwg': (S, ifname(dev) + u16(WGDEVICE_A_LISTEN_PORT, 1234)),
        'get-nodev': (WG_CMD_GET_DEVICE, ifname('wgt-nosuchdev'), NLM_F_REQUEST | NLM_F_DUMP),
        'get-notwg': (WG_CMD_GET_DEVICE, ifname(dev), NLM_F_REQUEST | NLM_F_DUMP),
        'get': (WG_CMD_GET_DEVICE, ifname(dev), NLM_F_REQUEST | NLM_F_DUMP),
        # Peer attributes, on an existing peer (k0).
        'pubkey-33': (S, ifname(dev) + peers(nest(0, nla(WGPEER_A_PUBLIC_KEY, k0 + b'\x01')))),
        'pubkey-31': (S, ifname(dev) + peers(nest(0, nla(WGPEER_A_PUBLIC_KEY, k0[:31])))),
        'peer-nokey': (S, ifname(dev) + peers(nest(0, u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 9)))),
        'psk-31': (S, ifname(dev) + peers(peer(k0, nla(WGPEER_A_PRESHARED_KEY, b'\x07' * 31)))),
        'peer-flags-unknown': (S, ifname(dev) + peers(peer(k0, u32(WGPEER_A_FLAGS, 0x80)))),
        'protocol-2': (S, ifname(dev) + peers(peer(k0, u32(WGPEER_A_PROTOCOL_VERSION, 2)))),
        'aip-family-99': (S, ifname(dev) + peers(peer(k0, nest(
            WGPEER_A_ALLOWEDIPS, aip(99, v4('10.99.0.0'), 16))))),
        'aip-v4-cidr-33': (S, ifname(dev) + peers(peer(k0, nest(
            WGPEER_A_ALLOWEDIPS, aip(AF_INET, v4('10.99.0.0'), 33))))),
        'aip-v6-cidr-129': (S, ifname(dev) + peers(peer(k0, nest(
            WGPEER_A_ALLOWEDIPS, aip(AF_INET6, v6('fd99::'), 129))))),
        'aip-v4-addr-len-16': (S, ifname(dev) + peers(peer(k0, nest(
            WGPEER_A_ALLOWEDIPS, aip(AF_INET, v6('fd99::'), 24))))),
        'aip-v6-addr-len-4': (S, ifname(dev) + peers(peer(k0, nest(
            WGPEER_A_ALLOWEDIPS, aip(AF_INET6, v4('10.99.0.0'), 24))))),
        'endpoint-short': (S, ifname(dev) + peers(peer(k0, nla(
            WGPEER_A_ENDPOINT, sockaddr_in('192.0.2.99', 99)[:8])))),
        'endpoint-family': (S, ifname(dev) + peers(peer(k0, nla(
            WGPEER_A_ENDPOINT, struct.pack('=H', socket.AF_UNIX) + b'\x01' * 14)))),
        'endpoint-v6-short': (S, ifname(dev) + peers(peer(k0, nla(
            WGPEER_A_ENDPOINT, sockaddr_in6('2001:db8::99', 99)[:16])))),
        # Device fields, then a bad peer: how much of the request lands.
        'fwmark-then-bad-peer': (S, ifname(dev) + u32(WGDEVICE_A_FWMARK, 0x99) + peers(
            nest(0, nla(WGPEER_A_PUBLIC_KEY, k0 + b'\x01')))),
        # A good new peer (k1), then a bad one: how much of it lands.
        'good-then-bad': (S, ifname(dev) + peers(
            peer(k1, nest(WGPEER_A_ALLOWEDIPS, aip(AF_INET, v4('10.98.0.0'), 16))),
            nest(0, nla(WGPEER_A_PUBLIC_KEY, k0 + b'\x01')))),
        # One key named twice in a request (keys[0] existing, keys[1] new).
        'remove-then-add': (S, ifname(dev) + peers(
            peer(k0, u32(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME)),
            peer(k0, nla(WGPEER_A_ENDPOINT, sockaddr_in('192.0.2.50', 50))))),
        'add-then-remove': (S, ifname(dev) + peers(
            peer(k1, nest(WGPEER_A_ALLOWEDIPS, aip(AF_INET, v4('10.96.0.0'), 16))),
            peer(k1, u32(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME)))),
        'update-twice': (S, ifname(dev) + peers(
            peer(k0, nla(WGPEER_A_ENDPOINT, sockaddr_in('192.0.2.51', 51))),
            peer(k0, nla(WGPEER_A_ENDPOINT, sockaddr_in('192.0.2.52', 52))))),
        # REPLACE_PEERS naming an existing peer (keys[0]) and a new one.
        'replace-peers-keep': (S, ifname(dev) + u32(WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS) +
                               peers(peer(k0, nla(WGPEER_A_ENDPOINT,
                                                  sockaddr_in('192.0.2.53', 53))),
                                     peer(k1, nest(WGPEER_A_ALLOWEDIPS,
                                                   aip(AF_INET, v4('10.95.0.0'), 16))))),
        # WGPEER_F_UPDATE_ONLY, which wg(8) has no option for.
        'update-only': (S, ifname(dev) + peers(peer(
            k0, u32(WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY),
            u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 7),
            nest(WGPEER_A_ALLOWEDIPS, aip(AF_INET, v4('10.97.0.0'), 16))))),
        # WGALLOWEDIP_F_REMOVE_ME (Linux 6.16): keys[0] is peer A, with
        # 10.10.0.0/16 10.10.1.0/24 10.10.1.1/32 fd10::/64 fd10::1/128,
        # keys[1] peer B, with 10.20.0.0/16 10.20.5.0/24 10.20.6.0/24,
        # keys[2] a key that is not configured (tests/netns.sh).
        'aip-rm-own': (S, ifname(dev) + peers(peer(k0, aips('-10.10.1.0/24')))),
        'aip-rm-v6': (S, ifname(dev) + peers(peer(k0, aips('-fd10::1/128')))),
        'aip-rm-other': (S, ifname(dev) + peers(peer(k0, aips('-10.20.5.0/24')))),
        'aip-rm-missing': (S, ifname(dev) + peers(peer(k0, aips('-10.10.9.0/24', '-fd10:9::/64')))),
        'aip-rm-other-cidr': (S, ifname(dev) + peers(peer(k0, aips('-10.10.1.0/25',
                                                                   '-10.10.0.0/15')))),
        'aip-rm-glue': (S, ifname(dev) + peers(peer(k1, aips('-10.20.4.0/22')))),
        'aip-rm-hostbits': (S, ifname(dev) + peers(peer(k0, aips('-10.10.1.77/24')))),
        'aip-rm-cidr-33': (S, ifname(dev) + peers(peer(k0, aips('-10.10.0.0/33')))),
        'aip-rm-cidr-129': (S, ifname(dev) + peers(peer(k0, aips('-fd10::/129')))),
        'aip-flags-unknown': (S, ifname(dev) + peers(peer(k0, aips('!10.10.7.0/24')))),
        'aip-flags-high': (S, ifname(dev) + peers(peer(k0, nest(WGPEER_A_ALLOWEDIPS, prefix(
            '10.10.7.0/24', u32(WGALLOWEDIP_A_FLAGS, 0x80000001)))))),
        'aip-flags-short': (S, ifname(dev) + peers(peer(k0, nest(WGPEER_A_ALLOWEDIPS, prefix(
            '10.10.0.0/16', u16(WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME)))))),
        'aip-flags-zero': (S, ifname(dev) + peers(peer(k0, nest(WGPEER_A_ALLOWEDIPS, prefix(
            '10.10.8.0/24', u32(WGALLOWEDIP_A_FLAGS, 0)))))),
        # In request order: what an entry removes or adds, a later one
        # of the request sees.
        'aip-rm-mixed': (S, ifname(dev) + peers(peer(k0, aips(
            '10.40.0.0/24', '-10.10.0.0/16', '10.41.0.0/24', '-10.40.0.0/24')))),
        'aip-add-then-rm': (S, ifname(dev) + peers(peer(k0, aips('10.60.0.0/24', '-10.60.0.0/24')))),
        'aip-rm-then-add': (S, ifname(dev) + peers(peer(k0, aips('-10.10.1.1/32', '10.10.1.1/32',
                                                                 '-10.61.0.0/24', '10.61.0.0/24')))),
        'aip-rm-replace': (S, ifname(dev) + peers(peer(
            k0, u32(WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS),
            aips('-fd10::/64', '10.50.0.0/16', '-10.10.0.0/16')))),
        # B takes A's prefix, then A's removal of it finds it is B's.
        'aip-rm-moved': (S, ifname(dev) + peers(peer(k1, aips('10.10.0.0/16')),
                                                 peer(k0, aips('-10.10.0.0/16')))),
        # A removes it, then B takes nothing from A.
        'aip-rm-then-move': (S, ifname(dev) + peers(peer(k0, aips('-10.10.0.0/16')),
                                                     peer(k1, aips('10.10.0.0/16')))),
        # A valid removal, then a bad entry: the whole request is refused.
        'aip-rm-then-bad': (S, ifname(dev) + peers(peer(k0, aips('-10.10.0.0/16', '-10.10.1.0/33')))),
        'aip-rm-then-bad-peer': (S, ifname(dev) + peers(
            peer(k0, aips('-10.10.0.0/16', '10.42.0.0/16')),
            peer(k1, aips('-10.20.0.0/16', '!10.43.0.0/16')))),
        # A new peer's removal entry: the peer is made, with no prefix;
        # with UPDATE_ONLY nothing is made.
        'aip-rm-new-peer': (S, ifname(dev) + peers(peer(k2, aips('-10.10.0.0/16')))),
        'aip-rm-update-only': (S, ifname(dev) + peers(peer(
            k2, u32(WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY), aips('-10.10.0.0/16')))),
        # A removed peer's removal entries are not looked at.
        'aip-rm-remove-peer': (S, ifname(dev) + peers(peer(
            k0, u32(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME), aips('-10.10.0.0/16')))),
        # Dumps: which attribute types the allowed IPs carry.
        'get-aip-attrs': (WG_CMD_GET_DEVICE, ifname(dev), NLM_F_REQUEST | NLM_F_DUMP),
    }


def main():
    if len(sys.argv) < 3:
        print('usage: netns-genl.py CASE IFNAME [KEY...]', file=sys.stderr)
        return 2
    case, dev, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
    table = cases(dev, keys)
    if case not in table:
        print('unknown case %s; known: %s' % (case, ' '.join(sorted(table))), file=sys.stderr)
        return 2
    cmd, attrs, *flags = table[case]
    nl = Genl()
    fam = nl.family('wireguard')
    err, text, data = nl.request(fam, cmd, attrs, *flags)
    # ENOTSUP and EOPNOTSUPP are one number on Linux; use the kernel's name.
    name = 'EOPNOTSUPP' if err == errno.EOPNOTSUPP else errno.errorcode.get(err, str(err))
    line = 'errno=%s' % (name if err else '0')
    if text is not None:
        line += ' extack="%s"' % text
    if cmd == WG_CMD_GET_DEVICE and not err:
        line += ' messages=%d' % len(data)
    if case == 'get-aip-attrs' and not err:
        line += ' aip-attrs=%s' % ','.join(str(t) for t in sorted(aip_attr_types(data)))
    print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
