#!/usr/bin/env bash
# Several switches serving one network (issue 21), measured: relayed throughput member → switch
# → switch → member against the relay through one switch (with each switch's CPU per relayed
# packet), failover time after a switch is SIGKILLed, and how long a membership change takes to
# reach all three switches. Release binary; needs root (namespaces); prints a Markdown table.
# Usage: sudo bench/mesh.sh [--seconds S] [--repeat N] [--failovers N] [--changes N]
#   LANYARD=path picks the binary (default out/lanyard, else .build/release/lanyard).
#
# Topology (as tests/e2e/mesh.sh): s1 s2 s3 and db (PostgreSQL) on one bridge; a and b behind
# NAT routers that pick a new port for every destination, so no direct path forms between them
# and everything a -> b takes the relay.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SECONDS_EACH=8; REPEAT=3; FAILOVERS=7; CHANGES=10
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) SECONDS_EACH=$2; shift 2 ;; --repeat) REPEAT=$2; shift 2 ;;
        --failovers) FAILOVERS=$2; shift 2 ;; --changes) CHANGES=$2; shift 2 ;;
        *) echo "unknown $1"; exit 2 ;;
    esac
done
LANYARD=${LANYARD:-$([ -x "$ROOT/out/lanyard" ] && echo "$ROOT/out/lanyard" || echo "$ROOT/.build/release/lanyard")}
export LANYARD
. "$ROOT/tests/e2e/lib.sh"
trap '[ -n "${KEEP_LOGS:-}" ] && cp -r "$WORK" "$KEEP_LOGS"; cleanup' EXIT
row() { printf '| %s | %s |\n' "$1" "$2"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
median_p99() { sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.99+0.999)]; printf "median %.2f s, p99 %.2f s (n=%d)", m, p, NR}'; }

