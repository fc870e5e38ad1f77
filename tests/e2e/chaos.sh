#!/usr/bin/env bash
# Chaos (issue 19): seven ports behind NAT routers of different kinds and on the public underlay,
# ping between every ordered pair all the time, and for a fixed duration random events from a
# seeded generator. After each event every pair must answer again within a bound; at the end no
# daemon may have died unexpectedly, memory and descriptors stay flat, nothing leaks (interfaces,
# sockets, routes, rules, qdiscs, control sockets), drops are counted. Prints reconvergence time
# per kind of event (median, p99, max).
#
#   usage: tests/e2e/chaos.sh [--seed N] [--duration SECONDS] [--extra SECONDS]
#   CI (scripts/test.sh runs it with the defaults): random seed (printed), 100 s of events.
#   Long run (30 minutes; replay a failure with its seed):
#       bash tests/e2e/chaos.sh --duration 1800 --seed 12345
#   CHAOS_KINDS=kill_port,kill_switch ... limits the kinds of event (for replaying one kind).
#
#   a 203.0.113.2  -- ra  (home NAT: masquerade, unsolicited input dropped)      --+
#   b 203.0.113.6  -- rb  (home NAT, same)                                        --+
#   c 203.0.113.10 -- rc  (symmetric NAT: masquerade fully-random)                --+
#   d 203.0.113.18 -- rd (home NAT) 203.0.113.14 -- cg (carrier NAT: NAT444)      --+-- br0 192.0.2.0/24
#   g 203.0.113.22 -- rg  (full cone: masquerade + every inbound UDP to g)        --+   sw .1 (switch)
#   e 192.0.2.7, f 192.0.2.8 (public, no NAT); x 192.0.2.9 (non-member: floods)   --+
#   Overlay 198.51.100.11-17/24 on the TAPs (a..g). Routers' public addresses 192.0.2.2-6.
#
# Events (tests/e2e/chaos_helper.py schedule: shuffled rounds of every kind, so a short run still
# sees each kind about once): SIGKILL + restart of a port, of the switch, of both ends of a pair;
# link down/up (the member's LAN link or the router's public one); NAT mappings flushed
# (conntrack -F in one router or all); a public address changed (router's, or e/f's own, v4+v6);
# loss, reordering, duplication on a member's public link (nftables netdev hooks and an htb slow
# class: this kernel has no netem); an MTU change on a member's LAN hop (the router then
# fragments or sends "fragmentation needed"); a member removed (remove-port) and added back live
# (add-port); a handshake flood (tests/e2e/handshake_flood.py, initiations with a valid mac1)
# against the switch or a public port, from x.
#
# The bound (seconds after the event's last action, e.g. the restart, the link back up, the
# member added back; impairments and floods are measured while they last):
#   20 s by default. A direct path that stops answering is left for the relay within 5 s (path
#   trust); a port that lost its session with a peer retries the handshake every 5 s (WireGuard's
#   REKEY_TIMEOUT) and keepalives to the switch go every 5 s (so the switch sees a new NAT mapping
#   or address within 5 s). Two of those in a row, plus a second of pings: 20 s. A restarted port
#   registers at once; its peers must take its new sessions (same key) within the same 20 s.
#   40 s after the switch is restarted: ports notice a silent switch only after the silence
#   timeout (15 s) and then retry with backoff (1, 2, 4, 8, 16 s) -- docs/PROTOCOL.md gives
#   15-35 s; relayed pairs need the switch, direct pairs must not even notice.
#   30 s after a member is added back: its port noticed the removal only by silence (15 s), the
#   first retry after it is let in again succeeds (+1 s), then lookups and paths as above.
# An event that misses its bound is watched --extra seconds more (default 40), so that the
# table shows how long it really took ("never" if not even then).
HERE=$(cd "$(dirname "$0")" && pwd)
SEED=${SEED:-$RANDOM}
DURATION=100
EXTRA=40
while [ $# -gt 0 ]; do
    case $1 in
        --seed) SEED=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --extra) EXTRA=$2; shift 2 ;;
        *) echo "usage: $0 [--seed N] [--duration SECONDS] [--extra SECONDS]"; exit 2 ;;
    esac
done
[[ "$SEED" =~ ^[0-9]+$ && "$DURATION" =~ ^[0-9]+$ && "$EXTRA" =~ ^[0-9]+$ ]] || { echo "numbers, please"; exit 2; }
. "$HERE/lib.sh"
REPLAY="bash tests/e2e/chaos.sh --seed $SEED --duration $DURATION"
echo "chaos: seed $SEED, duration $DURATION s (replay: $REPLAY)"
for tool in nft conntrack ping tc ss; do
    command -v "$tool" >/dev/null || { echo "chaos.sh needs $tool"; check "chaos: $tool installed" false; summary; exit 1; }
done

