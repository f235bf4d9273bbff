#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the test VM on the release kernel (scripts/bench.sh).
# Each figure is measured next to its anchor in the same run:
#  1. throughput of ordinary (not offloaded) traffic over the e1000 link with
#     the module not loaded, then with a target attached and one connection
#     offloaded (so the receive hook is live), alternated nine times;
#  2. offload and upload latency of one idle connection (200, one after the
#     other, each request timed through netlink);
#  3. the upload (terminate all) of 1,000 and 10,000 idle connections
#     offloaded by a rule, and its cost per connection, 10,000 against 1,000;
#     every connection echoes 100 bytes intact afterwards;
#  4. `chimneyctl -j conn show` of the 10,000 offloaded connections against
#     `ss -tn` of the same sockets (the kernel's own inet_diag dump);
#  5. kernel memory per offloaded connection: slab, per-CPU and vmalloc
#     counters before and after the rule offloaded the 10,000, over 10,000;
#  6. moving live TCP state: CRIU checkpointing and restoring a process that
#     holds 500 idle established connections (--tcp-established), against
#     chimney's offload and upload of 500 others, per connection;
#  0. (first) the engine's bulk throughput and CPU per byte against the
#     stock stack, and against a target without the engine (iperf3).
# CHIMNEY_BENCH_ONLY=engine runs the engine's part alone.
# The table goes to stdout, the figures to $CHIMNEY_RESULTS/bench.json.
set -eu
. "$CHIMNEY_ROOT/selftests/lib.sh"

