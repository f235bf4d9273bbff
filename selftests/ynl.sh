#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The chimney family as seen by the kernel's own YNL CLI, driven only by
# Documentation/netlink/specs/chimney.yaml; access rules (CAP_NET_ADMIN in
# the initial user namespace, objects invisible from other netns); and a fuzz of the
# family from the same spec (selftests/nlfuzz.py): valid-looking, mutated
# and random messages, 10,000 as root, which act on dummy0 and dummy1 and
# are then undone, and 2,000 as nobody; every one answered, the valid-looking
# ones past policy validation, the mutated ones refused by it, admin-perm
# commands refused to nobody, no kernel splat.
#
#   netns chim-ynl: dummy0, dummy1 (Ethernet, no wire)
#   netns chim-other: dummy0 (another namespace, same name)
set -eu
. "$(dirname "$0")/lib.sh"

NS=chim-ynl
OTHER=chim-other
CLI=$(readlink -f "$CHIMNEY_KDIR/source")/tools/net/ynl/cli.py

cleanup() {
	ip netns del $NS 2>/dev/null || true
	ip netns del $OTHER 2>/dev/null || true
	rmmod chimney 2>/dev/null || true
}
trap cleanup EXIT

ynl() { # NS ARGS...
	local ns=$1
	shift
	ip netns exec "$ns" python3 "$CLI" --spec "$SPEC" --no-schema "$@"
}

setup() {
	insmod "$KO"
	dummy_netns $NS dummy0 dummy1
	dummy_netns $OTHER dummy0
}

check_ynl_attach() {
	ynl $NS --do dev-attach --json '{"ifname": "dummy0", "capacity": 77, "idle-timeout": 500}'
	local out
	out=$(ynl $NS --output-json --do dev-get --json '{"ifname": "dummy0"}')
	python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d['ifname'] == 'dummy0', d
assert d['capacity'] == 77, d
assert d['idle-timeout'] == 500, d
assert d['offloaded'] == 0 and d['paused'] == 0, d
assert d['params']['ticks-per-second'] == 1000, d
PY
}

check_ynl_dump() {
	ynl $NS --do dev-attach --json '{"ifname": "dummy1"}'
	local out
	out=$(ynl $NS --output-json --dump dev-get)
	python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert sorted(x['ifname'] for x in d) == ['dummy0', 'dummy1'], d
PY
}

check_ynl_stats() {
	local out
	out=$(ynl $NS --output-json --do stats-get --json '{"ifname": "dummy0", "per-cpu": true}')
	python3 - "$out" "$(nproc)" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
h = d['host-stats']
assert h['offloaded'] == 0 and h['offloads'] == 0, h
assert h['terminates']['link-down'] == 0, h
assert d['offload-stats']['currently-established'] == 0, d
assert len(d['cpu-stats']) == int(sys.argv[2]), d
PY
}

# An error is refused with the kernel's extack message, pointing at the attribute.
expect_refusal() { # MESSAGE NS ARGS...
	local want=$1 out
	shift
	if out=$(ynl "$@" 2>&1); then
		echo "accepted: $*"
		return 1
	fi
	grep -qF -- "$want" <<<"$out" || { echo "wanted '$want', got: $out"; return 1; }
}

# A group of checks through the YNL library, in one Python process.
ynl_group() {
	ip netns exec $NS python3 "$CHIMNEY_ROOT/selftests/ynl_checks.py" \
		"$(dirname "$CLI")" "$SPEC" "$1"
}

check_refusals() { ynl_group refusals; }
check_pause_resume() { ynl_group pause; }
check_policy() { ynl_group policy; }
check_dump_resume() { ynl_group dump_resume; }

check_other_netns() {
	# Same device name, other namespace: nothing attached there.
	[ "$(ynl $OTHER --output-json --dump dev-get)" = "[]" ]
	expect_refusal "no offload target is attached" $OTHER --do dev-get --json '{"ifname": "dummy0"}'
}

as_nobody() { # CMD...: in $NS as an unprivileged user
	ip netns exec $NS setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$@"
}

nobody() { # ARGS...: ynl in $NS as an unprivileged user
	as_nobody python3 /tmp/ynl/cli.py --spec /tmp/ynl/chimney.yaml --no-schema "$@"
}

