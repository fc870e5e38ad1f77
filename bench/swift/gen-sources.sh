#!/bin/sh
# Copies the main package's library sources into bench/swift/.gen/ (git-ignored), or into the
# folder given as the first argument (fuzz/ uses it for fuzz/.gen). CLanyardLinux (batched UDP
# calls with IPV6_PKTINFO, signalfd) is for the load generator.
# SwiftPM refuses targets whose path is outside the package root, and the main package exports
# no library products, so the benchmark package compiles these copies. Run before every build
# (bench/loadgen.sh does); the copies are never committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${1:-$here/.gen}
mkdir -p "$dest"
for target in CLanyardCrypto CLanyardLinux LanyardWireGuard LanyardCore; do
    rm -rf "$dest/$target.tmp"
    cp -R "$root/Sources/$target" "$dest/$target.tmp"
    # Replace only when something changed, so incremental builds stay incremental.
    if [ -d "$dest/$target" ] && diff -r -q "$dest/$target" "$dest/$target.tmp" >/dev/null 2>&1; then
        rm -rf "$dest/$target.tmp"
    else
        rm -rf "$dest/$target"
        mv "$dest/$target.tmp" "$dest/$target"
    fi
done
