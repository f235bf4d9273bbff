#!/bin/bash
# The runs outside `make check`'s budget, each one VM boot that ends like
# `make check` (the time table, then `N passed, N failed`):
#
#   scripts/long-run.sh handoff  KUnit and the handoff selftest (~8 min)
#   scripts/long-run.sh scale    100,000 offloaded connections dumped and
#                                uploaded (8 GiB guest, ~50 min)
#   scripts/long-run.sh soak     KUnit, the handoff selftest with 10,000
#                                offload/terminate cycles per transfer, and
#                                the triggers selftest whole (CHIMNEY_SOAK)
#
# Documentation/testing.rst gives the durations measured on the 2-core
# development machine.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
what=${1:-}
res=$root/.results/$what
case $what in
handoff)
	timeout=1800
	env=(CHIMNEY_TESTS=handoff CHIMNEY_HANDOFF_CYCLES=500 CHIMNEY_HANDOFF_ENGINE_CYCLES=1000) ;;
scale)
	# 200,000 sockets and the debug kernel's per-object tracking (kmemleak,
	# debug objects, KASAN redzones) need more than the default 3G.
	export CHIMNEY_VM_MEM=8G
	timeout=7200
	env=(CHIMNEY_TESTS=conn_dump_100k CHIMNEY_DUMP_CONNS=100000 CHIMNEY_TEST_TIMEOUT=7000) ;;
soak)
	timeout=7200
	env=("CHIMNEY_TESTS=handoff triggers" CHIMNEY_HANDOFF_CYCLES=10000 CHIMNEY_SOAK=1
	     CHIMNEY_TEST_TIMEOUT=7000) ;;
*)
	echo "usage: $0 handoff|scale|soak" >&2
	exit 2 ;;
esac
mkdir -p "$root/.results"
times=$root/.results/$what-host.times
t0=$SECONDS
"$here/vm-run.sh" -t "$timeout" -r "$res" -- env "${env[@]}" bash scripts/guest-check.sh
vm=$?
printf 'host\t%s\t%s\n' "VM: $what" $((SECONDS - t0)) >"$times"
exec "$here/check-summary.sh" "$res" "$vm" "$times"
