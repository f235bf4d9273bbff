#!/bin/bash
# Runs inside the test VM for `make demo`.
set -eu
root=$CHIMNEY_ROOT
ko=$root/drivers/net/chimney/chimney.ko
ctl=$root/tools/chimneyctl/chimneyctl

show() { # CMD...: print it (chimneyctl by name), run it
	local line="$*"
	line=${line/#ns $ctl/chimneyctl}
	echo
	echo "\$ ${line/#a $ctl/chimneyctl}"
	"$@"
}

echo "chimney demo on $(uname -r), $(nproc) CPUs"
show modinfo -F description "$ko"
show insmod "$ko"
show sh -c "dmesg | grep 'chimney:'"

# One e1000 NIC in a namespace of its own, a target attached to it.
ip netns add demo
ip link set eth0 netns demo
ip -n demo link set eth0 up
ns() { ip netns exec demo "$@"; }

ns "$ctl" -j monitor >/tmp/monitor.json &
mon=$!
sleep 1
show ns "$ctl" dev attach eth0 capacity 1024 idle-timeout 2000 idle-bytes 4096
show ns "$ctl" dev show
show ns "$ctl" -d dev show eth0
show ns "$ctl" policy add eth0 rport 5001 priority 3
show ns "$ctl" policy show
show ns "$ctl" target fault eth0 complete-delay 5
show ns "$ctl" dev pause eth0
show ns "$ctl" dev resume eth0
show ns "$ctl" conn show
show ns "$ctl" stats eth0
show ns "$ctl" -j stats eth0
echo
echo "\$ chimneyctl conn offload 10.0.0.1:1 10.0.0.2:2   (refusals explain themselves)"
ns "$ctl" conn offload 10.0.0.1:1 10.0.0.2:2 || true
show ns "$ctl" dev detach eth0
sleep 1
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (what it printed meanwhile)"
cat /tmp/monitor.json
# Whatever still runs in the namespace (the monitor) keeps it, and eth0.
ip netns pids demo | xargs -r kill 2>/dev/null || true
ip netns del demo

# A live transfer over the wire, offloaded by a rule and handed back and
# forth by the handoff driver; both ends' SHA-256 at the end.
. "$root/selftests/lib.sh"
wait_for 60 ip link show eth0
wire_up
a() { ip netns exec "$NS_A" "$@"; }
tcpio=$root/selftests/tcpio.py
ynl=$(readlink -f "$CHIMNEY_KDIR/source")/tools/net/ynl
spec=$root/Documentation/netlink/specs/chimney.yaml
echo
echo "== A live transfer: 64 MiB each way, netns $NS_A (eth0) <-> $NS_B (eth1)"
a "$ctl" -j monitor >/tmp/monitor2.json &
mon=$!
sleep 1
show a "$ctl" dev attach eth0
show a "$ctl" policy add eth0 rport 5001 priority 3
ip netns exec "$NS_B" python3 "$tcpio" server --addr 10.0.0.2 --port 5001 --count 1 \
	--log /tmp/demo-server.json </dev/null >/tmp/demo-server.err 2>&1 &
wait_for 60 listening "$NS_B" 5001 || { cat /tmp/demo-server.err; exit 1; }
a python3 "$tcpio" client --mode bulk --addr 10.0.0.2 --port 5001 --c2s $((64 << 20)) \
	--s2c $((64 << 20)) --seed 1 --ports-file /tmp/demo.ports >/tmp/demo-client.json &
client=$!
wait_for 30 test -s /tmp/demo.ports
echo
echo "(the rule offloaded the connection as it started; the handoff driver now"
echo " terminates and offloads it again every 20 ms, 40 times)"
a python3 "$root/selftests/handoff_driver.py" "$ynl" "$spec" /tmp/demo.ports \
	/tmp/demo.stop 40 20 >/tmp/demo-driver.json &
driver=$!
offloaded_now() { a "$ctl" conn show | grep -q offloaded; }
wait_for 60 offloaded_now || true
for i in 1 2 3; do
	show a "$ctl" conn show
	sleep 0.2
done
wait "$client"
# (The driver ends by itself after its 40 cycles; a short transfer ends first.)
kill "$driver" 2>/dev/null || true
show a "$ctl" stats eth0
sleep 1
kill "$mon"
echo
echo "\$ chimneyctl -j monitor   (its first 8 events and how many of each)"
head -8 /tmp/monitor2.json
python3 -c 'import collections, json, sys
n = collections.Counter(json.loads(l)["event"] for l in open(sys.argv[1]))
print(dict(n))' /tmp/monitor2.json
echo
python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
s = json.loads(open(sys.argv[2]).readline())
print("client -> server  sent %s  received %s" % (c["sent_sha"][:16], s["recv_sha"][:16]))
print("server -> client  sent %s  received %s" % (s["sent_sha"][:16], c["recv_sha"][:16]))
ok = c["sent_sha"] == s["recv_sha"] and s["sent_sha"] == c["recv_sha"]
print("checksums", "match" if ok else "DIFFER", "after the driver:",
      open(sys.argv[3]).read().strip() or "cycles (cut short)")
sys.exit(not ok)' /tmp/demo-client.json /tmp/demo-server.json /tmp/demo-driver.json
touch /tmp/demo.stop
a "$ctl" dev detach eth0
ip netns pids "$NS_A" | xargs -r kill 2>/dev/null || true
ip netns pids "$NS_B" | xargs -r kill 2>/dev/null || true
wire_down
wait_for 30 rmmod chimney
echo
echo "\$ rmmod chimney"
