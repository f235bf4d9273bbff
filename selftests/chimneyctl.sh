#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# chimneyctl against the module: every command, the refusals with their
# exact messages (bad device, bad address, out-of-range values, unprivileged
# caller, another netns), and `monitor -j` compared with the events the
# commands must cause, in order.
#
#   netns chim-ctl: dummy0, dummy1 (Ethernet devices, no wire)
#   netns chim-ctl2: dummy0 (same name, another namespace)
set -eu
. "$(dirname "$0")/lib.sh"

NS=chim-ctl
OTHER=chim-ctl2
MON=/tmp/chimneyctl-monitor.json

cleanup() {
	[ -f $MON.pid ] && kill "$(cat $MON.pid)" 2>/dev/null
	ip netns del $NS 2>/dev/null || true
	ip netns del $OTHER 2>/dev/null || true
	rmmod chimney 2>/dev/null || true
}
trap cleanup EXIT

ctl() { ip netns exec $NS "$CTL" "$@"; }

# must_fail MESSAGE CMD...: CMD exits 1 printing exactly MESSAGE on stderr.
must_fail() {
	local want=$1 out rc=0
	shift
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc for: $*"; return 1; }
	expect_eq "$out" "$want" "message of: $*"
}

json() { # EXPR JSON: evaluate EXPR with d = the parsed JSON
	python3 -c "import json,sys; d=json.loads(sys.argv[2]); print($1)" "$1" "$2"
}

setup() {
	insmod "$KO"
	dummy_netns $NS dummy0 dummy1
	dummy_netns $OTHER dummy0
	# Checks run in subshells: the monitor's pid goes through a file, and
	# it must not hold their output pipe.
	ip netns exec $NS "$CTL" -j monitor >$MON 2>$MON.err </dev/null &
	echo $! >$MON.pid
	# Subscribed once a probe device's events reach it.
	ip -n $NS link add probe0 type dummy
	wait_for 20 probe_monitor
	ip -n $NS link del probe0
}

probe_monitor() {
	ctl dev attach probe0 && ctl dev detach probe0
	grep -q probe0 $MON
}

check_help() {
	"$CTL" help | grep -q "dev"
	"$CTL" conn help | grep -q "terminate"
	must_fail 'chimneyctl: unknown object "bogus" (try "chimneyctl help")' "$CTL" bogus
}

check_dev() {
	ctl dev attach dummy0 capacity 1024 idle-timeout 2000 idle-bytes 4096 \
		ticks 1000 max-retransmissions 7 accept-optional low-activity,high-drop-rate
	ctl dev show | grep -q "^dummy0: capacity 1024 offloaded 0"
	local j
	j=$(ctl -j dev show dummy0)
	expect_eq "$(json 'd[0]["dev"], d[0]["capacity"], d[0]["idle_timeout"], d[0]["idle_bytes"], d[0]["paused"], d[0]["params"]["max_retransmissions"], d[0]["accept_optional"]' "$j")" \
		"dummy0 1024 2000 4096 False 7 ['low-activity', 'high-drop-rate']" "dev show -j"
	ctl dev attach dummy1
	expect_eq "$(json 'len(d)' "$(ctl -j dev show)")" 2 "devices"
}

check_dev_refusals() {
	must_fail "chimneyctl: no such device" ctl dev attach nosuch0
	must_fail "chimneyctl: an offload target needs an Ethernet device" ctl dev attach lo
	must_fail "chimneyctl: a target is already attached to this device" ctl dev attach dummy0
	must_fail 'chimneyctl: invalid capacity "0"' ctl dev attach dummy1 capacity 0
	must_fail 'chimneyctl: invalid capacity "2000000"' ctl dev attach dummy1 capacity 2000000
	must_fail "chimneyctl: ticks-per-second must be 10, 100 or 1000" \
		ctl dev attach dummy1 ticks 50
	must_fail "chimneyctl: accept-optional may only name optional reasons" \
		ctl dev attach dummy1 accept-optional upload-requested
	must_fail "chimneyctl: no offload target is attached to this device" \
		ip netns exec $OTHER "$CTL" dev show dummy0
	must_fail "chimneyctl: no such device" ctl conn show dev nosuch0
}

