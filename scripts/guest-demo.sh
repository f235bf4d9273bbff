#!/bin/bash
# Runs inside the test VM for `make demo`.
set -eu
. "$CHIMNEY_ROOT/selftests/lib.sh"

show() { # CMD...: print it (chimneyctl by name), run it
	local line="$*"
	line=${line/#ns $CTL/chimneyctl}
	echo
	echo "\$ ${line/#a $CTL/chimneyctl}"
	"$@"
}

echo "chimney demo on $(uname -r), $(nproc) CPUs"
show modinfo -F description "$KO"
show insmod "$KO"
show sh -c "dmesg | grep 'chimney:'"

# One e1000 NIC in a namespace of its own, a target attached to it.
ip netns add demo
ip link set eth0 netns demo
ip -n demo link set eth0 up
ns() { ip netns exec demo "$@"; }

ns "$CTL" -j monitor >/tmp/monitor.json &
mon=$!
sleep 1
show ns "$CTL" dev attach eth0 capacity 1024 idle-timeout 2000 idle-bytes 4096
show ns "$CTL" dev show
show ns "$CTL" -d dev show eth0
show ns "$CTL" policy add eth0 rport 5001 priority 3
show ns "$CTL" policy show
show ns "$CTL" target fault eth0 complete-delay 5
show ns "$CTL" dev pause eth0
show ns "$CTL" dev resume eth0
show ns "$CTL" conn show
show ns "$CTL" stats eth0
show ns "$CTL" -j stats eth0
echo
echo "\$ chimneyctl conn offload 10.0.0.1:1 10.0.0.2:2   (refusals explain themselves)"
ns "$CTL" conn offload 10.0.0.1:1 10.0.0.2:2 || true
show ns "$CTL" dev detach eth0
sleep 1
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (what it printed meanwhile)"
cat /tmp/monitor.json
# Whatever still runs in the namespace (the monitor) keeps it, and eth0.
ip netns pids demo | xargs -r kill 2>/dev/null || true
ip netns del demo

# checksums CLIENT_JSON SERVER_LOG WHEN: both ends' SHA-256, both ways
checksums() {
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
s = json.loads(open(sys.argv[2]).readline())
print("client -> server  sent %s  received %s" % (c["sent_sha"][:16], s["recv_sha"][:16]))
print("server -> client  sent %s  received %s" % (s["sent_sha"][:16], c["recv_sha"][:16]))
ok = c["sent_sha"] == s["recv_sha"] and s["sent_sha"] == c["recv_sha"]
print("checksums", "match" if ok else "DIFFER", sys.argv[3])
sys.exit(not ok)' "$@"
}

# A live transfer over the wire, offloaded by a rule and handed back and
# forth by the handoff driver; both ends' SHA-256 at the end.
wait_for 60 ip link show eth0
wire_up
a() { ip netns exec "$NS_A" "$@"; }
echo
echo "== A live transfer: 64 MiB each way, netns $NS_A (eth0) <-> $NS_B (eth1)"
a "$CTL" -j monitor >/tmp/monitor2.json &
mon=$!
sleep 1
show a "$CTL" dev attach eth0 engine on
show a "$CTL" policy add eth0 rport 5001 priority 3
ip netns exec "$NS_B" python3 "$TCPIO" server --addr 10.0.0.2 --port 5001 --count 1 \
	--log /tmp/demo-server.json </dev/null >/tmp/demo-server.err 2>&1 &
wait_for 60 listening "$NS_B" 5001 || { cat /tmp/demo-server.err; exit 1; }
a python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 --port 5001 --c2s $((64 << 20)) \
	--s2c $((64 << 20)) --seed 1 --ports-file /tmp/demo.ports >/tmp/demo-client.json &
client=$!
wait_for 30 test -s /tmp/demo.ports
echo
echo "(the rule offloaded the connection as it started; the handoff driver now"
echo " terminates and offloads it again every 20 ms, 40 times)"
a python3 "$DRIVER" "$YNL" "$SPEC" /tmp/demo.ports \
	/tmp/demo.stop 40 20 >/tmp/demo-driver.json &
driver=$!
offloaded_now() { a "$CTL" conn show | grep -q offloaded; }
wait_for 60 offloaded_now || true
for i in 1 2 3; do
	show a "$CTL" conn show
	sleep 0.2
done
wait "$client"
# (The driver ends by itself after its 40 cycles; a short transfer ends first.)
kill "$driver" 2>/dev/null || true
show a "$CTL" stats eth0
sleep 1
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (its first 8 events and how many of each)"
head -8 /tmp/monitor2.json
python3 -c 'import collections, json, sys
n = collections.Counter(json.loads(l)["event"] for l in open(sys.argv[1]))
print(dict(n))' /tmp/monitor2.json
echo
checksums /tmp/demo-client.json /tmp/demo-server.json \
	"after the driver: $(cat /tmp/demo-driver.json 2>/dev/null || echo "cycles (cut short)")"
touch /tmp/demo.stop

# The engine carries a transfer: offloaded at connect by a rule, it stays
# offloaded while the bytes move (two looks at its counters), then an
# upload in the middle and the rest with the stock stack.
echo
echo "== The target's engine carries a transfer: 64 MiB each way"
a "$CTL" -j monitor >/tmp/monitor4.json &
mon=$!
show a "$CTL" dev detach eth0
show a "$CTL" dev attach eth0 engine on
show a "$CTL" policy add eth0 rport 5004
ip netns exec "$NS_B" python3 "$TCPIO" server --addr 10.0.0.2 --port 5004 --count 1 \
	--log /tmp/demo-server4.json </dev/null >/tmp/demo-server4.err 2>&1 &
wait_for 60 listening "$NS_B" 5004 || { cat /tmp/demo-server4.err; exit 1; }
a python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 --port 5004 --c2s $((64 << 20)) \
	--s2c $((64 << 20)) --seed 4 --timeout 300 --ports-file /tmp/demo4.ports \
	</dev/null >/tmp/demo-client4.json 2>&1 &
client=$!
wait_for 30 test -s /tmp/demo4.ports
wait_for 30 offloaded_now
echo "(the rule offloaded it at connect; the engine acknowledges, delivers,"
echo " sends and retransmits; the socket only sees data)"
show a "$CTL" -s conn show
sleep 2
show a "$CTL" -s conn show
read -r tuple </tmp/demo4.ports
echo "(now an upload in the middle: the rest goes with the stock stack)"
# shellcheck disable=SC2086 # the tuple is two words
show a "$CTL" conn terminate $tuple
wait "$client"
show a "$CTL" stats eth0
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (the events of this transfer)"
python3 -c 'import collections, json, sys
n = collections.Counter((e["event"], e.get("reason")) for e in map(json.loads, open(sys.argv[1])))
print({f"{k[0]} {k[1]}" if k[1] else k[0]: v for k, v in n.items()})' /tmp/monitor4.json
checksums /tmp/demo-client4.json /tmp/demo-server4.json "through the engine, then the stock stack"

offloaded_now_count() {
	a "$CTL" -j stats eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["offloaded"])'
}

