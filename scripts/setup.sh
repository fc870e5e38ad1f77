#!/usr/bin/env bash
# Installs what Lanyard's demo, tests and benchmarks need from Debian's packages, then builds.
# Usage: scripts/setup.sh [debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."
need=(iproute2 iperf3 iputils-ping tcpdump nftables wireguard-go wireguard-tools libssl-dev procps python3 kmod)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -e /dev/net/tun ] || modprobe tun 2>/dev/null || true
config=${1:-debug}
echo "== building ($config)"
swift build -c "$config" -j "$(nproc)" 2>&1 | grep -E "error|warning: |Compiling lanyard|Build complete" || true
test -x ".build/$config/lanyard" || { echo "build failed"; exit 1; }
