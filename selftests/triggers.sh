#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The host's reasons to terminate offloads, one check each, with traffic
# running: idle echo connections that an offload rule keeps offloaded, and
# a bulk transfer both ways that a handoff driver offloads every 20 ms.
# Each check fires its trigger, sees everything uploaded with the right
# reason, sees offloads refused or resumed as the trigger says, and ends
# with every echo intact and the same SHA-256 on both ends of the transfer.
#
#   netns chim-a (target on eth0)   QEMU hub   netns chim-b
#   eth0 10.0.0.1 ============================  eth1 10.0.0.2
#   tcpio clients, handoff driver            tcpio servers
set -eu
. "$(dirname "$0")/lib.sh"

W=$CHIMNEY_RESULTS/triggers
PIDS=$W/pids
MON=$W/monitor.json
N=6		# idle connections per check
NS_C=chim-c	# where check_netns moves eth0
BULK=$((8 << 20))

cleanup() {
	[ -f "$PIDS" ] && xargs -r kill <"$PIDS" 2>/dev/null || true
	vm_set_link nic0 on 2>/dev/null || true
	ip netns del $NS_C 2>/dev/null || true
	wire_down
	! grep -q '^chimney ' /proc/modules || wait_for 60 rmmod chimney || true
}
trap cleanup EXIT

ctl() { ip netns exec $NS_A "$CTL" "$@"; }

dev_field() { # FIELD: of eth0 in `dev show -j`
	ctl -j dev show eth0 | jq -r ".[0].$1"
}
offloaded() { dev_field offloaded; }
terminated() { # REASON: eth0's terminates for it
	ctl -j stats eth0 |
		jq -r ".[0].terminates[\"$1\"] // 0"
}

