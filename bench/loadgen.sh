#!/bin/sh
# Builds bench/swift's lanyard-loadgen (release) and runs it against the release `lanyard switch`:
# N simulated ports on 127.0.0.1, handshakes/s, switch memory per port, frames/s relayed.
# Needs root (the switch's control socket lives in /run/lanyard): sudo bench/loadgen.sh
#
#   bench/loadgen.sh [--jobs J] [--build-lanyard] [lanyard-loadgen options...]
#
# --jobs J         parallel build jobs (default 1: the machine is shared)
# --build-lanyard  also `swift build -c release` the main package first
# Every other option goes to lanyard-loadgen (--ports N, --seconds T, --lanyard PATH, ...;
# `--help` lists them). LANYARD=path picks the switch binary as --lanyard does.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
jobs=1
build_lanyard=0
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs=$2; shift 2 ;;
        --build-lanyard) build_lanyard=1; shift ;;
        *) break ;;
    esac
done
if [ "$build_lanyard" = 1 ]; then
    (cd "$root" && swift build -c release -j "$jobs")
fi
"$here/swift/gen-sources.sh"
(cd "$here/swift" && swift build -c release -j "$jobs" --scratch-path .build --product lanyard-loadgen)
exec "$here/swift/.build/release/lanyard-loadgen" --lanyard "${LANYARD:-$root/.build/release/lanyard}" "$@"