BOUND_DEFAULT=20; BOUND_SWITCH=40; BOUND_MEMBER=30
MEMBERS=(a b c d e f g)
NATTED=(a b c d g)
ROUTERS=(ra rb rc rd cg rg)
declare -A OVL=([a]=11 [b]=12 [c]=13 [d]=14 [e]=15 [f]=16 [g]=17)
declare -A UPLINK=([a]=ra [b]=rb [c]=rc [d]=cg [e]=e [f]=f [g]=rg)      # host on the bridge
declare -A LANGW=([a]=203.0.113.1 [b]=203.0.113.5 [c]=203.0.113.9 [d]=203.0.113.17 [g]=203.0.113.21)
declare -A LANRTR=([a]=ra [b]=rb [c]=rc [d]=rd [g]=rg)                 # the router on the LAN link
declare -A HOSTIDX=([sw]=1 [ra]=2 [rb]=3 [rc]=4 [cg]=5 [rg]=6 [e]=7 [f]=8 [x]=9)
declare -A PUBIP
UNEXPECTED=()      # daemons found dead that no event killed
LEAKS=()           # TAPs left behind by a SIGKILLed port
MTU_LARGE=()       # large-frame results of MTU events
DONE=0
STOPFILE=
now() { date +%s.%N; }

on_exit() {
    [ -n "$STOPFILE" ] && touch "$STOPFILE"
    stop_pings
    if [ "$FAILED" -gt 0 ] || [ "$DONE" != 1 ]; then
        local keep="/tmp/lanyard-chaos-${RUN_ID}-logs"
        mkdir -p "$keep" && cp -r "$WORK"/*.log "$WORK"/*.tsv "$WORK/ping" "$keep"/ 2>/dev/null
        echo "daemon logs kept in $keep (seed $SEED)"
    fi
    cleanup
}
trap on_exit EXIT

# --- topology
make_underlay sw ra rb rc cg rg e f x
make_link ra l0 203.0.113.1/30 a u0 203.0.113.2/30
make_link rb l0 203.0.113.5/30 b u0 203.0.113.6/30
make_link rc l0 203.0.113.9/30 c u0 203.0.113.10/30
make_link cg l0 203.0.113.13/30 rd u0 203.0.113.14/30
make_link rd l0 203.0.113.17/30 d u0 203.0.113.18/30
make_link rg l0 203.0.113.21/30 g u0 203.0.113.22/30
for h in "${!HOSTIDX[@]}"; do
    PUBIP[$h]=192.0.2.${HOSTIDX[$h]}
    inns "$h" sysctl -qw net.ipv4.conf.u0.promote_secondaries=1
    inns "$h" sysctl -qw net.ipv6.conf.u0.keep_addr_on_down=1   # link_flap: keep 2001:db8:1::i
done
for m in a b c d g; do inns "$m" ip route add default via "${LANGW[$m]}"; done
inns rd ip route add default via 203.0.113.13
brport() { echo "${PFX}p${HOSTIDX[$1]}"; }   # the bridge's side of a host's public link

# nat ROUTER home|symmetric|fullcone: masquerade out of u0; unsolicited input to the router dropped
# (as home routers do; see direct.sh); fullcone also sends every new inbound UDP flow to its one
# LAN host (a "DMZ host": endpoint-independent filtering).
nat() {
    local masq="masquerade" fwd=""
    [ "$2" = symmetric ] && masq="masquerade fully-random"
    # Only what is addressed to the router itself (whatever its address is now): a datagram still
    # sent to an address it gave up (a neighbour entry on the bridge not yet expired) must not
    # make a mapping that translates the LAN host's replies back to that address.
    [ "$2" = fullcone ] && fwd="chain prerouting { type nat hook prerouting priority dstnat; policy accept; iifname \"u0\" fib daddr type local meta l4proto udp dnat to 203.0.113.22; }"
    inns "$1" sysctl -qw net.ipv4.ip_forward=1
    inns "$1" nft -f - <<NFT
table ip ${PFX}nat {
    chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "u0" $masq; }
    chain input { type filter hook input priority filter; policy accept; iifname "u0" ct state new drop; }
    $fwd
}
NFT
}
nat ra home; nat rb home; nat rc symmetric; nat rd home; nat cg home; nat rg fullcone
# --- end topology

for k in sw "${MEMBERS[@]}"; do keypair "$k"; done
SWPUB=$(cat "$WORK/sw.pub")
for m in "${MEMBERS[@]}"; do printf '[Port]\nName = %s\nPublicKey = %s\n' "$m" "$(cat "$WORK/$m.pub")"; done >"$WORK/ports.conf"
SWSOCK=/run/lanyard/${PFX}-sw.sock

write_pids() { local n; for n in "${!PIDS[@]}"; do echo "$n ${PIDS[$n]}"; done >"$WORK/pids.new"; mv "$WORK/pids.new" "$WORK/pids"; }
# launch NAME NS CMD...: like lib.sh's start, but the log is appended to (restarts keep history).
launch() {
    local name=$1 n=$2; shift 2
    echo "=== chaos: started at $(date -u +%T.%N | cut -c1-12) (event #${EVENT_NO:-0})" >>"$WORK/$name.log"
    ip netns exec "$(ns "$n")" "$@" >>"$WORK/$name.log" 2>&1 &
    PIDS[$name]=$!
    write_pids
}
alive() { local s; s=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
kill9() { # NAME: SIGKILL, reaped; the control socket file stays behind, as after a crash
    local pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    echo "=== chaos: SIGKILLed at $(date -u +%T.%N | cut -c1-12) (event #${EVENT_NO:-0})" >>"$WORK/$1.log"
    unset "PIDS[$1]"; write_pids
}
sw_json() { timeout 5 "$LANYARD" status --socket "$SWSOCK" --json; }
port_json() { timeout 5 "$LANYARD" status --socket "/run/lanyard/${PFX}-$1.sock" --json; }
start_switch() {
    launch switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --ports "$WORK/ports.conf" \
        --name "${PFX}-sw" --log-level "${SWITCH_LOG_LEVEL:-info}"
    wait_until 5 sw_json >/dev/null
}
start_port() { # MEMBER
    launch "port-$1" "$1" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$SWPUB" \
        --private-key "$WORK/$1.key" --tap "tap$1" --name "${PFX}-$1" --log-level "${PORT_LOG_LEVEL:-info}" \
        --address "198.51.100.${OVL[$1]}/24"
}
tap_gone() { ! inns "$1" ip link show "tap$1" >/dev/null 2>&1; }
kill_port() { # MEMBER: SIGKILL; its TAP must go with the process
    kill9 "port-$1"
    wait_until 3 tap_gone "$1" >/dev/null 2>&1 || LEAKS+=("tap$1 still present 3 s after port $1 was SIGKILLed (event #$EVENT_NO)")
}

# Every ordered pair pings all the time (this is also the background traffic): ping -D prints
# the time of each answer; chaos_helper.py wait reads these logs.
mkdir -p "$WORK/ping"
PING_PIDS=()
# ping gives up at once when it has no route (its TAP gone with a killed port): each pair's ping
# runs in a loop, bounded by the run's deadline, and a TERM ends the loop and its ping.
ping_loop() { # SRC DST_ADDR LOG
    local end=$((SECONDS + DURATION + 900)) child=
    trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM
    while [ $SECONDS -lt $end ]; do
        ip netns exec "$(ns "$1")" ping -D -O -n -i 0.3 -W 1 -w $((end - SECONDS)) "$2" >>"$3" 2>&1 & child=$!
        wait "$child"; child=
        sleep 0.5
    done
}
start_pings() {
    local s d
    for s in "${MEMBERS[@]}"; do for d in "${MEMBERS[@]}"; do
        [ "$s" = "$d" ] && continue
        ping_loop "$s" "198.51.100.${OVL[$d]}" "$WORK/ping/$s-$d.log" &
        PING_PIDS+=($!)
    done; done
}
stop_pings() {
    local p
    for p in "${PING_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PING_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PING_PIDS=()
}
live_csv() { local IFS=,; echo "${MEMBERS[*]}"; }

# Log lines of the daemons since the event began (for failures).
declare -A LOGMARK
mark_logs() { local f; for f in "$WORK"/*.log; do LOGMARK[$f]=$(wc -l <"$f"); done; }
logs_since_mark() { # NAME...
    local n f
    for n in "$@"; do
        f="$WORK/$n.log"; [ -f "$f" ] || continue
        echo "      --- $n.log since the event began (last 20 lines)"
        tail -n +"$(( ${LOGMARK[$f]:-0} + 1 ))" "$f" | tail -n 20 | sed 's/^/      | /'
    done
}

# reconverge KIND TARGET BOUND [DETAIL]: waits for every pair after EV_T0, records, checks.
RESULTS="$WORK/results.tsv"; : >"$RESULTS"
CARRIED=; CARRIED_FROM=
reconverge() {
    local kind=$1 target=$2 bound=$3 detail=${4:-} out rc took mb me worst still recovered verdict carried_note=
    out=$(python3 "$HERE/chaos_helper.py" wait "$EV_T0" "$bound" "$EXTRA" "$(live_csv)" "$WORK/ping" "$WORK/offsets.json" "$CARRIED")
    rc=$?
    read -r took mb me worst still recovered <<<"$out"
    verdict=ok; [ $rc -eq 0 ] || verdict=FAIL
    echo "$EVENT_NO $kind $target ${took:--} $bound $verdict" >>"$RESULTS"
    if [ -n "$CARRIED" ]; then
        carried_note="; pairs still broken since $CARRIED_FROM, not judged here: ${still:-?}"
        [ "${recovered:-none}" != none ] && carried_note+=" (answering again: $recovered)"
    fi
    # pairs that have not answered even after the extra wait are carried to the next events
    local next=; [ "${me:-none}" != none ] && next=$me
    [ "${still:-none}" != none ] && next=${next:+$next,}$still
    [ "${me:-none}" != none ] && CARRIED_FROM="event #$EVENT_NO ($kind $target)"
    CARRIED=$next
    if [ $rc -eq 0 ]; then
        PASSED=$((PASSED + 1)); printf 'ok    event #%d %s %s%s: every pair answers again in %s s (bound %s s)%s\n' \
            "$EVENT_NO" "$kind" "$target" "${detail:+ ($detail)}" "$took" "$bound" "$carried_note"
        return 0
    fi
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("event #$EVENT_NO $kind $target (seed $SEED)")
    printf 'FAIL  event #%d %s %s%s: not every pair answered within %s s (seed %s)\n' "$EVENT_NO" "$kind" "$target" "${detail:+ ($detail)}" "$bound" "$SEED"
    echo "      | replay: $REPLAY   (event #$EVENT_NO: $EV_LINE)"
    echo "      | pairs without an answer at the bound: $mb$carried_note"
    if [ "$took" = "-" ]; then echo "      | still without an answer $EXTRA s later: $me"
    else echo "      | every pair answered after $took s (slowest: $worst)"; fi
    local involved=(switch) p m
    for p in ${mb//,/ }; do for m in ${p/>/ }; do [[ " ${involved[*]} " == *" port-$m "* ]] || involved+=("port-$m"); done; done
    logs_since_mark "${involved[@]:0:5}"
    return 1
}

# --- events. Each sets EV_T0 (epoch seconds) where the wait for reconvergence begins.
ev_kill_port() { # MEMBER DELAY
    kill_port "$1"; sleep "$2"; start_port "$1"; EV_T0=$(now)
    reconverge kill_port "$1" $BOUND_DEFAULT "restarted after $2 s"
}
ev_kill_pair() { # M+N DELAY
    local m=${1%+*} n=${1#*+}
    kill_port "$m"; kill_port "$n"; sleep "$2"; start_port "$m"; start_port "$n"; EV_T0=$(now)
    reconverge kill_pair "$1" $BOUND_DEFAULT "restarted after $2 s"
}
ev_kill_switch() { # - DELAY
    kill9 switch; sleep "$2"; start_switch; EV_T0=$(now)
    reconverge kill_switch switch $BOUND_SWITCH "restarted after $2 s"
}
ev_link_flap() { # MEMBER lan|wan HOLD
    local h=${UPLINK[$1]} side=wan
    if [ "$2" = lan ] && [ -n "${LANGW[$1]:-}" ]; then h=$1; side=lan; fi
    inns "$h" ip link set u0 down; sleep "$3"; inns "$h" ip link set u0 up
    [ "$side" = lan ] && inns "$h" ip route replace default via "${LANGW[$1]}"
    EV_T0=$(now)
    reconverge link_flap "$1" $BOUND_DEFAULT "$side link of $h down $3 s"
}
ev_nat_flush() { # ROUTER|all
    local r rs=("$1"); [ "$1" = all ] && rs=("${ROUTERS[@]}")
    for r in "${rs[@]}"; do inns "$r" conntrack -F >/dev/null 2>&1; done
    EV_T0=$(now)
    reconverge nat_flush "$1" $BOUND_DEFAULT "conntrack -F"
}
ev_addr_change() { # MEMBER: the public address of its host on the bridge (router or itself)
    local h=${UPLINK[$1]} i=${HOSTIDX[${UPLINK[$1]}]} old new
    old=${PUBIP[$h]}; new=192.0.2.$i; [ "$old" = "$new" ] && new=192.0.2.$((i + 100))
    inns "$h" ip addr add "$new/24" dev u0
    inns "$h" ip addr del "$old/24" dev u0
    # Linux forgets the masquerade mappings of a deleted address by itself; the full-cone router's
    # inbound forwarding (dnat) entries to it would outlive it, translating the LAN host's replies
    # to an address the router no longer has. A router whose public address changes forgets
    # those too (as the masquerade does, and as routers flush their NAT table on a new WAN lease).
    [ "$h" = rg ] && inns rg conntrack -D --orig-dst "$old" >/dev/null 2>&1
    if [ "$h" = e ] || [ "$h" = f ]; then
        local o6=2001:db8:1::${old##*.} n6=2001:db8:1::${new##*.}
        inns "$h" ip addr add "$n6/64" dev u0 nodad; inns "$h" ip addr del "$o6/64" dev u0
    fi
    PUBIP[$h]=$new
    EV_T0=$(now)
    reconverge addr_change "$1" $BOUND_DEFAULT "$h: $old -> $new"
}
# Impairments on a member's public link, both directions (both ends of the veth). Loss at the
# ingress hooks (a drop at egress would be an ENOBUFS the sender sees, not a loss on the wire),
# duplication at egress (the copy marked so that it is not copied again), reordering by sending
# a share of the packets through a slow htb class (40 kbit/s: ~30 ms for a 150-byte datagram,
# so later packets overtake them).
impair_ends() { echo "${UPLINK[$1]} u0"; echo "net $(brport "${UPLINK[$1]}")"; }
impair_on() { # KIND MEMBER PCT
    local n dev rule hook
    while read -r n dev; do
        case $1 in
            loss) hook=ingress; rule="numgen random mod 100 < $3 counter drop" ;;
            duplicate) hook=egress; rule="meta mark != 0x1 numgen random mod 100 < $3 meta mark set 0x1 counter dup to \"$dev\"" ;;
            reorder) hook=egress; rule="numgen random mod 100 < $3 counter meta priority set \"1:20\""
                inns "$n" tc qdisc add dev "$dev" root handle 1: htb default 10 r2q 1000
                inns "$n" tc class add dev "$dev" parent 1: classid 1:10 htb rate 10gbit 2>/dev/null
                inns "$n" tc class add dev "$dev" parent 1: classid 1:20 htb rate 40kbit ceil 40kbit burst 1600 cburst 1600 2>/dev/null ;;
        esac
        inns "$n" nft -f - <<NFT
table netdev ${PFX}imp { chain c { type filter hook $hook device "$dev" priority filter; policy accept; $rule; }; }
NFT
    done < <(impair_ends "$2")
}
impair_off() { # MEMBER: prints what the rules did
    local n dev c total=0
    while read -r n dev; do
        c=$(inns "$n" nft list table netdev "${PFX}imp" 2>/dev/null | grep -oE 'counter packets [0-9]+' | awk '{s += $3} END {print s + 0}')
        total=$((total + c))
        inns "$n" nft delete table netdev "${PFX}imp" 2>/dev/null
        inns "$n" tc qdisc del dev "$dev" root 2>/dev/null
    done < <(impair_ends "$1")
    echo "$total"
}
ev_impair() { # KIND MEMBER PCT HOLD
    local t_end n
    impair_on "$1" "$2" "$3"; EV_T0=$(now)
    t_end=$(python3 -c "print($EV_T0 + $4)")
    reconverge "$1" "$2" $BOUND_DEFAULT "$3 % on ${UPLINK[$2]}'s public link for $4 s, measured during it"
    python3 -c "import time; time.sleep(max(0, $t_end - time.time()))"
    n=$(impair_off "$2")
    log "$1: $n packets affected"
}
ev_loss() { ev_impair loss "$@"; }
ev_reorder() { ev_impair reorder "$@"; }
ev_duplicate() { ev_impair duplicate "$@"; }
# MTU of the member's LAN hop (both ends): the router then fragments the tunnel's datagrams or
# answers "fragmentation needed" to their sender. Also: 1300-byte pings over the overlay (frames of
# 1342 bytes, ~1420-byte datagrams) to and from a public member, after path MTU discovery.
ev_mtu() { # MEMBER MTU HOLD
    local m=$1 r=${LANRTR[$1]} t_end peer=e large=fail
    [ "$m" = e ] && peer=f
    inns "$m" ip link set u0 mtu "$2"; inns "$r" ip link set l0 mtu "$2"
    EV_T0=$(now); t_end=$(python3 -c "print($EV_T0 + $3)")
    reconverge mtu "$m" $BOUND_DEFAULT "LAN hop $m-$r at MTU $2 for $3 s"
    local try
    for try in 1 2 3 4 5; do
        if inns "$m" ping -c 1 -W 2 -s 1300 "198.51.100.${OVL[$peer]}" >/dev/null 2>&1 &&
           inns "$peer" ping -c 1 -W 2 -s 1300 "198.51.100.${OVL[$m]}" >/dev/null 2>&1; then large="ok (try $try)"; break; fi
    done
    MTU_LARGE+=("event #$EVENT_NO $m <-> $peer over MTU $2: $large")
    python3 -c "import time; time.sleep(max(0, $t_end - time.time()))"
    inns "$m" ip link set u0 mtu 1500; inns "$r" ip link set l0 mtu 1500
}
cut_off() { # MEMBER: it reaches none of the others, and none of them reaches it (one ping each)
    local m=$1 o pids=() ok=0
    for o in "${MEMBERS[@]}"; do
        [ "$o" = "$m" ] && continue
        inns "$m" ping -c 1 -W 1 "198.51.100.${OVL[$o]}" >/dev/null 2>&1 & pids+=($!)
        inns "$o" ping -c 1 -W 1 "198.51.100.${OVL[$m]}" >/dev/null 2>&1 & pids+=($!)
    done
    for o in "${pids[@]}"; do wait "$o" && ok=1; done
    [ $ok -eq 0 ]
}
ev_member_cycle() { # MEMBER HOLD
    local t0=$SECONDS rc
    "$LANYARD" switch remove-port --ports "$WORK/ports.conf" --name "${PFX}-sw" "$1" >"$WORK/removeport.out" 2>&1 ||
        { log "remove-port failed: $(cat "$WORK/removeport.out")"; }
    wait_until 6 cut_off "$1" >/dev/null 2>&1; rc=$?
    check "event #$EVENT_NO member_cycle $1: removed live, cut off from every member within 6 s ($((SECONDS - t0)) s)" [ $rc -eq 0 ]
    sleep "$2"
    "$LANYARD" switch add-port --ports "$WORK/ports.conf" --name "${PFX}-sw" "$1" "$(cat "$WORK/$1.pub")" >"$WORK/addport.out" 2>&1 ||
        { log "add-port failed: $(cat "$WORK/addport.out")"; }
    EV_T0=$(now)
    reconverge member_cycle "$1" $BOUND_MEMBER "removed for $2 s, added back"
}
# "DROPS COOKIES": the sum of a daemon's datagram drop counters and its cookie replies (each
# an initiation refused under load; "none" if the daemon does not report them); empty when its
# control socket does not answer (a flooded daemon may not, for a while: retried for ~10 s).
drops_of() { # switch|MEMBER
    local i v
    for i in 1 2 3 4 5; do
        if [ "$1" = switch ]; then
            v=$(sw_json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(d["datagramDrops"].values()), d.get("cookieReplies", "none"))' 2>/dev/null)
        else
            v=$(port_json "$1" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(d["drops"].values()), d.get("cookieReplies", "none"))' 2>/dev/null)
        fi
        [ -n "$v" ] && { echo "$v"; return 0; }
        sleep 1
    done
    return 1
}
# udp_stat NS FIELD...: the sum of those fields of the namespace's Udp counters (/proc/net/snmp).
udp_stat() {
    local n=$1; shift
    inns "$n" awk -v want=" $* " '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) name[i] = $i; h = 1; next }
        for (i = 2; i <= NF; i++) if (index(want, " " name[i] " ")) s += $i; print s + 0; exit }' /proc/net/snmp
}
ev_handshake_flood() { # switch|e|f RATE SECONDS
    local host port key ns d0 d1 k0 k1 fl sent
    d0=$(drops_of "$1")
    if [ "$1" = switch ]; then
        ns=sw; host=192.0.2.1; port=51820; key=$SWPUB
    else
        ns=$1; host=${PUBIP[$1]}; key=$(cat "$WORK/$1.pub")
        port=$(inns "$1" ss -Hunlp | awk '/lanyard/ && $4 ~ /^0\.0\.0\.0:|^\*:|^\[::\]:/ { n = split($4, a, ":"); print a[n]; exit }')
        [ -n "$port" ] || port=$(inns "$1" ss -Hunlp | awk '/lanyard/ { n = split($4, a, ":"); print a[n]; exit }')
    fi
    # where each initiation can end: counted as a drop by the target, answered with a cookie reply
    # (under load: the target's cookieReplies), or dropped by the target's kernel (receive buffer
    # full: Udp InErrors). (x's own Udp counters cannot tell: InDatagrams counts reads, and the
    # flooder never reads.)
    k0=$(udp_stat "$ns" InErrors)
    inns x timeout $(( ${3%.*} + 15 )) python3 "$HERE/handshake_flood.py" "$host" "$port" "$key" --rate "$2" --seconds "$3" --sources 16 \
        >"$WORK/flood.out" 2>&1 & fl=$!
    EV_T0=$(now)
    reconverge handshake_flood "$1" $BOUND_DEFAULT "$2/s for $3 s at $host:$port, measured during it"
    wait $fl
    # the target may still be working through what its socket buffered: wait until its drop
    # counters stop moving (1 s apart, at most 15 s)
    local prev=-1 i
    for i in $(seq 1 15); do
        d1=$(drops_of "$1")
        [ -n "$d1" ] && [ "$d1" = "$prev" ] && break
        prev=$d1; sleep 1
    done
    k1=$(udp_stat "$ns" InErrors)
    sent=$(grep -oE '^sent [0-9]+' "$WORK/flood.out" | cut -d' ' -f2)
    local counted="unknown (control socket did not answer)" cookies="unknown" total=0 known=0
    if [ -n "$d0" ] && [ -n "$d1" ]; then
        counted="+$(( ${d1% *} - ${d0% *} ))"; total=$(( ${d1% *} - ${d0% *} )); known=1
        if [ "${d1#* }" = none ]; then cookies="not reported by $1"; known=0
        else cookies="+$(( ${d1#* } - ${d0#* } ))"; total=$(( total + ${d1#* } - ${d0#* } )); fi
    fi
    local line="sent ${sent:-?}; $1's drop counters $counted, cookie replies $cookies; $1's kernel UDP InErrors +$((k1 - k0))"
    FLOOD_LINES+=("event #$EVENT_NO flood of $1: $line")
    check "event #$EVENT_NO handshake_flood $1: every initiation counted (drops + cookie replies by $1, + kernel drops, >= sent)" \
        bash -c 'echo "$1"; [ "$2" -gt 0 ] && [ "$3" = 1 ] && [ "$4" -ge "$2" ]' _ "$line" "${sent:-0}" "$known" "$((total + k1 - k0))"
}
FLOOD_LINES=()

check_daemons() { # WHEN: every daemon must be alive unless an event killed it (and restarted it)
    local n
    for n in switch "${MEMBERS[@]/#/port-}"; do
        if [ -z "${PIDS[$n]:-}" ] || ! alive "${PIDS[$n]}"; then
            UNEXPECTED+=("$n (pid ${PIDS[$n]:-none}) found dead $1")
            echo "  !! $n (pid ${PIDS[$n]:-none}) died unexpectedly ($1); last log lines:"
            tail -n 15 "$WORK/$n.log" | sed 's/^/      | /'
            wait "${PIDS[$n]:-0}" 2>/dev/null; echo "      | exit status $?"
            unset "PIDS[$n]"
            if [ "$n" = switch ]; then start_switch; else start_port "${n#port-}"; fi
        fi
    done
}

# Snapshot of what must be the same before and after the chaos: interfaces (name, MTU, state),
# addresses, routes, nftables tables, qdiscs, the number of UDP sockets, per namespace.
snapshot() {
    local n
    for n in "${NAMESPACES[@]}"; do
        echo "## $n"
        inns "$n" ip -o link show | awk '{ sub(/@.*/, "", $2); print "link", $2, $4, $5, $9 }' | sort
        inns "$n" ip -o addr show | awk '$2 !~ /^tap/ || $4 !~ /^fe80:/ { print "addr", $2, $4 }' | sort  # a new TAP, a new MAC
        inns "$n" ip route show | sed 's/^/route4 /' | sort
        inns "$n" ip -6 route show | sed 's/^/route6 /' | sort
        inns "$n" nft list tables | sed 's/^/nft /' | sort
        inns "$n" tc qdisc show | awk '{ print "qdisc", $2, $5 }' | sort
        echo "udp sockets $(inns "$n" ss -Hua | wc -l)"
    done
}