setup() {
	mkdir -p "$W"
	rm -f "$W"/*
	insmod "$KO"
	wire_up
	# IPv6 addresses survive an administrative down.
	ip netns exec $NS_A sysctl -qw net.ipv6.conf.eth0.keep_addr_on_down=1
	ip netns exec $NS_A "$CTL" -jt monitor </dev/null >"$MON" 2>&1 &
	echo $! >>"$PIDS"
	ctl dev attach eth0 capacity 64
}

# idle_start NAME PORT COUNT: an echo server on PORT and COUNT idle
# connections to it, their tuples in $W/NAME.idle; $W/NAME.go makes them
# echo (idle_echoed).
idle_start() {
	local name=$1 port=$2 count=$3
	bg $NS_B python3 "$TCPIO" server --addr 10.0.0.2 --port "$port" --count 0 \
		--timeout 900
	wait_for 60 listening $NS_B "$port"
	ip netns exec $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port "$port" \
		--count "$count" --ports-file "$W/$name.idle" --go "$W/$name.go" \
		--timeout 900 --wait-timeout 900 </dev/null >"$W/$name.echo" 2>>"$W/bg.out" &
	echo $! >>"$PIDS"
	wait_for 60 test -s "$W/$name.idle"
}

# idle_echoed NAME COUNT: released, all COUNT echoed intact.
idle_echoed() {
	touch "$W/$1.go"
	wait_for 120 test -s "$W/$1.echo"
	grep -q "\"conns\": $2, \"ok\": $2, \"error\": null" "$W/$1.echo" ||
		{ cat "$W/$1.echo"; return 1; }
}

# load_start NAME PORT: N idle echo connections to PORT that a rule
# offloads, and a bulk transfer to PORT+1 that a driver hands back and
# forth every 20 ms.
load_start() {
	local name=$1 port=$2
	# (A long link loss backs the retransmit timer off: 120 s, as the client.)
	bg $NS_B python3 "$TCPIO" server --addr 10.0.0.2 --port $((port + 1)) \
		--count 0 --timeout 120 --log "$W/$name.server"
	wait_for 60 listening $NS_B $((port + 1))
	idle_start "$name" "$port" $N
	ctl -j policy add eth0 rport "$port" priority 3 |
		jq -r .id >"$W/$name.policy"
	wait_for 60 out_is $N offloaded
	ip netns exec $NS_A python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 \
		--port $((port + 1)) --c2s $BULK --s2c $BULK --seed "$port" \
		--timeout 120 --ports-file "$W/$name.bulk" </dev/null \
		>"$W/$name.client" 2>>"$W/bg.out" &
	echo $! >>"$PIDS"
	wait_for 60 test -s "$W/$name.bulk"
	bg $NS_A python3 "$DRIVER" "$YNL" "$SPEC" "$W/$name.bulk" "$W/$name.stop" \
		1000000 20
}

# load_finish NAME: the transfer completes with the same SHA-256 on both
# ends; the idle connections, uploaded, echo intact.
load_finish() {
	local name=$1
	wait_for 300 test -s "$W/$name.client"
	touch "$W/$name.stop"
	wait_for 60 test -s "$W/$name.server"
	python3 - "$W/$name.client" "$W/$name.server" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
s = json.loads(open(sys.argv[2]).readline())
assert c['error'] is None and s['error'] is None, (c, s)
assert c['sent_sha'] == s['recv_sha'] and c['recv_sha'] == s['sent_sha'], (c, s)
PY
	if [ -s "$W/$name.policy" ] && ctl policy show eth0 >/dev/null 2>&1; then
		ctl policy del eth0 "$(cat "$W/$name.policy")" 2>/dev/null || true
	fi
	ctl conn terminate all dev eth0 2>/dev/null || true
	idle_echoed "$name" $N
}

# uploads_reported REASON: terminate-done events with it and success.
uploads_reported() {
	jq -s --arg r "$1" '[.[] | select(.event == "terminate-done" and
		.reason == $r and .status == "success")] | length' "$MON"
}

# counted REASON BEFORE: REASON counted for each idle connection (and
# perhaps the bulk one).
counted() {
	local n=$(($(terminated "$1") - $2))
	[ $n -ge $N ] || { echo "$1: $n terminates, expected at least $N"; return 1; }
}

# after_trigger REASON BEFORE: everything uploaded, REASON counted.
after_trigger() {
	expect_eq "$(offloaded)" 0 "offloaded after the trigger"
	counted "$@"
}

first_idle() { head -1 "$W/$1.idle"; }

must_fail() { # MESSAGE ARGS...
	local want=$1 out rc=0
	shift
	out=$(ctl "$@" 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc for: $*"; return 1; }
	expect_eq "$out" "$want" "message of: $*"
}

plug_in() { vm_set_link nic0 on; }

# The cable pulled for 3 s (QMP set_link on the QEMU NIC).  It is plugged
# back even when a check fails, for the checks that follow.

check_carrier() {
	local before
	load_start carrier 7800
	before=$(terminated link-down)
	vm_set_link nic0 off
	undo_after plug_in carrier_lost "$before"
	wait_for 30 out_is true dev_field link_up
	# The rule applies again.
	wait_for 60 out_is $N offloaded
	load_finish carrier
}

carrier_lost() { # BEFORE: link-down terminates before the pull
	wait_for 30 out_is false dev_field link_up
	after_trigger link-down "$1"
	must_fail "chimneyctl: the device's link is down" \
		conn offload $(first_idle carrier)
	sleep 3
}

check_admin_down() {
	local before
	load_start admin 7810
	before=$(terminated link-down)
	ip -n $NS_A link set eth0 down
	after_trigger link-down "$before"
	expect_eq "$(dev_field link_up)" false "link_up while down"
	sleep 2
	ip -n $NS_A link set eth0 up
	wait_for 30 out_is true dev_field link_up
	wait_for 60 out_is $N offloaded
	load_finish admin
}

# reconfigure NAME PORT CMD...: a reconfiguration pauses the device
# (reason pause) and the pause ends by itself.
reconfigure() {
	local name=$1 port=$2 before
	shift 2
	load_start "$name" "$port"
	before=$(terminated pause)
	"$@"
	# (The pause may be over already, and the rule at work again.)
	counted pause "$before"
	wait_for 30 out_is false dev_field paused
	wait_for 60 out_is $N offloaded
	load_finish "$name"
}

check_features() {
	reconfigure features 7820 ip netns exec $NS_A ethtool -K eth0 gro off
	ip netns exec $NS_A ethtool -K eth0 gro on
}

check_mtu() {
	reconfigure mtu 7830 ip -n $NS_A link set eth0 mtu 1400
	ip -n $NS_A link set eth0 mtu 1500
}

# A new hardware address, then the old one again (the peer's neighbour
# entry keeps the old one).
check_address() {
	reconfigure address 7910 readdress
}

readdress() {
	local mac
	mac=$(ip netns exec $NS_A cat /sys/class/net/eth0/address)
	ip -n $NS_A link set eth0 address 52:54:00:c4:11:99
	ip -n $NS_A link set eth0 address "$mac"
}

# port NAME PORT KIND REASON: eth0 made a port of a KIND master device
# uploads everything (REASON) and refuses offloads until it is released.
# A bond takes only a device that is down, and leaves it down.  The port is
# released even when a check fails, for the checks that follow.
port() {
	local name=$1 port=$2 kind=$3 reason=$4 before
	load_start "$name" "$port"
	before=$(terminated "$reason")
	ip -n $NS_A link add m0 type "$kind"
	[ "$kind" != bond ] || ip -n $NS_A link set eth0 down
	ip -n $NS_A link set eth0 master m0
	ip -n $NS_A link set eth0 up
	undo_after unport port_refuses "$name" "$reason" "$before"
	wait_for 30 out_is false dev_field paused
	wait_for 30 out_is true dev_field link_up
	wait_for 60 out_is $N offloaded
	load_finish "$name"
}

unport() {
	ip -n $NS_A link set eth0 nomaster
	ip -n $NS_A link set eth0 up
	ip -n $NS_A link del m0
}

port_refuses() { # NAME REASON BEFORE
	after_trigger "$2" "$3"
	expect_eq "$(dev_field paused)" true "paused while a port"
	must_fail "chimneyctl: the device is a port of a master device (bond, bridge)" \
		conn offload $(first_idle "$1")
	must_fail "chimneyctl: the device is a port of a master device (bond, bridge) until released" \
		dev resume eth0
	sleep 1
	expect_eq "$(offloaded)" 0 "offloaded while a port"
}

check_bridge() {
	port bridge 7920 bridge pause
}

check_bond() {
	port bond 7930 bond link-down
}

# eth0 moved to another namespace: the move closes it (everything uploaded,
# link-down), then unregisters it here (the target detaches).  Back, and
# attached again, the transfer goes on.  It comes back even when a check
# fails, for the checks that follow.
check_netns() {
	local before
	load_start netns 7940
	before=$(uploads_reported link-down)
	ip netns add $NS_C
	ip -n $NS_A link set eth0 netns $NS_C
	undo_after netns_back netns_moved "$before"
	wait_for 20 carrier_ok $NS_A eth0
	ctl dev attach eth0 capacity 64
	load_finish netns
}

netns_back() {
	ip -n $NS_C link set eth0 netns $NS_A
	ip netns del $NS_C
	ip netns exec $NS_A sysctl -qw net.ipv6.conf.eth0.keep_addr_on_down=1
	ip -n $NS_A addr add 10.0.0.1/24 dev eth0
	ip -n $NS_A addr add fd00::1/64 dev eth0 nodad
	ip -n $NS_A link set eth0 up
}

# The move closes the device first (its uploads: link-down), then it
# leaves the namespace (a detach event, nothing left to upload).
netns_moved() { # BEFORE: link-down uploads reported before the move
	local n
	wait_for 30 grep -q '"event":"detach"' "$MON"
	n=$(($(uploads_reported link-down) - $1))
	[ $n -ge $N ] || { echo "netns: $n link-down uploads reported, expected at least $N"; return 1; }
	expect_eq "$(ctl -j dev show)" "[]" "devices after the move"
	sleep 2
}

check_pause_resume() {
	local before
	load_start pause 7840
	before=$(terminated pause)
	ctl dev pause eth0
	after_trigger pause "$before"
	must_fail "chimneyctl: offloads are paused on this device" \
		conn offload $(first_idle pause)
	sleep 1
	expect_eq "$(offloaded)" 0 "offloaded while paused"
	ctl dev resume eth0
	wait_for 60 out_is $N offloaded
	load_finish pause
}

check_suspend() {
	local before rc
	load_start suspend 7850
	before=$(terminated pause)
	echo freezer >/sys/power/pm_test
	# Freezes every task for 5 s, then thaws them: the notifiers run.
	rc=0
	echo freeze >/sys/power/state || rc=$?
	echo none >/sys/power/pm_test
	[ $rc -eq 0 ] || { echo "suspend: the freezer failed ($rc)"; return 1; }
	counted pause "$before"
	wait_for 60 out_is $N offloaded
	load_finish suspend
}

# Detach uploads everything (reason detach); a new target then.
check_detach() {
	local before
	load_start detach 7860
	before=$(uploads_reported detach)
	ctl dev detach eth0
	sleep 1
	local n=$(($(uploads_reported detach) - before))
	[ $n -ge $N ] || { echo "detach: $n uploads reported, expected at least $N"; return 1; }
	load_finish detach
	ctl dev attach eth0 capacity 64
}

# is_offloaded LADDR:LPORT: whether conn show lists it
is_offloaded() {
	ctl -j conn show | jq -e --arg l "$1" 'any(.[]; .local == $l)' >/dev/null
}

not_offloaded() { ! is_offloaded "$1"; }

# Every TCP_UPLOAD_REASON as a target request: mandatory ones and the
# optional ones of the default host policy are honoured, the others
# (small-io, no-buffer-preposting) declined.
check_retrieve_reasons() {
	local c r before
	load_start retrieve 7870
	c=$(first_idle retrieve)
	for r in received-urgent-data timeout-expiration invalid-state \
		upload-requested hardware-failure low-activity high-drop-rate \
		high-fragmentation high-out-of-order-packets small-io \
		no-buffer-preposting; do
		is_offloaded "${c%% *}" || ctl conn offload $c
		before=$(terminated $r)
		ctl target request eth0 retrieve $c reason $r
		case $r in
		small-io|no-buffer-preposting)
			sleep 1
			is_offloaded "${c%% *}" || { echo "$r: uploaded, expected declined"; return 1; }
			expect_eq "$(terminated $r)" "$before" "$r terminates";;
		*)
			wait_for 30 not_offloaded "${c%% *}" ||
				{ echo "$r: not uploaded"; return 1; }
			expect_eq "$(terminated $r)" $((before + 1)) "$r terminates";;
		esac
	done
	load_finish retrieve
}

# The target asks for everything: all uploaded, offloads refused until
# the administrator resumes the device.
check_upload_all() {
	local before
	load_start uall 7880
	before=$(terminated upload-all)
	ctl target request eth0 upload-all
	wait_for 30 out_is 0 offloaded
	after_trigger upload-all "$before"
	must_fail "chimneyctl: offloads are paused on this device" \
		conn offload $(first_idle uall)
	ctl dev resume eth0
	wait_for 60 out_is $N offloaded
	load_finish uall
}

# At capacity 4: an equal priority is refused; a higher one takes the
# place of the lowest-priority, least recently active connection.
check_priority() {
	local c
	ctl dev detach eth0
	ctl dev attach eth0 capacity 4
	idle_start prio 7890 6
	mapfile -t c <"$W/prio.idle"
	ctl conn offload ${c[0]} priority 1
	sleep 0.5
	ctl conn offload ${c[1]} priority 1
	ctl conn offload ${c[2]} priority 2
	ctl conn offload ${c[3]} priority 3
	must_fail "chimneyctl: the target is full and runs no connection of a lower priority" \
		conn offload ${c[4]} priority 1
	ctl conn offload ${c[4]} priority 2
	! is_offloaded "${c[0]%% *}" || { echo "the oldest priority-1 connection stayed"; return 1; }
	is_offloaded "${c[1]%% *}" || { echo "the newer priority-1 connection went"; return 1; }
	ctl conn offload ${c[5]} priority 4
	! is_offloaded "${c[1]%% *}" || { echo "the last priority-1 connection stayed"; return 1; }
	expect_eq "$(terminated priority)" 2 "priority terminates"
	expect_eq "$(ctl -j conn show | jq -c '[.[].priority] | sort')" "[2,2,3,4]" \
		"priorities left"
	ctl conn terminate all dev eth0
	idle_echoed prio 6
}

# idle-timeout 3000 ms: an idle connection goes 3 to 3.1 s after its
# offload (a scan every 100 ms), measured between the monitor's offload and
# terminate-start events of the connection.
check_low_activity() {
	local c
	ctl dev detach eth0
	ctl dev attach eth0 capacity 64 idle-timeout 3000 idle-bytes 1000
	idle_start idle 7895 1
	c=$(cat "$W/idle.idle")
	ctl conn offload $c
	wait_for 30 not_offloaded "${c%% *}"
	wait_for 10 out_ge 1 uploads_reported low-activity
	python3 - "$MON" "${c%% *}" <<'PY'
import json, sys
t = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get('local') == sys.argv[2]:
        t.setdefault(e['event'], e['time_us'])
ms = (t['terminate-start'] - t['offload']) / 1000
print(f"uploaded {ms:.0f} ms after its offload", file=sys.stderr)
# The window starts in the target just before the offload event; the
# events reach the monitor with the VM's scheduling delays.
assert 2900 <= ms <= 3400, f"uploaded after {ms:.0f} ms, expected 3000-3100 (2900-3400 allowed)"
PY
	expect_eq "$(terminated low-activity)" 1 "low-activity terminates"
	idle_echoed idle 1
}

check_monitor() {
	local r
	for r in link-down pause detach upload-all; do
		[ "$(uploads_reported $r)" -ge $N ] ||
			{ echo "fewer than $N terminate-done events with reason $r"; return 1; }
	done
	for r in priority low-activity received-urgent-data hardware-failure; do
		[ "$(uploads_reported $r)" -ge 1 ] ||
			{ echo "no terminate-done event with reason $r"; return 1; }
	done
	# Each connection's events of the whole run, in order: a successful
	# offload, then terminate-start, then terminate-done with the same
	# reason; nothing left open.
	python3 - "$MON" <<'PY'
import json, sys
state, bad = {}, []
for line in open(sys.argv[1]):
    e = json.loads(line)
    k, t = (e.get('local'), e.get('remote')), e['event']
    if t == 'offload' and e['status'] == 'success':
        if k in state:
            bad.append(('offloaded twice', e))
        state[k] = 'offloaded'
    elif t == 'terminate-start':
        if state.get(k) != 'offloaded':
            bad.append(('terminate-start of a connection not offloaded', e))
        state[k] = e.get('reason')
    elif t == 'terminate-done':
        if k not in state or state.pop(k) != e.get('reason'):
            bad.append(('terminate-done without its terminate-start', e))
assert not bad, bad[:5]
assert not state, f'still open: {state}'
PY
}

# rmmod under load: everything uploaded (reason detach: not link-down,
# and no link event), no socket keeps the module, the connections go on
# with the stock stack.
check_rmmod() {
	local before link_before
	ctl dev detach eth0
	ctl dev attach eth0 capacity 64
	load_start rmmod 7900
	before=$(uploads_reported detach)
	link_before=$(uploads_reported link-down)
	rmmod chimney
	expect_eq "$(ip netns exec $NS_A ss -Htni | grep -c tcp-ulp-chimney || true)" 0 \
		"sockets with the chimney ULP after rmmod"
	wait_for 30 out_ge $((before + N)) uploads_reported detach
	expect_eq "$(uploads_reported link-down)" "$link_before" "link-down uploads at rmmod"
	load_finish rmmod
}

# Two more reconfigurations, the same path as the MTU's (NETDEV_CHANGE*
# -> pause -> resumed by itself), only in `make soak` (budget of make check).
soak_check() { # NAME CHECK
	if [ -n "${CHIMNEY_SOAK:-}" ]; then
		ktap_check "$@"
	else
		ktap_result ok "$1 # SKIP make soak"
	fi
}

ktap_plan 18
ktap_check "setup: module, wire, target, monitor" setup
ktap_check "carrier lost for 3 s (QMP set_link): link-down, rules again" check_carrier
ktap_check "ip link set down/up: link-down, rules again" check_admin_down
soak_check "ethtool -K: pause, resumed by itself" check_features
ktap_check "MTU change: pause, resumed by itself" check_mtu
soak_check "hardware address change: pause, resumed by itself" check_address
ktap_check "a bridge's port: pause, refused until released" check_bridge
ktap_check "a bond's port: link-down, refused until released" check_bond
ktap_check "moved to another netns: uploaded, detached; back, attached again" check_netns
ktap_check "dev pause refuses, dev resume applies the rules" check_pause_resume
ktap_check "system suspend (pm_test freezer): pause, then resumed" check_suspend
ktap_check "every retrieve reason: honoured or declined by the host" check_retrieve_reasons
ktap_check "target upload-all: all uploaded, paused until resumed" check_upload_all
ktap_check "dev detach under load: detach" check_detach
ktap_check "priority at capacity: the exact victim, never an equal" check_priority
ktap_check "low activity: uploaded in its window" check_low_activity
ktap_check "monitor: each upload reported with reason and status" check_monitor
ktap_check "rmmod under load: uploaded, no socket keeps the module" check_rmmod
ktap_finish
