#!/usr/bin/env bash
# End to end: members in a database, joining with a token, and the management API.
# STORE=sqlite (default) or STORE=postgres (a PostgreSQL server this test starts in namespace db).
#
#   a 203.0.113.2/30 -- ra (NAT, 192.0.2.2) --+
#   b 203.0.113.6/30 -- rb (NAT, 192.0.2.3) --+-- br0: sw 192.0.2.1, c 192.0.2.4, db 192.0.2.5, j 192.0.2.6
#
# a and b join with tokens from behind their NATs and ping each other; c is added by key.
# Tokens that are expired, used, revoked or forged are refused; a restarted joined port does not
# join again; a member removed through the API is cut off at once while the others keep their
# sessions; an invite that needs approval waits for it.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT
STORE=${STORE:-sqlite}

make_underlay sw ra rb c db j
make_link ra l0 203.0.113.1/30 a u0 203.0.113.2/30
make_link rb l0 203.0.113.5/30 b u0 203.0.113.6/30
inns a ip route add default via 203.0.113.1
inns b ip route add default via 203.0.113.5
for r in ra rb; do
    inns "$r" sysctl -qw net.ipv4.ip_forward=1
    inns "$r" nft -f - <<NFT
table ip ${PFX}nat {
    chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "u0" masquerade; }
    chain input { type filter hook input priority filter; policy accept; iifname "u0" ct state new drop; }
}
NFT
done

keypair sw; keypair c
if [ "$STORE" = postgres ]; then
    start_postgres db 192.0.2.5 || { echo "cannot start PostgreSQL"; exit 1; }
    DB=$PGURL
else
    DB="$WORK/members.db"
fi
SW="${PFX}-sw"
API=/run/lanyard/$SW.api.sock
m() { "$LANYARD" member "$@" --name "$SW"; }
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --database "$DB" \
    --endpoint 192.0.2.1:51820 --name "$SW" --api-listen 192.0.2.1:8443
wait_until 15 test -S "$API" || { cat "$WORK/switch.log"; exit 1; }

# join NAME NS TOKEN ADDRESS [extra]: a port that joins with TOKEN, state in $WORK/state-NAME.
join_port() {
    start "port-$1" "$2" "$LANYARD" port --join "$3" --state-directory "$WORK/state-$1" --tap "tap$1" \
        --name "${PFX}-$1" --address "$4" --join-wait 20 "${@:5}"
}

TA=$(m invite a 2>/dev/null); TB=$(m invite b 2>/dev/null)
join_port a a "$TA" 198.51.100.11/24
join_port b b "$TB" 198.51.100.12/24
"$LANYARD" member add c "$(cat "$WORK/c.pub")" --name "$SW" 2>/dev/null
start port-c c "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw.pub")" --private-key "$WORK/c.key" \
    --tap tapc --name "${PFX}-c" --address 198.51.100.13/24

joined_and_ping() {
    echo "token: ${TA:0:24}... ($(echo -n "$TA" | wc -c) characters)"
    wait_until 30 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || { tail -5 "$WORK/port-a.log" "$WORK/port-b.log"; return 1; }
    inns b ping -c 3 -i 0.3 -W 2 198.51.100.11 >/dev/null || return 1
    wait_until 20 inns a ping -c 1 -W 1 198.51.100.13 >/dev/null || return 1
    echo "members: $(m list 2>/dev/null | tail -n +2 | cut -f1,2 | tr '\t\n' ': ')"
    # The private key was made on the port's host and never left it: the database has only public keys.
    local pub; pub=$("$LANYARD" pubkey <"$WORK/state-a/private.key")
    [ "$(m show a 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')" = "$pub" ] || return 1
    [ "$(stat -c %a "$WORK/state-a/private.key")" = 600 ]
}
check "two ports behind NATs join with tokens from 'member invite' and ping each other and a member added by key" joined_and_ping