check_pause() {
	ctl dev pause dummy0
	expect_eq "$(json 'd[0]["paused"]' "$(ctl -j dev show dummy0)")" True paused
	must_fail "chimneyctl: device already paused" ctl dev pause dummy0
	ctl dev resume dummy0
	must_fail "chimneyctl: device not paused" ctl dev resume dummy0
}

check_policy() {
	expect_eq "$(ctl policy add dummy0 rport 5001 raddr 10.0.0.2 priority 3)" "id 1" "policy add"
	expect_eq "$(json 'd["id"]' "$(ctl -j policy add dummy0 laddr fd00::1 lport 80)")" 2 "policy add -j"
	local j
	j=$(ctl -j policy show dummy0)
	expect_eq "$(json '[(p["id"], p.get("rport"), p.get("raddr"), p["priority"]) for p in d]' "$j")" \
		"[(1, 5001, '10.0.0.2', 3), (2, None, None, 0)]" "policy show -j"
	must_fail 'chimneyctl: invalid priority "9"' ctl policy add dummy0 priority 9
	must_fail 'chimneyctl: addresses "10.0.0.1" and "fd00::2" are of different address families' \
		ctl policy add dummy0 laddr 10.0.0.1 raddr fd00::2
	must_fail "chimneyctl: no offload rule with this id on this device" ctl policy del dummy0 9
	ctl policy del dummy0 2
	expect_eq "$(json 'len(d)' "$(ctl -j policy show)")" 1 "rules left"
}

check_conn() {
	expect_eq "$(ctl -j conn show)" "[]" "conn show -j"
	must_fail 'chimneyctl: invalid port "99999"' ctl conn offload 10.0.0.1:99999 10.0.0.2:80
	must_fail "chimneyctl: no established TCP connection with this 4-tuple" \
		ctl conn offload 10.0.0.1:1 10.0.0.2:2
	must_fail "chimneyctl: no offloaded connection with this 4-tuple" \
		ctl conn terminate 10.0.0.1:1 10.0.0.2:2
	must_fail "chimneyctl: no offloaded connection with this 4-tuple" \
		ctl conn terminate [fd00::1]:1 [fd00::2]:2 reason link-down
	must_fail "chimneyctl: no offloaded path to this address" ctl conn terminate path 10.0.0.9
	must_fail "chimneyctl: no offloaded neighbor with this address" \
		ctl conn terminate neigh fd00::9
	must_fail 'chimneyctl: invalid reason "bogus"' ctl conn terminate all reason bogus
	# Nothing offloaded: accepted, silent, nothing counted.
	expect_eq "$(ctl conn terminate all dev dummy0 reason admin 2>&1)" "" \
		"conn terminate all dev dummy0"
	expect_eq "$(ctl conn terminate all 2>&1)" "" "conn terminate all"
	expect_eq "$(json 'd[0]["offloaded"], sum(d[0]["terminates"].values())' "$(ctl -j stats dummy0)")" \
		"0 0" "offloaded and terminates after them"
}

check_target() {
	must_fail "chimneyctl: the target does not run this connection" \
		ctl target request dummy0 retrieve 10.0.0.1:1 10.0.0.2:2 reason upload-requested
	must_fail "chimneyctl: a target can only give a TCP_UPLOAD_REASON (1-11)" \
		ctl target request dummy0 retrieve 10.0.0.1:1 10.0.0.2:2 reason admin
	ctl target request dummy0 upload-all
	# Upload-all pauses the host until resumed.
	wait_for 10 sh -c "ip netns exec $NS '$CTL' dev show dummy0 | grep -q paused"
	ctl dev resume dummy0
	must_fail "chimneyctl: not a failure status of an initiate" \
		ctl target fault dummy0 initiate-fail 1 success
	must_fail 'chimneyctl: invalid complete-delay "101"' \
		ctl target fault dummy0 complete-delay 101
	must_fail 'chimneyctl: invalid terminate-fail "1000001"' \
		ctl target fault dummy0 terminate-fail 1000001
	ctl target fault dummy0 terminate-fail 2
	ctl target fault dummy0 initiate-fail 1 offload-tcp-entries
	ctl target fault dummy0 complete-delay 5
	# Each fault is read back as set (no connection uses one up here).
	expect_eq "$(ctl -j dev show dummy0 | jq -c '.[0].faults')" \
		'{"terminate_fail":2,"initiate_fail":1,"initiate_status":"offload-tcp-entries","complete_delay":5}' \
		"faults after target fault"
	expect_eq "$(ctl -d dev show dummy0 | grep faults:)" \
		"    faults: terminate-fail 2 initiate-fail 1 offload-tcp-entries complete-delay 5" \
		"faults in dev show -d"
	ctl target fault dummy0 clear
	expect_eq "$(ctl -j dev show dummy0 | jq -c '.[0].faults')" \
		'{"terminate_fail":0,"initiate_fail":0,"complete_delay":0}' "faults after clear"
}

