#!/usr/bin/env python3
# Count the cases of chimney's KTAP results and print `N passed, N failed`.
#
#   ktap-summary.py RESULTS_DIR
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


def main():
    res = pathlib.Path(sys.argv[1])
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
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
