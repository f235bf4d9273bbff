#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for chimney's end-to-end tests.  Each test prints KTAP on
# stdout; diagnostics go to stderr.  Source this from a test, then:
#   ktap_plan N; ktap_check NAME CMD...; ...; ktap_finish

CHIMNEY_ROOT=${CHIMNEY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CHIMNEY_RESULTS=${CHIMNEY_RESULTS:-/tmp}
# CHIMNEY_KO: the module built for another kernel (make bench: the release
# kernel's, under .build/release).
KO=${CHIMNEY_KO:-$CHIMNEY_ROOT/drivers/net/chimney/chimney.ko}
# The tools the tests drive (the kernel's ynl only inside the test VM).
CTL=$CHIMNEY_ROOT/tools/chimneyctl/chimneyctl
TCPIO=$CHIMNEY_ROOT/selftests/tcpio.py
DRIVER=$CHIMNEY_ROOT/selftests/handoff_driver.py
SPEC=$CHIMNEY_ROOT/Documentation/netlink/specs/chimney.yaml
YNL=${CHIMNEY_KDIR:+$(readlink -f "$CHIMNEY_KDIR/source")/tools/net/ynl}

_ktap_n=0
_ktap_failed=0

ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

ktap_result() { # ok|fail NAME [diagnostic]
	_ktap_n=$((_ktap_n + 1))
	if [ "$1" = ok ]; then
		echo "ok $_ktap_n $2"
	else
		_ktap_failed=$((_ktap_failed + 1))
		echo "not ok $_ktap_n $2"
		[ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"
	fi
	return 0
}

# ktap_check NAME CMD...: one test case, passing when CMD succeeds.  CMD
# runs with errexit on (outside any condition, where bash would ignore it),
# so a check function fails at its first failing command.
#
# CHIMNEY_ONLY=REGEX runs only the checks whose names match it (and the
# setup ones); the others are reported skipped.  CHIMNEY_VERBOSE=1 prints
# the output of passing checks too.
ktap_check() {
	local name=$1 out rc errexit=0 t0
	shift
	if [ -n "${CHIMNEY_ONLY:-}" ] && [[ $name != setup* ]] &&
		! grep -Eq -- "$CHIMNEY_ONLY" <<<"$name"; then
		_ktap_n=$((_ktap_n + 1))
		echo "ok $_ktap_n $name # SKIP not in CHIMNEY_ONLY"
		return 0
	fi
	[[ $- == *e* ]] && errexit=1
	set +e
	t0=$SECONDS
	out=$(set -e; "$@" 2>&1)
	rc=$?
	[ $errexit -eq 1 ] && set -e
	if [ $rc -eq 0 ]; then
		ktap_result ok "$name"
		# CHIMNEY_VERBOSE=1: a passing check's output too.
		[ -z "${CHIMNEY_VERBOSE:-}" ] || [ -z "$out" ] || sed 's/^/# /' <<<"$out"
	else
		ktap_result fail "$name" "$out"
	fi
	echo "# $name: $((SECONDS - t0)) s"
}

# ktap_skip NAME REASON: a test case not run here, and why.
ktap_skip() {
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n $1 # SKIP $2"
}

ktap_finish() {
	[ "$_ktap_failed" -eq 0 ]
}

# undo_after UNDO CHECK [ARGS...]: CHECK, stopping at its first failure,
# then UNDO in any case: a check that changes the wire (cable, port,
# namespace) puts it back for the checks that follow.  CHECK's status.
undo_after() {
	local undo=$1 rc
	shift
	set +e
	(set -e; "$@")
	rc=$?
	set -e
	"$undo"
	return $rc
}

# Both sides of each comparison are printed on failure.
expect_eq() { # ACTUAL EXPECTED [what]
	[ "$1" = "$2" ] && return 0
	echo "${3:-value}: got '$1', expected '$2'"
	return 1
}

# wait_for TIMEOUT_S CMD...: poll until CMD succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*"; return 1; }
		sleep 0.1
	done
}

# bg NS CMD...: a background process, detached from the checks' pipes:
# output to $W/bg.out, pid to $PIDS (the test's cleanup kills them).
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" </dev/null >>"$W/bg.out" 2>&1 &
	echo $! >>"$PIDS"
}

