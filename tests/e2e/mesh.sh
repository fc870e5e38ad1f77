#!/usr/bin/env bash
# End to end: one network served by three switches sharing one PostgreSQL database (issue 21).
# Six ports, each behind a NAT router of its own, two registered at each switch; p1 (at s1) and
# p4 (at s2) sit behind symmetric NATs that no hole punching crosses, so their traffic takes the
# relay across two switches. Every pair pings; files move with their SHA-256 intact across
# switches, direct and relayed; a broadcast reaches every other member exactly once; a member
# removed in the database is cut off at every switch within about a second; a switch killed
# with SIGKILL: its ports move and every pair works again within a bound; PostgreSQL stopped:
# traffic goes on, changes are refused, and a member added after it is back joins.
#
#   s1 192.0.2.1  s2 192.0.2.2  s3 192.0.2.3  db 192.0.2.4 (PostgreSQL)  far 192.0.2.11 (delays
#   datagrams to s3)   on one bridge
#   pI 203.0.113.(4I-2)/30 -- rI (203.0.113.(4I-3) | 192.0.2.(4+I)) --+   I = 1..6
#   overlay 198.51.100.(10+I)/24
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay s1 s2 s3 db r1 r2 r3 r4 r5 r6 far
for i in 1 2 3 4 5 6; do
    make_link "r$i" l0 "203.0.113.$((4 * i - 3))/30" "p$i" u0 "203.0.113.$((4 * i - 2))/30"
    inns "p$i" ip route add default via "203.0.113.$((4 * i - 3))"
    inns "r$i" sysctl -qw net.ipv4.ip_forward=1
    random=""; { [ $i = 1 ] || [ $i = 4 ]; } && random="fully-random"
    inns "r$i" nft -f - <<NFT
table ip ${PFX}nat {
    chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "u0" masquerade $random; }
    chain input { type filter hook input priority filter; policy accept; iifname "u0" ct state new drop; }
}
NFT
done
for k in s1 s2 s3 p1 p2 p3 p4 p5 p6 p7; do keypair $k; done
start_postgres db 192.0.2.4 || { echo "cannot start PostgreSQL"; exit 1; }
for i in 1 2 3 4 5 6; do inns s1 "$LANYARD" member add "p$i" "$(cat "$WORK/p$i.pub")" --database "$PGURL" >/dev/null || exit 1; done

start_switch() {
    start "switch$1" "s$1" "$LANYARD" switch --listen 51820 --private-key "$WORK/s$1.key" --database "$PGURL" \
        --endpoint "192.0.2.$1:51820" --mesh-endpoint "192.0.2.$1:51821" --name "${PFX}-s$1" --keepalive 2 --silence-timeout 6
}
for i in 1 2 3; do start_switch $i; done
# pI prefers switch ceil(I/2) and knows the other two.
start_port() {
    local i=$1 first=$(( ($1 + 1) / 2 )) args=() s
    for s in $first $(( first % 3 + 1 )) $(( (first + 1) % 3 + 1 )); do
        args+=(--switch "192.0.2.$s:51820" --switch-key "$(cat "$WORK/s$s.pub")")
    done
    start "port$i" "p$i" "$LANYARD" port "${args[@]}" --private-key "$WORK/p$i.key" --tap "tap$i" \
        --name "${PFX}-p$i" --address "198.51.100.$((10 + i))/24"
}

sw_json() { "$LANYARD" status --socket "/run/lanyard/${PFX}-s$1.sock" --json; }
port_json() { "$LANYARD" status --socket "/run/lanyard/${PFX}-p$1.sock" --json; }
mesh_up() { sw_json "$1" | python3 -c 'import json,sys; m=json.load(sys.stdin).get("mesh") or {}; print(sum(1 for s in m.get("switches", []) if s["up"]))'; }
at_switch() { port_json "$1" | python3 "$HERE/json_get.py" endpoint | cut -d: -f1 | cut -d. -f4; }
path_of() { port_json "$1" | python3 "$HERE/json_get.py" members "name=p$2" path; }
mesh_counter() { sw_json "$1" | python3 "$HERE/json_get.py" mesh counters "${@:2}"; }   # SWITCH relayedOut txBytes
ping_pair() { inns "p$1" ping -c 2 -i 0.2 -W 2 "198.51.100.$((10 + $2))" >/dev/null; }

