#!/bin/bash
# Install the Debian 12 packages chimney needs to build and test.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PKGS=(
	build-essential bc bison flex cpio kmod libelf-dev libssl-dev dwarves
	python3 python3-yaml python3-jsonschema
	linux-source-6.12 linux-headers-amd64
	qemu-system-x86 socat criu nftables
	libmnl-dev pkg-config
	iproute2 ethtool iputils-ping procps coreutils util-linux jq
	redis-server redis-tools iperf3 curl nginx-light
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The selftests start the servers they need (redis-server) in the VM:
# none is started on this machine by the install.
rcd=/usr/sbin/policy-rc.d
own_rcd=
if [ ! -e $rcd ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee $rcd >/dev/null
	$SUDO chmod +x $rcd
	own_rcd=1
	trap '$SUDO rm -f $rcd' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