SCALE=$CHIMNEY_ROOT/selftests/scale.py
W=$CHIMNEY_RESULTS/bench
mkdir -p "$W"
rm -f "$W"/*
ulimit -n 65536  # raises the hard limit too: 10,000 connections on each side
ctl() { ip netns exec $NS_A "$CTL" "$@"; }
bg() { local ns=$1; shift; ip netns exec "$ns" "$@" </dev/null >>"$W/bg.out" 2>&1 & }
ms() { date +%s%N | cut -c1-13; }
# The figures, "NAME VALUE" a line, for the table at the end.
fig() { echo "$1 $2" >>"$W/figures"; }
table() { python3 "$CHIMNEY_ROOT/scripts/bench-table.py" "$W/figures" "$CHIMNEY_RESULTS/bench.json"; }
offloaded() { ctl -j stats eth0 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['offloaded'])"; }

wire_up
ip netns exec $NS_A sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
ip netns exec $NS_B sysctl -qw net.core.somaxconn=65535
ip netns exec $NS_B sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
fig kernel "$(uname -r)"
grep -q '^CONFIG_KASAN=y' "$CHIMNEY_KDIR/.config" && fig kernel_debug 1 || fig kernel_debug 0

# One epoll echo server for every batch of idle connections.
bg $NS_B python3 "$SCALE" server --addr 10.0.0.2 \
	--ports 7902,7903,7904,7905,7906,7911,7912,7913,7914,7915,7916,7917,7918,7919
wait_for 60 listening $NS_B 7919

# idle COUNT PORT: COUNT idle echo connections, their tuples in $W/idle.PORT;
# touching $W/go.PORT makes each echo 100 bytes, results in bg.out
idle() {
	bg $NS_A python3 "$SCALE" clients --addr 10.0.0.2 --ports "$2" --count "$1" \
		--ports-file "$W/idle.$2" --go "$W/go.$2" --timeout 2000
	wait_for 1200 test -s "$W/idle.$2"
}

# throughput: kB/s of one 64 MiB bulk transfer A -> B
throughput() {
	local t0 t1
	t0=$(ms)
	ip netns exec $NS_A python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 \
		--port 7900 --c2s $((64 << 20)) --s2c 0 --seed 1 \
		--ports-file "$W/tp.ports" >/dev/null
	t1=$(ms)
	echo $(( (64 << 20) * 1000 / (t1 - t0) / 1000 ))
}

# The engine against the stock stack on the same link: iperf3 for 10 s
# each way, in turn with no rule (stock), with a rule that offloads the
# connections at connect time to the engine, and to a target without the
# engine (`engine off`: each segment brings the connection back, the rule
# offloads it again), alternated three times.  CPU per byte is the VM's
# busy time (both ends, softirqs included) over the bytes received.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
engine_run() { # MODE DIR
	local t0 t1 r0 r1
	r0=$(ctl -j stats eth0 | jq '.[0].retrieves | add')
	t0=$(busy_ticks)
	ip netns exec $NS_A iperf3 -c 10.0.0.2 -p 7620 -t 10 $2 -J >"$W/iperf3.json"
	t1=$(busy_ticks)
	r1=$(ctl -j stats eth0 | jq '.[0].retrieves | add')
	jq -r --arg k "$1${2:+_reverse}" --argjson ticks $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
		'.end.sum_received | "eng_tput_\($k) \(.bits_per_second / 8000 | floor)",
		 "eng_cpu_\($k) \($ticks / $hz * 1e9 / .bytes)"' "$W/iperf3.json" >>"$W/figures"
	fig "eng_retrieves_$1${2:+_reverse}" $((r1 - r0))
}
engine_bench() {
	local round mode dir
	insmod "$KO"
	bg $NS_B iperf3 -s -p 7620 -B 10.0.0.2
	wait_for 20 listening $NS_B 7620
	for round in 1 2 3; do
		for mode in stock engine off; do
			ctl dev attach eth0 engine "$([ $mode = off ] && echo off || echo on)"
			[ $mode = stock ] || ctl policy add eth0 rport 7620 >/dev/null
			for dir in "" -R; do
				echo "bench: engine, round $round, $mode ${dir:-forward}" >&2
				engine_run $mode "$dir"
			done
			ctl dev detach eth0
		done
	done
	pkill -f 'iperf3 -s -p 7620' || true
	wait_for 60 rmmod chimney
}
engine_bench
if [ "${CHIMNEY_BENCH_ONLY:-}" = engine ]; then
	table
	exit 0
fi

echo "bench: throughput, module not loaded vs target attached" >&2
bg $NS_B python3 "$TCPIO" server --addr 10.0.0.2 --port 7900 --count 0
wait_for 20 listening $NS_B 7900
for i in 1 2 3 4 5 6 7 8 9; do
	fig tput_base "$(throughput)"
	insmod "$KO"
	ctl dev attach eth0 capacity 16384
	# One offloaded connection keeps the receive hook registered.
	idle 1 $((7910 + i))
	ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all \
		"$W/idle.$((7910 + i))" >/dev/null
	fig tput_with "$(throughput)"
	touch "$W/go.$((7910 + i))"
	ctl dev detach eth0
	# Sockets that had the ULP pin the module until they are gone.
	wait_for 60 rmmod chimney
done
insmod "$KO"
ctl dev attach eth0 capacity 16384

echo "bench: offload and upload latency" >&2
idle 200 7902
fig latency "$(ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --latency "$W/idle.7902")"
touch "$W/go.7902"

# kernel_kb: kernel memory that grows with objects (kB): slab, per-CPU and
# vmalloc, after dropping the caches that can be dropped.
kernel_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 2
	awk '/^(Slab|Percpu|VmallocUsed):/ { kb += $2 } END { print kb }' /proc/meminfo
}
# slabs FILE: bytes of every slab cache (active objects x object size)
slabs() { awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo >"$1"; }

# up COUNT PORT: offload COUNT idle connections by a rule, then dump them
# with chimneyctl and with ss, and upload them all (terminate all).
up() {
	local n=$1 port=$2 t0 t1 id mem0 mem1
	idle "$n" "$port"
	mem0=$(kernel_kb)
	slabs "$W/slab0.$n"
	id=$(ctl -j policy add eth0 rport "$port" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
	poll_every 2 900 out_is "$n" offloaded
	mem1=$(kernel_kb)
	slabs "$W/slab1.$n"
	# The caches that grew most, bytes per connection.
	awk -v n="$n" 'NR == FNR { b[$1] = $2; next } { d = ($2 - b[$1]) / n; if (d >= 16) printf "slab_growth_%d %s:%d\n", n, $1, d }' \
		"$W/slab0.$n" "$W/slab1.$n" | sort -t: -k2 -rn | head -n 6 >>"$W/figures"
	fig "mem_kb_before_$n" "$mem0"
	fig "mem_kb_after_$n" "$mem1"
	for _ in 1 2 3; do
		t0=$(ms)
		ctl -j conn show dev eth0 >"$W/dump.$port"
		t1=$(ms)
		fig "dump_chimney_$n" $((t1 - t0))
		t0=$(ms)
		ip netns exec $NS_A ss -tn state established "( dport = :$port )" >"$W/ss.$port"
		t1=$(ms)
		fig "dump_ss_$n" $((t1 - t0))
	done
	python3 -c "import json,sys; assert len(json.load(open(sys.argv[1]))) == $n" "$W/dump.$port"
	test "$(($(wc -l <"$W/ss.$port") - 1))" -eq "$n"
	t0=$(ms)
	ctl conn terminate all dev eth0
	t1=$(ms)
	fig "upload_$n" $((t1 - t0))
	ctl policy del eth0 "$id"
	touch "$W/go.$port"
}
echo "bench: 1,000 idle connections" >&2
up 1000 7903
echo "bench: 10,000 idle connections" >&2
up 10000 7904
grep -E '^(TCP|TCPv6|request_sock_TCP) ' /proc/slabinfo | awk '{ print "slab_objsize_" $1, $4 }' >>"$W/figures"

# chimney's offload and upload of MOVE_N idle connections, one request
# each, next to CRIU's checkpoint and restore of a process holding MOVE_N
# (criu 3.17's dump keeps descriptors in an fd_set: fewer than 1,024).
MOVE_N=500
fig move_n $MOVE_N
echo "bench: offload + upload of $MOVE_N connections, chimney and CRIU" >&2
idle $MOVE_N 7905
t0=$(ms)
ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all "$W/idle.7905" >"$W/offload.7905"
t1=$(ms)
ctl conn terminate all dev eth0
t2=$(ms)
fig chimney_move_offload $((t1 - t0))
fig chimney_move_upload $((t2 - t1))
python3 -c "import json,sys; d = json.load(open(sys.argv[1])); assert d['offloads'] == $MOVE_N, d" "$W/offload.7905"
touch "$W/go.7905"

# CRIU: the clients enter only the network namespace (ip netns exec would
# give them a mount namespace of their own, which CRIU would have to dump).
criu_run() {
	local C=/tmp/criu pid t0 t1 t2 why=
	mkdir -p $C /tmp/criu-img
	if ! criu check >$C/check.log 2>&1; then
		why="criu check: $(grep -v '^$' $C/check.log | tail -n 1)"
	fi
	nsenter --net=/run/netns/$NS_A setsid python3 "$SCALE" clients --addr 10.0.0.2 \
		--ports 7906 --count $MOVE_N --ports-file $C/ports --go $C/go --timeout 2000 \
		</dev/null >$C/clients.out 2>&1 &
	pid=$!
	wait_for 600 test -s $C/ports
	t0=$(ms)
	if ! nsenter --net=/run/netns/$NS_A criu dump -t "$pid" -D /tmp/criu-img --tcp-established \
		--network-lock nftables -v2 -o dump.log; then
		why="${why:+$why; }criu dump: $(grep -E 'Error|error' /tmp/criu-img/dump.log | tail -n 1)"
		fig criu_error "$why"
		kill "$pid" 2>/dev/null || true
		return 0
	fi
	t1=$(ms)
	if ! nsenter --net=/run/netns/$NS_A criu restore -D /tmp/criu-img --tcp-established \
		--network-lock nftables -d -v2 -o restore.log; then
		why="${why:+$why; }criu restore: $(grep -E 'Error|error' /tmp/criu-img/restore.log | tail -n 1)"
		fig criu_error "$why"
		return 0
	fi
	t2=$(ms)
	touch $C/go
	wait_for 600 test -s $C/clients.out
	if ! python3 -c "import json,sys; d = json.loads(open(sys.argv[1]).read()); assert d['ok'] == $MOVE_N and not d['error'], d" \
		$C/clients.out; then
		fig criu_error "the restored process's echoes: $(cat $C/clients.out)"
		return 0
	fi
	fig criu_dump $((t1 - t0))
	fig criu_restore $((t2 - t1))
}
criu_run
mkdir -p "$W/criu"
cp /tmp/criu/* /tmp/criu-img/*.log "$W/criu/" 2>/dev/null || true

# Every idle connection echoed intact after its upload.
wait_for 900 out_ge 13 grep -c '"conns"' "$W/bg.out"
python3 - "$W/bg.out" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"conns"')]
bad = [r for r in res if r['error'] or r['ok'] != r['conns']]
assert not bad, bad
PY

table
