#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Groups of checks of the chimney family through the kernel's YNL library
(the one tools/net/ynl/cli.py uses), in one process per group, since every
Python start is slow in the test VM.

    ynl_checks.py YNL_DIR SPEC GROUP
GROUP: refusals | pause | policy | dump_resume.  Exit status 0 when every check passed.
"""
import sys

sys.path.insert(0, sys.argv[1])
from lib import YnlFamily, Netlink, NlError  # noqa: E402

ynl = YnlFamily(sys.argv[2], '')
failures = []

# 10.0.0.1 and 10.0.0.2 as the big-endian integers YNL takes.
A1, A2 = 167772161, 167772162


def refused(want, op, attrs):
    """op must be refused with an error whose text contains want."""
    try:
        ynl.do(op, attrs, [])
    except NlError as e:
        if want not in str(e):
            failures.append(f'{op} {attrs}: wanted {want!r}, got {e}')
        return
    failures.append(f'{op} {attrs}: accepted, wanted {want!r}')


def expect(what, got, want):
    if got != want:
        failures.append(f'{what}: got {got!r}, wanted {want!r}')


def refusals():
    refused('no such device', 'dev-attach', {'ifname': 'nosuch0'})
    refused('already attached', 'dev-attach', {'ifname': 'dummy0'})
    refused('Ethernet', 'dev-attach', {'ifname': 'lo'})
    refused('capacity must be 1 to', 'dev-attach', {'ifname': 'dummy1', 'capacity': 0})
    refused('ticks-per-second must be', 'dev-attach',
            {'ifname': 'dummy1', 'params': {'ticks-per-second': 50}})
    refused('optional reasons', 'dev-attach',
            {'ifname': 'dummy1', 'accept-optional': 1024})
    refused('no offload target is attached', 'dev-pause', {'ifindex': 1})
    refused('different devices', 'dev-get', {'ifname': 'dummy0', 'ifindex': 1})
    tuple_ = {'local-v4': A1, 'remote-v4': A2, 'local-port': 1, 'remote-port': 2}
    refused('no offloaded connection', 'conn-terminate', {'scope': 0, **tuple_})
    refused('port 0 names no connection', 'conn-terminate',
            {'scope': 0, **tuple_, 'local-port': 0})
    refused('missing remote address', 'conn-get',
            {'local-v4': A1, 'local-port': 1, 'remote-port': 2})
    refused('no established TCP connection', 'conn-offload', tuple_)
    refused('TCP_UPLOAD_REASON', 'target-request',
            {'ifname': 'dummy0', 'reason': 12, **tuple_})
    refused('the target does not run this connection', 'target-request',
            {'ifname': 'dummy0', 'reason': 10, **tuple_})
    refused('not a failure status', 'target-fault',
            {'ifname': 'dummy0', 'initiate-fail': 1, 'initiate-status': 0})
    refused('complete-delay must be at most', 'target-fault',
            {'ifname': 'dummy0', 'complete-delay': 101})
    refused('no fault given', 'target-fault', {'ifname': 'dummy0'})
    # (2**32 - 1 would be -1 in the target's atomic_t: a fault for ever.)
    refused('a fault count must be at most 1000000', 'target-fault',
            {'ifname': 'dummy0', 'terminate-fail': 2**32 - 1})
    refused('a fault count must be at most 1000000', 'target-fault',
            {'ifname': 'dummy0', 'initiate-fail': 1000001, 'initiate-status': 3})
    ynl.do('target-fault', {'ifname': 'dummy0', 'terminate-fail': 1000000}, [])
    expect('terminate-fail left', ynl.do('dev-get', {'ifname': 'dummy0'}, [])
           ['terminate-fail'], 1000000)
    ynl.do('target-fault', {'ifname': 'dummy0', 'fault-clear': True}, [])
    expect('terminate-fail cleared', ynl.do('dev-get', {'ifname': 'dummy0'}, [])
           ['terminate-fail'], 0)


def pause():
    ynl.do('dev-pause', {'ifname': 'dummy0'}, [])
    refused('already paused', 'dev-pause', {'ifname': 'dummy0'})
    expect('paused', ynl.do('dev-get', {'ifname': 'dummy0'}, [])['paused'], 1)
    ynl.do('dev-resume', {'ifname': 'dummy0'}, [])
    refused('not paused', 'dev-resume', {'ifname': 'dummy0'})
    expect('resumed', ynl.do('dev-get', {'ifname': 'dummy0'}, [])['paused'], 0)


def policy():
    rsp = ynl.do('policy-add', {'ifname': 'dummy0', 'remote-port': 5001,
                                'priority': 3}, [])
    expect('policy-id', rsp['policy-id'], 1)
    rules = ynl.dump('policy-get', {})
    expect('rules', [(r['remote-port'], r['priority']) for r in rules], [(5001, 3)])
    refused('no offload rule with this id', 'policy-del',
            {'ifname': 'dummy0', 'policy-id': 9})
    ynl.do('policy-del', {'ifname': 'dummy0', 'policy-id': 1}, [])
    expect('rules left', ynl.dump('policy-get', {}), [])


def dump_resume():
    """A dump detached from between its parts resumes at the right device.

    150 rules on dummy0 and on dummy1, a policy-get dump read 4 KiB at a
    time from a socket of its own, dummy0 detached after the first part:
    every rule of dummy1 must still come (a resume by list position would
    apply dummy0's position to dummy1 and skip its first rules).
    """
    from lib.ynl import NlMsgs
    rules = range(1, 151)
    for dev in ('dummy0', 'dummy1'):
        for port in rules:
            ynl.do('policy-add', {'ifname': dev, 'remote-port': port}, [])
    dumper = YnlFamily(sys.argv[2], '')
    op = dumper.ops['policy-get']
    dumper.sock.send(dumper._encode_message(op, {}, [Netlink.NLM_F_DUMP], 4242))
    seen = {'dummy0': [], 'dummy1': []}
    parts = 0
    done = False
    while not done:
        reply = dumper.sock.recv(4096)
        parts += 1
        for m in NlMsgs(reply, attr_space=op.attr_set):
            if m.error:
                raise NlError(m)
            if m.done:
                done = True
                break
            d = dumper._decode(dumper.nlproto.decode(dumper, m, op).raw_attrs,
                               op.attr_set.name)
            seen[d['ifname']].append(d['remote-port'])
        if parts == 1:
            ynl.do('dev-detach', {'ifname': 'dummy0'}, [])
    expect('parts', parts > 2, True)
    expect('dummy0 rules in the first part', 0 < len(seen['dummy0']) < len(rules), True)
    expect('dummy1 rules', sorted(seen['dummy1']), list(rules))
    # As the later checks expect them: both attached, no rules.
    ynl.do('dev-detach', {'ifname': 'dummy1'}, [])
    ynl.do('dev-attach', {'ifname': 'dummy0'}, [])
    ynl.do('dev-attach', {'ifname': 'dummy1'}, [])


{'refusals': refusals, 'pause': pause, 'policy': policy,
 'dump_resume': dump_resume}[sys.argv[3]]()
for f in failures:
    print(f)
sys.exit(1 if failures else 0)
