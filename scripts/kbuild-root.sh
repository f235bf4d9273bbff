#!/bin/bash
# Print a path of this checkout that kbuild can use.  Kbuild cannot build an
# external module whose path has a space; such a checkout is built through a
# space-free symlink to it in the cache ($CHIMNEY_CACHE/links/), so that the
# objects still land in the checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
case $root in
*' '*) ;;
*) echo "$root"; exit 0 ;;
esac
cache=${CHIMNEY_CACHE:-$HOME/.cache/chimney}
case $cache in
*' '*) echo "kbuild-root: the checkout ($root) and the cache ($cache) both have a space in their path" >&2; exit 1 ;;
esac
link=$cache/links/$(printf '%s' "$root" | sha256sum | cut -c1-16)
mkdir -p "$cache/links"
ln -sfn "$root" "$link"
echo "$link"
