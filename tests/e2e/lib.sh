#!/usr/bin/env bash
# Shared helpers for Lanyard's end-to-end tests: namespaces named uniquely per run, a bridge as
# the underlay, bounded waits, and cleanup by name. Documentation addresses only.
set -u
# Member files may hold preshared keys: lanyard refuses them when others can read them.
umask 077

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
        grep -E '^(sent|iperf|ICMP|pattern|replayed|unknown|frames|a -> b|sha256|wg |source|spoofed|client-to-client|server loss|reconnected|client without|gw1|path|relay|forged|member|switch |switch:|port a:|switch status|schemathesis|DELETE|token:|invite uses|lab was|version|no token|sockets|members|measured)' "$WORK/check.out" | sed 's/^/      . /'
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
# Host i (from 1, in the order given) gets $UNDERLAY_NET.i/24 (192.0.2 unless set) and
# 2001:db8:1::i/64.
make_underlay() {
    local net=${UNDERLAY_NET:-192.0.2}
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
        inns "$name" ip addr add "$net.$i/24" dev u0
        inns "$name" ip addr add "2001:db8:1::$i/64" dev u0 nodad
        inns "$name" ip link set u0 up
        i=$((i + 1))
    done
}

# make_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces (either made, and
# added to NAMESPACES for cleanup, if it does not exist yet): IF1 with ADDR1 (CIDR) in NS1, IF2
# with ADDR2 in NS2, both up. For topologies beyond the one bridge, e.g. a LAN behind a NAT router.
LINKS=0
make_link() {
    local n
    for n in "$1" "$4"; do
        [[ " ${NAMESPACES[*]} " == *" $n "* ]] && continue
        ip netns add "$(ns "$n")"; NAMESPACES+=("$n")
        inns "$n" ip link set lo up
    done
    LINKS=$((LINKS + 1))
    ip link add "${PFX}l$LINKS" type veth peer name "${PFX}m$LINKS"
    ip link set "${PFX}l$LINKS" netns "$(ns "$1")"
    ip link set "${PFX}m$LINKS" netns "$(ns "$4")"
    inns "$1" ip link set "${PFX}l$LINKS" name "$2"
    inns "$4" ip link set "${PFX}m$LINKS" name "$5"
    inns "$1" ip addr add "$3" dev "$2"
    inns "$4" ip addr add "$6" dev "$5"
    inns "$1" ip link set "$2" up
    inns "$4" ip link set "$5" up
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
    [ -z "${PGDIR:-}" ] || stop_postgres
    for n in "${NAMESPACES[@]}"; do
        ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$(ns "$n")" 2>/dev/null
    done
    rm -f /run/lanyard/"${PFX}"-*.sock   # control and API sockets of daemons that were SIGKILLed
    rm -rf "$WORK"
}

# keypair NAME: writes $WORK/NAME.key (0600) and $WORK/NAME.pub.
keypair() {
    (umask 077; "$LANYARD" genkey >"$WORK/$1.key")
    "$LANYARD" pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}

# sha_transfer FROM_NS TO_NS TO_ADDR [MB] [PORT]: sends a random file over TCP with transfer.py;
# passes when the SHA-256 received matches the one sent (and prints both).
sha_transfer() {
    local mb=${4:-10} port=${5:-5002}
    head -c "${mb}M" /dev/urandom >"$WORK/f.src"; rm -f "$WORK/f.dst"
    inns "$2" python3 "$HERE/transfer.py" recv "$port" "$WORK/f.dst" & local r=$!
    sleep 0.5
    inns "$1" python3 "$HERE/transfer.py" send "$3" "$port" "$WORK/f.src" || { wait $r; return 1; }
    wait $r || return 1
    local a b; a=$(sha256sum <"$WORK/f.src" | cut -d' ' -f1); b=$(sha256sum <"$WORK/f.dst" | cut -d' ' -f1)
    echo "sha256 sent $a received $b"; [ "$a" = "$b" ]
}

summary() {
    echo
    if [ "$FAILED" -gt 0 ]; then printf 'failed: %s\n' "${FAILED_NAMES[@]}"; fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# start_postgres NS ADDRESS: a PostgreSQL server of its own for this test (Debian's package, a
# cluster in a folder under $WORK), listening only on ADDRESS inside namespace NS and on a Unix
# socket in that folder; sets PGURL (for lanyard) and PGDIR. stop_postgres (also run by
# cleanup) stops it; the folder goes with $WORK.
PGDIR=""
start_postgres() {
    local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (scripts/setup.sh installs it)"; return 1; }
    PGNS=$1; PGADDR=$2; PGBIN=$bin
    PGDIR="$WORK/pg"; mkdir -p "$PGDIR"; chmod 755 "$WORK" "$PGDIR"; chown postgres "$PGDIR"
    local pw; pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    echo "$pw" >"$PGDIR/pw"; chown postgres "$PGDIR/pw"
    runuser -u postgres -- "$bin/initdb" -D "$PGDIR/data" -A scram-sha-256 --pwfile="$PGDIR/pw" -U lanyard >"$PGDIR/initdb.log" 2>&1 \
        || { cat "$PGDIR/initdb.log"; return 1; }
    echo "host all all 192.0.2.0/24 scram-sha-256" >>"$PGDIR/data/pg_hba.conf"
    pg_ctl_in start || return 1
    PGURL="postgres://lanyard:$pw@$PGADDR:5432/postgres?sslmode=disable"
    PGPASSWORD=$pw
    export PGPASSWORD
}
pg_ctl_in() {
    case $1 in
        start) inns "$PGNS" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 20 \
                   -o "-k $PGDIR -c listen_addresses=$PGADDR -c port=5432" start >/dev/null ;;
        stop) inns "$PGNS" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w -t 20 stop >/dev/null ;;
    esac
}
stop_postgres() {
    [ -n "$PGDIR" ] && [ -d "$PGDIR/data" ] || return 0
    pg_ctl_in stop 2>/dev/null || { pkill -KILL -f "postgres -D $PGDIR/data" 2>/dev/null; true; }
}
