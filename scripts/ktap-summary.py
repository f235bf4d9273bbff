#!/usr/bin/env python3
# Count the cases of chimney's KTAP results and print `N passed, N failed`,
# after a table of the seconds each KUnit suite, selftest and host step took.
#
#   ktap-summary.py [--times-only] RESULTS_DIR [HOST_TIMES]
#
# HOST_TIMES: lines "host<TAB>STEP<TAB>SECONDS" written by scripts/check.sh.
# The KUnit suites' seconds come from the kernel console's timestamps
# (console.log: from a suite's "# Subtest:" line to its result line), the
# selftests' from selftests/NAME.seconds.
#
# kunit/*.ktap: debugfs results of one KUnit suite; its cases are the
# results indented one level (parameterised cases count once).
# selftests/NAME.ktap: top-level results; NAME.rc is the script's exit code.
# A plan that does not match the results, a script that failed without a
# failing case, or a file with no results at all counts as a failure.
import pathlib
import re
import sys

RESULT = re.compile(r'^(?P<indent> *)(?P<not>not )?ok (?P<num>\d+)(?: (?:- )?(?P<name>[^#]*))?(?P<directive>#.*)?$')
PLAN = re.compile(r'^(?P<indent> *)1\.\.(?P<n>\d+)')


def parse(path, depth):
    """Return (passed, failed, skipped, messages) for results at depth."""
    indent = ' ' * (4 * depth)
    passed = failed = skipped = 0
    plan = None
    msgs = []
    for line in path.read_text(errors='replace').splitlines():
        m = PLAN.match(line)
        if m and m.group('indent') == indent and plan is None:
            plan = int(m.group('n'))
            continue
        m = RESULT.match(line)
        if not m or m.group('indent') != indent:
            continue
        directive = (m.group('directive') or '').upper()
        name = (m.group('name') or '').strip()
        if 'SKIP' in directive:
            skipped += 1
        elif m.group('not'):
            failed += 1
            msgs.append(f'{path.name}: not ok {m.group("num")} {name}')
        else:
            passed += 1
    total = passed + failed + skipped
    if total == 0:
        failed += 1
        msgs.append(f'{path.name}: no results')
    elif plan is not None and plan != total:
        failed += 1
        msgs.append(f'{path.name}: planned {plan} cases, got {total}')
    return passed, failed, skipped, msgs


STAMP = re.compile(r'^\[\s*(?P<t>\d+\.\d+)\]\s*(?P<rest>.*)$')


def kunit_seconds(console):
    """Seconds of each chimney KUnit suite, from the console's timestamps."""
    start, took = {}, {}
    try:
        text = console.read_text(errors='replace')
    except OSError:
        return took
    for line in text.splitlines():
        m = STAMP.match(line)
        if not m:
            continue
        rest = m.group('rest').strip()
        sub = re.match(r'# Subtest: (chimney_\w+)$', rest)
        if sub and sub.group(1) not in start:
            start[sub.group(1)] = float(m.group('t'))
            continue
        end = re.match(r'(?:not )?ok \d+ (chimney_\w+)$', rest)
        if end and end.group(1) in start and end.group(1) not in took:
            took[end.group(1)] = float(m.group('t')) - start[end.group(1)]
    return took


def time_table(res, host_times):
    """Print the seconds of every step, suite and selftest."""
    rows = []
    if host_times:
        for line in pathlib.Path(host_times).read_text().splitlines():
            kind, name, secs = line.split('\t')
            rows.append((kind, name, float(secs)))
    for name, secs in sorted(kunit_seconds(res / 'console.log').items()):
        rows.append(('kunit', name, secs))
    for f in sorted((res / 'selftests').glob('*.seconds')):
        rows.append(('selftest', f.stem, float(f.read_text().strip() or 0)))
    if not rows:
        return
    print(f'{"seconds":>8}  {"kind":<9} step')
    for kind, name, secs in rows:
        print(f'{secs:>8.0f}  {kind:<9} {name}')
    total = sum(s for k, _, s in rows if k == 'host')
    if total:
        print(f'{total:>8.0f}  {"total":<9} host steps, the VM run included ({total / 60:.1f} min)')


def main():
    args = sys.argv[1:]
    times_only = args[:1] == ['--times-only']
    if times_only:
        args = args[1:]
    res = pathlib.Path(args[0])
    host_times = args[1] if len(args) > 1 else None
    if times_only:
        time_table(res, host_times)
        return 0
    passed = failed = skipped = 0
    msgs = []
    kunit = sorted((res / 'kunit').glob('*.ktap'))
    if not kunit:
        failed += 1
        msgs.append('kunit: no suite ran')
    for f in kunit:
        depth = 1 if f.read_text(errors='replace').lstrip().startswith('KTAP') else 0
        p, fl, s, m = parse(f, depth)
        passed, failed, skipped, msgs = passed + p, failed + fl, skipped + s, msgs + m
    for f in sorted((res / 'selftests').glob('*.ktap')):
        p, fl, s, m = parse(f, 0)
        rc = f.with_suffix('.rc')
        code = rc.read_text().strip() if rc.exists() else 'missing'
        if code != '0' and fl == 0:
            fl += 1
            m.append(f'{f.name}: exit status {code} with no failing case')
        passed, failed, skipped, msgs = passed + p, failed + fl, skipped + s, msgs + m
    for m in msgs:
        print(m)
    time_table(res, host_times)
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
