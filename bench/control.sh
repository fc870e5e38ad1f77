#!/usr/bin/env bash
# The control plane, measured (issue 20): joining with a token, a switch starting with 10,000
# members from SQLite and from PostgreSQL, 1,000 member changes through the API, and whether the
# data path notices the API and /metrics. Release binary; needs root (namespaces); prints a
# Markdown table. Usage: sudo bench/control.sh [--joins N] [--members N]
#   LANYARD=path picks the binary (default out/lanyard, else .build/release/lanyard).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
JOINS=20; MEMBERS=10000; ONLY=all; REPEAT=3
while [ $# -gt 0 ]; do
    case $1 in
        --joins) JOINS=$2; shift 2 ;; --members) MEMBERS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;   # join | start | dataplane
        --repeat) REPEAT=$2; shift 2 ;;
        *) echo "unknown $1"; exit 2 ;;
    esac
done
LANYARD=${LANYARD:-$([ -x "$ROOT/out/lanyard" ] && echo "$ROOT/out/lanyard" || echo "$ROOT/.build/release/lanyard")}
export LANYARD
. "$ROOT/tests/e2e/lib.sh"
trap cleanup EXIT
row() { printf '| %s | %s |\n' "$1" "$2"; }
median_p99() { sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.99+0.999)]; printf "median %.3f s, p99 %.3f s (n=%d)", m, p, NR}'; }

make_underlay sw peer j db
keypair sw; keypair peer
SW="${PFX}-sw"
echo "| measurement | result |"
echo "| --- | --- |"

if [ "$ONLY" = all ] || [ "$ONLY" = join ]; then
# 1. Join: from `lanyard port --join TOKEN` to the first ping answered (a member already up).
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --database "$WORK/join.db" \
    --endpoint 192.0.2.1:51820 --name "$SW" --log-format json
wait_until 10 test -S "/run/lanyard/$SW.api.sock"
"$LANYARD" member add peer "$(cat "$WORK/peer.pub")" --name "$SW" 2>/dev/null
start port-peer peer "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw.pub")" --private-key "$WORK/peer.key" \
    --tap tappeer --name "${PFX}-peer" --address 198.51.100.2/24
wait_until 10 inns peer ip link show tappeer >/dev/null
: >"$WORK/join.times"
for i in $(seq 1 "$JOINS"); do
    token=$("$LANYARD" member invite "j$i" --name "$SW" 2>/dev/null)
    t0=$(date +%s.%N)
    start port-j j "$LANYARD" port --join "$token" --state-directory "$WORK/state-j$i" --tap tapj --name "${PFX}-j" --address 198.51.100.3/24
    ok=0
    for _ in $(seq 1 200); do
        if inns j ping -c 1 -W 0.2 198.51.100.2 >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.02
    done
    t1=$(date +%s.%N)
    [ $ok = 1 ] && echo "$t1 - $t0" | bc >>"$WORK/join.times"
    stop port-j
    "$LANYARD" member remove "j$i" --name "$SW" 2>/dev/null
done
row "join: \`port --join TOKEN\` to the first ping answered" "$(median_p99 <"$WORK/join.times")"

# 3. 1,000 member changes through the API in a row, and the delay until the switch applied each
# (from the POST's sending to the switch's log line, which the event loop writes as it applies it).
python3 "$HERE/control_api.py" changes "/run/lanyard/$SW.api.sock" 1000 >"$WORK/changes.json"
python3 - "$WORK/changes.json" "$WORK/switch.log" >"$WORK/changes.out" <<'PY'
import json, sys, datetime
sent, rate = {}, None
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "name" in d: sent[d["name"]] = d["sent"]
    else: rate = d["changes"] / d["seconds"]
delays = []
for line in open(sys.argv[2]):
    try: d = json.loads(line)
    except ValueError: continue
    m = d.get("message", "")
    if m.startswith("port bench") and m.endswith("added to the network"):
        name = m.split()[1]
        t = datetime.datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
        if name in sent: delays.append(t - sent[name])
