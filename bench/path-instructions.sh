#!/usr/bin/env bash
# Instructions per packet on the shared data path, in the real binary: `lanyard tunnel` on two
# network namespaces, both ends under valgrind's callgrind (counts that do not move with the
# machine's load), TCP through the tunnel. The tunnel is a `WireGuardDevice` with one peer: the
# same PeerHub, BatchedSocket, TunDevice and WireGuard transport as the drop-in (`lanyard
# wireguard`) and a port's member sessions, so this is their per-packet cost too.
#
#   sudo bench/path-instructions.sh [MEGABYTES]      (default 8; the second run moves twice that)
#
# Two runs (N and 2N MB) are counted; the difference divided by the difference of the datagrams
# sealed and opened is the marginal cost of a datagram: setup and the handshake drop out. Kernel work (system calls, the TUN and UDP stacks) is not counted: callgrind
# sees user space only. Addresses: 192.0.2.0/24 underlay, 198.51.100.0/24 overlay.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LANYARD=$(readlink -m "${LANYARD:-$REPO/.build/release/lanyard}")
MB=${1:-8}
[[ $MB =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [MEGABYTES]"; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "makes network namespaces: run as root"; exit 1; }
[ -x "$LANYARD" ] || { echo "no Lanyard binary at $LANYARD (scripts/build-release.sh, or LANYARD=path)"; exit 1; }
for tool in valgrind iperf3; do
    command -v $tool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool >/dev/null
done
P=lpi$$
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    ip netns del "$P-a" 2>/dev/null || true
    ip netns del "$P-b" 2>/dev/null || true
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
umask 077
# valgrind 3.19 cannot read the DWARF 5 that swiftc writes: count on a copy without debug
# information (function names come from the symbol table).
objcopy --strip-debug "$LANYARD" "$work/lanyard"
ip netns add "$P-a"; ip netns add "$P-b"
ip link add u0 netns "$P-a" type veth peer name u0 netns "$P-b"
ip -n "$P-a" addr add 192.0.2.2/24 dev u0; ip -n "$P-b" addr add 192.0.2.3/24 dev u0
for s in a b; do ip -n "$P-$s" link set u0 up; ip -n "$P-$s" link set lo up; done
for s in a b; do "$LANYARD" genkey >"$work/$s.key"; "$LANYARD" pubkey <"$work/$s.key" >"$work/$s.pub"; done
tunnel() { # side other address tag
    ip netns exec "$P-$1" valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1.$5" "$work/lanyard" tunnel \
        --private-key "$work/$1.key" --peer-key "$(cat "$work/$2.pub")" --endpoint "$3:51820" --listen 51820 \
        --interface ly0 --address "$4" --threads 1 --name "$P-$1" >"$work/$1.$5.log" 2>&1 &
    pids+=($!)
}
# Datagrams sealed + opened so far by side $1 (its status counters).
datagrams() {
    "$LANYARD" status --name "$P-$1" --json |
        python3 -c 'import json, sys; t = json.load(sys.stdin)["traffic"]; print(t["txPackets"] + t["rxPackets"])'
}
# One run: both ends started afresh under callgrind, N MB through the tunnel, both stopped (the
# profile is written at exit, when nothing is left on the stack).
for mb in "$MB" $((2 * MB)); do
    pids=()
    tunnel a b 192.0.2.3 198.51.100.2/24 "$mb"
    tunnel b a 192.0.2.2 198.51.100.3/24 "$mb"
    ok=0
    for _ in $(seq 1 120); do
        ip netns exec "$P-a" ping -c 1 -W 1 198.51.100.3 >/dev/null 2>&1 && { ok=1; break; }
        sleep 0.5
    done
    [ $ok -eq 1 ] || { echo "the tunnel did not come up under valgrind within 60 s"; tail -5 "$work/a.$mb.log"; exit 1; }
    ip netns exec "$P-b" timeout 300 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    server=$!
    sleep 1
    ip netns exec "$P-a" timeout 300 iperf3 -c 198.51.100.3 -p 5201 -n "${mb}M" >/dev/null
    wait $server
    for s in a b; do datagrams $s >"$work/packets.$s.$mb"; done
    for p in "${pids[@]}"; do kill -TERM "$p"; done
    for p in "${pids[@]}"; do wait "$p" || true; done
    pids=()
done
for s in a b; do
    for mb in "$MB" $((2 * MB)); do
        callgrind_annotate --inclusive=no --threshold=100 "$work/cg.$s.$mb" >"$work/annotate.$s.$mb"
    done
    caption="side $s ($([ $s = a ] && echo "sends the data: seals it, opens the acknowledgements" || echo "receives the data: opens it, seals the acknowledgements"))"
    python3 "$HERE/callgrind_split.py" "$work/annotate.$s.$MB" "$(cat "$work/packets.$s.$MB")" \
        "$work/annotate.$s.$((2 * MB))" "$(cat "$work/packets.$s.$((2 * MB))")" "$caption"
    echo
done
