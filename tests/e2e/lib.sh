#!/usr/bin/env bash
# Shared helpers for Lanyard's end-to-end tests: namespaces named uniquely per run, a bridge as
# the underlay, bounded waits, and cleanup by name. Documentation addresses only.
set -u

LANYARD=${LANYARD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/debug/lanyard}
RUN_ID=${RUN_ID:-$$}
PFX="ly${RUN_ID}"
WORK=$(mktemp -d "/tmp/lanyard-e2e-${RUN_ID}-XXXX")
PASSED=0
FAILED=0
FAILED_NAMES=()
NAMESPACES=()

ns() { echo "${PFX}-$1"; }
inns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

log() { printf '  %s\n' "$*" >&2; }

# check NAME CMD...: runs CMD, records a pass or a failure.
check() {
    local name=$1; shift
    if "$@" >"$WORK/check.out" 2>&1; then
        PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
        grep -E '^(sent|iperf|ICMP|pattern|replayed|unknown|frames|a -> b|sha256|wg |source|spoofed|client-to-client|server loss|reconnected|client without|gw1)' "$WORK/check.out" | sed 's/^/      . /'
    else
        FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name"); printf 'FAIL  %s\n' "$name"
        sed 's/^/      | /' "$WORK/check.out" | tail -n 25
    fi
}

# wait_until SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
wait_until() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit))
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@"
}

# underlay NAME...: a bridge namespace "net" and one namespace per name with veth 'u0' on it.
# Host i gets 192.0.2.(i+1)/24 and 2001:db8:1::(i+1)/64 in the order given.
make_underlay() {
    ip netns add "$(ns net)"; NAMESPACES+=(net)
    inns net ip link add br0 type bridge
    inns net ip link set br0 up
    inns net ip link set lo up
    local i=1
    for name in "$@"; do
        ip netns add "$(ns "$name")"; NAMESPACES+=("$name")
        ip link add "${PFX}h$i" type veth peer name "${PFX}p$i"
        ip link set "${PFX}h$i" netns "$(ns "$name")"
        ip link set "${PFX}p$i" netns "$(ns net)"
        inns net ip link set "${PFX}p$i" master br0 up
        inns "$name" ip link set "${PFX}h$i" name u0
        inns "$name" ip link set lo up
        inns "$name" ip addr add "192.0.2.$i/24" dev u0
        inns "$name" ip addr add "2001:db8:1::$i/64" dev u0 nodad
        inns "$name" ip link set u0 up
        i=$((i + 1))
    done
}

# start NAME NS LOGFILE CMD...: starts CMD in namespace NS in the background, remembers its pid.
declare -A PIDS
start() {
    local name=$1 n=$2; shift 2
    ip netns exec "$(ns "$n")" "$@" >"$WORK/$name.log" 2>&1 &
    PIDS[$name]=$!
}

stop() {
    local name=$1 pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "PIDS[$name]"
}

cleanup() {
    for name in "${!PIDS[@]}"; do stop "$name"; done
    for n in "${NAMESPACES[@]}"; do
        ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$(ns "$n")" 2>/dev/null
    done
    rm -rf "$WORK"
}

# keypair NAME: writes $WORK/NAME.key (0600) and $WORK/NAME.pub.
keypair() {
    (umask 077; "$LANYARD" genkey >"$WORK/$1.key")
    "$LANYARD" pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}

summary() {
    echo
    if [ "$FAILED" -gt 0 ]; then printf 'failed: %s\n' "${FAILED_NAMES[@]}"; fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