# For wait_for and poll_every, which run CMD again each time (a "$(...)"
# in their arguments would be read once):
out_is() { # EXPECTED CMD...: CMD prints EXPECTED
	local want=$1
	shift
	[ "$("$@")" = "$want" ]
}
out_ge() { # MIN CMD...: CMD prints a number >= MIN
	local min=$1
	shift
	[ "$("$@")" -ge "$min" ]
}

# poll_every SECS TIMEOUT_S CMD...: wait_for with a longer interval, for a
# CMD that costs much (a Python start is a second of the TCG VM's time).
poll_every() {
	local every=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*"; return 1; }
		sleep "$every"
	done
}

# vm_qmp JSON: run one QMP command on the host's QEMU (see qmp-agent.sh).
vm_qmp() {
	local id=qmp-$$-$RANDOM dir=$CHIMNEY_RESULTS/qmp
	[ -d "$dir" ] || { echo "vm_qmp: not inside the test VM"; return 1; }
	echo "$1" >"$dir/$id.tmp"
	mv "$dir/$id.tmp" "$dir/$id.req"
	wait_for 20 test -s "$dir/$id.resp" || return 1
	cat "$dir/$id.resp"
	rm -f "$dir/$id.resp"
}

# vm_set_link NIC on|off: pull or plug the cable of QEMU device nic0/nic1.
vm_set_link() {
	local up=true
	[ "$2" = off ] && up=false
	vm_qmp "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"$1\",\"up\":$up}}" |
		grep -q '"return"'
}

# Two hosts joined by the e1000 wire:
#   netns A: eth0 10.0.0.1/24 fd00::1/64  <==wire==>  netns B: eth1 10.0.0.2/24 fd00::2/64
NS_A=chim-a
NS_B=chim-b
wire_up() {
	ip netns add $NS_A
	ip netns add $NS_B
	ip link set eth0 netns $NS_A
	ip link set eth1 netns $NS_B
	ip -n $NS_A link set lo up
	ip -n $NS_B link set lo up
	ip -n $NS_A addr add 10.0.0.1/24 dev eth0
	ip -n $NS_B addr add 10.0.0.2/24 dev eth1
	ip -n $NS_A addr add fd00::1/64 dev eth0 nodad
	ip -n $NS_B addr add fd00::2/64 dev eth1 nodad
	ip -n $NS_A link set eth0 up
	ip -n $NS_B link set eth1 up
	wait_for 20 carrier_ok $NS_A eth0
	wait_for 20 carrier_ok $NS_B eth1
}

# Moves the NICs back to the initial netns, for the next test.
wire_down() {
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	# The devices come back once the namespaces are dismantled, which
	# takes a while after many connections in TCG.
	wait_for 60 ip link show eth0 >/dev/null 2>&1
	wait_for 60 ip link show eth1 >/dev/null 2>&1
}

# dummy_netns NS DEV...: a namespace holding dummy Ethernet devices (no wire).
dummy_netns() {
	local ns=$1 dev
	shift
	ip netns add "$ns"
	for dev in "$@"; do
		ip -n "$ns" link add "$dev" type dummy
	done
}

carrier_ok() { # NS DEV
	[ "$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>/dev/null)" = 1 ]
}

listening() { # NS PORT
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN
}

# tcp_transfer NS_SRC NS_DST DST_ADDR PORT FILE: send FILE, print the
# receiver's SHA-256.
tcp_transfer() {
	local out=/tmp/rx.$$.$4
	local proto=TCP4 addr=$3
	case $3 in *:*) proto=TCP6 addr="[$3]" ;; esac
	ip netns exec "$2" socat -u "$proto-LISTEN:$4,reuseaddr,bind=$addr" "CREATE:$out" &
	local rx=$!
	wait_for 10 listening "$2" "$4" || return 1
	ip netns exec "$1" socat -u "FILE:$5" "$proto:$addr:$4" || return 1
	wait $rx || return 1
	sha256sum <"$out" | cut -d' ' -f1
	rm -f "$out"
}
