#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print chimney's benchmark table and write it as JSON.

    bench-table.py FIGURES JSON_OUT

FIGURES: "NAME VALUE" lines written by scripts/guest-bench.sh (a name seen
several times is a series: its median is used).  Every row is a chimney
figure next to its anchor, measured side by side in the same run, and the
ratio between them; the goal column says what the ratio should be.
"""
import json
import statistics
import sys


def read(path):
    figs = {}
    for line in open(path):
        name, _, value = line.rstrip('\n').partition(' ')
        figs.setdefault(name, []).append(value)
    return figs


def num(figs, name):
    vals = figs.get(name)
    if not vals:
        return None
    return statistics.median(float(v) for v in vals)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    figs = read(sys.argv[1])
    rows = []

    def row(key, what, chimney, anchor_what, anchor, unit, r, goal, ok):
        rows.append({'key': key, 'measure': what, 'chimney': chimney,
                     'anchor': anchor_what, 'anchor_value': anchor,
                     'unit': unit, 'ratio': r, 'goal': goal,
                     'meets_goal': ok})

    # The engine: offloaded (engine on), and a target without the engine,
    # against the stock stack, each round's ratio (alternated rounds).
    def rounds(a, b):
        pairs = list(zip(figs.get(a, []), figs.get(b, [])))
        return statistics.median(float(x) / float(y) for x, y in pairs) if pairs else None

    for d, dname in (('', 'sent'), ('_reverse', 'received')):
        st = num(figs, f'eng_tput_stock{d}')
        for mode, mname in (('engine', 'offloaded, engine'), ('off', 'engine off')):
            t = num(figs, f'eng_tput_{mode}{d}')
            r = rounds(f'eng_tput_{mode}{d}', f'eng_tput_stock{d}')
            row(f'eng_tput_{mode}{d}', f'bulk {dname}, {mname} (iperf3)', t,
                'stock stack, same link', st, 'kB/s', r, None, None)
            c, sc = num(figs, f'eng_cpu_{mode}{d}'), num(figs, f'eng_cpu_stock{d}')
            r = rounds(f'eng_cpu_{mode}{d}', f'eng_cpu_stock{d}')
            row(f'eng_cpu_{mode}{d}', f'CPU per byte {dname}, {mname}', c,
                'stock stack, same link', sc, 'ns/B', r, None, None)
        ret = figs.get(f'eng_retrieves_engine{d}')
        if ret:
            # iperf3's control connection included: a send it made in
            # the stock stack as the rule offloaded it brings it back.
            row(f'eng_retrieves{d}', f'upload requests, engine runs, {dname}',
                sum(int(x) for x in ret), 'runs', len(ret), 'requests',
                None, None, None)

    # Alternated pairs: the median of each pair's ratio, so that a drift of
    # the VM's speed over the run cancels out.
    b, w = num(figs, 'tput_base'), num(figs, 'tput_with')
    pairs = list(zip(figs.get('tput_base', []), figs.get('tput_with', [])))
    r = statistics.median(float(y) / float(x) for x, y in pairs) if pairs else None
    row('throughput', f'ordinary traffic, hook live ({len(pairs)} pairs)', w,
        'module not loaded', b, 'kB/s', r, '>= 0.99',
        None if r is None else r >= 0.99)

    lat = json.loads(figs['latency'][0]) if 'latency' in figs else None
    if lat:
        row('offload_latency', 'offload of one idle connection (median)',
            lat['offload']['median_us'], 'p99', lat['offload']['p99_us'],
            'us', None, None, None)
        row('upload_latency', 'upload of one idle connection (median)',
            lat['upload']['median_us'], 'p99', lat['upload']['p99_us'],
            'us', None, None, None)

    u1, u10 = num(figs, 'upload_1000'), num(figs, 'upload_10000')
    r = ratio(u10 and u10 / 10000, u1 and u1 / 1000)
    row('upload_per_conn', 'upload (terminate all) per connection, 10,000',
        u10 and 1000 * u10 / 10000, 'the same, 1,000', u1 and 1000 * u1 / 1000,
        'us/conn', r, '<= 1.1 (linear)', None if r is None else r <= 1.1)

    for n in (1000, 10000):
        c, s = num(figs, f'dump_chimney_{n}'), num(figs, f'dump_ss_{n}')
        r = ratio(c, s)
        row(f'dump_{n}', f'chimneyctl -j conn show, {n:,} offloaded', c,
            f'ss -tn of the same {n:,} sockets', s, 'ms', r, None, None)

    sock = num(figs, 'slab_objsize_TCP')
    for n in (1000, 10000):
        m0, m1 = num(figs, f'mem_kb_before_{n}'), num(figs, f'mem_kb_after_{n}')
        per = None if m0 is None else (m1 - m0) * 1024 / n
        row(f'memory_{n}', f'kernel memory per offloaded connection, {n:,}',
            per, "the TCP socket's own slab object", sock, 'bytes',
            ratio(per, sock), '<= 512 bytes', None if per is None else per <= 512)

    # CRIU's dump uses an fd_set: the process moved holds fewer than 1,024
    # descriptors, so both sides move MOVE_N (500) connections.
    n = int(num(figs, 'move_n') or 500)
    co, cu = num(figs, 'chimney_move_offload'), num(figs, 'chimney_move_upload')
    cd, cr = num(figs, 'criu_dump'), num(figs, 'criu_restore')
    mine = None if co is None else 1000 * (co + cu) / n
    criu = None if cd is None else 1000 * (cd + cr) / n
    row('move_state', f'offload + upload per connection, {n:,} idle', mine,
        'CRIU dump + restore --tcp-established per connection' +
        (f' (unavailable: {figs["criu_error"][0]})' if 'criu_error' in figs else ''),
        criu, 'us/conn', ratio(mine, criu), None, None)
    if cd is not None:
        row('criu_parts', f'chimney offload / upload (ms, {n:,})', f'{co:.0f} / {cu:.0f}',
            f'CRIU dump / restore (ms, {n:,})', f'{cd:.0f} / {cr:.0f}', 'ms',
            None, None, None)

    out = {'kernel': figs.get('kernel', ['?'])[0],
           'debug_kernel': figs.get('kernel_debug', ['?'])[0] == '1',
           'note': 'TCG VM: compare ratios measured in the same run, not absolute values',
           'series': {k: v for k, v in figs.items() if k != 'latency'},
           'rows': rows}
    with open(sys.argv[2], 'w') as f:
        json.dump(out, f, indent=1)

    def fmt(v):
        if v is None:
            return '-'
        if isinstance(v, str):
            return v
        return f'{v:,.3f}' if abs(v) < 10 else f'{v:,.0f}'

    print(f'chimney benchmark on {out["kernel"]}'
          f'{" (DEBUG kernel: figures are the checkers)" if out["debug_kernel"] else " (release kernel)"}')
    print('TCG VM: only the ratios mean something; each anchor ran in the same boot.')
    print(f'{"measure":<48} {"chimney":>10} {"anchor":>10} {"ratio":>7} {"goal":<16} anchor')
    for r in rows:
        goal = r['goal'] or ''
        if r['meets_goal'] is not None:
            goal += ' ok' if r['meets_goal'] else ' MISSED'
        print(f'{r["measure"][:48]:<48} {fmt(r["chimney"]):>10} {fmt(r["anchor_value"]):>10} '
              f'{fmt(r["ratio"]):>7} {goal:<16} {r["anchor"]} ({r["unit"]})')
    for n in (1000, 10000):
        if f'slab_growth_{n}' in figs:
            print(f'slab caches grown by offloading {n:,} (bytes per connection): '
                  + ', '.join(figs[f'slab_growth_{n}']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
