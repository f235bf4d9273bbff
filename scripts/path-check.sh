#!/bin/bash
# A host step of `make check`: the VM works from any checkout path.  A copy
# of this tree (its tracked and new files) goes to a folder with a space in
# its name under /tmp, which the guest's own /tmp hides; vm-run.sh is run
# through a symlink to it.  The guest must run its command in the checkout
# (the files' hashes match the host's).  A second boot with a kernel build
# the guest cannot see must end with one line saying so, not a splat.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kdir=${KDIR:-$("$root/scripts/build-kernel.sh" debug)}
base=$(mktemp -d /tmp/chimney-path.XXXXXX)
trap 'rm -rf "$base"' EXIT
tree="$base/check out"
mkdir -p "$tree"
(cd "$root" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$tree")
ln -s "$tree" "$base/link"
files="Makefile scripts/vm-init.sh selftests/lib.sh"

# shellcheck disable=SC2086
want=$(cd "$tree" && sha256sum $files)
# shellcheck disable=SC2016
if ! KDIR=$kdir "$base/link/scripts/vm-run.sh" -q -t 300 -r "$base/results" -- \
	bash -c 'echo "guest-root $PWD"; sha256sum '"$files"; then
	echo "path-check: the guest failed from $base/link"
	cat "$base/results/output.log" "$base/results/console.log" 2>/dev/null | tail -20
	exit 1
fi
got=$(grep -v '^guest-root ' "$base/results/output.log")
if [ "$got" != "$want" ]; then
	printf 'path-check: the guest saw other files\nwant:\n%s\ngot:\n%s\n' "$want" "$got"
	exit 1
fi
echo "path-check: the guest ran in $(grep '^guest-root ' "$base/results/output.log" | cut -d' ' -f2-) from \"$tree\" through a symlink"

# A kernel build under /tmp: the guest cannot see it and must say so.
mkdir -p "$base/kdir/arch/x86/boot"
ln -s "$kdir/arch/x86/boot/bzImage" "$base/kdir/arch/x86/boot/bzImage"
rc=0
KDIR=$base/kdir "$tree/scripts/vm-run.sh" -q -t 300 -r "$base/results2" -- true \
	2>"$base/err" || rc=$?
if [ $rc -ne 125 ] || ! grep -q '^vm-run: the guest could not run its command: the kernel build .* is not visible in the guest$' "$base/err" ||
	grep -qi splat "$base/err"; then
	echo "path-check: a guest that cannot run its command ended with status $rc and said:"
	cat "$base/err"
	exit 1
fi
echo "path-check: $(cat "$base/err")"