check_stats() {
	local j
	j=$(ctl -j stats dummy0)
	expect_eq "$(json 'd[0]["dev"], d[0]["offloaded"], d[0]["offloads"], d[0]["terminate_failures"], d[0]["upload_all"], len(d[0]["terminates"]), d[0]["terminates"]["link-down"]' "$j")" \
		"dummy0 0 0 0 1 21 0" "stats -j"
	j=$(ctl -j -d stats dummy0)
	expect_eq "$(json 'len(d[0]["cpus"])' "$j")" "$(nproc)" "per-CPU stats"
	ctl stats | grep -q dummy0
}

check_unprivileged() {
	local out rc=0
	out=$(ip netns exec $NS setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$CTL" dev detach dummy1 2>&1) || rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc"; return 1; }
	expect_eq "$out" "chimneyctl: Operation not permitted" "unprivileged detach"
	ip netns exec $NS setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$CTL" dev show | grep -q dummy1
}

check_monitor() {
	ctl dev detach dummy1
	ctl dev detach dummy0
	sleep 1
	kill "$(cat $MON.pid)"
	rm -f $MON.pid
	local got
	got=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["dev"] != "probe0":
        print(e["event"], e["dev"], e.get("paused"))' $MON)
	expect_eq "$got" "$(printf '%s\n' \
		"attach dummy0 False" "attach dummy1 False" \
		"pause dummy0 True" "resume dummy0 False" \
		"resume dummy0 False" \
		"fault dummy0 False" "fault dummy0 False" "fault dummy0 False" "fault dummy0 False" \
		"detach dummy1 False" "detach dummy0 False")" "monitor -j events"
}

# -t: each event with the time it was received, text and JSON.
check_monitor_time() {
	local t0 t1 pid
	t0=$(date +%s)
	ip netns exec $NS "$CTL" -t monitor >$MON.t </dev/null 2>&1 &
	pid=$!
	ip netns exec $NS "$CTL" -jt monitor >$MON.tj </dev/null 2>&1 &
	pid="$pid $!"
	ip -n $NS link add probe1 type dummy
	wait_for 20 probe_time
	ip -n $NS link del probe1
	kill $pid
	t1=$(($(date +%s) + 1))
	grep -Eq '^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\] attach probe1( |$)' \
		$MON.t || { cat $MON.t; return 1; }
	python3 - $MON.tj $t0 $t1 <<'PY'
import json, sys
e = json.loads(open(sys.argv[1]).readline())
assert list(e)[:2] == ['time_us', 'event'], e
assert int(sys.argv[2]) * 10**6 <= e['time_us'] <= int(sys.argv[3]) * 10**6, e
PY
}

probe_time() {
	ctl dev attach probe1 && ctl dev detach probe1
	grep -q probe1 $MON.t && grep -q probe1 $MON.tj
}

ktap_plan 12
ktap_check "setup: module, netns, monitor subscribed" setup
ktap_check "help and unknown objects" check_help
ktap_check "dev attach and show (text and JSON)" check_dev
ktap_check "dev refusals: bad device, out of range, other netns" check_dev_refusals
ktap_check "dev pause and resume" check_pause
ktap_check "policy add, show, del and refusals" check_policy
ktap_check "conn show, offload, terminate and refusals" check_conn
ktap_check "target request and fault injection" check_target
ktap_check "stats (JSON keys, per CPU)" check_stats
ktap_check "unprivileged caller refused, may read" check_unprivileged
ktap_check "monitor -j: the expected event sequence" check_monitor
ktap_check "monitor -t: the time of each event" check_monitor_time
ktap_finish