# The cable pulled under a live offloaded transfer: every connection is
# uploaded (link-down), the transfer stalls, the link comes back, the rule
# offloads the idle ones again and the transfer completes intact.
echo
echo "== The cable pulled (QMP set_link off) under a live transfer"
a "$CTL" -j monitor >/tmp/monitor3.json &
mon=$!
ip netns exec "$NS_B" python3 "$TCPIO" server --addr 10.0.0.2 --port 5002 --count 0 \
	--timeout 300 </dev/null >/dev/null 2>&1 &
wait_for 60 listening "$NS_B" 5002
ip netns exec "$NS_B" python3 "$TCPIO" server --addr 10.0.0.2 --port 5003 --count 1 \
	--log /tmp/demo-server3.json </dev/null >/tmp/demo-server3.err 2>&1 &
wait_for 60 listening "$NS_B" 5003 || { cat /tmp/demo-server3.err; exit 1; }
a python3 "$TCPIO" idle --addr 10.0.0.2 --port 5002 --count 4 --ports-file /tmp/demo.idle \
	--go /tmp/demo.idle.go --timeout 300 </dev/null >/tmp/demo-idle.json 2>&1 &
wait_for 60 test -s /tmp/demo.idle
echo "(4 idle connections open to port 5002; a rule offloads the established ones)"
show a "$CTL" policy add eth0 rport 5002 priority 2
a python3 "$TCPIO" client --mode bulk --addr 10.0.0.2 --port 5003 --c2s $((32 << 20)) \
	--s2c $((32 << 20)) --seed 3 --timeout 120 --ports-file /tmp/demo3.ports \
	</dev/null >/tmp/demo-client3.json 2>&1 &
client=$!
wait_for 30 test -s /tmp/demo3.ports
a python3 "$DRIVER" "$YNL" "$SPEC" /tmp/demo3.ports /tmp/demo3.stop 1000000 20 \
	>/dev/null 2>&1 &
driver=$!
wait_for 30 out_ge 4 offloaded_now_count
show a "$CTL" conn show
echo
echo "\$ (host) QMP set_link nic0 off"
vm_set_link nic0 off
wait_for 30 sh -c "! ip netns exec $NS_A $CTL dev show eth0 | grep -qv link-down"
show a "$CTL" dev show eth0
show a "$CTL" conn show
sleep 3
echo
echo "\$ (host) QMP set_link nic0 on"
vm_set_link nic0 on
wait_for 30 sh -c "ip netns exec $NS_A $CTL dev show eth0 | grep -qv link-down"
wait_for 30 out_ge 4 offloaded_now_count
show a "$CTL" dev show eth0
echo "(the rule offloaded the idle connections again)"
show a "$CTL" conn show
wait "$client"
touch /tmp/demo3.stop
kill "$driver" 2>/dev/null || true
show a "$CTL" stats eth0
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (the link events and the uploads they caused)"
python3 -c 'import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
for e in evs:
    if e["event"] == "link":
        print(json.dumps(e))
n = collections.Counter((e["event"], e.get("reason")) for e in evs
                        if e["event"].startswith("terminate"))
print({f"{k[0]} {k[1]}": v for k, v in n.items()})' /tmp/monitor3.json
a "$CTL" conn terminate all dev eth0
touch /tmp/demo.idle.go
wait_for 60 test -s /tmp/demo-idle.json
echo "idle connections after the upload: $(cat /tmp/demo-idle.json)"
checksums /tmp/demo-client3.json /tmp/demo-server3.json "after the cable pull"
a "$CTL" dev detach eth0
ip netns pids "$NS_A" | xargs -r kill 2>/dev/null || true
ip netns pids "$NS_B" | xargs -r kill 2>/dev/null || true
wire_down
wait_for 30 rmmod chimney
echo
echo "\$ rmmod chimney"
