#!/bin/sh
# Copies the main package's library sources into bench/swift/.gen/ (git-ignored).
# SwiftPM refuses targets whose path is outside the package root, and the main package exports
# no library products, so the benchmark package compiles these copies. Run before every build
# (bench/loadgen.sh does); the copies are never committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$here/.gen"
for target in CLanyardCrypto LanyardWireGuard LanyardCore; do
    rm -rf "$here/.gen/$target.tmp"
    cp -R "$root/Sources/$target" "$here/.gen/$target.tmp"
    # Replace only when something changed, so incremental builds stay incremental.
    if [ -d "$here/.gen/$target" ] && diff -r -q "$here/.gen/$target" "$here/.gen/$target.tmp" >/dev/null 2>&1; then
        rm -rf "$here/.gen/$target.tmp"
    else
        rm -rf "$here/.gen/$target"
        mv "$here/.gen/$target.tmp" "$here/.gen/$target"
    fi
done
