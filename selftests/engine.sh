#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The target's engine carries a connection's incoming data: offloaded
# before anything was received, the connection takes 4 MiB from the peer
# with no upload (the engine acknowledges and delivers into the
# application's socket, read by a plain recv loop), then an upload in the
# middle of a second transfer, and the rest with the stock stack.  Each
# transfer's SHA-256 must match what was sent; the frozen socket never
# sends a segment of its own; `engine off` keeps today's frozen behaviour.
#
#   netns chim-a (target on eth0)           netns chim-b
#   eth0 10.0.0.1 fd00::1  ==== e1000 ====  eth1 10.0.0.2 fd00::2
#   client: connects, is offloaded,         server: sends once told to,
#           reads, reports SHA-256                  closes once told to
set -eu
. "$(dirname "$0")/lib.sh"

W=$CHIMNEY_RESULTS/engine
PIDS=$W/pids
SIZE=$((4 << 20))

cleanup() {
	[ -f $PIDS ] && xargs -r kill <$PIDS 2>/dev/null || true
	wire_down
	wait_for 60 rmmod chimney || true
}
trap cleanup EXIT

ctl() { ip netns exec $NS_A "$CTL" "$@"; }

stat_of() { # JQ: a value of eth0's stats
	ctl -j stats eth0 | jq -r ".[0]$1"
}

retrieves() { stat_of '.retrieves | add'; }
terminates() { stat_of '.terminates | add'; }

setup() {
	rm -rf $W
	mkdir -p $W
	: >$PIDS
	insmod "$KO"
	wire_up
	head -c $SIZE /dev/urandom >$W/data
	want=$(sha256sum <$W/data | cut -d' ' -f1)
	echo "$want" >$W/want
	# Refused first: the keyword takes on or off only.
	if ctl dev attach eth0 engine maybe 2>$W/err; then
		echo "engine maybe was accepted"
		return 1
	fi
	grep -q "neither on nor off" $W/err
	ctl dev attach eth0 engine on
	ctl -j dev show eth0 | jq -e '.[0].engine == true' >/dev/null
}

# server ADDR PORT: sends $W/data once $W/go.PORT exists, closes once
# $W/end.PORT exists.
server() {
	bg $NS_B python3 -c "
import os, socket, time
fam = socket.AF_INET6 if ':' in '$1' else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$1', $2))
s.listen()
c, _ = s.accept()
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
wait('$W/go.$2')
c.sendall(open('$W/data', 'rb').read())
wait('$W/end.$2')
c.close()
"
	wait_for 20 listening $NS_B "$2"
}

# client ADDR PORT: reads $SIZE bytes, writes their SHA-256 to $W/sum.PORT,
# then reads to EOF.
client() {
	bg $NS_A python3 -c "
import socket, sys, hashlib
c = socket.create_connection(('$1', $2))
open('$W/port.$2', 'w').write('%d' % c.getsockname()[1])
h, left = hashlib.sha256(), $SIZE
while left:
    b = c.recv(min(left, 65536))
    if not b:
        sys.exit('EOF after %d bytes' % ($SIZE - left))
    h.update(b)
    left -= len(b)
open('$W/sum.$2', 'w').write(h.hexdigest())
while c.recv(65536):
    pass
"
	wait_for 20 test -s "$W/port.$2"
}

# offload ADDR PORT: the client's connection, through the control plane.
offload() {
	local laddr raddr=$1 lport
	lport=$(cat "$W/port.$2")
	case $raddr in
	*:*) laddr=fd00::1; ctl conn offload "[$laddr]:$lport" "[$raddr]:$2" ;;
	*) ctl conn offload "10.0.0.1:$lport" "$raddr:$2" ;;
	esac
	wait_for 20 offloaded_port "$lport"
}

# conn_bytes_in LPORT: what the engine received on that connection.
conn_bytes_in() {
	ctl -j conn show dev eth0 |
		jq -r --arg p "$1" '.[] | select(.local | endswith(":" + $p)) | .bytes_in'
}

# offloaded_port LPORT: the connection from LPORT is offloaded now.
offloaded_port() {
	ctl -j conn show dev eth0 |
		jq -e --arg p "$1" '[.[] | select((.local | endswith(":" + $p)) and .state == "offloaded")] | length == 1' >/dev/null
}

diag() {
	ctl -j stats eth0
	ip netns exec $NS_A ss -tni
	cat $W/bg.out 2>/dev/null || true
}

# carried ADDR PORT: 4 MiB in while offloaded, not one upload.
carried() {
	local before_ret before_term in0
	server "$1" "$2"
	client "$1" "$2"
	offload "$1" "$2"
	before_ret=$(retrieves)
	before_term=$(terminates)
	in0=$(stat_of .target.in_segments)
	touch "$W/go.$2"
	wait_for 120 test -s "$W/sum.$2" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$2")" "$(cat $W/want)" "SHA-256 received"
	expect_eq "$(stat_of .offloaded)" 1 "connections still offloaded" || { diag; return 1; }
	expect_eq "$(retrieves)" "$before_ret" "upload requests"
	expect_eq "$(terminates)" "$before_term" "uploads"
	[ "$(stat_of .target.in_segments)" -gt $((in0 + 100)) ] || {
		echo "the engine counted too few segments"; diag; return 1; }
	expect_eq "$(conn_bytes_in "$(cat "$W/port.$2")")" $SIZE "bytes the engine counted"
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	# The FIN is the stock stack's: the connection goes back, then ends.
	touch "$W/end.$2"
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
}

check_carried_v4() { carried 10.0.0.2 7600; }
check_carried_v6() { carried fd00::2 7601; }

# An upload while data flows: every byte once, in order.
check_upload_midstream() {
	local port=7602 lport
	server 10.0.0.2 $port
	client 10.0.0.2 $port
	offload 10.0.0.2 $port
	lport=$(cat "$W/port.$port")
	touch "$W/go.$port"
	wait_for 60 out_ge 200 stat_of .target.in_segments || { diag; return 1; }
	ctl conn terminate "10.0.0.1:$lport" "10.0.0.2:$port"
	wait_for 120 test -s "$W/sum.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want)" "SHA-256 received"
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	touch "$W/end.$port"
}

# engine off: the first segment brings the connection back, as before.
check_engine_off() {
	local port=7603 before
	ctl dev detach eth0
	ctl dev attach eth0
	ctl -j dev show eth0 | jq -e '.[0].engine == false' >/dev/null
	before=$(retrieves)
	server 10.0.0.2 $port
	client 10.0.0.2 $port
	offload 10.0.0.2 $port
	touch "$W/go.$port"
	wait_for 120 test -s "$W/sum.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want)" "SHA-256 received"
	[ "$(retrieves)" -gt "$before" ] || { echo "no upload was requested"; return 1; }
	touch "$W/end.$port"
}

ktap_plan 5
ktap_check setup setup
ktap_check carried_v4 check_carried_v4
ktap_check carried_v6 check_carried_v6
ktap_check upload_midstream check_upload_midstream
ktap_check engine_off check_engine_off
ktap_finish
