#!/usr/bin/env bash
# Which AEAD call is cheapest per packet here (see bench/aead/aead.c): wall time for 300,000
# seal+open pairs of a 1,392-byte packet, and instructions for 2,000 under callgrind.
#   bench/aead.sh     (installs libsodium-dev and valgrind from Debian if missing)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
for p in libsodium-dev libssl-dev valgrind; do
    dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/aead" "$HERE/aead/aead.c" -lcrypto -lsodium
for w in 0 1 2 3; do
    "$work/aead" "$w" 300000
    valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$work/aead" "$w" 2000 2>&1 | sed -n 's/.*Collected : \([0-9]*\)/  instructions per seal+open (callgrind, 2,000 pairs): \1/p' |
        awk '{ printf "  instructions per seal+open (callgrind): %d\n", $NF / 2000 }'
done
