#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fuzz a generic netlink family from its YNL spec (the chimney family, for
selftests/ynl.sh), and check what the kernel answers.

    nlfuzz.py [--unprivileged] [--restore] [--kmsg-fd FD] SPEC COUNT SEED IFNAME...
    nlfuzz.py --table SPEC

SPEC is the family's YNL spec (Documentation/netlink/specs/chimney.yaml).
From it come the family's name, every operation's command number (from 1 in
list order, or its `value:`), whether it is admin-perm, and its request
attributes, do and dump: their numbers (from 1 in set order, or `value:`),
types, nested sets, checks (max, min, max-len, exact-len...) and enums.  The
attributes of no request are the reply-only ones (refused in a request).

COUNT messages go out one at a time, each asking for an ACK, mixed by
random.Random(SEED):
  a  (half)  valid-looking: a real command, do or dump, with only its request
             attributes, each of its declared type with a plausible value:
             the IFNAMEs (devices of the caller's netns) and their ifindexes,
             IPv4/IPv6 addresses of one family as the spec encodes them,
             ports, enum values, values within the checks, small fault counts,
             complete-delay at most 100 ms, rule ids seen in replies;
  b  (0.3)   one of them mutated: one attribute of a wrong length, out of
             range, unknown (type 0, above the set, reply-only), truncated, or
             wrongly nested (NLA_F_NESTED missing or unexpected, a bad inner
             attribute);
  c  (0.2)   random command, flags and attributes.

Each answer is: accepted (an ACK with error 0, or a dump ending in
NLMSG_DONE with 0), refused with an errno (a refusal by policy validation is
told from a handler's by its extack message, which lib/nlattr.c writes), or
lost (no answer within 10 s).  KTAP checks:
  1. every message answered;
  2. valid-looking messages reach the handlers: at least 20% of those the
     caller may send (as nobody: of commands that are not admin-perm) are
     accepted, by at least half of those commands;
  3. no valid-looking message is refused by policy validation;
  4. every mutated message is refused by policy validation (or, without
     CAP_NET_ADMIN, an admin-perm command with EPERM, checked first);
  5. admin-perm commands: as root, some accepted and none refused with
     EPERM; with --unprivileged, all refused with EPERM, none accepted;
  6. no kernel splat: no new kernel log line matches SPLAT;
  7. (--restore) the devices put back.

--unprivileged: the caller lacks CAP_NET_ADMIN (ynl.sh runs it as nobody).
--restore (as root): the valid-looking messages really act (attach, detach,
  pause, offload rules, faults, terminates); afterwards each IFNAME is
  detached and attached afresh, then checked in a dev-get dump (attached,
  not paused, no fault) and in a policy-get dump (no rule).
--kmsg-fd FD: the kernel log is read from FD, /dev/kmsg opened by the
  caller (with dmesg_restrict, nobody may not open it); by default from
  /dev/kmsg, and if that cannot be opened check 6 is skipped and says so:
  the caller must check the log.
--table: print what was derived from SPEC (commands, attribute numbers and
  types) and exit.
Exit status: 0 when every check passed, 1 when one failed, 2 when the run
could not start (usage, the family not registered).
"""
import argparse
import errno
import os
import random
import re
import socket
import struct
import sys
import time

import yaml

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG = 1
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLA_F_NESTED = 0x8000
AF_INET, AF_INET6 = 2, 10
TIMEOUT_S = 10
MAX_LOST_IN_A_ROW = 3

# What lib/nlattr.c says when policy validation refuses an attribute.
VALIDATION_MSGS = {
    'Unknown attribute type', 'Unsupported attribute',
    'invalid attribute length', 'NLA_F_NESTED is missing',
    'NLA_F_NESTED not expected', 'Attribute failed policy validation',
    'integer out of range', 'binary attribute size out of range',
    'bytes leftover after parsing attributes', 'reserved bit set',
    'allowed policy recursion depth exceeded', 'Array element too short',
}
SPLAT = re.compile(r'WARNING:|BUG:|KASAN|UBSAN|general protection|Oops|'
                   r'refcount_t|list_add corruption|list_del corruption|lockdep|'
                   r'possible recursive locking|circular locking|'
                   r'blocked for more than')

INT_SIZES = {'u8': 1, 'u16': 2, 'u32': 4, 'u64': 8,
             's8': 1, 's16': 2, 's32': 4, 's64': 8, 'uint': 8, 'sint': 8}
PACK = {1: 'B', 2: 'H', 4: 'I', 8: 'Q'}


def port(rng):
    return rng.choice((22, 80, 443, 5001, 7410, 12345, rng.randint(1, 65535),
                       rng.randint(1, 65535), 0))


# Plausible values by attribute name (chimney's): what the handlers accept,
# with a few they refuse.  Fault counts stay small and complete-delay at
# most 100 ms: the privileged run really sets them.
HINTS = {
    'ticks-per-second': (10, 100, 1000, 1000, 50),
    'ack-frequency': range(1, 256),
    'delayed-ack-ticks': range(1, 256),
    'max-retransmissions': range(1, 256),
    'doubt-reachability-retransmissions': range(1, 256),
    'sws-prevention-ticks': range(1, 256),
    'dup-ack-threshold': range(1, 256),
    'push-ticks': range(1, 256),
    'nce-stale-ticks': range(1, 256),
    'capacity': (1, 2, 77, 1000, 4096, 1 << 20, 0),
    'idle-timeout': (0, 0, 100, 500, 2000),
    'idle-bytes': (0, 0, 1, 1000, 1 << 20),
    'accept-optional': (0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 6),
    'opt-in': (0, 1),
    'terminate-fail': (0, 0, 1, 2, 3),
    'initiate-fail': (0, 0, 1, 2, 3),
    'complete-delay': (0, 0, 0, 0, 1, 5, 20, 100),
    'local-port': port,
    'remote-port': port,
}
# Detached devices refuse most commands: detach less often than attach (a
# device is then attached about three quarters of the time).
OP_WEIGHTS = {'dev-detach': 0.3}


def nla(t, payload):
    return struct.pack('=HH', 4 + len(payload), t) + payload + \
        b'\0' * ((4 - len(payload) % 4) % 4)


def genl_msg(family, flags, seq, cmd, version, attrs):
    body = struct.pack('=BBH', cmd, version, 0) + attrs
    return struct.pack('=IHHII', 16 + len(body), family, flags, seq, 0) + body


def parse_attrs(data):
    """[(type without flags, payload)] of a stream of attributes."""
    out, off = [], 0
    while off + 4 <= len(data):
        ln, t = struct.unpack_from('=HH', data, off)
        if ln < 4 or off + ln > len(data):
            break
        out.append((t & 0x3fff, data[off + 4:off + ln]))
        off += (ln + 3) & ~3
    return out


def ename(n):
    return 'EOPNOTSUPP' if n == errno.EOPNOTSUPP else errno.errorcode.get(n, str(n))


# ---- the spec -------------------------------------------------------------

class Attr:
    def __init__(self, spec, y, value):
        self.name = y['name']
        self.value = value
        self.type = y.get('type', 'binary')
        self.size = INT_SIZES.get(self.type)
        self.signed = self.type[0] == 's' and self.size is not None
        self.be = y.get('byte-order') == 'big-endian'
        self.hint = y.get('display-hint')
        self.nested = y.get('nested-attributes')
        self.multi = bool(y.get('multi-attr'))
        self.enum = spec.enums.get(y.get('enum'))   # (is_flags, values)
        if self.enum and y.get('enum-as-flags') and not self.enum[0]:
            self.enum = (True, [1 << v for v in self.enum[1]])
        self.checks = {}
        for k, v in (y.get('checks') or {}).items():
            v = spec.limit(v)
            if v is not None:
                self.checks[k] = v
        if self.size:
            bits = 8 * self.size
            self.tmin = -(1 << (bits - 1)) if self.signed else 0
            self.tmax = (1 << (bits - 1)) - 1 if self.signed else (1 << bits) - 1
            lo, hi = self.checks.get('min', self.tmin), self.checks.get('max', self.tmax)
            if self.enum and not self.enum[0]:
                lo, hi = max(lo, min(self.enum[1])), min(hi, max(self.enum[1]))
            self.lo, self.hi = lo, hi

    def pack(self, v, size=None):
        size = size or self.size
        fmt = PACK[size].lower() if self.signed else PACK[size]
        return struct.pack(('>' if self.be else '=') + fmt, v)

    def __repr__(self):
        extra = ''
        if self.nested:
            extra = '->' + self.nested
        elif self.enum:
            extra = '(enum %d-%d)' % (min(self.enum[1]), max(self.enum[1]))
        if self.checks:
            extra += str(self.checks).replace(' ', '')
        return '%s=%d:%s%s' % (self.name, self.value, self.type, extra)


class Op:
    def __init__(self, y, value, default_set):
        self.name = y['name']
        self.value = value
        self.admin = bool({'admin-perm', 'uns-admin-perm'} & set(y.get('flags', [])))
        self.set = y.get('attribute-set', default_set)
        self.do = self.dump = None
        for mode in ('do', 'dump'):
            if mode in y:
                req = (y[mode] or {}).get('request') or {}
                setattr(self, mode, list(req.get('attributes') or []))

    def modes(self):
        return [m for m in ('do', 'dump') if getattr(self, m) is not None]


class Spec:
    def __init__(self, path):
        loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
        with open(path) as f:
            y = yaml.load(f, Loader=loader)
        self.name = y['name']
        self.version = y.get('version', 1)
        if (y.get('operations') or {}).get('fixed-header'):
            raise SystemExit('nlfuzz: a fixed header is not supported')
        self.consts, self.enums = {}, {}
        for d in y.get('definitions', []):
            if d['type'] == 'const':
                self.consts[d['name']] = d['value']
            elif d['type'] in ('enum', 'flags'):
                flags = d['type'] == 'flags'
                v, vals = d.get('value-start', 0), []
                for e in d.get('entries', []):
                    if isinstance(e, dict) and 'value' in e:
                        v = e['value']
                    vals.append(1 << v if flags else v)
                    v += 1
                if vals:
                    self.enums[d['name']] = (flags, vals)
        raw = {s['name']: s for s in y.get('attribute-sets', [])}
        self.sets = {}
        for name in raw:
            self._build_set(name, raw)
        self.ops = []
        v = 1
        for o in y['operations']['list']:
            v = o.get('value', v)
            self.ops.append(Op(o, v, self.name))
            v += 1
        # The requests' attributes, by set: what the kernel's policy takes.
        self.req = {}
        for op in self.ops:
            for mode in op.modes():
                self.req.setdefault(op.set, set()).update(getattr(op, mode))
        for op in self.ops:
            for mode in op.modes():
                for a in getattr(op, mode):
                    if a not in self.sets[op.set]:
                        raise SystemExit(f'nlfuzz: {op.name} {mode}: no attribute {a}')

    def limit(self, v):
        """A check's value: a number, a const, or a type's limit (u32-max)."""
        v = self.consts.get(v, v) if isinstance(v, str) else v
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        m = re.fullmatch(r'([us])(8|16|32|64)-(min|max)', str(v))
        if not m:
            return None
        bits = int(m.group(2))
        if m.group(1) == 'u':
            return 0 if m.group(3) == 'min' else (1 << bits) - 1
        return -(1 << (bits - 1)) if m.group(3) == 'min' else (1 << (bits - 1)) - 1

    def _build_set(self, name, raw):
        if name in self.sets:
            return self.sets[name]
        s = raw[name]
        attrs, v = {}, 1
        parent = self._build_set(s['subset-of'], raw) if 'subset-of' in s else None
        praw = {a['name']: a for a in raw[s['subset-of']]['attributes']} if parent else {}
        for a in s['attributes']:
            if parent:
                y = dict(praw.get(a['name'], {}), **a)
                v = parent[a['name']].value
            else:
                y = a
                v = a.get('value', v)
            attrs[a['name']] = Attr(self, y, v)
            v += 1
        self.sets[name] = attrs
        return attrs

    def op(self, name):
        for op in self.ops:
            if op.name == name:
                return op
        raise SystemExit(f'nlfuzz: the spec has no operation {name}')

    def table(self):
        lines = [f'family {self.name} version {self.version}']
        for op in self.ops:
            modes = ' '.join(f'{m}[{",".join(getattr(op, m))}]' for m in op.modes())
            lines.append(f'op {op.value} {op.name}{" admin-perm" if op.admin else ""}'
                         f' set={op.set} {modes or "(no do/dump)"}')
        for name, attrs in self.sets.items():
            req = self.req.get(name, set())
            lines.append(f'set {name}: ' + ' '.join(
                repr(a) + ('' if a.name in req or not req else '(reply-only)')
                for a in attrs.values()))
        return '\n'.join(lines)


# ---- the messages ---------------------------------------------------------

class Ctx:
    """What one message's attributes agree on."""
    def __init__(self, rng, devs):
        self.dev = rng.choice(devs)
        self.fam = rng.choice((4, 6))
        self.both_fams = rng.random() < 0.05
        self.p = rng.choice((0.3, 0.6, 0.9))


class Gen:
    def __init__(self, spec, rng, devs):
        self.spec, self.rng, self.devs = spec, rng, devs
        self.seen = {}      # attribute name -> int values seen in replies
        self.ops = [op for op in spec.ops if op.modes()]
        self.weights = [OP_WEIGHTS.get(op.name, 1.0) for op in self.ops]
        self.by_cmd = {op.value: op for op in spec.ops}

    def randbytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    # -- kind a: valid-looking

    def valid(self):
        """(op, dump, attrs): attrs a list of [type, payload, Attr]."""
        rng = self.rng
        op = rng.choices(self.ops, self.weights)[0]
        mode = rng.choice(op.modes())
        return op, mode == 'dump', self.attrs(op.set, getattr(op, mode), Ctx(rng, self.devs))

    def attrs(self, set_name, names, ctx):
        rng, sset, out = self.rng, self.spec.sets[set_name], []
        devattrs = [n for n in names if n in ('ifindex', 'ifname')]
        pick, bad = [], False
        if devattrs:
            r = rng.random()
            if r < 0.85:
                pick = rng.choice([[n] for n in devattrs] + [devattrs])
            elif r > 0.93:
                pick, bad = rng.choice([[n] for n in devattrs] + [devattrs]), True
        for n in names:
            a = sset[n]
            if n in devattrs:
                if n in pick:
                    out.append([a.value, self.device(a, ctx, bad), a])
                continue
            if a.hint in ('ipv4', 'ipv6') and not ctx.both_fams and \
                    (a.hint == 'ipv4') != (ctx.fam == 4):
                continue
            if rng.random() >= ctx.p:
                continue
            for _ in range(rng.randint(1, 3) if a.multi else 1):
                out.append(self.one(a, ctx))
        return out

    def one(self, a, ctx):
        if a.type == 'nest':
            return [a.value | NLA_F_NESTED, self.nest_payload(a, ctx), a]
        return [a.value, self.payload(a, ctx), a]

    def nest_payload(self, a, ctx):
        inner = self.spec.sets.get(a.nested)
        if not inner:
            return b''
        return b''.join(nla(t, p) for t, p, _ in self.attrs(a.nested, list(inner), ctx))

    def device(self, a, ctx, bad):
        rng = self.rng
        if a.name == 'ifindex':
            v = rng.choice((0x7fffff, 1, rng.choice(self.devs)[1])) if bad else ctx.dev[1]
            return a.pack(v)
        name = rng.choice(('nosuch0', 'lo', rng.choice(self.devs)[0])) if bad else ctx.dev[0]
        return name.encode() + b'\0'

    def payload(self, a, ctx):
        rng = self.rng
        if a.type == 'flag':
            return b''
        if a.type == 'string':
            maxlen = a.checks.get('max-len', 15)
            s = rng.choice([d[0] for d in self.devs] + ['lo', 'x' * rng.randint(1, maxlen)])
            return s[:maxlen].encode() + b'\0'
        if a.hint == 'ipv4':
            addr = socket.inet_aton(self.ip4())
            return addr if a.be else a.pack(int.from_bytes(addr, 'big'))
        if a.hint == 'ipv6' and a.type == 'binary':
            return socket.inet_pton(socket.AF_INET6, self.ip6())
        if a.type == 'binary':
            n = a.checks.get('exact-len')
            if n is None:
                n = rng.randint(a.checks.get('min-len', 0), a.checks.get('max-len', 16))
            return self.randbytes(n)
        if a.size:
            v = self.int_value(a, ctx)
            return a.pack(v, 4 if a.type in ('uint', 'sint') and v < 1 << 31 else None)
        return self.randbytes(rng.choice((0, 4, 8)))    # bitfield32 and the like

    def int_value(self, a, ctx):
        rng = self.rng
        if a.name == 'family':
            if rng.random() < 0.05:
                return rng.randint(0, 255)
            return AF_INET if ctx.fam == 4 else AF_INET6
        h = HINTS.get(a.name)
        if h is not None:
            v = h(rng) if callable(h) else rng.choice(h)
            return min(max(v, a.lo), a.hi)
        if a.enum:
            flags, vals = a.enum
            if flags:
                return sum(set(rng.sample(vals, rng.randint(0, min(2, len(vals))))))
            return rng.choice(vals)
        seen = self.seen.get(a.name)
        if seen and rng.random() < 0.6:
            return rng.choice(seen)
        r = rng.random()
        if r < 0.5:
            return rng.randint(a.lo, min(a.hi, a.lo + 16))
        if r < 0.8:
            return rng.randint(a.lo, min(a.hi, a.lo + 1000))
        return rng.randint(a.lo, a.hi)

    def ip4(self):
        rng = self.rng
        return rng.choice(('10.0.0.1', '10.0.0.2', '127.0.0.1', '0.0.0.0',
                           '10.0.0.%d' % rng.randint(3, 254)))

    def ip6(self):
        rng = self.rng
        if rng.random() < 0.05:
            return '::ffff:10.0.0.1'
        return rng.choice(('fd00::1', 'fd00::2', '::1', 'fd00::%x' % rng.randint(3, 0xffff)))

    def learn(self, op, replies):
        """Remember the request attributes' integer values a reply gives
        (rule ids for policy-del)."""
        sset = self.spec.sets.get(op.set) if op else None
        if not sset:
            return
        byval = {a.value: a for a in sset.values()
                 if a.size and a.size <= 4 and a.name in self.spec.req.get(op.set, ())}
        for body in replies:
            for t, p in parse_attrs(body[4:]):
                a = byval.get(t)
                if a is None or len(p) != a.size:
                    continue
                v = struct.unpack(('>' if a.be else '=') +
                                  (PACK[a.size].lower() if a.signed else PACK[a.size]), p)[0]
                seen = self.seen.setdefault(a.name, [])
                if a.lo <= v <= a.hi and v not in seen:
                    seen.append(v)
                    del seen[:-16]

    # -- kind b: one mutation of a valid-looking message

    def pool(self, op, pred):
        """Attributes of op's requests (else of any request) matching pred."""
        sset = self.spec.sets[op.set]
        own = {n for m in op.modes() for n in getattr(op, m)}
        for names in (own, self.spec.req.get(op.set, set())):
            cands = [sset[n] for n in sorted(names) if pred(sset[n])]
            if cands:
                return cands
        return []

    def find_or_add(self, op, attrs, pred, ctx):
        """Index in attrs of an attribute matching pred, added if none is."""
        idx = [i for i, x in enumerate(attrs) if x[2] is not None and pred(x[2])]
        if idx:
            return self.rng.choice(idx)
        cands = self.pool(op, pred)
        if not cands:
            return None
        attrs.append(self.one(self.rng.choice(cands), ctx))
        return len(attrs) - 1

    @staticmethod
    def can_bad_length(a):
        return bool(a.size) or a.type in ('flag', 'string', 'nest') or \
            (a.type == 'binary' and bool({'exact-len', 'max-len'} & set(a.checks) or
                                         a.checks.get('min-len', 0) > 0))

    @staticmethod
    def can_bad_range(a):
        if a.type == 'string':
            return 'max-len' in a.checks
        if not a.size:
            return False
        if a.enum and a.enum[0]:
            return sum(a.enum[1]) < a.tmax
        return a.hi < a.tmax or a.lo > a.tmin

    def bad_length(self, a, payload):
        rng = self.rng
        if a.size:
            ok = (4, 8) if a.type in ('uint', 'sint') else (a.size,)
            return self.randbytes(rng.choice([n for n in (0, 1, 2, 3, 4, 5, 6, 8, 12, 16)
                                              if n not in ok]))
        if a.type == 'flag':
            return self.randbytes(rng.randint(1, 8))
        if a.type == 'string':      # no NUL, or nothing at all
            s = payload.split(b'\0')[0] or b'x'
            return rng.choice((s[:a.checks.get('max-len', len(s))] or b'x', b''))
        if a.type == 'nest':
            return self.randbytes(rng.randint(1, 3))
        c = a.checks
        if 'exact-len' in c:
            n = c['exact-len']
            return self.randbytes(rng.choice([x for x in (0, n - 1, n + 1, n + 4) if x >= 0]))
        if 'max-len' in c:
            return self.randbytes(c['max-len'] + rng.randint(1, 8))
        return self.randbytes(rng.randint(0, c['min-len'] - 1))

    def bad_value(self, a):
        rng = self.rng
        if a.type == 'string':
            return b'y' * (a.checks['max-len'] + rng.randint(1, 20)) + b'\0'
        if a.enum and a.enum[0]:
            top = max(a.enum[1])
            v = top << 1
            while v <= a.tmax and v & sum(a.enum[1]):
                v <<= 1
            return a.pack(v)
        if a.hi < a.tmax and (a.lo <= a.tmin or rng.random() < 0.7):
            v = rng.choice((a.hi + 1, rng.randint(a.hi + 1, a.tmax), a.tmax))
        else:
            v = rng.choice((a.lo - 1, rng.randint(a.tmin, a.lo - 1)))
        return a.pack(v)

    def unknown_type(self, op):
        rng, sset = self.rng, self.spec.sets[op.set]
        top = max(a.value for a in sset.values())
        req = self.spec.req.get(op.set, set())
        reply_only = [a.value for a in sset.values() if a.name not in req]
        return rng.choice([0, top + rng.randint(1, 30), 0x3fff] +
                          ([rng.choice(reply_only)] * 2 if reply_only else []))

    def mutate(self, op, attrs):
        """The attribute bytes of a mutated attrs, and what the mutation was."""
        rng, ctx = self.rng, Ctx(self.rng, self.devs)
        attrs = [list(x) for x in attrs]
        m = rng.choice(('length', 'range', 'unknown', 'truncated', 'nesting'))
        if m == 'length':
            i = self.find_or_add(op, attrs, self.can_bad_length, ctx)
            if i is not None:
                attrs[i][1] = self.bad_length(attrs[i][2], attrs[i][1])
            else:
                m = 'unknown'
        elif m == 'range':
            i = self.find_or_add(op, attrs, self.can_bad_range, ctx)
            if i is not None:
                attrs[i][1] = self.bad_value(attrs[i][2])
            else:
                m = 'unknown'
        elif m == 'nesting':
            m = self.bad_nesting(op, attrs, ctx)
        if m == 'unknown':
            attrs.insert(rng.randint(0, len(attrs)),
                         [self.unknown_type(op), self.randbytes(rng.choice((0, 1, 2, 4, 8))),
                          None])
        data = b''.join(nla(t, p) for t, p, _ in attrs)
        if m == 'truncated':
            data = self.truncate(data)
        return data, m

    def bad_nesting(self, op, attrs, ctx):
        rng = self.rng
        how = ['flag-unexpected']
        if self.pool(op, lambda a: a.type == 'nest') or \
                any(x[2] and x[2].type == 'nest' for x in attrs):
            how += ['flag-missing', 'bad-inner']
        how = rng.choice(how)
        if how == 'flag-unexpected':
            i = self.find_or_add(op, attrs, lambda a: a.type != 'nest', ctx)
            if i is None:
                return 'unknown'
            attrs[i][0] |= NLA_F_NESTED
            return 'nesting'
        i = self.find_or_add(op, attrs, lambda a: a.type == 'nest', ctx)
        if how == 'flag-missing':
            attrs[i][0] &= ~NLA_F_NESTED
            return 'nesting'
        inner = self.spec.sets.get(attrs[i][2].nested) or {}
        sized = [a for a in inner.values() if self.can_bad_length(a)]
        if sized and rng.random() < 0.5:
            a = rng.choice(sized)
            bad = nla(a.value | (NLA_F_NESTED if a.type == 'nest' else 0),
                      self.bad_length(a, b'x\0'))
        else:
            top = max((a.value for a in inner.values()), default=0)
            bad = nla(rng.choice((0, top + rng.randint(1, 20))), self.randbytes(4))
        attrs[i][1] += bad
        return 'nesting'

    def truncate(self, data):
        rng, spans, off = self.rng, [], 0
        while off + 4 <= len(data):
            ln = struct.unpack_from('=H', data, off)[0]
            spans.append((off, ln))
            off += (ln + 3) & ~3
        if not spans:
            return data + bytes((8, 0, 2))[:rng.randint(1, 3)]
        how = rng.choice(('cut', 'long', 'short'))
        if how == 'cut':        # inside an attribute's header or payload
            s, ln = rng.choice(spans)
            return data[:rng.randint(s + 1, s + ln - 1)]
        s, ln = spans[-1] if how == 'long' else rng.choice(spans)
        ln = min(len(data) - s + rng.randint(1, 64), 0xffff) if how == 'long' else rng.randint(0, 3)
        return data[:s] + struct.pack('=H', ln) + data[s + 2:]

    # -- kind c: random

    def random_attrs(self, depth=0):
        rng, out = self.rng, b''
        idx = [d[1] for d in self.devs]
        for _ in range(rng.randint(0, 8)):
            t = rng.randint(0, 60)
            kind = rng.random()
            if kind < 0.3:
                payload = struct.pack('=I', rng.choice(idx + [0, 1, 0xffffffff,
                                                             rng.getrandbits(32)]))
            elif kind < 0.4:
                payload = rng.choice([d[0].encode() + b'\0' for d in self.devs] +
                                     [b'eth0\0', b'x' * 40, b'', b'lo\0'])
            elif kind < 0.5:
                payload = struct.pack('=Q', rng.getrandbits(64))
            elif kind < 0.6:
                payload = struct.pack('=H', rng.getrandbits(16))
            elif kind < 0.7:
                payload = self.random_attrs(depth + 1) if depth < 2 and rng.random() < 0.5 else b''
                t |= NLA_F_NESTED if rng.random() < 0.5 else 0
            else:
                payload = self.randbytes(rng.randint(0, 40))
            out += nla(t, payload)
        if rng.random() < 0.05:  # a truncated attribute
            out += struct.pack('=HH', 200, rng.randint(0, 60))
        return out


# ---- the socket -----------------------------------------------------------

class Answer:
    def __init__(self, outcome, err=0, msg='', replies=()):
        self.outcome = outcome      # 'accepted', 'refused' or 'lost'
        self.err = err              # the errno of a refusal
        self.msg = msg              # its extack message
        self.replies = replies      # payloads of replies (genl header on)

    @property
    def validation(self):
        return self.outcome == 'refused' and self.msg in VALIDATION_MSGS


class Nl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            try:
                self.s.setsockopt(SOL_NETLINK, opt, 1)
            except OSError:
                pass
        self.s.bind((0, 0))
        self.s.settimeout(TIMEOUT_S)
        self.seq = 0
        self.buf = bytearray(1 << 16)   # a dump's part is at most 32 KiB

    def exchange(self, family, flags, cmd, version, attrs, cut=None):
        """Send one request; read until its answer is complete."""
        self.seq += 1
        data = genl_msg(family, flags, self.seq, cmd, version, attrs)
        if cut is not None:     # cut, the length saying so
            data = struct.pack('=I', cut) + data[4:cut]
        try:
            self.s.send(data)
            return self.answer(self.seq), len(data)
        except OSError as e:    # socket.timeout included
            return Answer('lost', msg=type(e).__name__), len(data)

    def answer(self, seq):
        replies = []
        while True:
            buf = memoryview(self.buf)[:self.s.recv_into(self.buf)]
            off = 0
            while off + 16 <= len(buf):
                ln, typ, flags, rseq, _ = struct.unpack_from('=IHHII', buf, off)
                if ln < 16 or off + ln > len(buf):
                    break
                body = bytes(buf[off + 16:off + ln])
                off += (ln + 3) & ~3
                if rseq != seq:
                    continue
                if typ not in (NLMSG_ERROR, NLMSG_DONE):
                    replies.append(body)
                    continue
                err = -struct.unpack_from('=i', body)[0] if len(body) >= 4 else 0
                tlv = 4
                if typ == NLMSG_ERROR and not flags & NLM_F_CAPPED and len(body) >= 8:
                    tlv += (struct.unpack_from('=I', body, 4)[0] + 3) & ~3
                elif typ == NLMSG_ERROR:
                    tlv += 16
                msg = ''
                if flags & NLM_F_ACK_TLVS:
                    for t, p in parse_attrs(body[tlv:]):
                        if t == NLMSGERR_ATTR_MSG:
                            msg = p.split(b'\0')[0].decode(errors='replace')
                return Answer('accepted' if err == 0 else 'refused', err, msg, replies)

    def family(self, name):
        ans, _ = self.exchange(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, 1,
                               nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b'\0'))
        for body in ans.replies:
            for t, p in parse_attrs(body[4:]):
                if t == CTRL_ATTR_FAMILY_ID:
                    return struct.unpack('=H', p[:2])[0]
        print(f'Bail out! generic netlink family {name!r} not found '
              f'({ans.outcome} {ename(ans.err)}): is its module loaded?')
        sys.exit(2)


# ---- the kernel log -------------------------------------------------------

class Kmsg:
    """New records of the kernel log, read without blocking."""
    def __init__(self, fd):
        self.fd, self.lines, self.error = None, [], None
        try:
            if fd is None:
                self.source = '/dev/kmsg'
                fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
            else:
                self.source = f'fd {fd}, /dev/kmsg opened by the caller'
                os.set_blocking(fd, False)
            os.lseek(fd, 0, os.SEEK_END)
            self.fd = fd
        except OSError as e:
            self.error = f'{self.source}: {e.strerror}'

    def read(self):
        while self.fd is not None:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return
            except BrokenPipeError:     # overwritten meanwhile: go on
                continue
            if not rec:
                return
            text = rec.decode(errors='replace')
            self.lines.append(text.partition(';')[2].split('\n')[0])


# ---- the run --------------------------------------------------------------

class Stats:
    def __init__(self):
        self.n = 0
        self.outcomes = {}      # 'accepted' | errno name | 'lost'
        self.validation = 0

    def add(self, ans):
        self.n += 1
        key = ename(ans.err) if ans.outcome == 'refused' else ans.outcome
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        self.validation += ans.validation

    def __str__(self):
        parts = sorted(self.outcomes.items(), key=lambda kv: -kv[1])
        return f'{self.n} sent: ' + ', '.join(f'{k} {v}' for k, v in parts) + \
            f' (refused by policy validation: {self.validation})'


def show(kind, op, dump, m, ans):
    what = f'{op.name if op else "?"} {"dump" if dump else "do"}' + (f' [{m}]' if m else '')
    res = ans.outcome if ans.outcome != 'refused' else ename(ans.err)
    return f'{kind}: {what}: {res}' + (f' "{ans.msg}"' if ans.msg else '')


def restore(nl, fam, spec, devs):
    """Attach each device afresh; a list of what is not as expected."""
    problems = []
    sset = spec.sets[spec.op('dev-get').set]
    ifname = sset['ifname'].value

    def do(opname, name, dump=False):
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        attrs = nla(ifname, name.encode() + b'\0') if name else b''
        return nl.exchange(fam, flags, spec.op(opname).value, spec.version, attrs)[0]

    for name, _ in devs:
        ans = do('dev-detach', name)
        if ans.outcome != 'accepted' and ans.err != errno.ENOENT:
            problems.append(f'detach {name}: {ans.outcome} {ename(ans.err)} {ans.msg}')
        ans = do('dev-attach', name)
        if ans.outcome != 'accepted':
            problems.append(f'attach {name}: {ans.outcome} {ename(ans.err)} {ans.msg}')
    ans = do('dev-get', None, dump=True)
    byval = {a.value: a for a in sset.values()}
    listed = {}
    for body in ans.replies:
        got = {byval[t].name: p for t, p in parse_attrs(body[4:]) if t in byval}
        name = got.get('ifname', b'').split(b'\0')[0].decode()
        listed[name] = {k: int.from_bytes(got[k], sys.byteorder) for k in
                        ('paused', 'terminate-fail', 'initiate-fail', 'complete-delay')
                        if k in got}
    for name, _ in devs:
        if name not in listed:
            problems.append(f'{name} not in the dev-get dump ({ans.outcome})')
        elif any(listed[name].values()):
            problems.append(f'{name}: {listed[name]}')
    ans = do('policy-get', None, dump=True)
    if ans.outcome != 'accepted' or ans.replies:
        problems.append(f'policy-get dump: {ans.outcome}, {len(ans.replies)} rules')
    return problems


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        usage='%(prog)s [--unprivileged] [--restore] [--kmsg-fd FD] SPEC COUNT SEED IFNAME...'
              '\n       %(prog)s --table SPEC')
    ap.add_argument('--unprivileged', action='store_true')
    ap.add_argument('--restore', action='store_true')
    ap.add_argument('--kmsg-fd', type=int)
    ap.add_argument('--table', action='store_true')
    ap.add_argument('spec')
    ap.add_argument('count', type=int, nargs='?')
    ap.add_argument('seed', type=int, nargs='?')
    ap.add_argument('ifnames', nargs='*')
    args = ap.parse_args()
    if not args.table and (args.count is None or args.seed is None or not args.ifnames):
        ap.error('SPEC COUNT SEED IFNAME... needed')
    if args.restore and args.unprivileged:
        ap.error('--restore needs the privilege')
    spec = Spec(args.spec)
    if args.table:
        print(spec.table())
        return 0
    try:
        devs = [(n, socket.if_nametoindex(n)) for n in args.ifnames]
    except OSError as e:
        print(f'Bail out! {args.ifnames}: {e}')
        return 2
    kmsg = Kmsg(args.kmsg_fd)
    rng = random.Random(args.seed)
    gen = Gen(spec, rng, devs)
    nl = Nl()
    fam = nl.family(spec.name)
    admin_modes = {op.value: set(op.modes()) for op in spec.ops if op.admin}
    top_cmd = max(op.value for op in spec.ops)

    stats = {k: Stats() for k in 'abc'}
    a_may = Stats()             # kind a, the commands the caller may send
    a_cmds_may, a_cmds_ok, b_muts = set(), {}, {}
    admin = Stats()
    bad = {3: [], 4: [], 5: []}   # diagnostics of failing checks
    lost_in_a_row = sent = 0
    notes = []
    t0 = time.monotonic()
    for i in range(args.count):
        r = rng.random()
        kind = 'a' if r < 0.5 else 'b' if r < 0.8 else 'c'
        m, cut = None, None
        if kind == 'c':
            cmd = rng.randint(0, top_cmd + 4)
            op = gen.by_cmd.get(cmd)
            dump = rng.random() < 0.3
            data = gen.random_attrs()
            if rng.random() < 0.03:
                cut = rng.randint(20, 20 + len(data))
        else:
            op, dump, attrs = gen.valid()
            cmd = op.value
            if kind == 'a':
                data = b''.join(nla(t, p) for t, p, _ in attrs)
            else:
                data, m = gen.mutate(op, attrs)
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        ans, length = nl.exchange(fam, flags, cmd, spec.version, data, cut)
        sent += 1
        if ans.outcome == 'lost':
            lost_in_a_row += 1
            if lost_in_a_row >= MAX_LOST_IN_A_ROW:
                notes.append(f'{lost_in_a_row} answers lost in a row: stopped after {sent}')
                break
        else:
            lost_in_a_row = 0
        gen.learn(op, ans.replies)
        stats[kind].add(ans)
        is_admin = cmd in admin_modes and ('dump' if dump else 'do') in admin_modes[cmd] \
            and length >= 20
        if is_admin:
            admin.add(ans)
            if args.unprivileged and ans.err != errno.EPERM:
                bad[5].append(show(kind, op, dump, m, ans))
            if not args.unprivileged and ans.err == errno.EPERM and not ans.msg:
                bad[5].append(show(kind, op, dump, m, ans))
        if kind == 'a':
            if ans.validation:
                bad[3].append(show(kind, op, dump, m, ans))
            if not (args.unprivileged and op.admin):
                a_may.add(ans)
                a_cmds_may.add(op.name)
                if ans.outcome == 'accepted':
                    a_cmds_ok[op.name] = a_cmds_ok.get(op.name, 0) + 1
        elif kind == 'b':
            ok = ans.validation or (args.unprivileged and is_admin and ans.err == errno.EPERM)
            b_muts.setdefault(m, [0, 0])[0] += 1
            b_muts[m][1] += ok
            if not ok:
                bad[4].append(show(kind, op, dump, m, ans))
        if i % 1000 == 999:
            kmsg.read()
    elapsed = time.monotonic() - t0
    problems = restore(nl, fam, spec, devs) if args.restore else None
    time.sleep(0.5)     # for a splat printed late
    kmsg.read()
    splats = [ln for ln in kmsg.lines if SPLAT.search(ln)]

    answered = sum(s.n - s.outcomes.get('lost', 0) for s in stats.values())
    accepted_a = a_may.outcomes.get('accepted', 0)
    need_cmds = (len(a_cmds_may) + 1) // 2
    checks = []

    def check(ok, desc, diag=()):
        checks.append((ok, desc, list(diag)))

    def first(lines, n=8):
        return lines[:n] + ([f'... and {len(lines) - n} more'] if len(lines) > n else [])

    check(answered == args.count,
          f'every message answered ({answered}/{args.count})')
    check(a_may.n > 0 and accepted_a * 5 >= a_may.n and len(a_cmds_ok) >= need_cmds,
          f'valid-looking messages reach the handlers: {accepted_a}/{a_may.n} accepted '
          f'(>= 20%), by {len(a_cmds_ok)} of {len(a_cmds_may)} commands (>= {need_cmds})')
    check(not bad[3], f'valid-looking messages pass policy validation '
          f'({len(bad[3])} refused by it)', first(bad[3]))
    nb = stats['b'].n
    check(not bad[4], f'mutated messages refused by policy validation'
          f'{" (admin-perm ones: EPERM)" if args.unprivileged else ""} '
          f'({nb - len(bad[4])}/{nb})', first(bad[4]))
    if args.unprivileged:
        check(admin.n > 0 and not bad[5],
              f'admin-perm commands refused with EPERM ({admin.outcomes.get("EPERM", 0)}'
              f'/{admin.n}, {admin.outcomes.get("accepted", 0)} accepted)', first(bad[5]))
    else:
        n_ok = admin.outcomes.get('accepted', 0)
        check(n_ok > 0 and not bad[5],
              f'admin-perm commands act as root ({n_ok}/{admin.n} accepted, '
              f'{len(bad[5])} refused with EPERM)', first(bad[5]))
    if kmsg.error and args.kmsg_fd is None:
        check(True, f'no kernel splat # SKIP kernel log not readable ({kmsg.error}): '
              'the caller checks it')
    else:
        check(not splats and not kmsg.error,
              f'no kernel splat (kernel log from {kmsg.source}: '
              f'{len(kmsg.lines)} new lines)', first([kmsg.error] if kmsg.error else splats))
    if problems is not None:
        check(not problems, f'devices put back: {" ".join(n for n, _ in devs)} attached '
              'afresh, not paused, no fault, no offload rule', problems)

    print('TAP version 13')
    print(f'1..{len(checks)}')
    print(f'# family {spec.name} (id {fam}), {len(spec.ops)} operations from {args.spec}; '
          f'{sent} of {args.count} messages, seed {args.seed}, '
          f'{"unprivileged" if args.unprivileged else "privileged"}, {elapsed:.1f} s')
    print('# devices: ' + ' '.join(f'{n}={i}' for n, i in devs))
    for kind, what in (('a', 'valid-looking'), ('b', 'mutated'), ('c', 'random')):
        print(f'# {kind} ({what}): {stats[kind]}')
    print('# a accepted by command: ' +
          ', '.join(f'{k} {v}' for k, v in sorted(a_cmds_ok.items())))
    print('# b refused by validation, by mutation: ' +
          ', '.join(f'{k} {v[1]}/{v[0]}' for k, v in sorted(b_muts.items())))
    print(f'# admin-perm messages: {admin}')
    for note in notes:
        print(f'# {note}')
    for n, (ok, desc, diag) in enumerate(checks, 1):
        print(f'{"ok" if ok else "not ok"} {n} {desc}')
        for line in diag:
            print(f'# {line}')
    return 0 if all(ok for ok, _, _ in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
