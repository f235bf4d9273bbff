#!/bin/bash
# Runs inside the test VM for `make demo`.
set -eu
root=$CHIMNEY_ROOT
ko=$root/drivers/net/chimney/chimney.ko

show() { echo; echo "\$ $*"; "$@"; }

echo "chimney demo on $(uname -r), $(nproc) CPUs"
show modinfo -F description "$ko"
show modinfo -F version "$ko"
show insmod "$ko"
show sh -c "dmesg | grep 'chimney:'"
show cat /sys/module/chimney/version
show lsmod
show rmmod chimney
show sh -c "dmesg | grep 'chimney:' | tail -n 1"
