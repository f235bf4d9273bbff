#!/bin/bash
# PID 1 of the test VM (see vm-run.sh): mount the basics, run the command
# from /mnt/guest-cmd with its output in /mnt/output.log, scan for leaks,
# save the kernel log and reboot (QEMU runs with -no-reboot, so it exits).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb LANG=C.UTF-8 CHIMNEY_VM=1

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
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 results /mnt
hostname chimney-vm
ip link set lo up

root=$(cat /mnt/guest-root)
export CHIMNEY_ROOT=$root CHIMNEY_RESULTS=/mnt
export CHIMNEY_KDIR=$(cat /mnt/guest-kdir)
cd "$root" || exit 1
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

dmesg >/mnt/dmesg.txt
echo "$rc" >/mnt/guest-rc
sync
umount /mnt
echo b >/proc/sysrq-trigger
