#!/bin/bash
# Regenerate the netlink code from Documentation/netlink/specs/chimney.yaml
# with the kernel's own ynl-gen-c.py (`make netlink`):
#   include/uapi/linux/chimney.h, drivers/net/chimney/netlink-gen.[ch]
# The generator looks for its schema two levels above the spec and names the
# spec relative to the nearest directory holding a MAINTAINERS file, so the
# spec is staged in a temporary tree laid out like the kernel's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
kdir=${KDIR:-$("$here/build-kernel.sh")}
ksrc=$(readlink -f "$kdir/source")
gen=$ksrc/tools/net/ynl/ynl-gen-c.py

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/Documentation/netlink/specs"
touch "$tmp/MAINTAINERS"
cp "$ksrc/Documentation/netlink/genetlink-legacy.yaml" "$tmp/Documentation/netlink/"
cp "$root/Documentation/netlink/specs/chimney.yaml" "$tmp/Documentation/netlink/specs/"
spec=$tmp/Documentation/netlink/specs/chimney.yaml

python3 "$gen" --mode uapi --header --spec "$spec" -o "$tmp/uapi.h"
python3 "$gen" --mode kernel --header --spec "$spec" -o "$tmp/netlink-gen.h"
python3 "$gen" --mode kernel --source --spec "$spec" -o "$tmp/netlink-gen.c"

cp "$tmp/uapi.h" "$root/include/uapi/linux/chimney.h"
cp "$tmp/netlink-gen.h" "$root/drivers/net/chimney/netlink-gen.h"
cp "$tmp/netlink-gen.c" "$root/drivers/net/chimney/netlink-gen.c"
echo "netlink: regenerated from Documentation/netlink/specs/chimney.yaml"