delays.sort()
med = delays[len(delays) // 2]; p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
print(f"{rate:.0f} changes/s; applied after median {med * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (n={len(delays)}; log times have 1 ms resolution)")
PY
row "1,000 member additions through the API in a row (Unix socket, SQLite)" "$(cat "$WORK/changes.out")"
stop port-peer; stop switch
fi

if [ "$ONLY" = all ] || [ "$ONLY" = start ]; then
# 2. A switch starting with $MEMBERS members from SQLite and from PostgreSQL.
python3 - "$MEMBERS" >"$WORK/many.conf" <<'PY'
import base64, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
for i in range(int(sys.argv[1])):
    k = base64.b64encode(X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    print(f"[Port]\nName = m{i}\nPublicKey = {k}\n")
PY
start_postgres db 192.0.2.4 >/dev/null || echo "| PostgreSQL | could not start |"
startup() {   # startup LABEL DATABASE: time from exec to the loop answering with every member, and memory
    local t0 t1 pid
    t0=$(date +%s.%N)
    start big sw "$LANYARD" switch --listen 51821 --private-key "$WORK/sw.key" --database "$2" --name "${PFX}-big" --log-level warning
    pid=${PIDS[big]}
    wait_until 60 bash -c "'$LANYARD' status --socket /run/lanyard/${PFX}-big.sock 2>/dev/null | grep -q 'of $MEMBERS ports'" || { row "$1" "did not start: $(tail -2 "$WORK/big.log")"; stop big; return; }
    t1=$(date +%s.%N)
    local rss; rss=$(awk '/VmRSS/{print $2}' /proc/"$(pgrep -P "$pid" lanyard || echo "$pid")"/status 2>/dev/null)
    row "$1" "$(printf '%.2f s to a running loop with %d members; RSS %.1f MB' "$(echo "$t1 - $t0" | bc)" "$MEMBERS" "$(echo "${rss:-0} / 1024" | bc -l)")"
    stop big
}
"$LANYARD" member import "$WORK/many.conf" --database "$WORK/many.db" 2>/dev/null
startup "switch start, $MEMBERS members from SQLite" "$WORK/many.db"
if [ -n "${PGURL:-}" ]; then
    inns sw "$LANYARD" member import "$WORK/many.conf" --database "$PGURL" 2>/dev/null
    startup "switch start, $MEMBERS members from PostgreSQL (in another namespace)" "$PGURL"
fi
fi

# 4. Does the data path notice the control plane? The load generator's relayed frame rate
# (1,000 ports, a switch on SQLite) alone, during a burst of API changes, and during /metrics
# scrapes; the three alternate, REPEAT times each, and the medians are compared.
lg() {   # lg LOAD: runs the load generator with LOAD (none|burst|scrape) beside it; prints "frames/s lost requests"
    (for _ in $(seq 1 120); do s=$(ls /run/lanyard/lg*.api.sock 2>/dev/null | head -1); [ -n "$s" ] && break; sleep 0.25; done
     sleep 4   # the handshakes of phase 1, then load during the frames of phase 2
     [ -n "$s" ] && [ "$1" != none ] && timeout 30 python3 "$HERE/control_api.py" "$1" "$s" 8 >"$WORK/lg-$1.load" 2>&1; echo "socket=$s" >>"$WORK/lg-$1.load") &
    local side=$!
    LANYARD_LOADGEN_DATABASE=1 "$HERE/loadgen.sh" --ports 1000 --seconds 10 --lanyard "$LANYARD" 2>/dev/null >"$WORK/lg-$1.out"
    wait $side
    local rate lost req
    rate=$(grep "frames/s relayed by the switch" "$WORK/lg-$1.out" | grep -oE "[0-9]+" | tail -1)
    lost=$(grep "frames lost to ports that never left" "$WORK/lg-$1.out" | grep -oE "\| [0-9]+" | grep -oE "[0-9]+")
    local n secs cpu
    n=$(grep -oE '"requests": [0-9]+' "$WORK/lg-$1.load" 2>/dev/null | grep -oE "[0-9]+$")
    secs=$(grep -oE '"seconds": [0-9.]+' "$WORK/lg-$1.load" 2>/dev/null | grep -oE "[0-9.]+$")
    cpu=$(grep -oE '"clientCPU": [0-9.]+' "$WORK/lg-$1.load" 2>/dev/null | grep -oE "[0-9.]+$")
    req=$([ -n "$n" ] && echo "${n}_in_${secs}s,_client_CPU_${cpu}s")
    echo "${rate:-0} ${lost:-?} ${req:-none}"
}
if [ "$ONLY" = all ] || [ "$ONLY" = dataplane ]; then
    for load in none burst scrape spin; do : >"$WORK/rates-$load"; done
    for _ in $(seq 1 "$REPEAT"); do
        for load in none burst scrape spin; do lg "$load" >>"$WORK/rates-$load"; done
    done
    med() { sort -n -k1 "$WORK/rates-$1" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
    read -r base blost _ <<<"$(med none)"
    for load in none burst scrape spin; do
        read -r rate lost req <<<"$(med "$load")"
        case $load in
            none) label="relayed frames/s, switch on SQLite alone (load generator, 1,000 ports; median of $REPEAT)" ;;
            burst) label="... during a burst of API changes (add + remove, Unix socket)" ;;
            scrape) label="... during continuous /metrics scrapes" ;;
            spin) label="... beside a busy loop on one core (no request: what the CPU share alone costs)" ;;
        esac
        row "$label" "$rate ($(awk -v r="$rate" -v b="$base" 'BEGIN { printf "%.2f", r / b }')× alone); frames lost $lost; requests ${req//_/ }; all runs: $(cut -d' ' -f1 "$WORK/rates-$load" | tr '\n' ' ')"
    done
fi
