#!/bin/bash
# `make check`: build everything, compile against 6.1, checkpatch, then the
# KUnit suites and selftests in the VM.  Ends with `N passed, N failed`.
#   CHIMNEY_TESTS="harness ..."  run only these selftests
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
res=$root/.results/check

step() { # NAME CMD...: a host-side step; failing ends the run
	local name=$1
	shift
	echo "== $name"
	if ! "$@"; then
		echo "check: $name failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

step "modules and tools" make -s -C "$root" all
step "6.1 compile" make -s -C "$root" compat-6.1
step "checkpatch --strict" make -s -C "$root" checkpatch

echo "== VM: KUnit and selftests"
"$here/vm-run.sh" -t 3600 -r "$res" -- bash "$root/scripts/guest-check.sh"
vm=$?

"$here/ktap-summary.py" "$res" >"$res/summary.txt"
summary=$?
sed '$d' "$res/summary.txt"
line=$(tail -n 1 "$res/summary.txt")
if [ $vm -ne 0 ]; then
	case $vm in
	126) echo "check: kernel splat (see $res/console.log)" ;;
	*) echo "check: the VM run failed with status $vm (see $res/console.log)" ;;
	esac
	passed=${line%% passed*}
	failed=${line#*passed, }
	failed=${failed%% failed*}
	line="$passed passed, $((failed + 1)) failed"
	summary=1
fi
echo "$line"
exit $summary
