#!/bin/bash
# The end of `make check` and of the long runs: the failures, the table of
# seconds, then `N passed, N failed` (a VM run that failed or showed a
# splat counts as one more failure).
#
#   scripts/check-summary.sh RESULTS_DIR VM_STATUS [HOST_TIMES]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$1 vm=$2 times=${3:-}
"$here/ktap-summary.py" "$res" ${times:+"$times"} >"$res/summary.txt"
summary=$?
sed '$d' "$res/summary.txt"
line=$(tail -n 1 "$res/summary.txt")
if [ "$vm" -ne 0 ]; then
	case $vm in
	126) echo "check: kernel splat (see $res/console.log)" ;;
	*) echo "check: the VM run failed with status $vm (see $res/output.log, $res/console.log)" ;;
	esac
	passed=${line%% passed*}
	failed=${line#*passed, }
	failed=${failed%% failed*}
	line="$passed passed, $((failed + 1)) failed"
	summary=1
fi
echo "$line"
exit $summary
