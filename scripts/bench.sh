#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boot the test VM and print chimney's benchmark table.
# Not a test: TCG timings mean nothing alone, only the ratios measured side
# by side in the same run do.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
exec "$here/vm-run.sh" -t 3000 -r "$root/.results/bench" -- bash "$root/scripts/guest-bench.sh"
