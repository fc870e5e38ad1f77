#!/usr/bin/env bash
# Installs what Lanyard's demo, tests and benchmarks need from Debian's packages, then builds.
# Usage: scripts/setup.sh [debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."
need=(iproute2 iperf3 iputils-ping tcpdump nftables conntrack wireguard-go wireguard-tools libssl-dev procps python3 kmod
      curl systemd-container debootstrap dpkg-dev binutils libsqlite3-dev postgresql)
# Installed without their Recommends: systemd-container's (libnss-mymachines) would edit the host's
# nsswitch.conf. tests/e2e/systemd.sh boots a systemd in containers made with these two.
bare=" systemd-container debootstrap "
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    plain=(); norec=()
    for p in "${missing[@]}"; do if [[ $bare == *" $p "* ]]; then norec+=("$p"); else plain+=("$p"); fi; done
    [ ${#plain[@]} -eq 0 ] || apt-get install -y -qq "${plain[@]}" >/dev/null
    [ ${#norec[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${norec[@]}" >/dev/null
fi
[ -e /dev/net/tun ] || modprobe tun 2>/dev/null || true
# The management API is fuzzed from its OpenAPI document (tests/e2e/api.sh).
python3 -c "import schemathesis" 2>/dev/null || { echo "== installing schemathesis (PyPI)"; pip install -q --root-user-action=ignore schemathesis >/dev/null; }
config=${1:-debug}
echo "== building ($config)"
swift build -c "$config" -j "$(nproc)" 2>&1 | grep -E "error|warning: |Compiling lanyard|Build complete" || true
test -x ".build/$config/lanyard" || { echo "build failed"; exit 1; }
