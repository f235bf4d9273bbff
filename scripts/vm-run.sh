#!/bin/bash
# Boot the chimney test kernel under QEMU (TCG) and run one command in it.
#
#   scripts/vm-run.sh [-t TIMEOUT_S] [-r RESULTS_DIR] [-q] -- COMMAND...
#
# Guest: the host's / as a read-only virtio-9p root, RESULTS_DIR as a
# writable share at /mnt, two e1000 NICs (eth0, eth1; QEMU devices nic0, nic1)
# on one QEMU hub, i.e. joined by a wire.  A QMP socket lets the guest ask
# the host for set_link (a cable pull): see vm_qmp in selftests/lib.sh.
# CHIMNEY_VM_MEM sets the guest's memory (default 3G).
#
# Exit status: the command's, or 124 on timeout, or 125 when the guest did
# not finish, or 126 when the kernel log shows a splat.  RESULTS_DIR keeps
# console.log (the full kernel console), output.log and dmesg.txt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
timeout=900
results=
quiet=0
while getopts "t:r:q" o; do
	case $o in
	t) timeout=$OPTARG ;;
	r) results=$OPTARG ;;
	q) quiet=1 ;;
	*) echo "usage: $0 [-t S] [-r DIR] [-q] -- COMMAND..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "vm-run: no command" >&2; exit 2; }

kdir=${KDIR:-$("$here/build-kernel.sh")}
kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "vm-run: no kernel at $kernel" >&2; exit 2; }

results=${results:-$root/.results/vm}
rm -rf "$results"
mkdir -p "$results/qmp"
results=$(cd "$results" && pwd)
printf '%q ' "$@" >"$results/guest-cmd"
echo "$root" >"$results/guest-root"
echo "$kdir" >"$results/guest-kdir"
: >"$results/output.log"

qemu_pid=
agent_pid=
tail_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
}
trap cleanup EXIT

qemu-system-x86_64 \
	-accel tcg,thread=${CHIMNEY_TCG_THREAD:-multi} -cpu ${CHIMNEY_CPU:-max} -smp 2 -m ${CHIMNEY_VM_MEM:-3G} \
	-display none -no-reboot -nodefaults \
	-kernel "$kernel" \
	-append "console=ttyS0 root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=$here/vm-init.sh panic=-1 oops=panic nokaslr bonding.max_bonds=0 dummy.numdummies=0 acpi=noirq" \
	-fsdev local,id=rootfs,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=rootfs,mount_tag=root \
	-fsdev local,id=resfs,path="$results",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=resfs,mount_tag=results \
	-netdev hubport,id=port0,hubid=0 -device e1000,id=nic0,netdev=port0,mac=52:54:00:c1:00:01 \
	-netdev hubport,id=port1,hubid=0 -device e1000,id=nic1,netdev=port1,mac=52:54:00:c1:00:02 \
	-chardev file,id=con,path="$results/console.log" -serial chardev:con \
	-qmp unix:"$results/qmp.sock",server=on,wait=off \
	>"$results/qemu.log" 2>&1 &
qemu_pid=$!

"$here/qmp-agent.sh" "$results" "$qemu_pid" &
agent_pid=$!

if [ $quiet -eq 0 ]; then
	tail -n +1 -f --pid="$qemu_pid" "$results/output.log" &
	tail_pid=$!
fi

status=0
deadline=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ $SECONDS -ge $deadline ]; then
		echo "vm-run: timeout after ${timeout}s, killing the guest" >&2
		kill "$qemu_pid" 2>/dev/null || true
		status=124
		break
	fi
	sleep 1
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
[ -n "$tail_pid" ] && { wait "$tail_pid" 2>/dev/null || true; tail_pid=; }

if [ $status -eq 0 ]; then
	if [ -f "$results/guest-rc" ]; then
		status=$(cat "$results/guest-rc")
	else
		echo "vm-run: the guest did not finish (see $results/console.log)" >&2
		status=125
	fi
fi

if ! "$here/splat-check.sh" "$results/console.log"; then
	echo "vm-run: kernel splat in $results/console.log" >&2
	status=126
fi
exit "$status"