# --- start
start_switch || { check "switch starts" false; summary; exit 1; }
for m in "${MEMBERS[@]}"; do start_port "$m"; done
has_addr() { inns "$1" ip -o addr show dev "tap$1" 2>/dev/null | grep -q "198.51.100.${OVL[$1]}/"; }
for m in "${MEMBERS[@]}"; do wait_until 10 has_addr "$m" >/dev/null 2>&1; done
start_pings
EV_T0=$(now); EVENT_NO=0; EV_LINE=start
reconverge start all 60 "7 ports start, 42 ordered pairs"
STOPFILE="$WORK/stop"
python3 "$HERE/chaos_helper.py" sample "$WORK/pids" "$WORK/resources.tsv" "$STOPFILE" & SAMPLER=$!
snapshot >"$WORK/snap.before"

# --- chaos
mapfile -t EVENTS < <(python3 "$HERE/chaos_helper.py" schedule "$SEED" 5000 "$(live_csv)" "$(IFS=,; echo "${ROUTERS[*]}")" "$(IFS=,; echo "${NATTED[*]}")")
CHAOS_T0=$(now); END=$((SECONDS + DURATION)); EVENT_NO=0
while [ $SECONDS -lt $END ] && [ $EVENT_NO -lt ${#EVENTS[@]} ]; do
    check_daemons "before event #$((EVENT_NO + 1))"
    EV_LINE=${EVENTS[$EVENT_NO]}; EVENT_NO=$((EVENT_NO + 1))
    echo "--- event #$EVENT_NO at +$((SECONDS - END + DURATION)) s: $EV_LINE"
    mark_logs
    read -r kind target a1 a2 a3 <<<"$EV_LINE"
    case $kind in
        loss|reorder|duplicate) "ev_$kind" "$target" "$a1" "$a2" ;;
        *) "ev_$kind" "$target" "$a1" "$a2" "$a3" ;;
    esac
    sleep 1
