#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the test VM (see scripts/bench.sh):
#  1. offload and upload latency of one idle connection (200 of them, one
#     after the other, each request timed through netlink);
#  2. one dump (conn show) and the upload (terminate all) of 1,000 and
#     10,000 idle connections offloaded by a rule; every connection echoes
#     100 bytes intact afterwards;
#  3. throughput of ordinary (not offloaded) traffic over the e1000 link
#     with the module not loaded, then with a target attached and one
#     connection offloaded (so the receive hook is live), alternated.
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
offloaded() { ctl -j stats eth0 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['offloaded'])"; }

wire_up
ip netns exec $NS_A sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
ip netns exec $NS_B sysctl -qw net.core.somaxconn=65535
ip netns exec $NS_B sysctl -qw net.ipv4.tcp_max_syn_backlog=65535

# One epoll echo server for every batch of idle connections.
bg $NS_B python3 "$SCALE" server --addr 10.0.0.2 --ports 7902,7903,7904,7911,7912,7913
wait_for 60 listening $NS_B 7913

# idle COUNT PORT: COUNT idle echo connections, their tuples in $W/idle.PORT;
# touching $W/go.PORT makes each echo 100 bytes, results in $W/idle.PORT.json
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

bg $NS_B python3 "$TCPIO" server --addr 10.0.0.2 --port 7900 --count 0
wait_for 20 listening $NS_B 7900
base=() with=()
for i in 1 2 3; do
	base+=("$(throughput)")
	insmod "$KO"
	ctl dev attach eth0 capacity 16384
	# One offloaded connection keeps the receive hook registered.
	idle 1 $((7910 + i))
	ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all \
		"$W/idle.$((7910 + i))" >/dev/null
	with+=("$(throughput)")
	touch "$W/go.$((7910 + i))"
	ctl dev detach eth0
	# Sockets that had the ULP pin the module until they are gone.
	wait_for 60 rmmod chimney
done
insmod "$KO"
ctl dev attach eth0 capacity 16384
idle 200 7902
lat=$(ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --latency "$W/idle.7902")
touch "$W/go.7902"

# up COUNT PORT: offload COUNT idle connections (by a rule), then print the
# ms of one dump of them (conn show) and of their upload (terminate all).
up() {
	local t0 t1 t2 id
	idle "$1" "$2"
	id=$(ctl -j policy add eth0 rport "$2" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
	poll_every 2 600 out_is "$1" offloaded
	t0=$(ms)
	ctl -j conn show dev eth0 >"$W/dump.$2"
	t1=$(ms)
	ctl conn terminate all dev eth0
	t2=$(ms)
	ctl policy del eth0 "$id"
	touch "$W/go.$2"
	python3 -c "import json,sys; assert len(json.load(open(sys.argv[1]))) == $1" "$W/dump.$2"
	echo $((t1 - t0)) $((t2 - t1))
}
read -r dump1k up1k <<<"$(up 1000 7903)"
read -r dump10k up10k <<<"$(up 10000 7904)"

# Every idle connection echoed intact after its upload.
wait_for 900 out_ge 6 grep -c '"conns"' "$W/bg.out"
python3 - "$W/bg.out" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"conns"')]
bad = [r for r in res if r['error'] or r['ok'] != r['conns']]
assert not bad, bad
PY

python3 - "$lat" "$up1k" "$up10k" "${base[*]}" "${with[*]}" "$dump1k" "$dump10k" <<'PY'
import json, statistics, sys
lat = json.loads(sys.argv[1])
base = [int(x) for x in sys.argv[4].split()]
with_ = [int(x) for x in sys.argv[5].split()]
d1k, d10k = int(sys.argv[6]), int(sys.argv[7])
b, w = statistics.median(base), statistics.median(with_)
print('chimney benchmark (TCG VM: compare ratios, not absolute values)')
print(f'{"measure":<46} {"value":>12}')
print(f'{"offload latency, median / p99 (us)":<46} {lat["offload"]["median_us"]:>6} / {lat["offload"]["p99_us"]}')
print(f'{"upload latency, median / p99 (us)":<46} {lat["upload"]["median_us"]:>6} / {lat["upload"]["p99_us"]}')
print(f'{"upload of 1,000 idle connections (ms)":<46} {sys.argv[2]:>12}')
print(f'{"upload of 10,000 idle connections (ms)":<46} {sys.argv[3]:>12}')
print(f'{"conn show -j of 1,000 offloaded (ms)":<46} {d1k:>12}')
print(f'{"conn show -j of 10,000 offloaded (ms)":<46} {d10k:>12}')
print(f'{"dump time per connection, 10,000 / 1,000":<46} {d10k / 10 / max(d1k, 1):>12.2f}')
print(f'{"throughput, module not loaded (kB/s)":<46} {b:>12} {base}')
print(f'{"throughput, target attached + hook live (kB/s)":<46} {w:>12} {with_}')
print(f'{"ratio attached / not loaded":<46} {w / b:>12.3f}')
PY