check_unprivileged() {
	local out
	# The kernel tree lives under /root: give the user a readable copy.
	rm -rf /tmp/ynl
	cp -r "$(dirname "$CLI")" /tmp/ynl
	cp "$SPEC" /tmp/ynl/
	chmod -R a+rX /tmp/ynl
	if out=$(nobody --do dev-detach --json '{"ifname": "dummy1"}' 2>&1); then
		echo "unprivileged detach accepted"
		return 1
	fi
	grep -q "Operation not permitted" <<<"$out" || { echo "$out"; return 1; }
	# Reading needs no privilege.
	nobody --dump dev-get | grep -q dummy1
}

# fuzz_ok OUTPUT STATUS: an nlfuzz.py run passed (its KTAP shown on failure).
fuzz_ok() {
	echo "$1"
	echo "$1" >>"$CHIMNEY_RESULTS/nlfuzz.txt"
	if [ "$2" -ne 0 ] || grep -q "^not ok" <<<"$1"; then
		echo "nlfuzz.py: exit status $2"
		return 1
	fi
}

check_fuzz() {
	local out rc=0
	# As root: the valid-looking messages act (attach, detach, pause, rules,
	# faults, terminates); --restore then detaches dummy0 and dummy1 and
	# attaches them afresh, as check_detach_on_unregister and check_rmmod
	# expect them.  The kernel log is read from /dev/kmsg.
	out=$(ip netns exec $NS python3 "$CHIMNEY_ROOT/selftests/nlfuzz.py" --restore \
		"$SPEC" 10000 4242 dummy0 dummy1) || rc=$?
	fuzz_ok "$out" $rc
	# (nlfuzz.py checked it too, rules included; here through the CLI.)
	out=$(ynl $NS --output-json --dump dev-get)
	python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert sorted(x['ifname'] for x in d) == ['dummy0', 'dummy1'], d
for x in d:
    assert x['paused'] == 0 and x['terminate-fail'] == 0, x
    assert x['initiate-fail'] == 0 and x['complete-delay'] == 0, x
PY
	# As nobody, from a copy it can read: admin-perm commands refused with
	# EPERM.  With dmesg_restrict nobody may not open /dev/kmsg: it reads
	# the kernel log from fd 3, opened here.
	rm -rf /tmp/nlfuzz
	mkdir /tmp/nlfuzz
	cp "$CHIMNEY_ROOT/selftests/nlfuzz.py" "$SPEC" /tmp/nlfuzz/
	chmod -R a+rX /tmp/nlfuzz
	rc=0
	out=$(as_nobody python3 /tmp/nlfuzz/nlfuzz.py --unprivileged --kmsg-fd 3 \
		/tmp/nlfuzz/chimney.yaml 2000 4343 dummy0 dummy1 3</dev/kmsg) || rc=$?
	fuzz_ok "$out" $rc
}

check_detach_on_unregister() {
	ip -n $NS link del dummy1
	# Detached with the device: not listed any more, and module refs are free.
	! ynl $NS --output-json --dump dev-get | grep -q dummy1
}

check_rmmod() {
	rmmod chimney
	! test -d /sys/module/chimney
}

ktap_plan 13
ktap_check "setup: module, two netns, dummy devices" setup
ktap_check "ynl: dev-attach and dev-get through the spec" check_ynl_attach
ktap_check "ynl: dev-get dump" check_ynl_dump
ktap_check "ynl: stats-get with per-CPU counters" check_ynl_stats
ktap_check "refusals carry their extack message" check_refusals
ktap_check "pause and resume" check_pause_resume
ktap_check "offload rules: add, dump, delete" check_policy
ktap_check "a dump resumes at the right device after a detach" check_dump_resume
ktap_check "objects are invisible from another netns" check_other_netns
ktap_check "changing state needs CAP_NET_ADMIN" check_unprivileged
ktap_check "fuzz from the spec: 10,000 messages as root, 2,000 as nobody" check_fuzz
ktap_check "unregistering a device detaches it" check_detach_on_unregister
ktap_check "rmmod with a device still attached" check_rmmod
ktap_finish
