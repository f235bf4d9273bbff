#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the test VM (see scripts/bench.sh):
#  1. offload and upload latency of one idle connection (200 of them, one
#     after the other, each request timed through netlink);
#  2. upload of 1,000 and 10,000 idle connections at once (terminate all);
#  3. throughput of ordinary (not offloaded) traffic over the e1000 link
#     with the module not loaded, then with a target attached and one
#     connection offloaded (so the receive hook is live), alternated.
set -eu
. "$CHIMNEY_ROOT/selftests/lib.sh"

CTL=$CHIMNEY_ROOT/tools/chimneyctl/chimneyctl
TCPIO=$CHIMNEY_ROOT/selftests/tcpio.py
DRIVER=$CHIMNEY_ROOT/selftests/handoff_driver.py
SPEC=$CHIMNEY_ROOT/Documentation/netlink/specs/chimney.yaml
YNL=$(readlink -f "$CHIMNEY_KDIR/source")/tools/net/ynl
W=$CHIMNEY_RESULTS/bench
mkdir -p "$W"
rm -f "$W"/*
ulimit -n 65536
ctl() { ip netns exec $NS_A "$CTL" "$@"; }
bg() { local ns=$1; shift; ip netns exec "$ns" "$@" </dev/null >>"$W/bg.out" 2>&1 & }
ms() { date +%s%N | cut -c1-13; }

wire_up
ip netns exec $NS_A sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

# idle COUNT PORT: COUNT idle echo connections, their tuples in $W/idle.PORT
idle() {
	bg $NS_B python3 "$TCPIO" server --addr 10.0.0.2 --port "$2" --count 0 --timeout 3000
	wait_for 20 listening $NS_B "$2"
	bg $NS_A python3 "$TCPIO" idle --addr 10.0.0.2 --port "$2" --count "$1" \
		--ports-file "$W/idle.$2" --go "$W/go.$2" --wait-timeout 3000
	wait_for 600 test -s "$W/idle.$2"
}

# throughput: MB/s of one 64 MiB bulk transfer A -> B
throughput() {
	local t0 t1
	t0=$(ms)
	ip netns exec $NS_A python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 \
		--port 7900 --c2s $((64 << 20)) --s2c 0 --seed 1 \
		--ports-file "$W/tp.ports" >/dev/null
	t1=$(ms)
	echo $(( (64 << 20) * 1000 / (t1 - t0) / 1000000 ))
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

up() { # COUNT PORT: ms to upload COUNT offloaded idle connections at once
	idle "$1" "$2"
	ip netns exec $NS_A python3 "$DRIVER" "$YNL" "$SPEC" --offload-all "$W/idle.$2" >"$W/off.$2"
	local t0 t1
	t0=$(ms)
	ctl conn terminate all dev eth0
	t1=$(ms)
	echo $((t1 - t0))
}
up1k=$(up 1000 7903)
up10k=$(up 10000 7904)

python3 - "$lat" "$up1k" "$up10k" "${base[*]}" "${with[*]}" <<'PY'
import json, statistics, sys
lat = json.loads(sys.argv[1])
base = [int(x) for x in sys.argv[4].split()]
with_ = [int(x) for x in sys.argv[5].split()]
b, w = statistics.median(base), statistics.median(with_)
print('chimney benchmark (TCG VM: compare ratios, not absolute values)')
print(f'{"measure":<46} {"value":>12}')
print(f'{"offload latency, median / p99 (us)":<46} {lat["offload"]["median_us"]:>6} / {lat["offload"]["p99_us"]}')
print(f'{"upload latency, median / p99 (us)":<46} {lat["upload"]["median_us"]:>6} / {lat["upload"]["p99_us"]}')
print(f'{"upload of 1,000 idle connections (ms)":<46} {sys.argv[2]:>12}')
print(f'{"upload of 10,000 idle connections (ms)":<46} {sys.argv[3]:>12}')
print(f'{"throughput, module not loaded (MB/s)":<46} {b:>12} {base}')
print(f'{"throughput, target attached + hook live (MB/s)":<46} {w:>12} {with_}')
print(f'{"ratio attached / not loaded":<46} {w / b:>12.3f}')
PY
