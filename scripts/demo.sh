#!/bin/bash
# `make demo`: boot the test VM and show what chimney does today.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
echo "demo: booting the test VM (TCG, about 10 s)..."
exec "$here/vm-run.sh" -t 600 -r "$root/.results/demo" -- bash scripts/guest-demo.sh