make_underlay s1 s2 s3 db ra rb
make_link ra l0 203.0.113.1/30 a u0 203.0.113.2/30
make_link rb l0 203.0.113.5/30 b u0 203.0.113.6/30
for x in a:1 b:5; do
    n=${x%:*}; gw=203.0.113.${x#*:}
    inns "$n" ip route add default via "$gw"
    inns "r$n" sysctl -qw net.ipv4.ip_forward=1
    inns "r$n" nft -f - <<NFT
table ip ${PFX}nat {
    chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "u0" masquerade fully-random; }
    chain input { type filter hook input priority filter; policy accept; iifname "u0" ct state new drop; }
}
NFT
done
for k in s1 s2 s3 a b c; do keypair $k; done
start_postgres db 192.0.2.4 >/dev/null || { echo "cannot start PostgreSQL"; exit 1; }
for n in a b c; do inns s1 "$LANYARD" member add "$n" "$(cat "$WORK/$n.pub")" --database "$PGURL" >/dev/null; done
start_switch() {
    start "switch$1" "s$1" "$LANYARD" switch --listen 51820 --private-key "$WORK/s$1.key" --database "$PGURL" \
        --endpoint "192.0.2.$1:51820" --mesh-endpoint "192.0.2.$1:51821" --name "${PFX}-s$1" --keepalive 2 --silence-timeout 6 \
        --log-level warning
}
for i in 1 2 3; do start_switch $i; done
# start_port NAME ADDRESS-SUFFIX FIRST-SWITCH: the other two switches follow as fallbacks.
start_port() {
    local n=$1 i=$2 first=$3 args=() s
    for s in $first $(( first % 3 + 1 )) $(( (first + 1) % 3 + 1 )); do
        args+=(--switch "192.0.2.$s:51820" --switch-key "$(cat "$WORK/s$s.pub")")
    done
    stop "port-$n"
    start "port-$n" "$n" "$LANYARD" port "${args[@]}" --private-key "$WORK/$n.key" --tap "tap$n" \
        --name "${PFX}-$n" --address "198.51.100.$i/24" --log-level warning
}
at() { "$LANYARD" status --socket "/run/lanyard/${PFX}-$1.sock" --json | python3 "$HERE/../tests/e2e/json_get.py" endpoint; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
relayed_packets() { "$LANYARD" status --socket "/run/lanyard/${PFX}-s$1.sock" --json | python3 "$HERE/../tests/e2e/json_get.py" relayedPackets; }
sleep 3

echo "| measurement | result |"
echo "| --- | --- |"

# 1. Relayed throughput: a and b at one switch, then at two.
inns b iperf3 -s -D -p 5201 >/dev/null 2>&1
iperf() {
    local r=() i
    for i in $(seq 1 "$REPEAT"); do
        r+=("$(inns a iperf3 -c 198.51.100.12 -p 5201 -t "$SECONDS_EACH" -J 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 3))')")
    done
    printf '%s\n' "${r[@]}" | median
}
relay_case() { # LABEL FIRST-SWITCH-OF-b
    start_port a 11 1; start_port b 12 "$2"
    wait_until 20 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || { row "$1" "no path"; return; }
    inns a ping -c 5 -i 0.2 198.51.100.12 >/dev/null
    local p1 p2 s1a s2a s1b s2b r1a r1b gbps
    p1=${PIDS[switch1]}; p2=${PIDS[switch$2]}
    s1a=$(cpu_ticks "$p1"); s2a=$(cpu_ticks "$p2"); r1a=$(relayed_packets 1)
    gbps=$(iperf)
    s1b=$(cpu_ticks "$p1"); s2b=$(cpu_ticks "$p2"); r1b=$(relayed_packets 1)
    local pk=$((r1b - r1a)) hz; hz=$(getconf CLK_TCK)
    local per1 per2
    per1=$(echo "scale=2; ($s1b - $s1a) * 1000000 / $hz / ($pk + 1)" | bc)
    if [ "$2" = 1 ]; then
        row "$1" "$gbps Gbit/s (median of $REPEAT × ${SECONDS_EACH} s); s1 CPU $per1 µs per relayed packet ($pk packets)"
    else
        per2=$(echo "scale=2; ($s2b - $s2a) * 1000000 / $hz / ($pk + 1)" | bc)
        row "$1" "$gbps Gbit/s (median of $REPEAT × ${SECONDS_EACH} s); CPU per relayed packet: s1 $per1 µs, s2 $per2 µs ($pk packets)"
    fi
}
relay_case "relayed a → s1 → b (one switch), iperf3 1 stream" 1
relay_case "relayed a → s1 → s2 → b (two switches), iperf3 1 stream" 2

# 2. Failover: a at s1, b at s2 (relayed across); s1 SIGKILLed; time until a → b answers again.
: >"$WORK/failover.times"
for _ in $(seq 1 "$FAILOVERS"); do
    [ -n "${PIDS[switch1]:-}" ] || start_switch 1
    sleep 2
    start_port a 11 1
    wait_until 20 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || continue
    [ "$(at a)" = 192.0.2.1:51820 ] || continue
    t0=$(date +%s.%N)
    kill -KILL "${PIDS[switch1]}"; wait "${PIDS[switch1]}" 2>/dev/null; unset "PIDS[switch1]"
    for _ in $(seq 1 300); do
        inns a ping -c 1 -W 0.2 198.51.100.12 >/dev/null 2>&1 && { echo "$(date +%s.%N) - $t0" | bc >>"$WORK/failover.times"; break; }
        sleep 0.05
    done
done
row "failover: s1 SIGKILLed → a (was at s1) reaches b (at s2) again; ports' silence timeout 6 s" "$(median_p99 <"$WORK/failover.times")"
[ -n "${PIDS[switch1]:-}" ] || start_switch 1
sleep 3

# 3. A membership change reaching all three switches: c disabled, then enabled, in the database.
ports_at() { "$LANYARD" status --socket "/run/lanyard/${PFX}-s$1.sock" | grep -oE "of [0-9]+ ports" | cut -d' ' -f2; }
: >"$WORK/change.times"
for i in $(seq 1 "$CHANGES"); do
    if [ $((i % 2)) = 1 ]; then verb=disable; want=2; else verb=enable; want=3; fi
    t0=$(date +%s.%N)
    inns s1 "$LANYARD" member "$verb" c --database "$PGURL" >/dev/null
    for _ in $(seq 1 500); do
        [ "$(ports_at 1)$(ports_at 2)$(ports_at 3)" = "$want$want$want" ] && { echo "$(date +%s.%N) - $t0" | bc >>"$WORK/change.times"; break; }
        sleep 0.005
    done
done
row "a member disabled or enabled in PostgreSQL → applied by all three switches (from the command's start, its own ~0.1 s included)" "$(median_p99 <"$WORK/change.times")"
