#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The target's engine carries a connection's traffic: offloaded before
# anything was received, the connection takes 4 MiB from the peer with no
# upload (the engine acknowledges and delivers into the application's
# socket, read by a plain recv loop); it sends 4 MiB (the application's
# sendall goes to the engine, which segments, sends and frees what the
# peer acknowledges), then 4 MiB each way at once; then an upload in the
# middle of a transfer in each direction, and the rest with the stock
# stack.  Each transfer's SHA-256 must match what was sent; the frozen
# socket never sends a segment of its own; `engine off` keeps today's
# frozen behaviour.
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
	head -c $SIZE /dev/urandom >$W/data2
	sha256sum <$W/data2 | cut -d' ' -f1 >$W/want2
	write_duplex
	# Refused first: the keyword takes on or off only.
	if ctl dev attach eth0 engine maybe 2>$W/err; then
		echo "engine maybe was accepted"
		return 1
	fi
	grep -q "neither on nor off" $W/err
	ctl dev attach eth0 engine on
	ctl -j dev show eth0 | jq -e '.[0].engine == true' >/dev/null
}

# $W/duplex.py ROLE ADDR PORT SEND RECV [early]: one end of a connection
# (ROLE server listens, client connects and writes its local port to
# $W/port.PORT).  Once $W/go.PORT exists (at once with early) it sends
# the file SEND ('-' for nothing); once $W/go.PORT exists it reads RECV
# bytes, writes their SHA-256 to $W/sum.ROLE.PORT, and closes once
# $W/end.PORT exists.
write_duplex() {
	cat >$W/duplex.py <<'PY'
import hashlib, os, socket, sys, threading, time
role, addr, port, send, recv = sys.argv[1:6]
early = sys.argv[6:] == ['early']
port, left, w = int(port), int(recv), os.path.dirname(sys.argv[0])
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
if role == 'server':
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen()
    c, _ = s.accept()
else:
    c = socket.create_connection((addr, port))
    open('%s/port.%d' % (w, port), 'w').write('%d' % c.getsockname()[1])
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
def sender():
    if send != '-':
        c.sendall(open(send, 'rb').read())
t = threading.Thread(target=sender)
if early:
    t.start()
wait('%s/go.%d' % (w, port))
if not early:
    t.start()
h, want = hashlib.sha256(), left
while left:
    b = c.recv(min(left, 65536))
    if not b:
        sys.exit('%s: EOF after %d bytes' % (role, want - left))
    h.update(b)
    left -= len(b)
t.join()
open('%s/sum.%s.%d' % (w, role, port), 'w').write(h.hexdigest())
wait('%s/end.%d' % (w, port))
c.close()
PY
}

