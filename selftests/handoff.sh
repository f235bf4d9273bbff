#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live handoff over the e1000 wire: connections are offloaded into the
# target and uploaded back into their sockets while they carry traffic;
# every byte is checked by SHA-256 on both ends.
#
#   netns chim-a (target on eth0)   QEMU hub   netns chim-b
#   eth0 10.0.0.1 fd00::1  ============================  eth1 10.0.0.2 fd00::2
#   tcpio clients, handoff driver                  tcpio servers
set -eu
. "$(dirname "$0")/lib.sh"

W=$CHIMNEY_RESULTS/handoff
PIDS=$W/pids
# Handoff cycles of the bulk check, per address family.
CYCLES=${CHIMNEY_HANDOFF_CYCLES:-100}

cleanup() {
	# (Some have ended already.)
	[ -f "$PIDS" ] && xargs -r kill <"$PIDS" 2>/dev/null || true
	sleep 0.5
	wire_down
	# Closing sockets may still be in our calls a little while.
	wait_for 60 rmmod chimney || true
}
trap cleanup EXIT

ctl() { ip netns exec $NS_A "$CTL" "$@"; }

# server ADDR PORT NAME [ARGS]: a tcpio server in B logging to $W/NAME.log
server() {
	local addr=$1 port=$2 name=$3
	shift 3
	: >"$W/$name.log"
	bg $NS_B python3 "$TCPIO" server --addr "$addr" --port "$port" --count 0 \
		--log "$W/$name.log" "$@"
	wait_for 60 listening $NS_B "$port"
}

tuple_of() { cat "$1"; }

stat_of() { # KEY: a counter of eth0's stats
	ctl -j stats eth0 | jq -r ".[0].$1"
}

# A JSON check in Python: the script gets the file names as argv.
pycheck() {
	python3 - "$@"
}

# both_ends_match NAME: $W/NAME.client and the first line of the server's
# $W/NAME.log, without error, with the same SHA-256 each way.
both_ends_match() {
	pycheck "$W/$1.client" "$W/$1.log" <<'EOF'
import json, sys
c = json.loads(open(sys.argv[1]).read())
s = json.loads(open(sys.argv[2]).readline())
assert c['error'] is None and s['error'] is None, (c, s)
assert c['sent_sha'] == s['recv_sha'] and c['recv_sha'] == s['sent_sha'], (c, s)
EOF
}

