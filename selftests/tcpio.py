#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TCP traffic for the chimney end-to-end tests, one process per scenario.

Payload is the seed's stream (a 1 MiB random block, segment k rotated by
k * 4099): the client sends stream SEED, the server SEED + 1, receivers
check every byte and both ends report the SHA-256 of what they sent and
got.  One JSON line on stdout, diagnostics on stderr, exit 1 on error.

server   serve --count connections (0: forever), a thread each, logging a
         JSON line per connection to --log.  The client's first line is
           bulk C2S S2C SEED  read C2S bytes while sending S2C, SHUT_WR,
                              then expect EOF and nothing more
           echo               echo until EOF
           hold S SEED        send S bytes, wait for --go, read to EOF
client   --mode bulk: send --c2s bytes while reading --s2c bytes.
         --mode queues (hold server): once the server's --s2c bytes sit
         unread in our receive queue, send --c2s bytes until EAGAIN, write
         SIOCINQ/SIOCOUTQ to --stage-file, wait for STAGE.go, finish.
idle     open --count echo connections, wait for --go, then echo 100
         distinct bytes on each, all within --timeout seconds.
blocking bulk with blocking send(1000 bytes) and recv(1500) calls.
closer   send --bytes to a hold server, wait for --go, then close(), or
         shutdown(SHUT_WR) and read to EOF.

Connecting modes write "LADDR:LPORT RADDR:RPORT" lines to --ports-file;
--expect-reset makes a connection reset the only success.
"""
import argparse
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import random
import resource
import socket
import struct
import sys
import termios
import threading
import time

BLOCK = 1 << 20
CHUNK = 64 << 10
RESET = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


class Fail(Exception):
    pass


def describe(e):
    if isinstance(e, (BlockingIOError, TimeoutError)):
        return 'timed out'   # SO_RCVTIMEO/SO_SNDTIMEO expired
    return str(e) if isinstance(e, Fail) else f'{type(e).__name__}: {e}'


class Stream:
    """The seed's byte stream; at() returns a view, never crossing 1 MiB."""

    def __init__(self, seed):
        b = random.Random(seed).randbytes(BLOCK)
        self.dbl = memoryview(b + b)

    def at(self, off, n):
        k, r = divmod(off, BLOCK)
        start = k * 4099 % BLOCK + r
        return self.dbl[start:start + min(n, BLOCK - r)]


stream = functools.cache(Stream)


class Source:
    """Sends n bytes of a stream; resumable after EAGAIN."""

    def __init__(self, seed, n):
        self.st, self.n, self.off = stream(seed), n, 0
        self.sha = hashlib.sha256()

    def send(self, sock, chunk=CHUNK, pace=0):
        """Send the rest in chunk-sized calls, sleeping 1 ms every pace."""
        calls = 0
        while self.off < self.n:
            v = self.st.at(self.off, min(chunk, self.n - self.off))
            k = sock.send(v)
            self.sha.update(v[:k])
            self.off += k
            calls += 1
            if pace and calls % pace == 0:
                time.sleep(0.001)

    def result(self):
        return {'sent_bytes': self.off, 'sent_sha': self.sha.hexdigest()}


class Sink:
    """Hashes what arrives and checks it against the stream, if given."""

    def __init__(self, seed=None, what='data'):
        self.st = None if seed is None else stream(seed)
        self.what, self.n, self.sha = what, 0, hashlib.sha256()

    def add(self, data):
        self.sha.update(data)
        i = 0
        while self.st and i < len(data):
            exp = bytes(self.st.at(self.n + i, len(data) - i))
            got = data[i:i + len(exp)]
            if exp != got:
                i += next(j for j in range(len(exp)) if exp[j] != got[j])
                raise Fail(f'{self.what} differs from stream at byte '
                           f'{self.n + i}')
            i += len(exp)
        self.n += len(data)

    def result(self):
        return {'recv_bytes': self.n, 'recv_sha': self.sha.hexdigest()}