has_ports() { "$LANYARD" status --socket "/run/lanyard/${PFX}-s$1.sock" | grep -q "of $2 ports"; }
mesh_up_is() { [ "$(mesh_up "$1")" = "$2" ]; }
registered_port() { port_json "$1" | grep -q '"registered"'; }
path_is() { [ "$(path_of "$1" "$2")" = "$3" ]; }
at_is() { [ "$(at_switch "$1")" = "$2" ]; }
switches_meet() {
    local i
    for i in 1 2 3; do wait_until 25 mesh_up_is $i 2 || { echo "s$i sees $(mesh_up $i) other switches up"; return 1; }; done
    echo "switch s1 sees $(mesh_up 1), s2 $(mesh_up 2), s3 $(mesh_up 3) other switches up"
    # The same in s1's metrics (its API socket serves /metrics).
    local up; up=$(curl -s --unix-socket "/run/lanyard/${PFX}-s1.api.sock" http://lanyard/metrics | grep -c '^lanyard_mesh_switch_up{.*} 1')
    echo "switch s1's metrics: lanyard_mesh_switch_up is 1 for $up switches"
    [ "$up" = 2 ]
}
check "three switches listed in one PostgreSQL database hold sessions with each other" switches_meet

all_pairs() {
    local i j bad=0 n=0
    for i in $1; do for j in $1; do
        [ "$i" -lt "$j" ] || continue
        n=$((n + 1))
        ping_pair "$i" "$j" || ping_pair "$i" "$j" || { echo "p$i -> p$j: no answer"; bad=$((bad + 1)); }
    done; done
    echo "members: $n pairs pinged, $bad without an answer"
    [ "$bad" = 0 ]
}
six_ports() {
    local i
    # One after another: six ports probing three switches at once would make the switches'
    # answer times (a few ms each in a debug build) count as distance.
    for i in 1 2 3 4 5 6; do start_port $i; sleep 0.3; done
    for i in 1 2 3 4 5 6; do wait_until 20 registered_port $i || { echo "p$i never registered"; return 1; }; done
    echo "members: p1..p6 registered at s$(at_switch 1) s$(at_switch 2) s$(at_switch 3) s$(at_switch 4) s$(at_switch 5) s$(at_switch 6)"
    [ "$(at_switch 1)$(at_switch 2)$(at_switch 3)$(at_switch 4)$(at_switch 5)$(at_switch 6)" = 112233 ] || return 1
    wait_until 20 ping_pair 1 6 || return 1
    all_pairs "1 2 3 4 5 6"
}
check "six ports spread over three switches: every pair pings" six_ports

direct_across() {
    # p2 (s1) and p5 (s3): plain NATs, so a direct path forms between members of two switches.
    inns p2 ping -q -c 20 -i 0.2 -W 1 198.51.100.15 >/dev/null
    wait_until 20 path_is 2 5 direct || { echo "path p2 -> p5: $(path_of 2 5)"; return 1; }
    echo "path p2 -> p5 (s1 -> s3): $(path_of 2 5)"
    sha_transfer p2 p5 198.51.100.15 5
}
check "p2 (s1) -> p5 (s3): a direct path across switches, 5 MB with SHA-256 intact" direct_across

relayed_across() {
    # p1 (s1) and p4 (s2): both behind symmetric NATs: only the relay across s1 and s2 carries it.
    local out0 in0 out1 in1
    out0=$(mesh_counter 1 relayedOut txBytes); in0=$(mesh_counter 2 relayedIn rxBytes)
    sha_transfer p1 p4 198.51.100.14 5 || return 1
    out1=$(mesh_counter 1 relayedOut txBytes); in1=$(mesh_counter 2 relayedIn rxBytes)
    echo "path p1 -> p4 (s1 -> s2): $(path_of 1 4); s1 passed $((out1 - out0)) relayed bytes to s2, s2 took $((in1 - in0))"
    [ "$(path_of 1 4)" = relayed ] && [ $((out1 - out0)) -gt 5000000 ] && [ $((in1 - in0)) -gt 5000000 ]
}
check "p1 (s1) -> p4 (s2) behind symmetric NATs: relayed member -> s1 -> s2 -> member, 5 MB with SHA-256 intact" relayed_across

broadcast_once() {
    local i tag="lanyard-$RUN_ID-$RANDOM" bad=0 counts="" listeners=()
    for i in 2 3 4 5 6; do
        inns "p$i" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 9999)); s.settimeout(0.2); n = 0; end = time.time() + 4
