#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Many idle TCP connections for chimney's scale tests, on one epoll each.

server   --addr A --ports P[,P...]: accept on every port and echo whatever
         arrives, forever (one thread and one epoll for all connections).
clients  --addr A --ports P[,P...] --count N: open N connections, spread
         over the ports, a batch of handshakes in flight at a time, each
         from a local port of its own (--laddrs, from port 10000: the
         kernel's search for a free port grows with the ports in use); write
         "LADDR:LPORT RADDR:RPORT" lines to --ports-file; wait for --go;
         then send 100 distinct bytes on every connection and check every
         echo, all within --timeout seconds.  One JSON line on stdout,
         exit 1 when a connection failed.
"""
import argparse
import errno
import hashlib
import json
import os
import resource
import select
import socket
import sys
import time

BATCH = 256
MSG = 100
PORTS_PER_ADDR = 50000


def fmt(sa):
    return f'[{sa[0]}]:{sa[1]}' if ':' in sa[0] else f'{sa[0]}:{sa[1]}'


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def serve(args):
    ep = select.epoll()
    listeners, conns = {}, {}
    for port in args.ports:
        ls = socket.socket(family(args.addr))
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((args.addr, port))
        ls.listen(65535)
        ls.setblocking(False)
        listeners[ls.fileno()] = ls
        ep.register(ls.fileno(), select.EPOLLIN)
    while True:
        for fd, ev in ep.poll():
            if fd in listeners:
                while True:
                    try:
                        c, _ = listeners[fd].accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
                continue
            c = conns[fd]
            try:
                data = c.recv(65536)
            except ConnectionError:
                data = b''
            if data:
                c.sendall(data)     # a few bytes: the send buffer has room
            else:
                ep.unregister(fd)
                del conns[fd]
                c.close()


def open_all(args):
    """Returns the connected sockets, BATCH handshakes in flight at a time."""
    socks, pending = [], {}
    ep = select.epoll()
    deadline = time.monotonic() + args.timeout
    i = 0
    while i < args.count or pending:
        while i < args.count and len(pending) < BATCH:
            s = socket.socket(family(args.addr))
            s.setblocking(False)
            if args.laddrs:
                k, p = divmod(i, PORTS_PER_ADDR)
                s.bind((args.laddrs[k], 10000 + p))
            err = s.connect_ex((args.addr, args.ports[i % len(args.ports)]))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, f'connect {i}: {os.strerror(err)}')
            pending[s.fileno()] = s
            ep.register(s.fileno(), select.EPOLLOUT)
            i += 1
        if time.monotonic() > deadline:
            raise TimeoutError(f'{len(socks)} of {args.count} connected')
        for fd, _ in ep.poll(1):
            s = pending.pop(fd)
            ep.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f'connect: {os.strerror(err)}')
            socks.append(s)
    return socks


def echo_all(socks, timeout):
    """Sends a distinct message on each socket; returns the bad ones."""
    ep = select.epoll()
    want, got, bad = {}, {}, {}
    for i, s in enumerate(socks):
        m = hashlib.sha512(b'%d' % i).digest()[:MSG // 2] * 2
        want[s.fileno()], got[s.fileno()] = m, b''
        s.send(m)
        ep.register(s.fileno(), select.EPOLLIN)
    deadline = time.monotonic() + timeout
    left = len(socks)
    by_fd = {s.fileno(): s for s in socks}
    while left and time.monotonic() < deadline:
        for fd, _ in ep.poll(1):
            try:
                data = by_fd[fd].recv(MSG)
            except ConnectionError as e:
                data, bad[fd] = b'', f'{type(e).__name__}'
            got[fd] += data
            if not data or len(got[fd]) >= MSG:
                ep.unregister(fd)
                left -= 1
                if got[fd] != want[fd] and fd not in bad:
                    bad[fd] = (f'echo of {len(got[fd])} bytes' +
                               ('' if want[fd].startswith(got[fd])
                                else ' (different bytes)'))
    for fd in want:
        if fd not in bad and got[fd] != want[fd]:
            bad[fd] = f'timed out with {len(got[fd])} bytes'
    return bad


def clients(args):
    res = {'conns': 0, 'ok': 0, 'error': None}
    try:
        socks = open_all(args)
        res['conns'] = len(socks)
        tmp = f'{args.ports_file}.tmp'
        with open(tmp, 'w') as f:
            f.writelines(f'{fmt(s.getsockname())} {fmt(s.getpeername())}\n'
                         for s in socks)
        os.replace(tmp, args.ports_file)
        while not os.path.exists(args.go):
            time.sleep(0.1)
        bad = echo_all(socks, args.timeout)
        res['ok'] = len(socks) - len(bad)
        if bad:
            fd = min(bad)
            res['error'] = f'{len(bad)} of {len(socks)} echoes failed: {bad[fd]}'
        for s in socks:
            s.close()
    except OSError as e:
        res['error'] = str(e)
    print(json.dumps(res), flush=True)
    return 1 if res['error'] else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=['server', 'clients'])
    p.add_argument('--addr', required=True)
    p.add_argument('--ports', required=True,
                   type=lambda v: [int(x) for x in v.split(',')])
    p.add_argument('--count', type=int, default=0)
    p.add_argument('--laddrs', type=lambda v: v.split(','), default=[],
                   help=f'local addresses, {PORTS_PER_ADDR} connections each')
    p.add_argument('--ports-file')
    p.add_argument('--go')
    p.add_argument('--timeout', type=float, default=600)
    args = p.parse_args()
    if args.mode == 'clients' and not (args.count and args.ports_file and
                                       args.go):
        p.error('clients needs --count, --ports-file and --go')
    if args.laddrs and args.count > len(args.laddrs) * PORTS_PER_ADDR:
        p.error(f'--count: at most {PORTS_PER_ADDR} per local address')
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.mode == 'server':
        serve(args)
        return 0
    return clients(args)


if __name__ == '__main__':
    sys.exit(main())
