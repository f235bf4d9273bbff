#!/bin/bash
# Boot a chimney test kernel under QEMU (TCG) and run one command in it.
#
#   scripts/vm-run.sh [-t TIMEOUT_S] [-r RESULTS_DIR] [-k FLAVOUR] [-q] -- COMMAND...
#
# Guest: the host's / as a read-only virtio-9p root, this checkout as a
# read-only share at /run/chimney (the command runs there; a host path of the
# checkout in COMMAND is rewritten to it), RESULTS_DIR as a writable share at
# /mnt, two e1000 NICs (eth0, eth1; QEMU devices nic0, nic1) on one QEMU hub,
# i.e. joined by a wire.  A QMP socket lets the guest ask the host for
# set_link (a cable pull): see vm_qmp in selftests/lib.sh.  FLAVOUR is the
# kernel's (debug, the default, or release: scripts/build-kernel.sh); KDIR
# overrides it.  CHIMNEY_VM_MEM sets the guest's memory (default 3G).
#
# Exit status: the command's, or 124 on timeout, or 125 when the guest did
# not finish or could not run the command (the reason in one line), or 126
# when the kernel log shows a splat.  RESULTS_DIR keeps console.log (the
# full kernel console), output.log and dmesg.txt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
logical_root=$(cd "$(dirname "$0")/.." && pwd)
guest_root=/run/chimney
timeout=900
results=
quiet=0
flavour=debug
while getopts "t:r:k:q" o; do
	case $o in
	t) timeout=$OPTARG ;;
	r) results=$OPTARG ;;
	k) flavour=$OPTARG ;;
	q) quiet=1 ;;
	*) echo "usage: $0 [-t S] [-r DIR] [-k debug|release] [-q] -- COMMAND..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "vm-run: no command" >&2; exit 2; }
case $root in
*'"'*) echo "vm-run: the checkout's path has a double quote, which the kernel command line cannot carry: $root" >&2; exit 2 ;;
esac

kdir=${KDIR:-$("$here/build-kernel.sh" "$flavour")}
kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "vm-run: no kernel at $kernel" >&2; exit 2; }

results=${results:-$root/.results/vm}
rm -rf "$results"
mkdir -p "$results/qmp"
results=$(cd "$results" && pwd -P)
# The command runs in the guest's copy of the checkout: host paths of the
# checkout (physical or through a symlink) become the guest's.
args=()
for a in "$@"; do
	a=${a//"$logical_root"/$guest_root}
	args+=("${a//"$root"/$guest_root}")
done
printf '%q ' "${args[@]}" >"$results/guest-cmd"
echo "$kdir" >"$results/guest-kdir"
: >"$results/output.log"
# QEMU option values double their commas.
qpath() { printf '%s' "${1//,/,,}"; }

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
	-append "console=ttyS0 root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144 ro init=\"$here/vm-init.sh\" panic=-1 oops=panic nokaslr kasan_multi_shot bonding.max_bonds=0 dummy.numdummies=0 acpi=noirq" \
	-fsdev local,id=rootfs,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=rootfs,mount_tag=root \
	-fsdev local,id=srcfs,path="$(qpath "$root")",security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=srcfs,mount_tag=chimney \
	-fsdev local,id=resfs,path="$(qpath "$results")",security_model=none,multidevs=remap \
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

# The guest could not run the command at all: one line, and no splat check
# (a PID 1 that cannot start panics by design).
why=
if [ -f "$results/guest-error" ]; then
	why=$(head -n 1 "$results/guest-error")
elif grep -q 'vm-init: cannot run the command: ' "$results/console.log" 2>/dev/null; then
	why=$(grep -o 'vm-init: cannot run the command: .*' "$results/console.log" | head -n 1)
	why=${why#vm-init: cannot run the command: }
elif grep -qE 'Requested init .* failed|No working init found' "$results/console.log" 2>/dev/null; then
	why="the kernel could not start $here/vm-init.sh as PID 1: $(grep -oE 'Requested init .* failed.*|No working init found.*' "$results/console.log" | head -n 1)"
fi
if [ -n "$why" ]; then
	echo "vm-run: the guest could not run its command: $why" >&2
	exit 125
fi

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
