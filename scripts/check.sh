#!/bin/bash
# `make check`: build everything, compile against 6.1, checkpatch, boot the
# VM from a copy of the tree under /tmp, then the KUnit suites and selftests
# in the VM.  Prints a table of the seconds each step took, then ends with
# `N passed, N failed`.
#   CHIMNEY_TESTS="harness ..."  run only these selftests
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
res=$root/.results/check
times=$root/.results/check-host.times
mkdir -p "$root/.results"
: >"$times"

step() { # NAME CMD...: a host-side step, timed; failing ends the run
	local name=$1 t0=$SECONDS rc=0
	shift
	echo "== $name"
	"$@" || rc=$?
	printf 'host\t%s\t%s\n' "$name" $((SECONDS - t0)) >>"$times"
	if [ $rc -ne 0 ]; then
		echo "check: $name failed"
		"$here/ktap-summary.py" --times-only "$res" "$times"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

step "modules and tools" make -s -C "$root" all
step "6.1 compile" make -s -C "$root" compat-6.1
step "checkpatch --strict" make -s -C "$root" checkpatch
step "layers: no call upwards" python3 "$here/layers.py"
step "VM boot from a copy under /tmp" "$here/path-check.sh"

echo "== VM: KUnit and selftests"
t0=$SECONDS
"$here/vm-run.sh" -t 3600 -r "$res" -- bash scripts/guest-check.sh
vm=$?
printf 'host\t%s\t%s\n' "VM: boot, KUnit, selftests, kmemleak" $((SECONDS - t0)) >>"$times"
exec "$here/check-summary.sh" "$res" "$vm" "$times"