while time.time() < end:
    try:
        if s.recv(100) == sys.argv[1].encode(): n += 1
    except socket.timeout: pass
print(n)' "$tag" >"$WORK/bcast.$i" & listeners+=($!)
    done
    sleep 1
    inns p1 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"tap1"); s.sendto(sys.argv[1].encode(), ("255.255.255.255", 9999))' "$tag"
    wait "${listeners[@]}"
    for i in 2 3 4 5 6; do counts="$counts p$i:$(cat "$WORK/bcast.$i")"; [ "$(cat "$WORK/bcast.$i")" = 1 ] || bad=1; done
    echo "frames: one broadcast from p1 (s1) received$counts"
    [ $bad = 0 ]
}
check "a broadcast from p1 reaches each of the five other members exactly once, across three switches" broadcast_once

mesh_garbage() {
    # From "far" (not a switch): random datagrams, relay headers with forged tags, WireGuard-sized
    # initiations and join-shaped datagrams at s2's switch-to-switch socket. Nothing may pass,
    # all is counted, and s2 goes on relaying p1 -> p4 across.
    local before after
    before=$(sw_json 2 | python3 "$HERE/json_get.py" mesh datagramDrops --sum)
    inns far python3 -c '
import os, random, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); to = ("192.0.2.2", 51821)
for i in range(3000):
    k = i % 4
    if k == 0: b = os.urandom(random.randint(0, 1500))
    elif k == 1: b = bytes([0x10, 0, 0, 0]) + struct.pack("<IQ", random.randint(0, 9), random.getrandbits(64)) + os.urandom(random.randint(0, 1400))
    elif k == 2: b = bytes([1, 0, 0, 0]) + os.urandom(144)
    else: b = bytes([0x11, 0, 0, 0]) + os.urandom(random.randint(0, 300))
    s.sendto(b, to)'
    sleep 1
    after=$(sw_json 2 | python3 "$HERE/json_get.py" mesh datagramDrops --sum)
    echo "forged: 3,000 garbage and forged datagrams at s2's switch-to-switch socket: $((after - before)) counted as dropped; relayed across: $(mesh_counter 2 relayedIn rxPackets) packets in"
    [ $((after - before)) -ge 2900 ] || return 1
    # Relay datagrams that claim to come from s1's switch-to-switch socket (raw, spoofed source
    # 192.0.2.1:51821) with tags that cannot verify: refused by the tag check.
    local r0 r1; r0=$(mesh_counter 2 relayRefused)
    inns s1 python3 -c '
import os, random, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(200):
    payload = bytes([0x10, 0, 0, 0]) + struct.pack("<IQ", random.randint(0, 5), (random.randint(0, 5) << 40) | (i + 1)) + os.urandom(8) + bytes([4, 0, 0, 0]) + os.urandom(60)
    udp = struct.pack("!HHHH", 51821, 51821, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload), i, 0, 64, 17, 0, socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2"))
    s.sendto(ip + udp + payload, ("192.0.2.2", 0))'
    sleep 0.5
    r1=$(mesh_counter 2 relayRefused)
    echo "forged: 200 relay datagrams spoofed from s1's switch-to-switch address with forged tags: $((r1 - r0)) refused by s2"
    [ $((r1 - r0)) -ge 190 ] && ping_pair 1 4 && ping_pair 4 1
}
check "garbage and forged relay datagrams at a switch-to-switch socket are counted and dropped; relaying goes on" mesh_garbage

removed_everywhere() {
    local t0 took i
    ping_pair 1 6 || return 1
    t0=$(date +%s.%N)
    inns s2 "$LANYARD" member remove p6 --database "$PGURL" >/dev/null || return 1
    for _ in $(seq 1 300); do
        local n=0
        for i in 1 2 3; do "$LANYARD" status --socket "/run/lanyard/${PFX}-s$i.sock" | grep -q "of 5 ports" && n=$((n + 1)); done
        [ $n = 3 ] && break
        sleep 0.01
    done
    took=$(echo "$(date +%s.%N) - $t0" | bc)
    echo "member p6 removed in the database: gone from all three switches $took s later"
    [ $n = 3 ] && awk -v t="$took" 'BEGIN { exit !(t < 1.5) }' || return 1
    sleep 1
    if inns p1 ping -c 2 -i 0.3 -W 1 198.51.100.16 >/dev/null; then echo "p1 still reaches p6"; return 1; fi
    if inns p3 ping -c 2 -i 0.3 -W 1 198.51.100.16 >/dev/null; then echo "p3 still reaches p6"; return 1; fi
    echo "member p6: p1 (s1) and p3 (s2) no longer reach it"
}
check "a member removed in the database is cut off at every switch within about a second" removed_everywhere