# duplex ADDR PORT CLIENT_SENDS PEER_SENDS: both ends, connected; each
# sends $W/data2 (client) or $W/data (peer) when told to (1).
duplex() {
	local csend=- psend=- crecv=0 precv=0
	[ "$3" = 1 ] && { csend=$W/data2; precv=$SIZE; }
	[ "$4" = 1 ] && { psend=$W/data; crecv=$SIZE; }
	bg $NS_B python3 $W/duplex.py server "$1" "$2" $psend $precv
	wait_for 20 listening $NS_B "$2"
	bg $NS_A python3 $W/duplex.py client "$1" "$2" $csend $crecv
	wait_for 20 test -s "$W/port.$2"
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
open('$W/eof.$2', 'w').write('eof')
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

# conn_bytes_out LPORT: what the engine sent on that connection.
conn_bytes_out() {
	ctl -j conn show dev eth0 |
		jq -r --arg p "$1" '.[] | select(.local | endswith(":" + $p)) | .bytes_out'
}

# offloaded_port LPORT: the connection from LPORT is offloaded now.
offloaded_port() {
	ctl -j conn show dev eth0 |
		jq -e --arg p "$1" '[.[] | select((.local | endswith(":" + $p)) and .state == "offloaded")] | length == 1' >/dev/null
}

diag() {
	ctl -j stats eth0
	ip netns exec $NS_A ss -tni
	ip netns exec $NS_B ss -tni
	ip netns exec $NS_B nstat -a 2>/dev/null | grep -i 'retrans\|TcpExtTCPTimeouts\|Probe' || true
	cat $W/bg.out 2>/dev/null || true
}

# carried ADDR PORT: 4 MiB in while offloaded, not one upload.
carried() {
	local before_ret before_term in0 disc0
	server "$1" "$2"
	client "$1" "$2"
	offload "$1" "$2"
	before_ret=$(retrieves)
	before_term=$(terminates)
	disc0=$(stat_of .terminates.disconnect)
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
	# The peer's FIN is a disconnect: the connection goes back, then ends.
	touch "$W/end.$2"
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
	expect_eq "$(stat_of .terminates.disconnect)" $((disc0 + 1)) \
		"uploads for a disconnect"
	wait_for 30 test -s "$W/eof.$2" || { echo "the client never read the end"; return 1; }
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

# sent ADDR PORT CLIENT_SENDS PEER_SENDS: the transfers while offloaded,
# not one upload; each direction's SHA-256 and the engine's byte counts.
sent() {
	local before_ret before_term out0 lport rx0 out rx
	duplex "$1" "$2" "$3" "$4"
	offload "$1" "$2"
	lport=$(cat "$W/port.$2")
	before_ret=$(retrieves)
	before_term=$(terminates)
	out0=$(stat_of .target.out_segments)
	rx0=$(stat_of .target.retransmitted_segments)
	touch "$W/go.$2"
	wait_for 120 test -s "$W/sum.server.$2" -a -s "$W/sum.client.$2" ||
		{ diag; return 1; }
	if [ "$3" = 1 ]; then
		expect_eq "$(cat "$W/sum.server.$2")" "$(cat $W/want2)" "SHA-256 the peer received"
		expect_eq "$(conn_bytes_out "$lport")" $SIZE "bytes the engine sent"
		[ "$(stat_of .target.out_segments)" -gt $((out0 + SIZE / 1500)) ] || {
			echo "the engine counted too few segments out"; diag; return 1; }
	fi
	if [ "$4" = 1 ]; then
		expect_eq "$(cat "$W/sum.client.$2")" "$(cat $W/want)" "SHA-256 the application received"
		expect_eq "$(conn_bytes_in "$lport")" $SIZE "bytes the engine received"
	fi
	expect_eq "$(stat_of .offloaded)" 1 "connections still offloaded" || { diag; return 1; }
	expect_eq "$(retrieves)" "$before_ret" "upload requests"
	expect_eq "$(terminates)" "$before_term" "uploads"
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	# Printed, not checked yet: a clean wire still sees retransmissions
	# (2-7% in both_ways; issue 16's notes).
	out=$(( $(stat_of .target.out_segments) - out0 ))
	rx=$(( $(stat_of .target.retransmitted_segments) - rx0 ))
	echo "segments out $out, retransmitted $rx"
	# Where a clean wire loses frames: the qdiscs, the NICs (TCG's e1000
	# drops what a full receive ring cannot take).
	ip netns exec $NS_A tc -s qdisc show dev eth0 | grep -E 'qdisc|dropped'
	ip -n $NS_A -s link show eth0 | tail -4
	ip -n $NS_B -s link show eth1 | tail -4
	ip netns exec $NS_B nstat -az TcpRetransSegs TcpExtTCPSACKRecovery TcpExtTCPFastRetrans TcpExtTCPSackRecoveryFail TcpExtTCPOFOQueue | grep -v '^#'
	touch "$W/end.$2"
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
}

check_sent_v4() { sent 10.0.0.2 7610 1 0; }
check_sent_v6() { sent fd00::2 7611 1 0; }
check_both_ways() { sent 10.0.0.2 7612 1 1; }

# An upload while the engine sends (and receives): every byte once, in
# order, each way.
check_send_upload_midstream() {
	local port=7613 lport out0
	duplex 10.0.0.2 $port 1 1
	offload 10.0.0.2 $port
	lport=$(cat "$W/port.$port")
	out0=$(stat_of .target.out_segments)
	touch "$W/go.$port"
	wait_for 60 out_ge $((out0 + 300)) stat_of .target.out_segments || { diag; return 1; }
	ctl conn terminate "10.0.0.1:$lport" "10.0.0.2:$port"
	wait_for 120 test -s "$W/sum.server.$port" -a -s "$W/sum.client.$port" ||
		{ diag; return 1; }
	expect_eq "$(cat "$W/sum.server.$port")" "$(cat $W/want2)" "SHA-256 the peer received"
	expect_eq "$(cat "$W/sum.client.$port")" "$(cat $W/want)" "SHA-256 the application received"
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	touch "$W/end.$port"
}

# py_accept PORT: Python lines that accept one connection on
# 10.0.0.2:PORT as c, then wait for $W/go.PORT.
py_accept() {
	cat <<PY
import os, socket, struct, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.0.0.2', $1))
s.listen()
c, _ = s.accept()
while not os.path.exists('$W/go.$1'):
    time.sleep(0.05)
PY
}

# An RST from the peer at RcvNxt aborts the offloaded connection: the
# application reads every byte, then ECONNRESET; the connection is not
# uploaded (the terminate hands back no state) and nothing answers the RST.
check_abort() {
	local port=7615 ab0 rst0
	bg $NS_B python3 -c "$(py_accept $port)
c.sendall(open('$W/data', 'rb').read())
assert c.recv(1) == b'k'
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
"
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 -c "
import hashlib, socket
c = socket.create_connection(('10.0.0.2', $port))
open('$W/port.$port', 'w').write('%d' % c.getsockname()[1])
h, left = hashlib.sha256(), $SIZE
while left:
    b = c.recv(min(left, 65536))
    assert b, 'EOF after %d bytes' % ($SIZE - left)
    h.update(b)
    left -= len(b)
c.sendall(b'k')
try:
    how = 'data' if c.recv(1) else 'eof'
except ConnectionResetError:
    how = 'reset'
open('$W/sum.$port', 'w').write(h.hexdigest())
open('$W/how.$port', 'w').write(how)
"
	wait_for 20 test -s "$W/port.$port"
	offload 10.0.0.2 $port
	ab0=$(stat_of .terminates.abort)
	rst0=$(ip netns exec $NS_A nstat -asz TcpOutRsts | awk '/TcpOutRsts/ { print $2 }')
	touch "$W/go.$port"
	wait_for 120 test -s "$W/how.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want)" "SHA-256 received"
	expect_eq "$(cat "$W/how.$port")" reset "how the connection ended"
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
	expect_eq "$(stat_of .terminates.abort)" $((ab0 + 1)) "terminates for an abort"
	expect_eq "$(ip netns exec $NS_A nstat -asz TcpOutRsts | awk '/TcpOutRsts/ { print $2 }')" \
		"$rst0" "RSTs sent"
}

# Urgent data from the peer: the engine holds it and asks for the upload
# (received-urgent-data); the stock stack reads the rest, the urgent byte
# in place (SO_OOBINLINE), every byte once.
check_urgent() {
	local port=7616 u0
	python3 -c "
import hashlib
d = open('$W/data', 'rb').read()
print(hashlib.sha256(d[:1 << 20] + b'!' + d[1 << 20:]).hexdigest())" >$W/want.urg
	bg $NS_B python3 -c "$(py_accept $port)
d = open('$W/data', 'rb').read()
c.sendall(d[:1 << 20])
c.send(b'!', socket.MSG_OOB)
c.sendall(d[1 << 20:])
while not os.path.exists('$W/end.$port'):
    time.sleep(0.05)
"
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 -c "
import hashlib, socket
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
c.connect(('10.0.0.2', $port))
open('$W/port.$port', 'w').write('%d' % c.getsockname()[1])
h, left = hashlib.sha256(), $SIZE + 1
while left:
    b = c.recv(min(left, 65536))
    assert b, 'EOF after %d bytes' % ($SIZE + 1 - left)
    h.update(b)
    left -= len(b)
open('$W/sum.$port', 'w').write(h.hexdigest())
"
	wait_for 20 test -s "$W/port.$port"
	offload 10.0.0.2 $port
	u0=$(stat_of '.retrieves["received-urgent-data"]')
	touch "$W/go.$port"
	wait_for 120 test -s "$W/sum.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want.urg)" "SHA-256 received"
	[ "$(stat_of '.retrieves["received-urgent-data"]')" -gt "$u0" ] ||
		{ echo "no received-urgent-data request"; diag; return 1; }
	touch "$W/end.$port"
}

# A peer that reorders (netem on its egress): the engine keeps what comes
# beyond a hole on its out-of-order queue, and, holes being frequent, asks
# for the upload (high-out-of-order-packets, optional, which the host
# accepts by default); the out-of-order queue goes to the stock stack with
# the upload, every byte once.
check_reorder() {
	local port=7617 o0 ok=0
	server 10.0.0.2 $port
	client 10.0.0.2 $port
	offload 10.0.0.2 $port
	o0=$(stat_of '.retrieves["high-out-of-order-packets"]')
	ip netns exec $NS_B tc qdisc add dev eth1 root netem delay 5ms reorder 30%
	touch "$W/go.$port"
	wait_for 120 test -s "$W/sum.$port" || ok=1
	ip netns exec $NS_B tc qdisc del dev eth1 root
	[ $ok = 0 ] || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want)" "SHA-256 received"
	[ "$(stat_of '.retrieves["high-out-of-order-packets"]')" -gt "$o0" ] ||
		{ echo "no high-out-of-order-packets request"; diag; return 1; }
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	touch "$W/end.$port"
}

# A send blocked in the stock stack (its socket's buffer full, the peer
# not reading) when the connection is offloaded: the frozen socket never
# gets room for it, so the connection is asked back, and every byte
# arrives once the peer reads.
check_stock_writer() {
	local port=7614 pid before off0
	bg $NS_B python3 $W/duplex.py server 10.0.0.2 $port - $SIZE
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 $W/duplex.py client 10.0.0.2 $port $W/data2 0 early
	wait_for 20 test -s "$W/port.$port"
	pid=$(pgrep -n -f "duplex.py client 10.0.0.2 $port")
	wait_for 20 grep -qs sk_stream_wait_memory /proc/$pid/task/*/stack ||
		{ echo "the client's send did not block"; diag; return 1; }
	before=$(retrieves)
	off0=$(stat_of .offloads)
	ctl conn offload "10.0.0.1:$(cat "$W/port.$port")" "10.0.0.2:$port"
	expect_eq "$(stat_of .offloads)" $((off0 + 1)) "offloads"
	touch "$W/go.$port"
	wait_for 120 test -s "$W/sum.server.$port" -a -s "$W/sum.client.$port" ||
		{ cat /proc/$pid/task/*/stack; diag; return 1; }
	expect_eq "$(cat "$W/sum.server.$port")" "$(cat $W/want2)" "SHA-256 the peer received"
	[ "$(retrieves)" -gt "$before" ] || { echo "no upload was requested"; return 1; }
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	touch "$W/end.$port"
}

