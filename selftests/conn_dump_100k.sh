#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 100,000 offloaded connections through the control plane: offload rules
# take 100,000 idle connections, `conn show` dumps them (a netlink dump
# resumed over many messages), every connection exactly once, then
# `conn terminate all` hands them back and each echoes 100 bytes intact.
# The connections run over a veth pair: the emulated e1000 would take
# most of an hour to carry 100,000 handshakes in the TCG VM.
#
#   netns chim-a (target on va)   veth   netns chim-b
#   va 10.9.0.1, .3 ===================== vb 10.9.0.2
#   scale.py clients                      scale.py server :7600 :7601
set -eu
. "$(dirname "$0")/lib.sh"

# 4,000 in `make check` (about 2 minutes in the TCG VM, whose debug kernel
# opens about 100 connections a second and offloads about 170); `make
# check-scale` runs 100,000.
N=${CHIMNEY_DUMP_CONNS:-4000}
# Waits: 5 minutes, plus 50 ms per connection.
T=$((300 + N / 20))
# A descriptor per connection on each side (the default hard limit is 4096).
ulimit -n $((N + 4096))
SCALE=$CHIMNEY_ROOT/selftests/scale.py
W=$CHIMNEY_RESULTS/conn_dump_100k
PIDS=$W/pids

cleanup() {
	[ -f "$PIDS" ] && xargs -r kill <"$PIDS" 2>/dev/null || true
	ip netns del $NS_A 2>/dev/null || true
	ip netns del $NS_B 2>/dev/null || true
	wait_for 120 rmmod chimney || true
}
trap cleanup EXIT

ctl() { ip netns exec $NS_A "$CTL" "$@"; }
note() { echo "$(date +%T) $*" >>"$W/progress"; }
# memory: the kernel's slab and what is left, for the progress notes
memory() {
	awk '/^(MemAvailable|Slab):/ { printf "%s %d MiB  ", $1, $2 / 1024 }' /proc/meminfo
}

stat_of() { # KEY: a counter of va's stats
	ctl -j stats va | jq -r ".[0].$1"
}

setup() {
	mkdir -p "$W"
	rm -f "$W"/*
	insmod "$KO"
	ip netns add $NS_A
	ip netns add $NS_B
	ip -n $NS_A link add va type veth peer name vb netns $NS_B
	ip -n $NS_A addr add 10.9.0.1/24 dev va
	ip -n $NS_A addr add 10.9.0.3/24 dev va
	ip -n $NS_B addr add 10.9.0.2/24 dev vb
	ip -n $NS_A link set va up
	ip -n $NS_B link set vb up
	wait_for 20 carrier_ok $NS_A va
	ip netns exec $NS_B sysctl -qw net.core.somaxconn=65535
	ip netns exec $NS_B sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
	ip netns exec $NS_B python3 "$SCALE" server --addr 10.9.0.2 --ports 7600,7601 \
		</dev/null >>"$W/server.out" 2>&1 &
	echo $! >>"$PIDS"
	wait_for 60 listening $NS_B 7601
	ip netns exec $NS_A python3 "$SCALE" clients --addr 10.9.0.2 --ports 7600,7601 \
		--count "$N" --laddrs 10.9.0.1,10.9.0.3 --ports-file "$W/ports" \
		--go "$W/go" --timeout $T \
		</dev/null >"$W/clients.json" 2>"$W/clients.err" &
	echo $! >>"$PIDS"
	# (The clients print a line only when they are done, or failed.)
	wait_for $T test -s "$W/ports" -o -s "$W/clients.json"
	[ -s "$W/ports" ] || { cat "$W/clients.json" "$W/clients.err"; return 1; }
	expect_eq "$(wc -l <"$W/ports")" "$N" "connections open"
	note "$N connections open; $(memory)"
}

# Two rules; policy add offloads the established connections they match.
check_offload() {
	ctl dev attach va capacity $((N + 16))
	ctl policy add va rport 7600 priority 2
	ctl policy add va rport 7601 priority 6
	poll_every 5 $T out_is "$N" stat_of offloaded
	expect_eq "$(stat_of offloads)" "$N" "offloads"
	note "$N offloaded; $(memory)"
}

# Every connection exactly once, with its rule's priority, in one dump.
check_dump() {
	ctl -j conn show dev va >"$W/dump.json"
	note "dumped"
	python3 - "$W/dump.json" "$W/ports" <<'PY'
import collections, json, sys
conns = json.load(open(sys.argv[1]))
want = {tuple(l.split()) for l in open(sys.argv[2])}
seen = collections.Counter((c['local'], c['remote']) for c in conns)
dups = [t for t, n in seen.items() if n > 1]
assert not dups, f'{len(dups)} connections dumped twice, e.g. {dups[0]}'
assert set(seen) == want, (f'{len(want - set(seen))} missing, '
                           f'{len(set(seen) - want)} unknown')
prio = {'7600': 2, '7601': 6}
bad = [c for c in conns if c['state'] != 'offloaded' or c['dev'] != 'va'
       or c['priority'] != prio[c['remote'].rsplit(':', 1)[1]]]
assert not bad, f'{len(bad)} connections with wrong fields, e.g. {bad[0]}'
PY
}

# All back to their sockets; each one's echo is intact.
check_upload() {
	ctl conn terminate all dev va
	note "uploaded; $(memory)"
	expect_eq "$(stat_of offloaded)" 0 "offloaded after terminate all"
	expect_eq "$(ctl -j conn show dev va)" "[]" "dump after terminate all"
	touch "$W/go"
	# The clients print their one line when done.
	wait_for $T test -s "$W/clients.json" || { cat "$W/clients.err"; return 1; }
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] == int(sys.argv[2]) and not r["error"], r' "$W/clients.json" "$N"
}

ktap_plan 4
ktap_check "setup: $N idle connections over the wire" setup
ktap_check "policy add offloads all $N" check_offload
ktap_check "conn show dumps each exactly once" check_dump
ktap_check "terminate all: every connection echoes intact" check_upload
ktap_finish