setup() {
	mkdir -p "$W"
	rm -f "$W"/*
	insmod "$KO"
	wire_up
	ctl dev attach eth0 capacity 2048
}

# Rounds of bulk transfers in both directions on one family while a
# driver offloads and terminates the connection every 5 ms.
bulk_rounds() { # NAME ADDR PORT [CYCLES [MS]]
	local name=$1 addr=$2 port=$3 round=0 deadline=$((SECONDS + 600))
	rm -f "$W/$name.stop" "$W/$name.rounds"
	server "$addr" "$port" "$name"
	bg $NS_A python3 "$DRIVER" "$YNL" "$SPEC" "$W/$name.ports" \
		"$W/$name.stop" "${4:-$CYCLES}" "${5:-5}"
	until [ -e "$W/$name.stop" ]; do
		[ $SECONDS -lt $deadline ] || touch "$W/$name.stop"
		round=$((round + 1))
		ip netns exec $NS_A python3 "$TCPIO" client --mode bulk --addr "$addr" \
			--port "$port" --c2s $((24 << 20)) --s2c $((24 << 20)) \
			--seed $round --ports-file "$W/$name.ports" \
			>>"$W/$name.rounds" 2>>"$W/bg.out" || true
	done
}

check_bulk_handoffs() {
	: >"$W/bg.out"
	echo "x" >"$W/v4.ports"
	echo "x" >"$W/v6.ports"
	bulk_rounds v4 10.0.0.2 7100 &
	local v4=$!
	bulk_rounds v6 fd00::2 7101 &
	local v6=$!
	wait $v4
	wait $v6
	wait_for 30 out_is 0 stat_of offloaded
	pycheck "$W/v4.rounds" "$W/v4.log" "$W/v6.rounds" "$W/v6.log" "$CYCLES" \
		"$(stat_of offloads)" <<'EOF'
import json, sys
total = 0
for rounds, log in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    clients = [json.loads(l) for l in open(rounds)]
    servers = [json.loads(l) for l in open(log)]
    assert clients, f'{rounds}: no round ran'
    assert len(clients) == len(servers), f'{rounds}: {len(clients)} clients, {len(servers)} servers'
    for c, s in zip(clients, servers):
        assert c['error'] is None and s['error'] is None, (c, s)
        assert c['sent_sha'] == s['recv_sha'] and c['recv_sha'] == s['sent_sha'], (c, s)
    print(f'{rounds}: {len(clients)} rounds verified', file=sys.stderr)
offloads = int(sys.argv[6])
assert offloads >= 2 * int(sys.argv[5]), f'only {offloads} handoff cycles'
EOF
}

# The same with the target's engine carrying the traffic between handoffs:
# a driver offloads and terminates the connection every 20 ms for
# $ENGINE_CYCLES cycles while bulk rounds run both ways (IPv4); every
# round's SHA-256 each way, no reset, and the engine's segment counters
# show that it carried traffic in between.  (It found the restore that
# reset a connection whose queue was over its buffer while the target
# kept data: "restore of a connection failed (-105)".)  0 cycles skip it.
ENGINE_CYCLES=${CHIMNEY_HANDOFF_ENGINE_CYCLES:-1000}
check_bulk_handoffs_engine() {
	local in0 out0
	ctl dev detach eth0
	ctl dev attach eth0 capacity 2048 engine on
	: >"$W/bg.out"
	echo "x" >"$W/e4.ports"
	in0=$(stat_of target.in_segments)
	out0=$(stat_of target.out_segments)
	bulk_rounds e4 10.0.0.2 7102 "$ENGINE_CYCLES" 20
	wait_for 30 out_is 0 stat_of offloaded
	echo "engine segments in $(($(stat_of target.in_segments) - in0)), out $(($(stat_of target.out_segments) - out0)); terminate failures $(stat_of terminate_failures)"
	pycheck "$W/e4.rounds" "$W/e4.log" "$ENGINE_CYCLES" "$(stat_of offloads)" <<'EOF'
import json, sys
clients = [json.loads(l) for l in open(sys.argv[1])]
servers = [json.loads(l) for l in open(sys.argv[2])]
assert clients, 'no round ran'
assert len(clients) == len(servers), f'{len(clients)} clients, {len(servers)} servers'
for c, s in zip(clients, servers):
    assert c['error'] is None and s['error'] is None, (c, s)
    assert c['sent_sha'] == s['recv_sha'] and c['recv_sha'] == s['sent_sha'], (c, s)
print(f'{len(clients)} rounds verified, {sys.argv[4]} offloads', file=sys.stderr)
assert int(sys.argv[4]) >= int(sys.argv[3]), f'only {sys.argv[4]} handoff cycles'
EOF
	expect_eq "$(stat_of terminate_failures)" 0 "terminate failures"
	[ "$(stat_of target.in_segments)" -gt $((in0 + 10000)) ] ||
		{ echo "the engine received too little"; return 1; }
	[ "$(stat_of target.out_segments)" -gt $((out0 + 10000)) ] ||
		{ echo "the engine sent too little"; return 1; }
	ctl dev detach eth0
	ctl dev attach eth0 capacity 2048
}

# Data waiting in every queue at the offload: unread (the server's bytes),
# unacknowledged and unsent (ours, the server does not read yet).
check_queues() {
	local stage=$W/queues.stage
	rm -f "$stage" "$stage.go" "$W/queues.go"
	server 10.0.0.2 7200 queues --go "$W/queues.go"
	bg $NS_A python3 "$TCPIO" client --mode queues --addr 10.0.0.2 --port 7200 \
		--c2s $((4 << 20)) --s2c $((64 << 10)) --seed 7 \
		--ports-file "$W/queues.ports" --stage-file "$stage"
	echo $! >"$W/queues.pid"
	wait_for 60 test -s "$stage"
	local before after tuple lport
	tuple=$(tuple_of "$W/queues.ports")
	lport=${tuple%% *}
	lport=${lport##*:}
	before=$(ip netns exec $NS_A ss -Htn "sport = :$lport" | awk '{print $2, $3}')
	[ -n "$before" ] || { echo "ss found no socket on port $lport"; return 1; }
	ctl conn offload $tuple
	expect_eq "$(ctl -j conn show | jq -r '.[0].state')" \
		offloaded state
	# The frozen socket still reports the same queue sizes.
	after=$(ip netns exec $NS_A ss -Htn "sport = :$lport" | awk '{print $2, $3}')
	ctl conn terminate $tuple
	touch "$stage.go" "$W/queues.go"
	wait_for 120 grep -q sent_sha "$W/bg.out"
	expect_eq "$after" "$before" "Recv-Q Send-Q while offloaded"
	grep sent_sha "$W/bg.out" | tail -1 >"$W/queues.client"
	pycheck "$W/queues.client" "$W/queues.log" <<'EOF'
import json, sys
c = json.loads(open(sys.argv[1]).read())
s = json.loads(open(sys.argv[2]).read())
assert c['error'] is None and s['error'] is None, (c, s)
assert c['inq_before'] > 0 and c['outq_before'] > 0, c
assert c['sent_sha'] == s['recv_sha'] and c['recv_sha'] == s['sent_sha'], (c, s)
EOF
}

# Loss while the connection is handed back and forth every 20 ms: its
# 100-byte request goes out while the peer's cable is out (3 s), and
# nothing follows it, so only the stock stack's timers (loss probe,
# retransmit) resend it, each armed by an upload with what the target left
# of it.  (A connection in loss recovery is not offloaded: the handoffs
# stop while the timer backs off.)
check_loss_recovery() {
	rm -f "$W/loss.stop" "$W/loss.go"
	server 10.0.0.2 7102 loss --timeout 120
	ip netns exec $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port 7102 \
		--count 1 --timeout 60 --ports-file "$W/loss.ports" --go "$W/loss.go" \
		>"$W/loss.client" 2>&1 &
	local client=$!
	wait_for 60 test -s "$W/loss.ports"
	local before
	before=$(stat_of offloads)
	bg $NS_A python3 "$DRIVER" "$YNL" "$SPEC" "$W/loss.ports" "$W/loss.stop" 1000000 20
	wait_for 60 out_ge $((before + 3)) stat_of offloads
	# The peer's cable (nic1): our side keeps its carrier, no trigger.
	vm_set_link nic1 off
	touch "$W/loss.go"
	sleep 3
	vm_set_link nic1 on
	local rc=0
	wait $client || rc=$?
	touch "$W/loss.stop"
	[ $rc -eq 0 ] || { echo "client exit $rc: $(cat "$W/loss.client")"; return 1; }
	grep -q '"conns": 1, "ok": 1, "error": null' "$W/loss.client"
}

check_blocking_calls() {
	rm -f "$W/blk.stop"
	server fd00::2 7300 blk
	echo x >"$W/blk.ports"
	bg $NS_A python3 "$DRIVER" "$YNL" "$SPEC" "$W/blk.ports" "$W/blk.stop" 1000000 5
	ip netns exec $NS_A python3 "$TCPIO" blocking --addr fd00::2 --port 7300 \
		--bytes $((16 << 20)) --seed 11 --ports-file "$W/blk.ports" >"$W/blk.client"
	touch "$W/blk.stop"
	wait_for 30 test -s "$W/blk.log"
	both_ends_match blk
}

# close() or shutdown() on an offloaded socket: uploaded first, then the
# stock stack closes; the server gets every byte and then EOF.
closer() { # MODE PORT
	local mode=$1 port=$2 tuple
	rm -f "$W/$mode.go"
	touch "$W/$mode.sgo"	# the server reads right away
	server 10.0.0.2 "$port" "$mode" --go "$W/$mode.sgo"
	ip netns exec $NS_A python3 "$TCPIO" closer --mode "$mode" --addr 10.0.0.2 \
		--port "$port" --bytes $((2 << 20)) --seed 5 --ports-file "$W/$mode.ports" \
		--go "$W/$mode.go" >"$W/$mode.client" 2>>"$W/bg.out" &
	local pid=$!
	wait_for 60 test -s "$W/$mode.ports"
	tuple=$(tuple_of "$W/$mode.ports")
	wait_for 30 ctl conn offload $tuple
	touch "$W/$mode.go"
	wait $pid
	wait_for 30 test -s "$W/$mode.log"
	pycheck "$W/$mode.client" "$W/$mode.log" <<'EOF'
import json, sys
c = json.loads(open(sys.argv[1]).read())
s = json.loads(open(sys.argv[2]).readline())
assert c['error'] is None and s['error'] is None, (c, s)
assert c['sent_sha'] == s['recv_sha'], (c, s)
EOF
}

check_close_offloaded() { closer close 7400; }
check_shutdown_offloaded() { closer shutdown 7401; }

# 1,000 idle connections: offloaded, uploaded at once, then used.
check_idle_1000() {
	rm -f "$W/idle.go"
	server 10.0.0.2 7500 idle --timeout 900
	bg $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port 7500 --count 1000 \
		--ports-file "$W/idle.ports" --go "$W/idle.go"
	wait_for 120 test -s "$W/idle.ports"
	local before
	before=$(stat_of offloads)
	ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all \
		"$W/idle.ports" >"$W/idle.offload"
	# (A late ACK makes the target ask for an upload: some may be back.)
	expect_eq "$(($(stat_of offloads) - before))" 1000 "offloads"
	ctl conn terminate all dev eth0
	expect_eq "$(stat_of offloaded)" 0 "offloaded after terminate all"
	touch "$W/idle.go"
	wait_for 120 grep -q '"conns": 1000' "$W/bg.out"
	grep '"conns": 1000' "$W/bg.out" | grep -q '"ok": 1000, "error": null'
}

# A terminate that comes back FAILURE: that connection is reset, the others
# go on, nothing leaks (kmemleak runs at the end of the VM).
check_terminate_failure() {
	local first
	rm -f "$W/fail.go"
	server 10.0.0.2 7600 fail --timeout 900
	bg $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port 7600 --count 3 \
		--ports-file "$W/fail.ports" --go "$W/fail.go"
	wait_for 60 test -s "$W/fail.ports"
	ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all \
		"$W/fail.ports" >/dev/null
	ctl target fault eth0 terminate-fail 1
	first=$(head -1 "$W/fail.ports")
	ctl conn terminate $first
	ctl target fault eth0 clear
	expect_eq "$(stat_of terminate_failures)" 1 "terminate failures"
	ctl conn terminate all dev eth0
	touch "$W/fail.go"
	wait_for 60 grep -q '"conns": 3' "$W/bg.out"
	grep '"conns": 3' "$W/bg.out" | grep -q '"ok": 2'
}

# Offload rules: a connection the rule matches is offloaded by the module,
# whether it was established before the rule or after it; others are not.
check_policy() {
	local conns
	rm -f "$W/pol.go" "$W/pol2.go" "$W/pol3.go"
	server 10.0.0.2 7700 pol --timeout 900
	server fd00::2 7701 pol3 --timeout 900
	bg $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port 7700 --count 2 \
		--ports-file "$W/pol.ports" --go "$W/pol.go"
	wait_for 60 test -s "$W/pol.ports"
	local before
	before=$(stat_of offloads)
	ctl policy add eth0 rport 7700 priority 5 >/dev/null
	# Established before the rule: offloaded by the walk it starts.
	wait_for 60 out_is $((before + 2)) stat_of offloads
	conns=$(ctl -j conn show | python3 -c 'import json,sys
print(sorted((c["local"], c["priority"], c["state"]) for c in json.load(sys.stdin)))')
	expect_eq "$conns" "$(python3 -c 'import sys
print(sorted((l.split()[0], 5, "offloaded") for l in open(sys.argv[1])))' "$W/pol.ports")" \
		"connections offloaded by the rule"
	# Established after it: offloaded as they start (and uploaded by
	# their first send, as the target has no TCP engine); another port: not.
	bg $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port 7700 --count 2 \
		--ports-file "$W/pol2.ports" --go "$W/pol2.go"
	bg $NS_A python3 "$TCPIO" idle --addr fd00::2 --port 7701 --count 1 \
		--ports-file "$W/pol3.ports" --go "$W/pol3.go"
	wait_for 60 test -s "$W/pol2.ports"
	wait_for 60 test -s "$W/pol3.ports"
	wait_for 60 out_is $((before + 4)) stat_of offloads
	expect_eq "$(ip netns exec $NS_A ss -Htni "dport = :7700" | grep -c tcp-ulp-chimney)" 4 \
		"sockets with the chimney ULP"
	expect_eq "$(ip netns exec $NS_A ss -Htni "dport = :7701" | grep -c tcp-ulp-chimney)" 0 \
		"sockets of another port with the ULP"
	ctl policy del eth0 1
	ctl conn terminate all dev eth0
	touch "$W/pol.go" "$W/pol2.go" "$W/pol3.go"
	wait_for 60 out_ge 2 grep -c '"conns": 2, "ok": 2, "error": null' "$W/bg.out"
	wait_for 60 grep -q '"conns": 1, "ok": 1, "error": null' "$W/bg.out"
}

ktap_plan 11
ktap_check setup setup
ktap_check bulk_handoffs_v4_v6 check_bulk_handoffs
if [ "$ENGINE_CYCLES" = 0 ]; then
	ktap_skip bulk_handoffs_engine "CHIMNEY_HANDOFF_ENGINE_CYCLES=0"
else
	ktap_check bulk_handoffs_engine check_bulk_handoffs_engine
fi
ktap_check loss_recovery_across_handoffs check_loss_recovery
ktap_check queues_unread_unacked_unsent check_queues
ktap_check blocking_reader_writer check_blocking_calls
ktap_check close_while_offloaded check_close_offloaded
ktap_check shutdown_while_offloaded check_shutdown_offloaded
ktap_check idle_1000 check_idle_1000
ktap_check terminate_failure_resets_one check_terminate_failure
ktap_check policy_offloads_matching check_policy
ktap_finish
