#!/bin/bash
# checkpatch.pl --strict (from the test kernel's source tree) on the given
# files, then kernel-doc -Wall on the kernel ones; generated files (with the
# generator's banner) are skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=${KDIR:-$("$here/build-kernel.sh")}
ksrc=$(readlink -f "$kdir/source")
cp=$ksrc/scripts/checkpatch.pl
files=()
for f in "$@"; do
	grep -q "Do not edit directly, auto-generated from" "$f" && continue
	files+=("$f")
done
[ ${#files[@]} -gt 0 ] || exit 0
cd "$here/.."
rc=0
out=$("$cp" --strict --no-tree --terse --show-types --quiet -f "${files[@]}" 2>&1) || rc=$?
grep -v "^total: 0 errors, 0 warnings, 0 checks" <<<"$out" || true
[ $rc -eq 0 ] || exit 1
echo "checkpatch: ${#files[@]} files clean"

# Kernel-doc comments of the kernel code must be complete and well formed.
kfiles=()
for f in "${files[@]}"; do
	case $f in tools/*) ;; *) kfiles+=("$f") ;; esac
done
out=$("$ksrc/scripts/kernel-doc" -none -Wall "${kfiles[@]}" 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "kernel-doc: ${#kfiles[@]} files clean"
