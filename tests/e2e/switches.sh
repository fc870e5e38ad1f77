#!/usr/bin/env bash
# End to end: two switches sharing one PostgreSQL member database (issue 21, the part built so
# far: one membership for several switches). A change made through either switch's API reaches
# the other within about a second (LISTEN/NOTIFY; a 2 s version check is the safety net): a
# member added at sw2 can join sw1, a member removed at sw2 is cut off at sw1. Ports given both
# switches register with the first and move to the second when it is killed; a switch that
# comes back does not take them back.
#   sw1 192.0.2.1, sw2 192.0.2.2, db 192.0.2.3 (PostgreSQL), a 192.0.2.4, b 192.0.2.5
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay sw1 sw2 db a b
for k in sw1 sw2 a b; do keypair $k; done
start_postgres db 192.0.2.3 || { echo "cannot start PostgreSQL"; exit 1; }
for i in 1 2; do
    start "switch$i" "sw$i" "$LANYARD" switch --listen 51820 --private-key "$WORK/sw$i.key" --database "$PGURL" \
        --endpoint "192.0.2.$i:51820" --name "${PFX}-sw$i" --keepalive 2 --silence-timeout 6
done
for i in 1 2; do wait_until 15 test -S "/run/lanyard/${PFX}-sw$i.api.sock" || { cat "$WORK/switch$i.log"; exit 1; }; done
api() { local s=$1; shift; curl -s --unix-socket "/run/lanyard/${PFX}-$s.api.sock" "$@"; }
applied() { api "$1" http://lanyard/v1/network | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["appliedVersion"])'; }

# until_applied SWITCH VERSION: seconds (0.01 s steps, at most 10 s) until SWITCH runs with VERSION.
until_applied() {
    local t0; t0=$(date +%s.%N)
    for _ in $(seq 1 1000); do
        [ "$(applied "$1")" -ge "$2" ] && { echo "$(date +%s.%N) - $t0" | bc; return 0; }
        sleep 0.01
    done
    return 1
}

added_elsewhere() {
    api sw2 -X POST -d "{\"name\":\"a\",\"publicKey\":\"$(cat "$WORK/a.pub")\"}" http://lanyard/v1/members >/dev/null
    local v; v=$(api sw2 http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    local took; took=$(until_applied sw1 "$v") || { echo "sw1 never applied version $v"; return 1; }
    start port-a a "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw1.pub")" --private-key "$WORK/a.key" \
        --tap tapa --name "${PFX}-a" --address 198.51.100.11/24
    wait_until 15 bash -c "'$LANYARD' status --socket /run/lanyard/${PFX}-sw1.sock | grep -q '1 of 1 ports up'" || return 1
    echo "member a added through sw2's API: sw1 ran with it $took s later, and a registered at sw1"
    awk -v t="$took" 'BEGIN { exit !(t < 1.5) }'
}
check "a member added through one switch's API is let in by the other within about a second" added_elsewhere

removed_elsewhere() {
    local t0 took
    t0=$(date +%s.%N)
    api sw2 -X DELETE http://lanyard/v1/members/a -o /dev/null
    for _ in $(seq 1 300); do
        "$LANYARD" status --socket "/run/lanyard/${PFX}-sw1.sock" | grep -q "0 of 0 ports" && break
        sleep 0.01
    done
    took=$(echo "$(date +%s.%N) - $t0" | bc)
    echo "member a removed through sw2's API: cut off at sw1 $took s later"
    "$LANYARD" status --socket "/run/lanyard/${PFX}-sw1.sock" | grep -q "0 of 0 ports" && awk -v t="$took" 'BEGIN { exit !(t < 1.5) }'
}
check "a member removed through one switch's API is cut off at the other within about a second" removed_elsewhere

listen_lost() {
    # PostgreSQL restarted: the LISTEN connections are lost and made again; changes still arrive.
    pg_ctl_in stop && pg_ctl_in start || return 1
    sleep 1
    wait_until 20 bash -c "curl -s --unix-socket /run/lanyard/${PFX}-sw2.api.sock -X POST -d '{\"name\":\"b\",\"publicKey\":\"$(cat "$WORK/b.pub")\"}' http://lanyard/v1/members | grep -q publicKey" || return 1
    local v took; v=$(api sw2 http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    took=$(until_applied sw1 "$v") || return 1
    echo "member b added after PostgreSQL restarted: sw1 ran with it $took s later"
}
check "after PostgreSQL restarts, changes still reach every switch" listen_lost

up_at() { "$LANYARD" status --socket "/run/lanyard/${PFX}-$1.sock" | grep -oE "[0-9]+ of [0-9]+ ports up" | cut -d' ' -f1; }
failover() {
    # a is a member again before the ports start (a port refused at its first switch would try
    # the second, and ports at different switches cannot reach each other yet).
    api sw1 -X POST -d "{\"name\":\"a\",\"publicKey\":\"$(cat "$WORK/a.pub")\"}" http://lanyard/v1/members >/dev/null
    local v; v=$(api sw1 http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    until_applied sw2 "$v" >/dev/null || { echo "sw2 never applied version $v"; return 1; }
    for n in a:11 b:12; do
        stop "port-${n%:*}"
        start "port-${n%:*}" "${n%:*}" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw1.pub")" \
            --switch 192.0.2.2:51820 --switch-key "$(cat "$WORK/sw2.pub")" --private-key "$WORK/${n%:*}.key" \
            --tap "tap${n%:*}" --name "${PFX}-${n%:*}" --address "198.51.100.${n#*:}/24"
    done
    wait_until 20 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || { echo "a and b never met at sw1"; return 1; }
    local before; before="sw1 $(up_at sw1) up, sw2 $(up_at sw2) up"
    # b pings a throughout; sw1 is killed (no goodbye).
    inns b ping -i 0.2 -W 1 -c 150 198.51.100.11 >"$WORK/failover.ping" 2>&1 & local p=$!
    sleep 2
    local t0=$SECONDS
    kill -KILL "${PIDS[switch1]}"; unset "PIDS[switch1]"
    wait_until 25 bash -c "[ \"\$('$LANYARD' status --socket /run/lanyard/${PFX}-sw2.sock | grep -oE '[0-9]+ of [0-9]+ ports up' | cut -d' ' -f1)\" = 2 ]" || { echo "the ports did not move to sw2"; return 1; }
    local moved=$((SECONDS - t0))
    # A new pair needs sw2 now: c... is not there; a and b must still reach each other.
    inns a ping -c 3 -i 0.3 -W 1 198.51.100.12 >/dev/null || return 1
    # sw1 comes back: nobody moves back to it.
    start switch1 sw1 "$LANYARD" switch --listen 51820 --private-key "$WORK/sw1.key" --database "$PGURL" \
        --endpoint 192.0.2.1:51820 --name "${PFX}-sw1" --keepalive 2 --silence-timeout 6
    sleep 10
    local after; after="sw1 $(up_at sw1) up, sw2 $(up_at sw2) up"
    wait $p
    local answered; answered=$(grep -c 'bytes from' "$WORK/failover.ping")
    echo "switch: before the kill $before; both ports registered at sw2 ${moved} s after sw1 was killed (its silence timeout: 6 s); b -> a during it all: $answered of 150 answered; 10 s after sw1 came back: $after"
    [ "$(up_at sw1)" = 0 ] && [ "$(up_at sw2)" = 2 ] && [ "$answered" -ge 140 ]
}
check "ports given two switches move to the second when the first is killed, keep their direct path, and do not move back" failover

summary
