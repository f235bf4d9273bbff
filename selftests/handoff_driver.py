#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The handoff driver: offloads and terminates one connection again and
again through the chimney family (the kernel's YNL library), one process
for the whole run.

    handoff_driver.py YNL_DIR SPEC PORTS_FILE STOP_FILE CYCLES [PERIOD_MS]
    handoff_driver.py YNL_DIR SPEC --offload-all PORTS_FILE
    handoff_driver.py YNL_DIR SPEC --latency PORTS_FILE

PORTS_FILE holds "LADDR:LPORT RADDR:RPORT" (IPv6 as [ADDR]:PORT), read
again before every cycle (the traffic may move to a new connection).
Runs until CYCLES offloads succeeded (each one is followed by an upload:
the driver's terminate, or the target's own request), then creates
STOP_FILE and prints one JSON object: offloads and terminates that
succeeded, and the refusals by error message.  With --offload-all, every
connection of PORTS_FILE (a line each) is offloaded once; with --latency,
each is offloaded and terminated once and the times of both requests are
printed (median and 99th percentile, microseconds).
"""
import ipaddress
import json
import os
import sys
import time

sys.path.insert(0, sys.argv[1])
from lib import YnlFamily, NlError  # noqa: E402


def endpoint(text):
    addr, port = text.rsplit(':', 1)
    return ipaddress.ip_address(addr.strip('[]')), int(port)


def tuple_attrs(line):
    (la, lp), (ra, rp) = (endpoint(t) for t in line.split())
    if la.version == 4:
        attrs = {'local-v4': int(la), 'remote-v4': int(ra)}
    else:
        attrs = {'local-v6': la.packed, 'remote-v6': ra.packed}
    return {**attrs, 'local-port': lp, 'remote-port': rp}


def offload_all(ynl, ports):
    done = {'offloads': 0, 'refused': {}}
    with open(ports) as f:
        for line in f:
            try:
                ynl.do('conn-offload', tuple_attrs(line), [])
                done['offloads'] += 1
            except NlError as e:
                msg = (getattr(e, 'extack', None) or {}).get('msg', str(e))
                done['refused'][msg] = done['refused'].get(msg, 0) + 1
    print(json.dumps(done), flush=True)


def latency(ynl, ports):
    times = {'offload': [], 'upload': []}
    with open(ports) as f:
        for line in f:
            conn = tuple_attrs(line)
            for op, key, attrs in (('conn-offload', 'offload', conn),
                                   ('conn-terminate', 'upload', {'scope': 0, **conn})):
                t = time.perf_counter_ns()
                ynl.do(op, attrs, [])
                times[key].append((time.perf_counter_ns() - t) // 1000)
    out = {}
    for key, v in times.items():
        v.sort()
        out[key] = {'n': len(v), 'median_us': v[len(v) // 2],
                    'p99_us': v[min(len(v) - 1, len(v) * 99 // 100)]}
    print(json.dumps(out), flush=True)


def main():
    ynl = YnlFamily(sys.argv[2], '')
    if sys.argv[3] == '--offload-all':
        offload_all(ynl, sys.argv[4])
        return
    if sys.argv[3] == '--latency':
        latency(ynl, sys.argv[4])
        return
    ports, stop, cycles = sys.argv[3], sys.argv[4], int(sys.argv[5])
    period = int(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.005
    done = {'offloads': 0, 'terminates': 0, 'refused': {}}

    def call(op, attrs, key):
        try:
            ynl.do(op, attrs, [])
            done[key] += 1
        except NlError as e:
            msg = (getattr(e, 'extack', None) or {}).get('msg', str(e))
            done['refused'][msg] = done['refused'].get(msg, 0) + 1

    while done['offloads'] < cycles and not os.path.exists(stop):
        with open(ports) as f:
            conn = tuple_attrs(f.read())
        call('conn-offload', conn, 'offloads')
        time.sleep(period)
        call('conn-terminate', {'scope': 0, **conn}, 'terminates')
        time.sleep(period)
    with open(stop, 'w'):
        pass
    print(json.dumps(done), flush=True)


main()