restart_no_rejoin() {
    local before; before=$(m invites --json 2>/dev/null | python3 -c 'import json,sys; print(sum(i["used"] for i in json.load(sys.stdin)))')
    stop port-a
    join_port a a "$TA" 198.51.100.11/24
    wait_until 30 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || return 1
    local after count; after=$(m invites --json 2>/dev/null | python3 -c 'import json,sys; print(sum(i["used"] for i in json.load(sys.stdin)))')
    count=$(m list --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')
    echo "invite uses before $before after $after; members $count; $(grep -c 'not joining again' "$WORK/port-a.log") 'not joining again' in a's log"
    [ "$before" = "$after" ] && [ "$count" = 3 ] && grep -q "not joining again" "$WORK/port-a.log"
}
check "a restarted port that joined before does not join again" restart_no_rejoin

# refused TOKEN WHY: a fresh port joining with TOKEN exits 1 with WHY in its message.
refused() {
    local dir="$WORK/state-x$RANDOM" out rc
    out=$(inns j timeout 30 "$LANYARD" port --join "$1" --state-directory "$dir" --tap tapx --name "${PFX}-x" --join-wait 4 2>&1); rc=$?
    echo "  exit $rc: $(echo "$out" | tail -1)"
    [ $rc -eq 1 ] && echo "$out" | grep -q "$2" && ! inns j ip link show tapx >/dev/null 2>&1
}
bad_tokens() {
    local members; members=$(m list --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')
    local exp rev forged
    exp=$(m invite late --expires 1s 2>/dev/null); sleep 2
    refused "$exp" "expired" || return 1
    refused "$TB" "already used" || return 1
    rev=$(m invite gone 2>/dev/null)
    m revoke "$(m invites --json 2>/dev/null | python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["name"]=="gone"][0])')" 2>/dev/null
    refused "$rev" "does not accept this token" || return 1
    # A real token with one byte of its secret changed: the switch answers as for any wrong token.
    forged=$(python3 - "$rev" <<'PY'
import base64, sys
t = sys.argv[1][len("lanyard1-"):]
raw = bytearray(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
raw[1 + 32 + 8] ^= 1
print("lanyard1-" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
PY
)
    refused "$forged" "does not accept this token" || return 1
    refused "lanyard1-AAAA" "token" || return 1
    refused "hello" "not a Lanyard join token" || return 1
    local after; after=$(m list --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')
    echo "members before $members after $after"
    [ "$members" = "$after" ]
}
check "expired, used, revoked, forged and garbage tokens are each refused with a clear message and change nothing" bad_tokens

remove_cuts_off() {
    # a pings c throughout; b is removed through the API.
    inns a ping -i 0.2 -W 1 -c 40 198.51.100.13 >"$WORK/ac.ping" 2>&1 & local p=$!
    sleep 1
    local code; code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$API" -X DELETE http://lanyard/v1/members/b)
    local t0=$SECONDS
    # Cut off at once: nothing from b reaches a from now on (the direct session is ended too).
    sleep 1
    local lost; lost=$(inns b ping -c 5 -i 0.3 -W 1 198.51.100.11 | grep -c 'bytes from')
    wait $p
    local ac; ac=$(grep -c 'bytes from' "$WORK/ac.ping")
    echo "DELETE -> $code; b -> a after removal: $lost of 5 answered; a -> c during it: $ac of 40"
    [ "$code" = 204 ] && [ "$lost" = 0 ] && [ "$ac" -ge 39 ]
}
check "a member removed through the API is cut off at once while the others keep their sessions" remove_cuts_off

approval() {
    local t; t=$(m invite lab --approval 2>/dev/null)
    join_port lab j "$t" 198.51.100.14/24
    wait_until 10 grep -q "waiting for the network's operator" "$WORK/port-lab.log" || return 1
    local state; state=$(m list 2>/dev/null | awk '$1=="lab"{print $2}')
    m approve lab 2>/dev/null || return 1
    wait_until 20 inns j ping -c 1 -W 1 198.51.100.13 >/dev/null || return 1
    echo "lab was $state before approval, and reaches c after it"
    [ "$state" = pending ]
}
check "an invite that needs approval lets the member in only once approved" approval

api_bad_input() {
    local v0 v1 ok=1
    v0=$(curl -s --unix-socket "$API" http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    c() { curl -s -o "$WORK/api.out" -w '%{http_code}' --unix-socket "$API" "$@"; }
    local k; k=$("$LANYARD" genkey | "$LANYARD" pubkey)
    for t in "400 -X POST -d {bad http://lanyard/v1/members" \
             "400 -X POST -d {\"name\":\"n1\",\"publicKey\":\"$k\",\"extra\":1} http://lanyard/v1/members" \
             "400 -X POST -d {\"name\":\"n1\",\"publicKey\":\"AAAA\"} http://lanyard/v1/members" \
             "400 -X POST -d {\"name\":\"bad/name\",\"publicKey\":\"$k\"} http://lanyard/v1/members" \
             "409 -X POST -d {\"name\":\"a\",\"publicKey\":\"$k\"} http://lanyard/v1/members" \
             "409 -X POST -d {\"name\":\"n2\",\"publicKey\":\"$(cat "$WORK/c.pub")\"} http://lanyard/v1/members" \
             "400 -X PATCH -d {\"enabled\":\"yes\"} http://lanyard/v1/members/a" \
             "404 -X PATCH -d {\"enabled\":true} http://lanyard/v1/members/nobody" \
             "404 -X DELETE http://lanyard/v1/invites/0000000000000000" \
             "400 -X POST -d [] http://lanyard/v1/invites"; do
        local want=${t%% *} args=${t#* } got
        # shellcheck disable=SC2086
        got=$(c $args)
        [ "$got" = "$want" ] || { echo "  $args -> $got (wanted $want): $(cat "$WORK/api.out")"; ok=0; }
    done
    # A MAC pinned to two members.
    m pin a 02:00:5e:00:53:0a 2>/dev/null
    # A new pin is applied in place: a's sessions go on.
    inns a ping -c 2 -i 0.3 -W 1 198.51.100.13 >/dev/null || { echo "  a lost its session when a MAC was pinned to it"; ok=0; }
    [ "$(c -X PATCH -d '{"macs":["02:00:5e:00:53:0a"]}' http://lanyard/v1/members/c)" = 409 ] || { echo "  MAC pinned twice accepted"; ok=0; }
    [ "$(c -X POST -H 'Content-Type: application/json' --data-binary @<(head -c 100000 /dev/zero | tr '\0' ' ') http://lanyard/v1/members)" = 413 ] || { echo "  oversized body not 413"; ok=0; }
    v1=$(curl -s --unix-socket "$API" http://lanyard/v1/members | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    echo "version $v0 -> $v1 (one change: the pin)"
    [ $ok = 1 ] && [ "$v1" = $((v0 + 1)) ]
}
check "the API refuses bad input with 4xx and a message, and changes nothing" api_bad_input

api_tcp_tokens() {
    local token code1 code2 code3 code4
    token=$(inns sw "$LANYARD" member operator add alice --database "$DB" 2>/dev/null)
    code1=$(inns c curl -s -o /dev/null -w '%{http_code}' http://192.0.2.1:8443/v1/members)
    code2=$(inns c curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer lanyard-op-wrong" http://192.0.2.1:8443/v1/members)
    code3=$(inns c curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://192.0.2.1:8443/v1/members)
    inns sw "$LANYARD" member operator remove alice --database "$DB" 2>/dev/null
    # The API holds the operators' hashes for up to 5 s.
    local t0=$SECONDS
    wait_until 8 bash -c "[ \"\$(ip netns exec $(ns c) curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $token' http://192.0.2.1:8443/v1/members)\" = 401 ]"
    code4=$(inns c curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://192.0.2.1:8443/v1/members)
    echo "no token $code1, wrong token $code2, operator's token $code3, after its removal $code4 (within $((SECONDS - t0)) s)"
    [ "$code1" = 401 ] && [ "$code2" = 401 ] && [ "$code3" = 200 ] && [ "$code4" = 401 ]
}
check "the API on TCP needs an operator's bearer token, and a removed operator's token stops working" api_tcp_tokens

store_state() {
    "$LANYARD" status --socket "/run/lanyard/$SW.sock" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["store"]; print(s["reachable"], s["appliedVersion"])'
}
metric() { curl -s --unix-socket "$API" http://lanyard/metrics | awk -v m="$1" '$1==m{print $2}'; }

# PostgreSQL stopped under the running switch: it keeps forwarding with the members it has and
# says so; a change refused meanwhile is refused clearly; once the database is back, a member
# added there is let in.
db_outage() {
    keypair d
    local t; t=$SECONDS
    wait_until 40 inns a ping -c 1 -W 1 198.51.100.13 >/dev/null || return 1
    echo "measured: a (its pins changed by the previous check) reaches c again after $((SECONDS - t)) s"
    pg_ctl_in stop || return 1
    wait_until 10 bash -c "[ \"\$('$LANYARD' status --socket /run/lanyard/$SW.sock --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"store\"][\"reachable\"])')\" = False ]" || return 1
    local during code metric_down
    during=$(inns a ping -c 10 -i 0.2 -W 1 198.51.100.13 | grep -c 'bytes from')
    code=$(curl -s -o "$WORK/outage.out" -w '%{http_code}' --unix-socket "$API" -X POST -d "{\"name\":\"d\",\"publicKey\":\"$(cat "$WORK/d.pub")\"}" http://lanyard/v1/members)
    metric_down=$(metric lanyard_store_reachable)
    pg_ctl_in start || return 1
    local t0=$SECONDS
    wait_until 20 bash -c "'$LANYARD' member add d '$(cat "$WORK/d.pub")' --name '$SW'" || return 1
    start port-d j "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw.pub")" --private-key "$WORK/d.key" \
        --tap tapd --name "${PFX}-d" --address 198.51.100.15/24
    wait_until 20 inns j ping -c 1 -W 1 198.51.100.13 >/dev/null || return 1
    echo "database down: a -> c $during of 10 answered; adding a member -> $code ($(cut -c1-80 "$WORK/outage.out")); lanyard_store_reachable $metric_down; back: a member added joined $((SECONDS - t0)) s later; store $(store_state)"
    [ "$during" -ge 9 ] && [ "$code" = 503 ] && [ "${metric_down%.*}" = 0 ] && [ "$(metric lanyard_store_reachable | cut -d. -f1)" = 1 ]
}
[ "$STORE" = postgres ] && check "PostgreSQL stopped: traffic continues, changes are refused with 503, and a member added once it is back joins" db_outage

# SQLite locked by another writer: a change waits (up to 5 s), then is refused with 503; the
# switch forwards meanwhile.
sqlite_locked() {
    keypair d
    local t; t=$SECONDS
    wait_until 40 inns a ping -c 1 -W 1 198.51.100.13 >/dev/null || return 1
    echo "measured: a (its pins changed by the previous check) reaches c again after $((SECONDS - t)) s"
    rm -f "$WORK/locked.held"
    python3 -c "import sqlite3,time; c=sqlite3.connect('$DB', isolation_level=None, timeout=20); c.execute('BEGIN EXCLUSIVE'); open('$WORK/locked.held','w').close(); time.sleep(8)" & local h=$!
    # (the lock is taken once the marker exists: python may start slowly on a busy machine)
    wait_until 20 test -e "$WORK/locked.held" || { echo "the lock was never taken"; return 1; }
    local code during
    inns a ping -c 20 -i 0.3 -W 1 198.51.100.13 >"$WORK/locked.ping" & local p=$!
    code=$(curl -s -o "$WORK/locked.out" -w '%{http_code}' --unix-socket "$API" -X POST -d "{\"name\":\"d\",\"publicKey\":\"$(cat "$WORK/d.pub")\"}" http://lanyard/v1/members)
    wait $p; wait $h
    during=$(grep -c 'bytes from' "$WORK/locked.ping")
    local after; after=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$API" -X POST -d "{\"name\":\"d\",\"publicKey\":\"$(cat "$WORK/d.pub")\"}" http://lanyard/v1/members)
    echo "database locked: adding a member -> $code ($(cut -c1-90 "$WORK/locked.out")); a -> c $during of 20 answered; after the lock -> $after"
    [ "$code" = 503 ] && grep -q locked "$WORK/locked.out" && [ "$during" -ge 19 ] && [ "$after" = 201 ]
}
[ "$STORE" = sqlite ] && check "SQLite locked by another writer: a change is refused with 503 after 5 s, traffic continues" sqlite_locked

clean_exit() {
    local pid=${PIDS[switch]}
    kill -TERM "$pid"
    wait_until 5 bash -c "! kill -0 $pid 2>/dev/null" || { echo "the switch did not stop within 5 s of SIGTERM"; tail -3 "$WORK/switch.log"; }
    stop switch
    local left; left=$(ls /run/lanyard/ 2>/dev/null | grep -c "^$SW\.")
    echo "sockets left by the switch after SIGTERM: $left"
    [ "$left" = 0 ]
}
check "the switch leaves no socket behind" clean_exit

summary
