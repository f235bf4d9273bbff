#!/bin/bash
# Build a chimney test kernel from Debian's linux-source-6.12 package:
# allnoconfig + scripts/kernel.config + scripts/kernel-FLAVOUR.config,
# cached outside the tree under $CHIMNEY_CACHE (default ~/.cache/chimney),
# keyed by flavour, source package version and the hash of the fragments,
# so an unchanged kernel is never rebuilt.  Prints the build directory
# (usable as KDIR) on stdout.
#
#   scripts/build-kernel.sh [debug|release]
#
# debug (the default): lockdep, KASAN, kmemleak, UBSAN, debug objects,
# failslab; `make check` and `make demo` run on it.  release: none of them;
# `make bench` runs on it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CHIMNEY_CACHE:-$HOME/.cache/chimney}
flavour=${1:-debug}
case $flavour in
debug|release) ;;
*) echo "build-kernel: unknown flavour '$flavour' (debug or release)" >&2; exit 2 ;;
esac
frag=$cache/fragment-$flavour.config

ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (run scripts/install-deps.sh)" >&2; exit 1; }
src=$cache/src-$ver/linux-source-6.12

mkdir -p "$cache"
# One lock per flavour: a module build for the debug kernel does not wait
# for a release kernel being built (the source tree has a lock of its own).
exec 9>"$cache/.lock-$flavour"
flock 9

cat "$here/kernel.config" "$here/kernel-$flavour.config" >"$frag.new"
mv "$frag.new" "$frag"
hash=$(sha256sum "$frag" | cut -c1-12)
out=$cache/kernel-$flavour-$ver-$hash

if [ -f "$out/.chimney-built" ]; then
	echo "$out"
	exit 0
fi

log() { echo "build-kernel: $*" >&2; }

exec 8>"$cache/.lock-src"
flock 8
if [ ! -f "$src/.chimney-extracted" ]; then
	log "extracting linux-source-6.12 $ver"
	rm -rf "$cache/src-$ver"
	mkdir -p "$cache/src-$ver"
	tar -C "$cache/src-$ver" -xf "$tarball"
	touch "$src/.chimney-extracted"
fi
flock -u 8

rm -rf "$out"
# Start from the newest build of the same source: make then rebuilds only
# what the changed options touch.
prev=$(ls -1td "$cache/kernel-$flavour-$ver-"*/.chimney-built 2>/dev/null | head -n 1 || true)
if [ -n "$prev" ]; then
	log "seeding from $(dirname "$prev")"
	cp -a "$(dirname "$prev")" "$out"
	rm -f "$out/.chimney-built" "$out/build.log"
else
	mkdir -p "$out"
fi
log "configuring $out"
make -C "$src" O="$out" ARCH=x86_64 allnoconfig >/dev/null
KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" \
	-m -O "$out" "$out/.config" "$frag" >/dev/null
make -C "$src" O="$out" ARCH=x86_64 olddefconfig >/dev/null

# Every option of the fragment must have survived dependency resolution.
bad=0
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	opt=${line%%=*}
	want=${line#*=}
	if [ "$want" = n ]; then
		grep -qx "$opt=y" "$out/.config" && { log "$opt: wanted n, got y"; bad=1; }
		continue
	fi
	grep -qxF "$line" "$out/.config" ||
		{ log "$opt: wanted $want, got '$(grep "^$opt=" "$out/.config" || echo unset)'"; bad=1; }
done <"$frag"
[ $bad -eq 0 ] || { log "config fragment not satisfied"; exit 1; }

log "building (about 5-10 minutes on 2 cores)"
make -C "$src" O="$out" ARCH=x86_64 -j"$(nproc)" bzImage modules_prepare \
	>"$out/build.log" 2>&1 || { tail -40 "$out/build.log" >&2; exit 1; }
make -C "$src" O="$out" ARCH=x86_64 -j"$(nproc)" modules >>"$out/build.log" 2>&1 ||
	{ tail -40 "$out/build.log" >&2; exit 1; }
touch "$out/.chimney-built"
# Keep this build and the one before it of each flavour; each is a few GiB.
ls -1td "$cache/kernel-$flavour-"* | tail -n +3 | xargs -r rm -rf
log "done: $out/arch/x86/boot/bzImage"
echo "$out"