def recv_exact(sock, sink, n, size=CHUNK):
    while sink.n < n:
        data = sock.recv(min(size, n - sink.n))
        if not data:
            raise Fail(f'{sink.what}: EOF after {sink.n} of {n} bytes')
        sink.add(data)


def recv_eof(sock, sink=None):
    """Read to EOF; without a sink, any byte is an error."""
    extra = sink or Sink(what='extra')
    while data := sock.recv(CHUNK):
        extra.add(data)
    if sink is None and extra.n:
        raise Fail(f'{extra.n} bytes past the end of the stream')


def both(sock, *fns):
    """Run fns in threads; a failure shuts the socket to end the others."""
    errs = []

    def run(fn):
        try:
            fn()
        except Exception as e:
            errs.append(e)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    ts = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]


def tune(sock, timeout):
    """Kernel timeouts keep calls really blocking (Python's would poll)."""
    tv = struct.pack('ll', int(timeout), int(timeout % 1 * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def queue_len(sock, req):
    return struct.unpack('i', fcntl.ioctl(sock.fileno(), req, b'\0' * 4))[0]


def fmt(sa):
    return f'[{sa[0]}]:{sa[1]}' if ':' in sa[0] else f'{sa[0]}:{sa[1]}'


def ends(sock):
    return f'{fmt(sock.getsockname())} {fmt(sock.getpeername())}\n'


def write_atomic(path, text):
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def wait_file(path, timeout):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise Fail(f'timed out waiting for {path}')
        time.sleep(0.05)


def connect(args, header):
    sock = socket.create_connection((args.addr, args.port))
    tune(sock, args.timeout)
    sock.sendall(header.encode() + b'\n')
    return sock


# Server ------------------------------------------------------------------

def serve_bulk(conn, args, rec, c2s, s2c, seed):
    sink, src = Sink(seed, 'c2s'), Source(seed + 1, s2c)
    try:
        both(conn, lambda: recv_exact(conn, sink, c2s), lambda: src.send(conn))
        conn.shutdown(socket.SHUT_WR)
        recv_eof(conn)
    finally:
        rec.update(sink.result(), **src.result())


def serve_echo(conn, args, rec):
    sink = Sink()
    try:
        while data := conn.recv(CHUNK):
            sink.add(data)
            conn.sendall(data)
    finally:
        rec.update(sink.result())


def serve_hold(conn, args, rec, s2c, seed):
    if not args.go:
        raise Fail('hold needs server --go')
    sink, src = Sink(seed, 'c2s'), Source(seed + 1, s2c)
    try:
        src.send(conn)
        wait_file(args.go, args.wait_timeout)
        recv_eof(conn, sink)
    finally:
        rec.update(sink.result(), **src.result())


MODES = {'bulk': (serve_bulk, 3), 'echo': (serve_echo, 0),
         'hold': (serve_hold, 2)}


def serve_conn(conn, args, rec, log):
    try:
        tune(conn, args.timeout)
        line = b''
        while not line.endswith(b'\n') and len(line) < 200:
            line += conn.recv(1) or b'\n'
        words = line.decode().split() or ['']
        fn, nargs = MODES.get(words[0], (None, -1))
        if len(words) != nargs + 1:
            raise Fail(f'bad header {line!r}')
        rec['mode'] = words[0]
        fn(conn, args, rec, *map(int, words[1:]))
    except Exception as e:
        rec['error'] = describe(e)
        print(f'tcpio server {rec["peer"]}: {rec["error"]}', file=sys.stderr)
    finally:
        conn.close()
        log(rec)


def cmd_server(args, res):
    ls = socket.socket(socket.AF_INET6 if ':' in args.addr else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(4096)
    if args.ready:
        write_atomic(args.ready, f'{ls.getsockname()[1]}\n')
    lock, recs, threads = threading.Lock(), [], []

    def log(rec):
        rec['error'] = rec.pop('error')
        with lock:
            recs.append(rec)
            if args.log:
                with open(args.log, 'a') as f:
                    f.write(json.dumps(rec) + '\n')
    while not args.count or len(threads) < args.count:
        conn, peer = ls.accept()
        rec = {'mode': None, 'peer': fmt(peer), 'error': None}
        threads.append(threading.Thread(target=serve_conn,
                                        args=(conn, args, rec, log)))
        threads[-1].start()
    for t in threads:
        t.join()
    bad = sum(1 for r in recs if r['error'])
    res.update(conns=len(recs), failed=bad)
    if bad:
        raise Fail(f'{bad} of {len(recs)} connections failed')


# Clients -----------------------------------------------------------------

def cmd_client(args, res):
    if args.mode == 'queues':
        return client_queues(args, res)
    transfer(args, res, args.c2s, args.s2c, CHUNK, CHUNK, 0)


def cmd_blocking(args, res):
    transfer(args, res, args.bytes, args.bytes, 1000, 1500, 64)


def transfer(args, res, c2s, s2c, wsize, rsize, pace):
    sock = connect(args, f'bulk {c2s} {s2c} {args.seed}')
    write_atomic(args.ports_file, ends(sock))
    src, sink = Source(args.seed, c2s), Sink(args.seed + 1, 's2c')
    try:
        both(sock, lambda: src.send(sock, wsize, pace),
             lambda: recv_exact(sock, sink, s2c, rsize))
        sock.shutdown(socket.SHUT_WR)
        recv_eof(sock)
    finally:
        res.update(src.result(), **sink.result())
        sock.close()


def client_queues(args, res):
    sock = connect(args, f'hold {args.s2c} {args.seed}')
    write_atomic(args.ports_file, ends(sock))
    src, sink = Source(args.seed, args.c2s), Sink(args.seed + 1, 's2c')
    try:
        end = time.monotonic() + args.timeout
        while (inq := queue_len(sock, termios.FIONREAD)) != args.s2c:
            if inq > args.s2c or time.monotonic() > end:
                rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                raise Fail(f'receive queue holds {inq} of {args.s2c} bytes '
                           f'(SO_RCVBUF {rcvbuf}): --s2c must fit unread')
            time.sleep(0.01)
        sock.setblocking(False)
        for _ in range(20):
            with contextlib.suppress(BlockingIOError):
                src.send(sock)
            if src.off == src.n:
                raise Fail(f'all {src.n} bytes fit the queues; raise --c2s')
            # Report the queues once ACKs have landed and they stand still.
            prev, outq = -1, queue_len(sock, termios.TIOCOUTQ)
            for _ in range(50):
                if outq == prev:
                    break
                time.sleep(0.2)
                prev, outq = outq, queue_len(sock, termios.TIOCOUTQ)
            # The peer's receive buffer took it all: send more, until some
            # stays unacknowledged.
            if outq:
                break
        sock.setblocking(True)
        stage = {'stage': 'queued', 'inq': queue_len(sock, termios.FIONREAD),
                 'outq': outq, 'sent_nonblock': src.off}
        res.update(inq_before=stage['inq'], outq_before=stage['outq'],
                   sent_nonblock=src.off)
        write_atomic(args.stage_file, json.dumps(stage) + '\n')
        wait_file(args.stage_file + '.go', args.wait_timeout)
        src.send(sock)
        sock.shutdown(socket.SHUT_WR)
        recv_exact(sock, sink, args.s2c)
        recv_eof(sock)
    finally:
        res.update(src.result(), **sink.result())
        sock.close()


def cmd_closer(args, res):
    # hold 0: the server sends nothing and never closes first.
    sock = connect(args, f'hold 0 {args.seed}')
    src = Source(args.seed, args.bytes)
    try:
        src.send(sock)
        write_atomic(args.ports_file, ends(sock))
        wait_file(args.go, args.wait_timeout)
        if args.mode == 'shutdown':
            sock.shutdown(socket.SHUT_WR)
            recv_eof(sock)
    finally:
        res.update(src.result())
        sock.close()


def cmd_idle(args, res):
    socks = [connect(args, 'echo') for _ in range(args.count)]
    write_atomic(args.ports_file, ''.join(ends(s) for s in socks))
    wait_file(args.go, args.wait_timeout)
    end = time.monotonic() + args.timeout
    msgs = [hashlib.sha512(b'%d' % i).digest()[:50] * 2
            for i in range(args.count)]
    bad = {}

    def each(fn):
        for i, (s, m) in enumerate(zip(socks, msgs)):
            tune(s, max(0.001, end - time.monotonic()))
            try:
                fn(s, m)
            except (OSError, Fail) as e:
                bad.setdefault(i, describe(e))
    def check_echo(s, m):
        got = s.recv(len(m), socket.MSG_WAITALL)
        if got != m:
            raise Fail(f'echo of {len(got)} bytes, expected {len(m)}'
                       + (' (a prefix)' if m.startswith(got) else
                          ' (different bytes)'))

    each(lambda s, m: s.sendall(m))   # all requests first: echoes overlap
    each(check_echo)
    for s in socks:
        s.close()
    res.update(conns=len(socks), ok=len(socks) - len(bad))
    if bad:
        i = min(bad)
        raise Fail(f'{len(bad)} of {len(socks)} echoes failed, '
                   f'first conn {i}: {bad[i]}')


def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--addr', required=True)
    common.add_argument('--port', type=int, required=True)
    common.add_argument('--timeout', type=float, default=30,
                        help='seconds per blocking call (idle: whole echo)')
    common.add_argument('--wait-timeout', type=float, default=300,
                        help='seconds to wait for a go file')
    peer = argparse.ArgumentParser(add_help=False, parents=[common])
    peer.add_argument('--ports-file', required=True)
    peer.add_argument('--expect-reset', action='store_true')
    cmds = {'server': cmd_server, 'client': cmd_client, 'idle': cmd_idle,
            'blocking': cmd_blocking, 'closer': cmd_closer}
    sp = {n: sub.add_parser(n, parents=[common if n == 'server' else peer])
          for n in cmds}
    sp['server'].add_argument('--ready', help='gets the port when listening')
    sp['server'].add_argument('--count', type=int, default=1)
    sp['server'].add_argument('--log')
    sp['server'].add_argument('--go')
    sp['client'].add_argument('--mode', choices=['bulk', 'queues'],
                              default='bulk')
    sp['client'].add_argument('--stage-file')
    sp['idle'].add_argument('--count', type=int, required=True)
    for n in ('client', 'blocking', 'closer'):
        sp[n].add_argument('--seed', type=int, required=True)
    for n in ('c2s', 's2c'):
        sp['client'].add_argument('--' + n, type=int, required=True)
    for n in ('blocking', 'closer'):
        sp[n].add_argument('--bytes', type=int, required=True)
    for n in ('idle', 'closer'):
        sp[n].add_argument('--go', required=True)
    sp['closer'].add_argument('--mode', choices=['close', 'shutdown'],
                              required=True)
    args = p.parse_args()
    if args.cmd == 'client' and args.mode == 'queues' and not args.stage_file:
        p.error('--mode queues needs --stage-file')
    return args, cmds[args.cmd]


def main():
    args, cmd = parse()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    threading.stack_size(512 << 10)
    expect = getattr(args, 'expect_reset', False)
    res = {'error': None, **({'reset': False} if expect else {})}
    try:
        cmd(args, res)
        if expect:
            raise Fail('expected a reset, but the connection completed')
    except Exception as e:
        if expect and isinstance(e, RESET):
            res['reset'] = True
        else:
            res['error'] = describe(e)
    res['error'] = res.pop('error')   # last, after the fields it explains
    print(json.dumps(res), flush=True)
    if res['error']:
        print(f'tcpio {args.cmd}: {res["error"]}', file=sys.stderr)
    return 1 if res['error'] else 0


if __name__ == '__main__':
    sys.exit(main())
