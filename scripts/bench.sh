#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boot the release test kernel (no debug checkers) and print
# chimney's benchmark table, written as JSON to .results/bench/bench.json.
# Not a test: TCG timings mean nothing alone, only the ratios measured side
# by side in the same run do.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/vm-run.sh" -k release -t 3600 -r "$root/.results/bench" -- env \
	CHIMNEY_KO="$root/.build/release/drivers/net/chimney/chimney.ko" \
	CHIMNEY_BENCH_ONLY="${CHIMNEY_BENCH_ONLY:-}" \
	bash scripts/guest-bench.sh
echo "bench: figures in $root/.results/bench/bench.json, logs in $root/.results/bench/bench/"
