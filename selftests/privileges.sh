#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Who may do what.  Every change can make the host wait for the target with
# RTNL held, so it needs CAP_NET_ADMIN in the initial user namespace: the
# root of a user namespace (`unshare -Urn` as nobody, with a dummy device
# of its own) is refused each of them.  Exact sequence numbers
# (with-delegated) and the events group are not for nobody; plain reads
# are.  The longest completion delay cannot hold RTNL: an `ip link`
# command completes while the host waits for a delayed target.
#
#   initial netns: dummy0 (target)       netns chim-a  ==e1000==  netns chim-b
#   nobody's userns+netns: d0 (dummy)    eth0 10.0.0.1            eth1 10.0.0.2
set -eu
. "$(dirname "$0")/lib.sh"

W=/tmp/privileges
PIDS=$W/pids
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

cleanup() {
	[ -f $PIDS ] && xargs -r kill <$PIDS 2>/dev/null || true
	ip link del dummy0 2>/dev/null || true
	ip link del chimpriv0 2>/dev/null || true
	wire_down
	wait_for 60 rmmod chimney || true
	rm -rf $W
}
trap cleanup EXIT

setup() {
	mkdir -p $W
	: >$PIDS
	chmod 755 $W
	# nobody may not reach the checkout's path: a copy of the CLI it can run.
	cp "$CTL" $W/chimneyctl
	chmod 755 $W/chimneyctl
	insmod "$KO"
	ip link add dummy0 type dummy
	ip link set dummy0 up
	"$CTL" dev attach dummy0
}

# as_userns_root SCRIPT: SCRIPT as the root of a new user and network
# namespace made by nobody, with a dummy device d0 of its own.
as_userns_root() {
	$NOBODY unshare -Urn sh -c "ip link add d0 type dummy && ip link set d0 up && $1"
}

# Each change, tried by a user namespace's root on its own device: refused
# with EPERM, and nothing happened.
check_userns_root_changes_refused() {
	local cmd out
	as_userns_root "id -u" | grep -qx 0
	for cmd in "dev attach d0" "dev detach d0" "dev pause d0" "dev resume d0" \
		"policy add d0 rport 80" "policy del d0 1" \
		"target fault d0 complete-delay 5" "target request d0 upload-all" \
		"conn offload 10.9.9.1:1 10.9.9.2:2" "conn terminate all"; do
		out=$(as_userns_root "$W/chimneyctl $cmd" 2>&1) &&
			{ echo "accepted: $cmd"; return 1; }
		grep -q "Operation not permitted" <<<"$out" ||
			{ echo "$cmd: $out"; return 1; }
	done
	# Its reads are open, and it still has no device.
	out=$(as_userns_root "$W/chimneyctl -j dev show")
	expect_eq "$out" '[]' "dev show in the user namespace"
}

# nobody in the initial namespace: plain reads yes, exact sequence numbers
# and events no (each refusal with its reason).
check_nobody_reads() {
	local out
	out=$($NOBODY $W/chimneyctl -j conn show)
	expect_eq "$out" '[]' "conn show as nobody"
	out=$($NOBODY $W/chimneyctl -d conn show 2>&1) &&
		{ echo "with-delegated accepted for nobody"; return 1; }
	expect_eq "$out" "chimneyctl: with-delegated needs CAP_NET_ADMIN in the initial user namespace"
	out=$(timeout 10 $NOBODY $W/chimneyctl monitor 2>&1) &&
		{ echo "monitor accepted for nobody"; return 1; }
	grep -q "Operation not permitted" <<<"$out" || { echo "monitor: $out"; return 1; }
	# root may do both.
	"$CTL" -d conn show >/dev/null
}

check_delay_bounded() {
	local out
	out=$("$CTL" target fault dummy0 complete-delay 101 2>&1) &&
		{ echo "complete-delay 101 accepted"; return 1; }
	expect_eq "$out" 'chimneyctl: invalid complete-delay "101"'
	"$CTL" target fault dummy0 complete-delay 100
	"$CTL" target fault dummy0 clear
}

# An offload and its upload wait for a target that delays each completion
# by the longest delay allowed, with RTNL held: meanwhile an `ip link`
# command (which needs RTNL) still completes in under 2 s.
check_rtnl_not_held() {
	local i t0 t1 cmd worst=0
	wire_up
	ip netns exec $NS_A "$CTL" dev attach eth0
	bg $NS_B socat TCP4-LISTEN:7300,reuseaddr,fork EXEC:cat
	wait_for 10 listening $NS_B 7300
	bg $NS_A socat -T 600 TCP4:10.0.0.2:7300,sourceport=7301 EXEC:"sleep 600"
	wait_for 10 out_is 1 sh -c "ip netns exec $NS_A ss -Htn state established | wc -l"
	ip netns exec $NS_A "$CTL" target fault eth0 complete-delay 100
	(for i in 1 2 3 4 5; do
		ip netns exec $NS_A "$CTL" conn offload 10.0.0.1:7301 10.0.0.2:7300
		ip netns exec $NS_A "$CTL" conn terminate all
	done) </dev/null >>$W/bg.out 2>&1 &
	local loop=$!
	while kill -0 $loop 2>/dev/null; do
		for cmd in "add chimpriv0 type dummy" "del chimpriv0"; do
			t0=$(date +%s%N)
			ip link $cmd
			t1=$(date +%s%N)
			[ $(((t1 - t0) / 1000000)) -gt $worst ] && worst=$(((t1 - t0) / 1000000))
		done
	done
	wait $loop || { cat $W/bg.out; return 1; }
	echo "longest ip link command: $worst ms" >&2
	# The loop really waited for the target: five offloads and uploads.
	ip netns exec $NS_A "$CTL" -j stats eth0 >$W/stats
	expect_eq "$(jq -r '.[0] | "\(.offloads) \(.terminates.admin)"' <$W/stats)" \
		"5 5" "offloads and admin uploads"
	[ $worst -lt 2000 ] || { echo "ip link waited $worst ms"; return 1; }
}

ktap_plan 5
ktap_check setup setup
ktap_check userns_root_changes_refused check_userns_root_changes_refused
ktap_check nobody_reads check_nobody_reads
ktap_check delay_bounded check_delay_bounded
ktap_check rtnl_not_held check_rtnl_not_held
ktap_finish