# within PCT A B: A is within PCT percent of B.
within() {
	[ $(( $1 * 100 )) -ge $(( $2 * (100 - $3) )) ] &&
		[ $(( $1 * 100 )) -le $(( $2 * (100 + $3) )) ]
}

# iperf3 for 20 s each way over connections a rule offloads at connect
# time: the stream's connection is offloaded 12 s into the run, and the
# engine's byte counters match what iperf3 counted (payload sent; received
# packets, headers included).  (The control connection may come back
# early: offloaded while a byte it got is unread, it stays frozen, and its
# next write uploads it; see issue 16's notes.)
check_iperf3() {
	local dir out0 in0 pid mid port sent got out in mon asked
	bg $NS_B iperf3 -s -p 7620 -B 10.0.0.2
	wait_for 20 listening $NS_B 7620
	ctl policy add eth0 rport 7620 >/dev/null
	for dir in "" -R; do
		out0=$(stat_of .target.ip_out_octets)
		in0=$(stat_of .target.ip_in_octets)
		ip netns exec $NS_A "$CTL" -j monitor </dev/null >$W/iperf3.mon &
		mon=$!
		ip netns exec $NS_A timeout 60 iperf3 -c 10.0.0.2 -p 7620 -t 20 \
			$dir -J >$W/iperf3.json &
		pid=$!
		sleep 12
		mid=$(ctl -j conn show dev eth0 |
			jq -r '.[] | select(.state == "offloaded") | .local')
		# For a failure: where the client is, and its sockets.
		{
			for p in $(pgrep -f 'iperf3 -c' || true); do
				cat "/proc/$p/stack" || true
			done
			ip netns exec $NS_A ss -tni
		} >$W/iperf3.mid 2>&1
		wait $pid || { cat $W/iperf3.json $W/iperf3.mid; diag; return 1; }
		port=$(jq -r '.start.connected[0].local_port' $W/iperf3.json)
		grep -q ":$port\$" <<<"$mid" || {
			echo "the stream (port $port) was not offloaded 12 s in: $mid"
			cat $W/iperf3.mid; diag; return 1; }
		sent=$(jq -r '.end.sum_sent.bytes' $W/iperf3.json)
		got=$(jq -r '.end.sum_received.bytes' $W/iperf3.json)
		out=$(( $(stat_of .target.ip_out_octets) - out0 ))
		in=$(( $(stat_of .target.ip_in_octets) - in0 ))
		echo "iperf3 ${dir:-forward}: sent $sent, received $got; engine out $out, in $in"
		kill $mon
		wait $mon 2>/dev/null || true
		# The stream offloaded from start to end: no upload asked for
		# it but at its end (the peer's FIN or RST).  (A line the kill
		# cut is skipped.)
		jq -cR 'fromjson? | select(.event == "retrieve")' $W/iperf3.mon
		asked=$(jq -rR --arg l "10.0.0.1:$port" 'fromjson? |
			select(.event == "retrieve" and .local == $l and
			       .reason != "disconnect" and .reason != "abort") |
			.reason' $W/iperf3.mon)
		expect_eq "$asked" "" "upload requests for the stream" ||
			{ cat $W/iperf3.mon; diag; return 1; }
		if [ -z "$dir" ]; then
			within "$out" "$sent" 10 || { echo "engine sent $out for $sent"; return 1; }
		else
			within "$in" "$got" 10 || { echo "engine received $in for $got"; return 1; }
		fi
	done
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

# recvq_over LPORT N: the client's socket from LPORT holds over N unread bytes.
recvq_over() {
	[ "$(ip netns exec $NS_A ss -tnH "sport = :$1" | awk '{ print $2 }')" -gt "$2" ]
}

# Offloaded with unread data in its receive queue (the application not
# reading, its buffer full, the peer waiting on a closed window): the
# offload copies the unread data to the target, which indicates it back
# (it used to stay frozen, and the first read uploaded it); then the
# application reads everything with no upload, the rest carried by the
# engine.
check_unread_at_offload() {
	local port=7618 lport before_ret before_term
	bg $NS_B python3 $W/duplex.py server 10.0.0.2 $port $W/data 0 early
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 $W/duplex.py client 10.0.0.2 $port - $SIZE
	wait_for 20 test -s "$W/port.$port"
	lport=$(cat "$W/port.$port")
	wait_for 30 recvq_over "$lport" 65536 || { diag; return 1; }
	before_ret=$(retrieves)
	before_term=$(terminates)
	offload 10.0.0.2 $port
	touch "$W/go.$port"
	wait_for 120 test -s "$W/sum.client.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.client.$port")" "$(cat $W/want)" "SHA-256 received"
	expect_eq "$(stat_of .offloaded)" 1 "connections still offloaded" || { diag; return 1; }
	expect_eq "$(retrieves)" "$before_ret" "upload requests"
	expect_eq "$(terminates)" "$before_term" "uploads"
	[ "$(conn_bytes_in "$lport")" -gt 0 ] || {
		echo "the engine received nothing"; diag; return 1; }
	echo "the engine received $(conn_bytes_in "$lport") of $SIZE bytes"
	# Its reads found the window it had at the offload (closed) grown:
	# the frozen socket must not send a window update of its own.
	expect_eq "$(stat_of .frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	touch "$W/end.$port"
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
}

# conn_kept LPORT: bytes the target keeps for that connection (received,
# acknowledged, refused by the full socket).
conn_kept() {
	ctl -j -d conn show dev eth0 |
		jq -r --arg p "$1" '.[] | select(.local | endswith(":" + $p)) | .delegated.receive_backlog_size'
}

# An upload while the application's queue is over its buffer and the
# target keeps data the socket refused: the restore must take both (it
# reset the connection, "restore ... failed (-105)", when the queue
# already held more than the buffer it sized for the kept data).  The
# client shrinks SO_RCVBUF while offloaded, with its queue part full and
# the window still open; what the peer sends next is refused and kept.
check_full_queue_upload() {
	local port=7619 lport first=56000 kept
	bg $NS_B python3 -c "
import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.0.0.2', $port))
s.listen()
c, _ = s.accept()
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
d = open('$W/data', 'rb').read()
wait('$W/go1.$port')
c.sendall(d[:$first])
wait('$W/go2.$port')
c.sendall(d[$first:])
wait('$W/end.$port')
c.close()
"
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 -c "
import hashlib, os, socket, sys, time
c = socket.create_connection(('10.0.0.2', $port))
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
open('$W/port.$port', 'w').write('%d' % c.getsockname()[1])
wait('$W/small.$port')
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
open('$W/smaller.$port', 'w').write('1')
wait('$W/read.$port')
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
h, left = hashlib.sha256(), $SIZE
while left:
    b = c.recv(min(left, 65536))
    if not b:
        sys.exit('EOF after %d bytes' % ($SIZE - left))
    h.update(b)
    left -= len(b)
open('$W/sum.$port', 'w').write(h.hexdigest())
wait('$W/end.$port')
"
	wait_for 20 test -s "$W/port.$port"
	lport=$(cat "$W/port.$port")
	offload 10.0.0.2 $port
	touch "$W/go1.$port"
	wait_for 30 recvq_over "$lport" $((first - 1)) || { diag; return 1; }
	touch "$W/small.$port"
	wait_for 20 test -s "$W/smaller.$port"
	touch "$W/go2.$port"
	wait_for 30 out_ge 1 conn_kept "$lport" || {
		echo "the target kept nothing"; diag; return 1; }
	kept=$(conn_kept "$lport")
	echo "queued $(ip netns exec $NS_A ss -tnH "sport = :$lport" | awk '{ print $2 }') bytes, the target kept $kept"
	ctl conn terminate "10.0.0.1:$lport" 10.0.0.2:$port
	wait_for 30 out_is 0 stat_of .offloaded || { diag; return 1; }
	touch "$W/read.$port"
	wait_for 120 test -s "$W/sum.$port" || { diag; return 1; }
	expect_eq "$(cat "$W/sum.$port")" "$(cat $W/want)" "SHA-256 received"
	touch "$W/end.$port"
}

ktap_plan 16
ktap_check setup setup
ktap_check carried_v4 check_carried_v4
ktap_check carried_v6 check_carried_v6
ktap_check upload_midstream check_upload_midstream
ktap_check sent_v4 check_sent_v4
ktap_check sent_v6 check_sent_v6
ktap_check both_ways check_both_ways
ktap_check send_upload_midstream check_send_upload_midstream
ktap_check stock_writer check_stock_writer
ktap_check abort check_abort
ktap_check urgent check_urgent
ktap_check reorder check_reorder
ktap_check unread_at_offload check_unread_at_offload
ktap_check full_queue_upload check_full_queue_upload
ktap_check iperf3 check_iperf3
ktap_check engine_off check_engine_off
ktap_finish