done
CHAOS_T1=$(now)
check_daemons "after the last event"
echo "--- $EVENT_NO events in $(python3 -c "print(round($CHAOS_T1 - $CHAOS_T0))") s (seed $SEED)"

# --- after the chaos: public addresses back as they were (the snapshot compares them)
restore_addresses() {
    local h changed=
    for h in "${!PUBIP[@]}"; do
        [ "${PUBIP[$h]}" = "192.0.2.${HOSTIDX[$h]}" ] && continue
        inns "$h" ip addr add "192.0.2.${HOSTIDX[$h]}/24" dev u0; inns "$h" ip addr del "${PUBIP[$h]}/24" dev u0
        if [ "$h" = e ] || [ "$h" = f ]; then
            inns "$h" ip addr add "2001:db8:1::${HOSTIDX[$h]}/64" dev u0 nodad; inns "$h" ip addr del "2001:db8:1::${PUBIP[$h]##*.}/64" dev u0
        fi
        changed+=" $h"; PUBIP[$h]=192.0.2.${HOSTIDX[$h]}
    done
    echo "${changed:- none}"
}
echo "--- public addresses restored:$(restore_addresses)"
EV_T0=$(now); EV_LINE=end; CARRIED=   # every pair is judged here, broken ones included
EVENT_NO=$((EVENT_NO + 1)); mark_logs
reconverge end all $BOUND_DEFAULT "all pairs, after the last event"