killed_switch() {
    # s1 dies without a word; p1 and p2 move to s2 (their second choice) and every pair of the
    # five members works again. Bound: the ports' silence timeout (6 s) + a registration and
    # one roster message: 15 s.
    local t0=$SECONDS took
    kill -KILL "${PIDS[switch1]}"; wait "${PIDS[switch1]}" 2>/dev/null; unset "PIDS[switch1]"
    wait_until 20 at_is 1 2 || { echo "p1 at s$(at_switch 1)"; return 1; }
    wait_until 10 at_is 2 2 || { echo "p2 at s$(at_switch 2)"; return 1; }
    local moved=$((SECONDS - t0))
    wait_until 15 all_pairs "1 2 3 4 5" >/dev/null || true
    took=$((SECONDS - t0))
    echo "switch s1 killed: p1 and p2 registered at s2 after ${moved} s; every pair of p1..p5 answering after ${took} s"
    all_pairs "1 2 3 4 5" && [ $took -le 20 ]
}
check "s1 killed: its ports move to s2, every pair works again within 20 s" killed_switch

no_move_back() {
    # s1 comes back: it meets the other two again, and nobody moves back to it.
    start_switch 1
    wait_until 20 mesh_up_is 1 2 || { echo "s1 sees $(mesh_up 1) switches after its restart"; return 1; }
    sleep 6
    echo "switch s1 restarted: sees $(mesh_up 1) other switches; 6 s later p1 at s$(at_switch 1), p2 at s$(at_switch 2)"
    at_is 1 2 && at_is 2 2 && all_pairs "1 2 3"
}
check "s1 restarted: it rejoins the mesh and its former ports stay where they are" no_move_back

store_down() {
    local code
    pg_ctl_in stop || return 1
    all_pairs "2 3 5" || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "/run/lanyard/${PFX}-s3.api.sock" -X POST \
        -d "{\"name\":\"p7\",\"publicKey\":\"$(cat "$WORK/p7.pub")\"}" http://lanyard/v1/members)
    echo "members: PostgreSQL stopped: p2, p3, p5 still reach each other; adding p7 at s3 answered $code"
    [ "$code" = 503 ] || return 1
    pg_ctl_in start || return 1
    wait_until 20 bash -c "curl -s --unix-socket /run/lanyard/${PFX}-s3.api.sock -X POST -d '{\"name\":\"p7\",\"publicKey\":\"$(cat "$WORK/p7.pub")\"}' http://lanyard/v1/members | grep -q publicKey" || return 1
    # The other switches LISTEN again after the restart: the change reaches them too.
    local t0; t0=$(date +%s.%N)
    wait_until 10 has_ports 1 6 && wait_until 10 has_ports 2 6 || { echo "s1, s2 never saw p7"; return 1; }
    echo "members: p7 added at s3 after PostgreSQL restarted: s1 and s2 ran with it $(echo "$(date +%s.%N) - $t0" | bc) s later"
    # p7 uses p6's namespace (p6 was removed). Its first switch is s3 seen through "far", which
    # delays every datagram 40 ms each way; s2 is listed second but near: p7 registers there.
    stop port6
    start delay far python3 "$HERE/udp_delay.py" 51820 192.0.2.3 51820 40
    start port7 p6 "$LANYARD" port --switch 192.0.2.11:51820 --switch-key "$(cat "$WORK/s3.pub")" \
        --switch 192.0.2.2:51820 --switch-key "$(cat "$WORK/s2.pub")" --private-key "$WORK/p7.key" \
        --tap tap7 --name "${PFX}-p7" --address 198.51.100.17/24
    wait_until 20 inns p6 ping -c 1 -W 1 198.51.100.13 >/dev/null || { echo "p7 does not reach p3"; return 1; }
    echo "members: PostgreSQL back: p7 added at s3, joined, and reaches p3 at s2"
    echo "switch: p7 given s3 (80 ms round trip) first and s2 (near) second registered at s$(at_switch 7): $(grep -o 'is the nearest.*' "$WORK/port7.log" | head -1)"
    at_is 7 2
}
check "PostgreSQL stopped: traffic goes on and changes get 503; a member added after it is back joins" store_down

