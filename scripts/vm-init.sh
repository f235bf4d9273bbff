#!/bin/bash
# PID 1 of the test VM (see vm-run.sh): mount the basics and the checkout,
# run the command from /mnt/guest-cmd in the checkout with its output in
# /mnt/output.log, scan for leaks, save the kernel log and reboot (QEMU runs
# with -no-reboot, so it exits).
#
# The checkout is its own 9p share, mounted at /run/chimney whatever its path
# on the host (under /tmp, /var/tmp, with spaces, through a symlink): the
# guest's scratch tmpfs over /tmp, /var/tmp and /run would hide it otherwise.
# PID 1 must never exit (the kernel panics): when the command cannot be run,
# the reason goes to /mnt/guest-error and to the console as one
# "vm-init: cannot run the command: ..." line, and the guest reboots.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb LANG=C.UTF-8 CHIMNEY_VM=1
GUEST_ROOT=/run/chimney
results_mounted=0

finish() { # RC: save the logs and reboot
	dmesg >/mnt/dmesg.txt 2>/dev/null
	[ $results_mounted -eq 1 ] && echo "$1" >/mnt/guest-rc
	sync
	[ $results_mounted -eq 1 ] && umount /mnt
	echo b >/proc/sysrq-trigger
	sleep 60
}

cannot_run() { # REASON
	echo "vm-init: cannot run the command: $*" >/dev/console
	echo "vm-init: cannot run the command: $*" >/dev/kmsg
	[ $results_mounted -eq 1 ] && echo "$*" >/mnt/guest-error
	finish 125
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/tmp
mount -t debugfs debugfs /sys/kernel/debug
err=$(mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 results /mnt 2>&1) ||
	cannot_run "the results share did not mount: $err"
results_mounted=1
mkdir -p "$GUEST_ROOT"
err=$(mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=262144,ro chimney "$GUEST_ROOT" 2>&1) ||
	cannot_run "the checkout share did not mount at $GUEST_ROOT: $err"
[ -r /mnt/guest-cmd ] || cannot_run "no /mnt/guest-cmd in the results share"
[ -f "$GUEST_ROOT/scripts/vm-init.sh" ] ||
	cannot_run "$GUEST_ROOT is not a chimney checkout (no scripts/vm-init.sh)"
hostname chimney-vm
ip link set lo up

export CHIMNEY_ROOT=$GUEST_ROOT CHIMNEY_RESULTS=/mnt
CHIMNEY_KDIR=$(cat /mnt/guest-kdir)
export CHIMNEY_KDIR
[ -d "$CHIMNEY_KDIR" ] || cannot_run "the kernel build $CHIMNEY_KDIR is not visible in the guest"
cd "$GUEST_ROOT" || cannot_run "cd $GUEST_ROOT failed"
echo "vm-init: running $(cat /mnt/guest-cmd)" >/dev/kmsg
bash -c "$(cat /mnt/guest-cmd)" </dev/null >>/mnt/output.log 2>&1
rc=$?
echo "vm-init: command exited with $rc" >/dev/kmsg

# kmemleak only reports objects older than 5 s, found by two scans.
if [ -w /sys/kernel/debug/kmemleak ]; then
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	# One record per line: /dev/kmsg refuses long writes.
	cat /sys/kernel/debug/kmemleak >/mnt/kmemleak.txt
	head -400 /mnt/kmemleak.txt | while IFS= read -r line; do
		echo "kmemleak: $line" >/dev/kmsg
	done
	echo "vm-init: kmemleak scan done" >/dev/kmsg
fi
finish "$rc"
