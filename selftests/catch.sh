#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A frozen socket stays frozen whatever way its segments come: segments the
# target's ingress hook cannot recognise (IPv4 fragments, IPv6 with a
# destination options header) reach the stock TCP receive path, which would
# process them on the frozen state; the catch holds them until the upload.
# The receiver's SHA-256 proves that no byte was lost or reordered, the
# counters that the catch took them, and that the frozen socket sent
# nothing.
#
#   netns chim-a (target on eth0)           netns chim-b
#   eth0 10.0.0.1 fd00::1  ==== e1000 ====  eth1 10.0.0.2 fd00::2, MTU 1280
#   client: reads to EOF                    server: IPv4 without DF (route MTU
#                                           1500 locked: 1460-byte segments,
#                                           fragmented), IPv6 with DSTOPTS
#                                           (set on the listener)
set -eu
. "$(dirname "$0")/lib.sh"

W=$CHIMNEY_RESULTS/catch
PIDS=$W/pids

cleanup() {
	[ -f $PIDS ] && xargs -r kill <$PIDS 2>/dev/null || true
	wire_down
	wait_for 60 rmmod chimney || {
		echo "rmmod failed; blocked tasks:" >&2
		for t in /proc/[0-9]*; do
			grep -q '^State:.*D' $t/status 2>/dev/null || continue
			echo "$t $(cat $t/comm)" >&2
			cat $t/stack >&2
		done
	}
}
trap cleanup EXIT

ctl() { ip netns exec $NS_A "$CTL" "$@"; }

stat_of() { # KEY: a counter of eth0's stats
	ctl -j stats eth0 | jq -r ".[0].$1"
}

reasm_ok() {
	ip netns exec $NS_A awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
		else for (i = 1; i <= NF; i++) if (k[i] == "ReasmOKs") print $i }' /proc/net/snmp
}

setup() {
	rm -rf $W
	mkdir -p $W
	: >$PIDS
	insmod "$KO"
	wire_up
	ip -n $NS_B link set eth1 mtu 1280
	ip -n $NS_B route add 10.0.0.1/32 dev eth1 mtu lock 1500
	ctl dev attach eth0
	head -c $((1 << 20)) /dev/urandom >$W/data
}