# Chaos: random events from a seeded generator (shuffled rounds of every kind, so a short run
# sees each about once); after each, every pair of p1..p5 must answer again within the bound.
#   kill_switch  SIGKILL of a random switch, restarted 2 s later (25 s: the ports' silence
#                timeout 6 s, a probe of the other switches, a registration, a roster message)
#   term_switch  a switch stopped cleanly (it says bye) and restarted (25 s)
#   kill_port    SIGKILL of a random port, restarted at once (25 s: its peers take its new sessions)
#   pg_restart   PostgreSQL stopped for 2 s (traffic must not notice; 25 s)
#   member_flap  a random member disabled in the database, enabled 2 s later (35 s: its port
#                notices only by silence, 6 s, then retries with backoff)
# MESH_SEED=N replays a run; MESH_CHAOS_SECONDS sets its length (default 50: CI time).
pairs_ok() {
    local i j
    for i in $1; do for j in $1; do
        [ "$i" -lt "$j" ] || continue
        inns "p$i" ping -c 1 -W 1 "198.51.100.$((10 + j))" >/dev/null || return 1
    done; done
}
mesh_chaos() {
    local seed=${MESH_SEED:-$RANDOM} until=$((SECONDS + ${MESH_CHAOS_SECONDS:-50})) kind i t0 bound what failures=0 events=0 log=""
    RANDOM=$seed
    echo "members: chaos seed $seed (replay: MESH_SEED=$seed bash tests/e2e/mesh.sh)"
    while [ $SECONDS -lt "$until" ]; do
        for kind in $(for k in kill_switch term_switch kill_port pg_restart member_flap; do echo "$RANDOM $k"; done | sort -n | cut -d' ' -f2); do
            [ $SECONDS -lt "$until" ] || break
            bound=25
            case $kind in
                kill_switch) i=$((RANDOM % 3 + 1)); what=s$i
                    kill -KILL "${PIDS[switch$i]}"; wait "${PIDS[switch$i]}" 2>/dev/null; unset "PIDS[switch$i]"
                    sleep 2; start_switch "$i" ;;
                term_switch) i=$((RANDOM % 3 + 1)); what=s$i; stop "switch$i"; start_switch "$i" ;;
                kill_port) i=$((RANDOM % 5 + 1)); what=p$i
                    kill -KILL "${PIDS[port$i]}"; wait "${PIDS[port$i]}" 2>/dev/null; unset "PIDS[port$i]"
                    start_port "$i" ;;
                pg_restart) what=db; pg_ctl_in stop; sleep 2; pg_ctl_in start ;;
                member_flap) i=$((RANDOM % 5 + 1)); what=p$i; bound=35
                    inns s2 "$LANYARD" member disable "p$i" --database "$PGURL" >/dev/null 2>&1; sleep 2
                    inns s2 "$LANYARD" member enable "p$i" --database "$PGURL" >/dev/null 2>&1 ;;
            esac
            t0=$SECONDS; events=$((events + 1))
            if wait_until "$bound" pairs_ok "1 2 3 4 5" >/dev/null 2>&1; then
                log="$log $kind($what) $((SECONDS - t0))s;"
            else
                failures=$((failures + 1)); log="$log $kind($what) NOT within ${bound}s;"
            fi
        done
    done
    echo "members: $events chaos events, every pair of p1..p5 answering again after:$log"
    [ $failures = 0 ] && all_pairs "1 2 3 4 5"
}
check "chaos: switches killed and restarted, ports killed, PostgreSQL restarted, members flapped: every pair answers again within its bound" mesh_chaos

for i in 1 2 3; do stop "switch$i"; done
left=$(ls /run/lanyard/ 2>/dev/null | grep -c "^${PFX}-s[123]\." || true)
check "no socket left by the stopped switches" test "$left" = 0
summary
