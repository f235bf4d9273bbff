#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `conn offload` on real TCP connections over the e1000 wire: the control
# plane finds the established socket by its 4-tuple, checks that its route
# leaves through a device with a target, and refuses with the reason.
# The handoff itself (and what the connection carries) is handoff.sh's.
#
#   netns chim-a            QEMU hub             netns chim-b
#   eth0 (e1000) 10.0.0.1 ===================== eth1 (e1000) 10.0.0.2
#        fd00::1         client -> server :7000/:7001   fd00::2
set -eu
. "$(dirname "$0")/lib.sh"

PIDS=/tmp/conn-offload.pids
MON=/tmp/conn-offload.monitor

cleanup() {
	[ -f $PIDS ] && xargs -r kill <$PIDS 2>/dev/null || true
	rm -f $PIDS
	wire_down
	# Closing sockets may still be in our calls a little while.
	wait_for 60 rmmod chimney || true
}
trap cleanup EXIT

must_fail() { # MESSAGE NS ARGS...
	local want=$1 ns=$2 out rc=0
	shift 2
	out=$(ip netns exec "$ns" "$CTL" "$@" 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc for: $*"; return 1; }
	expect_eq "$out" "$want" "message of: $*"
}

# hold NS SCRIPT: a python process that keeps a connection open, detached
# from the checks' output pipes.
hold() {
	ip netns exec "$1" python3 -c "$2" </dev/null >>/tmp/conn-offload.out 2>&1 &
	echo $! >>$PIDS
}

setup() {
	insmod "$KO"
	wire_up
	: >/tmp/conn-offload.out
	ip netns exec $NS_A "$CTL" -j monitor </dev/null >$MON 2>&1 &
	echo $! >>$PIDS
	for port in 7000 7001; do
		fam=AF_INET addr=0.0.0.0
		[ $port = 7001 ] && fam=AF_INET6 addr=::
		hold $NS_B "import socket, time
s = socket.socket(socket.$fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$addr', $port)); s.listen()
c, _ = s.accept(); time.sleep(120)"
		wait_for 10 listening $NS_B $port
	done
	hold $NS_A "import socket, time
a = socket.create_connection(('10.0.0.2', 7000))
b = socket.create_connection(('fd00::2', 7001))
print('ports', a.getsockname()[1], b.getsockname()[1], flush=True)
time.sleep(120)"
	wait_for 20 grep -q '^ports' /tmp/conn-offload.out
}

ports() { sed -n 's/^ports //p' /tmp/conn-offload.out; }

check_unknown() {
	local p4
	p4=$(ports | cut -d' ' -f1)
	must_fail "chimneyctl: no established TCP connection with this 4-tuple" \
		$NS_A conn offload 10.0.0.1:$p4 10.0.0.2:7999
	must_fail "chimneyctl: no established TCP connection with this 4-tuple" \
		$NS_B conn offload 10.0.0.1:$p4 10.0.0.2:7000
}

check_no_target() {
	local p4 p6
	read -r p4 p6 <<<"$(ports)"
	must_fail "chimneyctl: the connection does not leave through a device with an offload target" \
		$NS_A conn offload 10.0.0.1:$p4 10.0.0.2:7000
	must_fail "chimneyctl: the connection does not leave through a device with an offload target" \
		$NS_A conn offload [fd00::1]:$p6 [fd00::2]:7001
}

conn_field() { # FIELD: of the first connection in `conn show -j`
	ip netns exec $NS_A "$CTL" -j conn show |
		jq -r ".[0].$1"
}

check_target() {
	local p4 p6
	read -r p4 p6 <<<"$(ports)"
	ip netns exec $NS_A "$CTL" dev attach eth0
	ip netns exec $NS_A "$CTL" conn offload 10.0.0.1:$p4 10.0.0.2:7000 priority 5
	expect_eq "$(conn_field state) $(conn_field priority) $(conn_field dev)" \
		"offloaded 5 eth0" "conn show"
	must_fail "chimneyctl: the connection is already offloaded or closing" \
		$NS_A conn offload 10.0.0.1:$p4 10.0.0.2:7000
	# The socket carries the ULP; ss shows it.
	ip netns exec $NS_A ss -tin "sport = :$p4" | grep -q tcp-ulp-chimney
	ip netns exec $NS_A "$CTL" conn terminate 10.0.0.1:$p4 10.0.0.2:7000
	expect_eq "$(ip netns exec $NS_A "$CTL" -j conn show)" "[]" "after terminate"
	ip netns exec $NS_A "$CTL" conn offload [fd00::1]:$p6 [fd00::2]:7001
	expect_eq "$(conn_field state)" offloaded "IPv6 state"
	ip netns exec $NS_A "$CTL" conn terminate all
	# The server's side of the same connection leaves through eth1: no target.
	must_fail "chimneyctl: the connection does not leave through a device with an offload target" \
		$NS_B conn offload 10.0.0.2:7000 10.0.0.1:$p4
}

check_paused() {
	local p4
	p4=$(ports | cut -d' ' -f1)
	ip netns exec $NS_A "$CTL" dev pause eth0
	must_fail "chimneyctl: offloads are paused on this device" \
		$NS_A conn offload 10.0.0.1:$p4 10.0.0.2:7000
	ip netns exec $NS_A "$CTL" dev resume eth0
	ip netns exec $NS_A "$CTL" dev detach eth0
}

# The events of the checks above, in order, with their endpoints, reasons,
# statuses and byte counts (nothing was in flight: 0 bytes handed back).
check_monitor() {
	local p4 p6 got
	read -r p4 p6 <<<"$(ports)"
	sleep 1
	got=$(python3 -c '
import json, sys
keys = ("event", "dev", "local", "remote", "reason", "status",
        "send_bytes", "recv_bytes", "paused")
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(" ".join(f"{k}={e[k]}" for k in keys if k in e))' $MON)
	expect_eq "$got" "$(printf '%s\n' \
		"event=attach dev=eth0 paused=False" \
		"event=offload dev=eth0 local=10.0.0.1:$p4 remote=10.0.0.2:7000 status=success" \
		"event=terminate-start dev=eth0 local=10.0.0.1:$p4 remote=10.0.0.2:7000 reason=admin status=pending" \
		"event=terminate-done dev=eth0 local=10.0.0.1:$p4 remote=10.0.0.2:7000 reason=admin status=success send_bytes=0 recv_bytes=0" \
		"event=offload dev=eth0 local=[fd00::1]:$p6 remote=[fd00::2]:7001 status=success" \
		"event=terminate-start dev=eth0 local=[fd00::1]:$p6 remote=[fd00::2]:7001 reason=admin status=pending" \
		"event=terminate-done dev=eth0 local=[fd00::1]:$p6 remote=[fd00::2]:7001 reason=admin status=success send_bytes=0 recv_bytes=0" \
		"event=pause dev=eth0 paused=True" \
		"event=resume dev=eth0 paused=False" \
		"event=detach dev=eth0 paused=False")" "monitor -j events"
}

ktap_plan 6
ktap_check "setup: wire and two live connections (IPv4, IPv6)" setup
ktap_check "unknown 4-tuples are refused" check_unknown
ktap_check "no target on the egress device: refused" check_no_target
ktap_check "offloaded through the target's device, then uploaded" check_target
ktap_check "paused device refuses offloads" check_paused
ktap_check "monitor -j: the offload/terminate event sequence" check_monitor
ktap_finish