# server FAMILY ADDR PORT MODE: sends the first half of $W/data once
# $W/go1.PORT exists, the rest once $W/go2.PORT exists, then closes.
server() {
	bg $NS_B python3 -c "
import os, socket, time
fam, addr, port, mode = socket.$1, '$2', $3, '$4'
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if mode == 'dstopts':
    # On the listener: the connection's MSS then counts the header.
    s.setsockopt(socket.IPPROTO_IPV6, 59, bytes([0, 0, 1, 4, 0, 0, 0, 0]))  # IPV6_DSTOPTS
s.bind((addr, port))
s.listen()
c, _ = s.accept()
if mode == 'frag':
    c.setsockopt(socket.IPPROTO_IP, 10, 5)      # IP_MTU_DISCOVER: IP_PMTUDISC_OMIT
data = open('$W/data', 'rb').read()
def wait(f):
    while not os.path.exists(f):
        time.sleep(0.05)
wait('$W/go1.%d' % port)
c.sendall(data[:len(data) // 2])
wait('$W/go2.%d' % port)
c.sendall(data[len(data) // 2:])
c.close()
"
	wait_for 20 listening $NS_B "$3"
}

# client ADDR PORT: reads to EOF, writes its SHA-256 to $W/sum.PORT.
client() {
	bg $NS_A python3 -c "
import socket, sys
sys.path.insert(0, '$CHIMNEY_ROOT/selftests')
import tcpio
c = socket.create_connection(('$1', $2))
open('$W/port.$2', 'w').write('%d' % c.getsockname()[1])
sink = tcpio.Sink()
tcpio.recv_eof(c, sink)
open('$W/sum.$2', 'w').write(sink.sha.hexdigest())
"
	wait_for 20 test -s "$W/port.$2"
}

# caught FAMILY LADDR RADDR PORT MODE
caught() {
	local fam=$1 laddr=$2 raddr=$3 port=$4 mode=$5 before reasm lport want
	before=$(stat_of frozen_caught)
	reasm=$(reasm_ok)
	server "$fam" "$raddr" "$port" "$mode"
	client "$raddr" "$port"
	lport=$(cat "$W/port.$port")
	case $laddr in *:*) laddr="[$laddr]" raddr="[$raddr]" ;; esac
	ctl conn offload "$laddr:$lport" "$raddr:$port"
	touch "$W/go1.$port"
	# The catch holds what the stock stack would have processed (and asks
	# for the upload).  The transfer goes on either way: the content
	# check below shows what a missed segment does.
	wait_for 60 out_ge $((before + 1)) stat_of frozen_caught || true
	touch "$W/go2.$port"
	wait_for 120 test -s "$W/sum.$port" || {
		ctl -j stats eth0
		ip netns exec $NS_A ss -tni
		ip netns exec $NS_B ss -tni
		cat $W/bg.out
		return 1
	}
	want=$(sha256sum <$W/data | cut -d' ' -f1)
	expect_eq "$(cat "$W/sum.$port")" "$want" "SHA-256 received"
	[ "$(stat_of frozen_caught)" -gt "$before" ] || { echo "nothing caught"; return 1; }
	expect_eq "$(stat_of frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	if [ "$mode" = frag ]; then
		[ "$(reasm_ok)" -gt "$reasm" ] || { echo "no datagram was reassembled"; return 1; }
	fi
}

check_fragments_v4() { caught AF_INET 10.0.0.1 10.0.0.2 7500 frag; }
check_dstopts_v6() { caught AF_INET6 fd00::1 fd00::2 7501 dstopts; }

# keepalives: TcpExtTCPKeepAlive of our namespace.
keepalives() {
	ip netns exec $NS_A nstat -asz TcpExtTCPKeepAlive | awk '/TcpExtTCPKeepAlive/ { print $2 }'
}

# TCP_KEEPIDLE on a frozen socket that has been idle for longer than the
# new idle time arms the stock keepalive timer to fire at once: its probe
# would leave from the frozen state (the egress guard drops and counts
# it).  The connection comes back first, and the probes are the stock
# stack's.
check_keepidle_frozen() {
	local port=7502 lport ka0 term0
	bg $NS_B python3 -c "
import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.0.0.2', $port))
s.listen()
c, _ = s.accept()
while not os.path.exists('$W/end.$port'):
    time.sleep(0.05)
c.close()
"
	wait_for 20 listening $NS_B $port
	bg $NS_A python3 -c "
import os, socket, time
c = socket.create_connection(('10.0.0.2', $port))
open('$W/port.$port', 'w').write('%d' % c.getsockname()[1])
while not os.path.exists('$W/ka.$port'):
    time.sleep(0.05)
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
open('$W/kaset.$port', 'w').write('1')
while not os.path.exists('$W/end.$port'):
    time.sleep(0.05)
"
	wait_for 20 test -s "$W/port.$port"
	lport=$(cat "$W/port.$port")
	ctl conn offload "10.0.0.1:$lport" "10.0.0.2:$port"
	expect_eq "$(stat_of offloaded)" 1 "offloaded"
	ka0=$(keepalives)
	term0=$(ctl -j stats eth0 | jq -r '.[0].terminates | add')
	# Idle for longer than the idle time about to be set.
	sleep 2
	touch "$W/ka.$port"
	wait_for 20 test -s "$W/kaset.$port"
	wait_for 20 out_ge $((ka0 + 1)) keepalives || {
		echo "no keepalive probe"; ip netns exec $NS_A ss -tnio; return 1; }
	expect_eq "$(stat_of frozen_tx_dropped)" 0 "segments sent by a frozen socket"
	expect_eq "$(stat_of offloaded)" 0 "offloaded after TCP_KEEPIDLE"
	expect_eq "$(ctl -j stats eth0 | jq -r '.[0].terminates | add')" \
		$((term0 + 1)) "uploads"
	touch "$W/end.$port"
}

ktap_plan 4
ktap_check setup setup
ktap_check fragments_v4 check_fragments_v4
ktap_check dstopts_v6 check_dstopts_v6
ktap_check keepidle_frozen check_keepidle_frozen
ktap_finish
