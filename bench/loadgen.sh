#!/bin/sh
# Builds bench/swift's lanyard-loadgen (release) and runs it against the release `lanyard switch`
# in a network namespace of its own: N simulated ports, handshakes/s, switch memory per port,
# frames/s relayed, optionally with churn. Needs root (ip netns; the switch's control socket lives
# in /run/lanyard): sudo bench/loadgen.sh
#
#   bench/loadgen.sh [--jobs J] [--build-lanyard] [lanyard-loadgen options...]
#
# --jobs J         parallel build jobs (default 1: the machine is shared)
# --build-lanyard  also `swift build -c release` the main package first
# Every other option goes to lanyard-loadgen (--ports N, --seconds T, --churn PERCENT,
# --lanyard PATH, ...; `--help` lists them). LANYARD=path picks the switch binary as --lanyard does.
#
# The namespace lanyard-lg-<pid> holds only `lo`, with documentation addresses: the switch at
# 2001:db8:5::1, and 2001:db8:100::/40 routed to lo as AnyIP, so that every simulated port sends
# from an address (a /64) of its own. It is deleted on every exit, Ctrl-C included.
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
help=0
for arg in "$@"; do
    case "$arg" in -h|--help) help=1 ;; esac
done
if [ "$help" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "bench/loadgen.sh: needs root (network namespace, /run/lanyard): sudo $0 $*" >&2
    exit 1
fi
if [ "$build_lanyard" = 1 ]; then
    (cd "$root" && swift build -c release -j "$jobs")
fi
"$here/swift/gen-sources.sh"
(cd "$here/swift" && swift build -c release -j "$jobs" --scratch-path .build --product lanyard-loadgen)
if [ "$help" = 1 ]; then exec "$here/swift/.build/release/lanyard-loadgen" --help; fi

ns="lanyard-lg-$$"
# The generator's files (keys, ports file) go here ($TMPDIR), removed on every exit even if the
# generator was killed before it could delete them.
work=""
child=""
gen=""
cleanup() {
    # The generator stops its switch (and real port) itself; wait for it (bounded: 5 s each).
    if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
    # Whatever it started and did not stop (it was killed): SIGTERM, then SIGKILL after 5 s.
    # These are only processes in this run's namespace, each by its id.
    left=$(ip netns pids "$ns" 2>/dev/null || true)
    if [ -n "$left" ]; then
        kill -TERM $left 2>/dev/null || true
        i=0
        while [ $i -lt 50 ] && [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; do sleep 0.1; i=$((i + 1)); done
        left=$(ip netns pids "$ns" 2>/dev/null || true)
        # Killed daemons leave their control sockets (named after the generator's pid) behind.
        if [ -n "$left" ]; then kill -KILL $left 2>/dev/null || true; rm -f "/run/lanyard/lg$gen.sock" "/run/lanyard/lg$gen-port.sock"; fi
    fi
    ip netns delete "$ns" 2>/dev/null || true
    if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
work=$(mktemp -d /tmp/lanyard-lg-XXXXXX)
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" -6 address add 2001:db8:5::1/128 dev lo nodad
ip -n "$ns" -6 route add local 2001:db8:100::/40 dev lo

# In the background so that a signal reaches the traps at once (a foreground child would delay
# them until it exits); the generator catches INT/TERM/HUP itself and cleans up.
TMPDIR="$work" ip netns exec "$ns" "$here/swift/.build/release/lanyard-loadgen" --lanyard "${LANYARD:-$root/.build/release/lanyard}" "$@" &
child=$!
gen=$child   # `ip netns exec` execs the generator: same pid
status=0
wait "$child" || status=$?
child=""
exit "$status"
