#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test bed itself: chimney.ko loads and unloads cleanly and says what it
# is; the two e1000 NICs form a wire between two network namespaces that
# carries TCP over IPv4 and IPv6 with exact content; a QMP set_link pulls the
# cable as seen by the driver.
#
#   netns chim-a            QEMU hub             netns chim-b
#   eth0 (e1000) 10.0.0.1 ===================== eth1 (e1000) 10.0.0.2
#        fd00::1                                      fd00::2
set -eu
. "$(dirname "$0")/lib.sh"

cleanup() {
	rmmod chimney 2>/dev/null || true
	wire_down
}
trap cleanup EXIT

modinfo_field() { modinfo -F "$1" "$KO"; }

check_modinfo() {
	expect_eq "$(modinfo_field license)" GPL license &&
	expect_eq "$(modinfo_field description)" "Emulated TCP chimney offload over a real NIC" description &&
	grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' <<<"$(modinfo_field version)"
}

check_load() {
	insmod "$KO"
	expect_eq "$(cat /sys/module/chimney/version)" "$(modinfo_field version)" version &&
	dmesg | grep -q "chimney: version $(modinfo_field version) loaded"
}

check_unload() {
	rmmod chimney
	! test -d /sys/module/chimney && dmesg | grep -q "chimney: unloaded"
}

check_reload() {
	insmod "$KO" && rmmod chimney
}

check_nics() {
	expect_eq "$(ethtool -i eth0 | sed -n 's/^driver: //p')" e1000 eth0 &&
	expect_eq "$(ethtool -i eth1 | sed -n 's/^driver: //p')" e1000 eth1
}

check_tcp() { # ADDR PORT
	head -c 4M /dev/urandom >/tmp/harness.data
	local want got
	want=$(sha256sum </tmp/harness.data | cut -d' ' -f1)
	got=$(tcp_transfer $NS_A $NS_B "$1" "$2" /tmp/harness.data)
	expect_eq "$got" "$want" "sha256 A->B"
	got=$(tcp_transfer $NS_B $NS_A "$3" "$2" /tmp/harness.data)
	expect_eq "$got" "$want" "sha256 B->A"
}

check_cable_pull() {
	vm_set_link nic0 off
	wait_for 10 sh -c "! ip netns exec $NS_A cat /sys/class/net/eth0/carrier | grep -q 1"
	ip -n $NS_A link show eth0 | grep -q NO-CARRIER
	vm_set_link nic0 on
	wait_for 10 carrier_ok $NS_A eth0
	ip netns exec $NS_A ping -c 1 -W 5 10.0.0.2 >/dev/null
}

ktap_plan 9
ktap_check "modinfo shows license, description, version" check_modinfo
ktap_check "insmod chimney.ko" check_load
ktap_check "rmmod chimney" check_unload
ktap_check "load/unload again" check_reload
ktap_check "two e1000 NICs" check_nics
ktap_check "wire between two netns" wire_up
ktap_check "TCP over IPv4, content verified both ways" check_tcp 10.0.0.2 5001 10.0.0.1
ktap_check "TCP over IPv6, content verified both ways" check_tcp fd00::2 5002 fd00::1
ktap_check "QMP set_link pulls and plugs the cable" check_cable_pull
ktap_finish