check "no daemon died unexpectedly (${#UNEXPECTED[@]} found dead)" \
    bash -c 'for l in "$@"; do echo "$l"; done; [ $# -eq 0 ]' _ "${UNEXPECTED[@]}"

touch "$STOPFILE"; wait "$SAMPLER" 2>/dev/null
echo "resources (median of 1 s samples in the first and the last quarter of the chaos):"
python3 "$HERE/chaos_helper.py" resources "$WORK/resources.tsv" "$CHAOS_T0" "$CHAOS_T1" | tee "$WORK/resources.out" | sed 's/^/  /'
check "memory and descriptors flat: last quarter's RSS <= 1.25 x first + 4 MiB, fds <= first + 4, per daemon" \
    bash -c "! grep -q GREW '$WORK/resources.out'"

# Drops: every daemon reports its drop counters by reason; print the totals.
drops_report() {
    local ok=0 m out
    out=$(sw_json | python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in ("datagramDrops", "frameDrops"):
    assert isinstance(d.get(k), dict), k
    print("switch %s: %s" % (k, ", ".join("%s %d" % kv for kv in sorted(d[k].items()) if kv[1]) or "none"))') || ok=1
    echo "$out"
    for m in "${MEMBERS[@]}"; do
        out=$(port_json "$m" | python3 -c 'import json,sys; d=json.load(sys.stdin)
assert isinstance(d.get("drops"), dict), "drops"
print("port %s drops: %s" % (sys.argv[1], ", ".join("%s %d" % kv for kv in sorted(d["drops"].items()) if kv[1]) or "none"))' "$m") || ok=1
        echo "$out"
    done
    return $ok
}
drops_report | tee "$WORK/drops.out" | sed 's/^/  /'
check "drops counted: the switch and every port report drop counters by reason" drops_report
paths_report() {
    local m
    for m in "${MEMBERS[@]}"; do
        port_json "$m" | python3 -c 'import json,sys; d=json.load(sys.stdin)
print("  %s: %s" % (sys.argv[1], " ".join("%s=%s" % (x.get("name"), x.get("path")) for x in sorted(d.get("members") or [], key=lambda x: str(x.get("name"))))))' "$m"
    done
}
echo "paths at the end (each port's view):"; paths_report
for l in "${MTU_LARGE[@]}" "${FLOOD_LINES[@]}"; do echo "  $l"; done
if [ ${#MTU_LARGE[@]} -gt 0 ]; then
    check "MTU events: 1300-byte overlay pings cross the reduced hop both ways" \
        bash -c 'for l in "$@"; do echo "$l"; done; ! printf "%s\n" "$@" | grep -q ": fail"' _ "${MTU_LARGE[@]}"
fi

snapshot >"$WORK/snap.after"
check "nothing leaked during the chaos: interfaces, addresses, routes, nft tables, qdiscs, UDP sockets as before; TAPs gone after SIGKILL" \
    bash -c "diff '$WORK/snap.before' '$WORK/snap.after' && for l in \"\$@\"; do echo \"\$l\"; done && [ \$# -eq 0 ]" _ "${LEAKS[@]}"

# --- teardown, then look for leftovers
stop_pings
graceful_stop() {
    local n bad=0
    for n in "${MEMBERS[@]}"; do stop "port-$n"; done; stop switch
    for n in "${MEMBERS[@]}"; do
        tap_gone "$n" || { echo "tap$n left after port $n stopped"; bad=1; }
        [ -e "/run/lanyard/${PFX}-$n.sock" ] && { echo "control socket of $n left"; bad=1; }
    done
    [ -e "$SWSOCK" ] && { echo "switch control socket left"; bad=1; }
    return $bad
}
check "daemons stop on SIGTERM and remove their TAPs and control sockets" graceful_stop
for n in "${NAMESPACES[@]}"; do
    ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$(ns "$n")" 2>/dev/null
done
NAMESPACES=()
leftovers() {
    local l
    l=$( { ip netns list | grep "^${PFX}-"; ip -o link show | grep "${PFX}"; ls /run/lanyard/ 2>/dev/null | grep "^${PFX}-"; } )
    [ -z "$l" ] || { echo "$l"; return 1; }
}
check "after teardown: no namespace, interface or control socket of this run is left" wait_until 5 leftovers

echo
echo "reconvergence after each kind of event, seconds (seed $SEED, $DURATION s):"
python3 "$HERE/chaos_helper.py" report <(grep -vE ' (start|end) ' "$RESULTS")
DONE=1
summary
