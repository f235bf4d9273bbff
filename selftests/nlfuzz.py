#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send random and mutated messages to the chimney generic netlink family.

Every message asks for an ACK; the test checks that each one is answered
(an error, an ACK, or a dump ending in NLMSG_DONE) and prints KTAP.
    nlfuzz.py COUNT SEED
"""
import os
import random
import socket
import struct
import sys

NETLINK_GENERIC = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLA_F_NESTED = 0x8000


def attr(t, payload):
    hdr = struct.pack('=HH', 4 + len(payload), t)
    pad = (4 - len(payload) % 4) % 4
    return hdr + payload + b'\0' * pad


def msg(family, flags, seq, cmd, attrs):
    body = struct.pack('=BBH', cmd, 1, 0) + attrs
    return struct.pack('=IHHII', 16 + len(body), family, flags, seq, 0) + body


class Nl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.settimeout(10)

    def send(self, data):
        self.s.send(data)

    def answers(self, seq):
        """Read until the answer to seq is complete; return its kind."""
        while True:
            buf = self.s.recv(1 << 16)
            off = 0
            while off + 16 <= len(buf):
                ln, typ, flags, rseq, _ = struct.unpack_from('=IHHII', buf, off)
                if ln < 16:
                    return 'bad'
                off += (ln + 3) & ~3
                if rseq != seq:
                    continue
                if typ == NLMSG_ERROR:
                    return 'error'
                if typ == NLMSG_DONE:
                    return 'done'

    def family(self, name):
        seq = 1
        self.send(msg(GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY,
                      attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b'\0')))
        buf = self.s.recv(1 << 16)
        off = 20
        while off < len(buf):
            ln, t = struct.unpack_from('=HH', buf, off)
            if t == CTRL_ATTR_FAMILY_ID:
                return struct.unpack_from('=H', buf, off + 4)[0]
            off += (ln + 3) & ~3
        raise SystemExit('family not found')


def random_attrs(rng, ifindexes):
    out = b''
    for _ in range(rng.randint(0, 8)):
        t = rng.randint(0, 60)
        kind = rng.random()
        if kind < 0.3:
            payload = struct.pack('=I', rng.choice(ifindexes + [0, 1, 0xffffffff,
                                                               rng.getrandbits(32)]))
        elif kind < 0.4:
            payload = rng.choice([b'dummy0\0', b'dummy1\0', b'eth0\0', b'x' * 40,
                                  b'', b'lo\0'])
        elif kind < 0.5:
            payload = struct.pack('=Q', rng.getrandbits(64))
        elif kind < 0.6:
            payload = struct.pack('=H', rng.getrandbits(16))
        elif kind < 0.7:
            inner = random_attrs(rng, ifindexes) if rng.random() < 0.5 else b''
            payload = inner
            t |= NLA_F_NESTED if rng.random() < 0.5 else 0
        else:
            payload = os.urandom(rng.randint(0, 40))
        out += attr(t, payload)
    if rng.random() < 0.05:  # a truncated attribute
        out += struct.pack('=HH', 200, rng.randint(0, 60))
    return out


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    ifindexes = [int(x) for x in sys.argv[3:]]
    rng = random.Random(seed)
    nl = Nl()
    fam = nl.family('chimney')
    answered = unanswered = 0
    kinds = {}
    for i in range(count):
        seq = 100 + i
        cmd = rng.randint(0, 20)
        flags = NLM_F_REQUEST | NLM_F_ACK
        if rng.random() < 0.3:
            flags |= NLM_F_DUMP
        data = msg(fam, flags, seq, cmd, random_attrs(rng, ifindexes))
        if rng.random() < 0.03:  # cut inside an attribute
            data = data[:rng.randint(20, len(data))]
            data = struct.pack('=I', len(data)) + data[4:]
        try:
            nl.send(data)
            kind = nl.answers(seq)
        except (socket.timeout, OSError) as e:
            kind = 'lost:' + type(e).__name__
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind in ('error', 'done'):
            answered += 1
        else:
            unanswered += 1
    print('TAP version 13')
    print('1..2')
    print(f'# {count} messages, seed {seed}: {kinds}')
    print(('ok' if answered + unanswered == count else 'not ok') +
          f' 1 sent {count} messages')
    print(('ok' if unanswered == 0 else 'not ok') +
          f' 2 every message answered ({answered}/{count})')


if __name__ == '__main__':
    main()
