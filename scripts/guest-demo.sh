#!/bin/bash
# Runs inside the test VM for `make demo`.
set -eu
root=$CHIMNEY_ROOT
ko=$root/drivers/net/chimney/chimney.ko
ctl=$root/tools/chimneyctl/chimneyctl

show() { # CMD...: print it (chimneyctl by name), run it
	local line="$*"
	echo
	echo "\$ ${line/ns $ctl/chimneyctl}"
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
ip netns del demo
show rmmod chimney
