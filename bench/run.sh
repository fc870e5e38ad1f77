#!/usr/bin/env bash
# Lanyard's side-by-side benchmark: Lanyard (switch, point-to-point tunnel) against the underlay,
# wireguard-go, OpenVPN, tinc 1.0 and n2n, all in network namespaces on this machine.
#
#   sudo bench/run.sh [--repeat N] [--time SECONDS] [--only NAME[,NAME]] [--build] [--out FILE]
#
# Not part of the test suite. Needs root. Installs missing tools from Debian's packages only.
# Addresses: documentation ranges only (underlay 192.0.2.0/24, overlay 198.51.100.0/24).
# See bench/README.md for what each column means.
set -uo pipefail
umask 077  # key and member files must not be readable by others

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CMDLINE="$0 $*"
LANYARD=$(readlink -m "${LANYARD:-$REPO/.build/release/lanyard}")  # absolute: the drop-in rows link to it
REPEAT=3
TIME=5
ONLY=""
BUILD=0
OUT="$REPO/BENCHMARKS.md"
ALL_CONFIGS="underlay lanyard-direct lanyard-relayed lanyard-switch lanyard-p2p lanyard-p2p-2threads lanyard-wg lanyard-wg-jumbo lanyard-l3 wireguard-go wireguard-go-jumbo wireguard-go-hub wireguard-go-upstream wireguard-go-upstream-hub openvpn tinc-p2p tinc-relayed n2n"

usage() {
    cat <<EOF
usage: sudo $0 [--repeat N] [--time SECONDS] [--only NAME[,NAME]] [--build] [--out FILE]
  --repeat N        run each throughput measurement N times (default 3); median and min-max shown
  --time SECONDS    iperf3 duration of each run (default 5)
  --only LIST       comma-separated subset of: ${ALL_CONFIGS// /,}
                    (ratio columns need 'underlay' and the peers in the same run)
  --build           run 'swift build -c release' first
  --out FILE        where to write the Markdown report (default $REPO/BENCHMARKS.md)
  env LANYARD=PATH  Lanyard binary (default $REPO/.build/release/lanyard)
  env WIREGUARD_GO=PATH  an upstream wireguard-go binary (built outside this repository) for the
                    wireguard-go-upstream rows; they are skipped, saying so, when it is not set
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --repeat) REPEAT=${2:?}; shift 2 ;;
        --time) TIME=${2:?}; shift 2 ;;
        --only) ONLY=${2:?}; shift 2 ;;
        --build) BUILD=1; shift ;;
        --out) OUT=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1"; usage; exit 2 ;;
    esac
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "--repeat wants a positive integer"; exit 2; }
[[ $TIME =~ ^[1-9][0-9]*$ ]] || { echo "--time wants a positive integer (seconds)"; exit 2; }
for c in ${ONLY//,/ }; do
    [[ " $ALL_CONFIGS " == *" $c "* ]] || { echo "--only: unknown configuration '$c' (known: $ALL_CONFIGS)"; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "the benchmark makes network namespaces: run as root (sudo $0)"; exit 1; }

wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
say() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Packages (Debian only).
declare -A PKG_OK PKG_WHY
CORE_PKGS=(iproute2 iperf3 iputils-ping python3 procps nftables)
PEER_PKGS=(openvpn openssl tinc n2n wireguard-go wireguard-tools)
install_packages() {
    local missing=() p
    for p in "${CORE_PKGS[@]}" "${PEER_PKGS[@]}"; do
        if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            PKG_OK[$p]=1
        else
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing from Debian's packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed (going on with the lists we have)"
    local avail=()
    for p in "${missing[@]}"; do
        if apt-cache policy "$p" 2>/dev/null | grep -q "Candidate: [^(]"; then
            avail+=("$p")
        else
            say "package $p is not available: the configurations that need it are skipped"
            PKG_WHY[$p]="not in this machine's package lists (apt-get update failed or the archive lacks it)"
        fi
    done
    # One package at a time: a package whose installation fails (a post-install script that
    # wants a running service, a held dependency) costs only its own rows, and says why.
    for p in "${avail[@]}"; do
        timeout 300 apt-get install -y -qq --no-install-recommends "$p" >"/tmp/lanyard-bench-apt.$$" 2>&1 \
            || { say "installing $p failed: $(tail -1 "/tmp/lanyard-bench-apt.$$")"; PKG_WHY[$p]="installation failed: $(tail -1 "/tmp/lanyard-bench-apt.$$")"; }
    done
    rm -f "/tmp/lanyard-bench-apt.$$"
    for p in "${missing[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && PKG_OK[$p]=1
    done
    for p in "${CORE_PKGS[@]}"; do
        [ -n "${PKG_OK[$p]:-}" ] || { echo "required package $p could not be installed"; exit 1; }
    done
}
have_pkgs() { local p; for p in "$@"; do [ -n "${PKG_OK[$p]:-}" ] || { echo "$p (${PKG_WHY[$p]:-not installed})"; return 1; }; done; }

install_packages
[ -e /dev/net/tun ] || modprobe tun 2>/dev/null || true

if [ "$BUILD" -eq 1 ]; then
    say "building Lanyard (swift build -c release)"
    (cd "$REPO" && swift build -c release --product lanyard) || { echo "build failed"; exit 1; }
fi
LANYARD_OK=0
LANYARD_NOTE=""
if [ -x "$LANYARD" ]; then
    LANYARD_OK=1
    case $LANYARD in
        */debug/*) LANYARD_NOTE=" (DEBUG build: its numbers mean nothing)"
                   say "WARNING: $LANYARD is a debug build; its numbers mean nothing" ;;
    esac
else
    say "no Lanyard binary at $LANYARD: the Lanyard rows are skipped."
    say "build it with:  (cd $REPO && swift build -c release)   or run this script with --build"
fi

# ---------------------------------------------------------------------------------------------
# Topology: namespace NET holds a bridge; HUB (192.0.2.1), A (192.0.2.2), B (192.0.2.3) each
# have a veth 'u0' on it. Everything named lb$$-*, removed on any exit.
PFX="lb$$"
NS_NET="$PFX-net"; NS_HUB="$PFX-hub"; NS_A="$PFX-a"; NS_B="$PFX-b"
NAMESPACES=()
WORK=$(mktemp -d "/tmp/lanyard-bench-$$-XXXX")
declare -A PIDS      # label -> pid (processes of the configuration being measured)
ALLPIDS=()           # every background pid this script started
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

inns() { local n=$1; shift; ip netns exec "$n" "$@"; }

kill_pid() { # PID: TERM, up to 5 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

cleanup() {
    trap - EXIT INT TERM
    local pid n
    for pid in "${ALLPIDS[@]}"; do kill_pid "$pid"; done
    for n in "${NAMESPACES[@]}"; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$n" 2>/dev/null
    done
    ip link del "${PFX}h1" 2>/dev/null; ip link del "${PFX}h2" 2>/dev/null; ip link del "${PFX}h3" 2>/dev/null
    rm -f /var/run/wireguard/"${PFX}"w?.sock /run/lanyard/"${PFX}"-*.sock 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

make_topology() {
    ip netns add "$NS_NET" && NAMESPACES+=("$NS_NET") || return 1
    inns "$NS_NET" ip link set lo up
    inns "$NS_NET" ip link add br0 type bridge
    inns "$NS_NET" ip link set br0 up
    local i=1 n
    for n in "$NS_HUB" "$NS_A" "$NS_B"; do
        ip netns add "$n" && NAMESPACES+=("$n") || return 1
        ip link add "${PFX}h$i" type veth peer name "${PFX}p$i" || return 1
        ip link set "${PFX}h$i" netns "$n"
        ip link set "${PFX}p$i" netns "$NS_NET"
        inns "$NS_NET" ip link set "${PFX}p$i" master br0 up
        inns "$n" ip link set "${PFX}h$i" name u0
        inns "$n" ip link set lo up
        inns "$n" ip addr add "192.0.2.$i/24" dev u0
        inns "$n" ip link set u0 up
        i=$((i + 1))
    done
}

# start LABEL NS CMD...: runs CMD in the background in NS; remembers its pid under LABEL.
# (ip netns exec and env exec the command, so the pid is the tool's own.)
start() {
    local label=$1 n=$2; shift 2
    ip netns exec "$n" "$@" >"$WORK/$label.log" 2>&1 &
    PIDS[$label]=$!
    ALLPIDS+=($!)
}

# wait_until SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while [ $SECONDS -lt "$deadline" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@" >/dev/null 2>&1
}

alive() { local l; for l in "${!PIDS[@]}"; do kill -0 "${PIDS[$l]}" 2>/dev/null || { echo "$l exited"; return 1; }; done; }

# Stop the configuration's processes and remove whatever interfaces it left behind.
teardown() {
    local l n dev
    for l in "${!PIDS[@]}"; do kill_pid "${PIDS[$l]}"; unset "PIDS[$l]"; done
    for n in "$NS_HUB" "$NS_A" "$NS_B"; do
        inns "$n" nft delete table inet "${PFX}block" 2>/dev/null
        for dev in $(inns "$n" ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
            [ "$dev" = lo ] || [ "$dev" = u0 ] || inns "$n" ip link del "$dev" 2>/dev/null
        done
    done
}

dump_logs() { local f; for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 15 "$f"; }; done >&2; }

# ---------------------------------------------------------------------------------------------
# Measurement.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# machine_busy: jiffies all CPUs spent not idle (user, nice, system, irq, softirq, steal).
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
now() { date +%s.%N; }
rx_bytes() { inns "$NS_HUB" cat /sys/class/net/u0/statistics/rx_bytes; }

# iperf_run FILE ARGS...: one iperf3 client run from A to B's overlay address; prints Gbit/s.
iperf_run() {
    local f=$1; shift
    timeout $((TIME + 20)) ip netns exec "$NS_A" iperf3 -c 198.51.100.3 -p 5201 -t "$TIME" -J \
        --connect-timeout 3000 "$@" >"$f" 2>&1
    python3 - "$f" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print("%.4f %d" % (d["end"]["sum_received"]["bits_per_second"] / 1e9, d["end"]["sum_received"]["bytes"]))
except Exception:
    print("nan 0")
EOF
}

# measure NAME GROUP MTU NOTE: runs every measurement for the configuration now up.
measure() {
    local name=$1 group=$2 mtu=$3 note=$4
    local ab=() ba=() ab4=() r out gbps bytes l rtt
    local -A t0 t1 ticks
    local wall=0 w0 w1 rx0 rx1 hubrx=0 sent=0 hz busy=0 m0 m1
    hz=$(getconf CLK_TCK)
    for l in "${!PIDS[@]}"; do ticks[$l]=0; done
    start iperf3-server "$NS_B" iperf3 -s -p 5201
    local srv=${PIDS[iperf3-server]}; unset "PIDS[iperf3-server]"
    wait_until 5 inns "$NS_B" sh -c 'ss -ltn | grep -q ":5201 "'
    inns "$NS_A" ping -c 3 -i 0.2 -W 1 198.51.100.3 >/dev/null 2>&1  # warm up ARP/neighbours
    rtt=$(inns "$NS_A" ping -q -c 20 -i 0.05 -W 2 198.51.100.3 2>/dev/null | awk -F/ '/^rtt|^round-trip/ {print $5}')
    [ -n "$rtt" ] || rtt=nan
    for r in $(seq 1 "$REPEAT"); do
        say "$name: run $r/$REPEAT"
        for l in "${!PIDS[@]}"; do t0[$l]=$(cpu_ticks "${PIDS[$l]}"); done
        rx0=$(rx_bytes); m0=$(machine_busy); w0=$(now)
        out=$(iperf_run "$WORK/$name-ab-$r.json")
        w1=$(now); m1=$(machine_busy); rx1=$(rx_bytes); busy=$((busy + m1 - m0))
        for l in "${!PIDS[@]}"; do t1[$l]=$(cpu_ticks "${PIDS[$l]}"); ticks[$l]=$((ticks[$l] + t1[$l] - t0[$l])); done
        wall=$(python3 -c "print($wall + $w1 - $w0)")
        read -r gbps bytes <<<"$out"; ab+=("$gbps"); hubrx=$((hubrx + rx1 - rx0)); sent=$((sent + bytes))
        out=$(iperf_run "$WORK/$name-ba-$r.json" -R); read -r gbps bytes <<<"$out"; ba+=("$gbps")
        out=$(iperf_run "$WORK/$name-ab4-$r.json" -P 4); read -r gbps bytes <<<"$out"; ab4+=("$gbps")
    done
    kill_pid "$srv"
    local cpu="" pct
    for l in $(printf '%s\n' "${!PIDS[@]}" | sort); do
        pct=$(python3 -c "print('%.0f' % (100.0 * ${ticks[$l]} / $hz / $wall) if $wall > 0 else 'nan')")
        cpu+="$l $pct%; "
    done
    local via machine
    via=$(python3 -c "print('%.2f' % ($hubrx / $sent) if $sent > 0 else 'nan')")
    # The whole machine's CPU during the 1-stream a→b runs: cores busy on average, and core-seconds
    # per gigabit carried (every process and the kernel: what a bigger machine would have to spend).
    machine=$(python3 -c "b = $busy / $hz; print('%.2f %.3f' % (b / $wall, b / ($sent * 8 / 1e9)) if $wall > 0 and $sent > 0 else 'nan nan')")
    printf '%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$group" "$mtu" "${ab[*]}" "${ba[*]}" \
        "${ab4[*]}" "$rtt" "${cpu%; }" "$via" "$note" "$machine" >>"$RESULTS"
}

skip() { # NAME GROUP REASON
    say "$1: skipped: $3"
    printf '%s\t%s\tskipped\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}

# run_config NAME GROUP: calls setup_NAME (which sets MTU and NOTE and starts the processes),
# waits for a -> b over the overlay, measures, tears down.
run_config() {
    local name=$1 group=$2 fn=setup_${1//-/_} reason
    wanted "$name" || return 0
    MTU=""; NOTE=""; SKIP=""
    say "$name: setting up"
    if ! $fn || [ -n "$SKIP" ]; then
        if [ -n "$SKIP" ]; then skip "$name" "$group" "$SKIP"
        else dump_logs; skip "$name" "$group" "FAILED: setup did not complete"; fi
        teardown; return 0
    fi
    if ! wait_until 20 inns "$NS_A" ping -c 1 -W 1 198.51.100.3; then
        dump_logs; skip "$name" "$group" "FAILED: a could not ping b (198.51.100.3) within 20 s"
        teardown; return 0
    fi
    if ! reason=$(alive); then dump_logs; skip "$name" "$group" "FAILED: $reason"; teardown; return 0; fi
    measure "$name" "$group" "$MTU" "$NOTE"
    teardown
    rm -f "$WORK"/*.log
}

# ---------------------------------------------------------------------------------------------
# Configurations. Each setup_X starts its processes with `start` (those are the ones whose CPU
# is reported), sets MTU (the tunnel interface's MTU as the tool chose it) and NOTE.

link_mtu() { inns "$1" cat "/sys/class/net/$2/mtu" 2>/dev/null || echo "?"; }

setup_underlay() {
    MTU=$(link_mtu "$NS_A" u0)
    # Same subnet as the overlays so every row measures a -> 198.51.100.3: a second address on u0.
    inns "$NS_A" ip addr add 198.51.100.2/24 dev u0
    inns "$NS_B" ip addr add 198.51.100.3/24 dev u0
    NOTE="veth a -> bridge -> veth b, no VPN"
}
teardown_underlay_addrs() {
    inns "$NS_A" ip addr del 198.51.100.2/24 dev u0 2>/dev/null
    inns "$NS_B" ip addr del 198.51.100.3/24 dev u0 2>/dev/null
}

lanyard_keys() { # NAME...
    local k
    for k in "$@"; do
        (umask 077; "$LANYARD" genkey >"$WORK/ly-$k.key") || return 1
        chmod 600 "$WORK/ly-$k.key"
        "$LANYARD" pubkey <"$WORK/ly-$k.key" >"$WORK/ly-$k.pub" || return 1
    done
}

# lanyard_ports SWITCH_ARGS...: a switch on the hub and ports a and b.
lanyard_ports() {
    [ "$LANYARD_OK" -eq 1 ] || { SKIP="no Lanyard binary at $LANYARD (build: swift build -c release)"; return 0; }
    lanyard_keys sw a b || return 1
    printf '[Port]\nName = a\nPublicKey = %s\n[Port]\nName = b\nPublicKey = %s\n' \
        "$(cat "$WORK/ly-a.pub")" "$(cat "$WORK/ly-b.pub")" >"$WORK/ly-ports.conf"
    start lanyard-switch "$NS_HUB" "$LANYARD" switch --listen 51820 --private-key "$WORK/ly-sw.key" \
        --ports "$WORK/ly-ports.conf" --name "$PFX-sw" "$@"
    sleep 0.5
    local n i
    for n in a:2 b:3; do
        i=${n#*:}; n=${n%%:*}
        start "lanyard-port-$n" "$PFX-$n" "$LANYARD" port --switch 192.0.2.1:51820 \
            --switch-key "$(cat "$WORK/ly-sw.pub")" --private-key "$WORK/ly-$n.key" --tap "tap$n" \
            --address "198.51.100.$i/24" --name "$PFX-$n"
    done
    wait_until 10 inns "$NS_A" ip link show tapa || return 1
    MTU=$(link_mtu "$NS_A" tapa)
}

# lanyard_path WANT: pings until port a shows port b on path WANT (direct, relayed, switch).
lanyard_path() {
    local want=$1 i
    for i in $(seq 1 50); do
        inns "$NS_A" ping -c 1 -W 1 198.51.100.3 >/dev/null 2>&1
        "$LANYARD" status --socket "/run/lanyard/$PFX-a.sock" --json 2>/dev/null |
            python3 -c "import json,sys; m=json.load(sys.stdin).get('members') or []; sys.exit(0 if any(x['path']=='$want' for x in m) else 1)" && return 0
        sleep 0.2
    done
    say "port a never showed path $want"; return 1
}

setup_lanyard_direct() {
    lanyard_ports || return 1
    [ -n "$SKIP" ] && return 0
    lanyard_path direct || return 1
    NOTE="L2 port to port over a direct path (the switch on the hub is directory only)"
}

# Direct UDP between a and b is dropped, so their end-to-end session goes through the relay.
setup_lanyard_relayed() {
    lanyard_ports || return 1
    [ -n "$SKIP" ] && return 0
    inns "$NS_A" nft add table inet "${PFX}block"
    inns "$NS_A" nft add chain inet "${PFX}block" out '{ type filter hook output priority 0; }'
    inns "$NS_A" nft add rule inet "${PFX}block" out ip daddr 192.0.2.3 udp dport != 5201 drop
    inns "$NS_B" nft add table inet "${PFX}block"
    inns "$NS_B" nft add chain inet "${PFX}block" out '{ type filter hook output priority 0; }'
    inns "$NS_B" nft add rule inet "${PFX}block" out ip daddr 192.0.2.2 udp dport != 5201 drop
    lanyard_path relayed || return 1
    NOTE="L2 port to port, sealed end to end, through the switch's blind relay (direct UDP a<->b blocked)"
}

setup_lanyard_switch() {
    lanyard_ports --relay-all || return 1
    NOTE="L2 through the switch with --relay-all (decrypted and encrypted again on the hub)"
}

# lanyard-p2p: `lanyard tunnel` a <-> b with its default crypto threads (--threads: the cores but
# one, 1 to 4); lanyard-p2p-2threads: the same with --threads 2.
setup_lanyard_p2p() {
    [ "$LANYARD_OK" -eq 1 ] || { SKIP="no Lanyard binary at $LANYARD (build: swift build -c release)"; return 0; }
    lanyard_keys a b || return 1
    start lanyard-tunnel-a "$NS_A" "$LANYARD" tunnel --private-key "$WORK/ly-a.key" --peer-key "$(cat "$WORK/ly-b.pub")" \
        --endpoint 192.0.2.3:51820 --listen 51820 --interface lyt0 --address 198.51.100.2/24 --name "$PFX-ta" "$@"
    start lanyard-tunnel-b "$NS_B" "$LANYARD" tunnel --private-key "$WORK/ly-b.key" --peer-key "$(cat "$WORK/ly-a.pub")" \
        --endpoint 192.0.2.2:51820 --listen 51820 --interface lyt0 --address 198.51.100.3/24 --name "$PFX-tb" "$@"
    wait_until 10 inns "$NS_A" ip link show lyt0 || return 1
    MTU=$(link_mtu "$NS_A" lyt0)
    NOTE="L3 tunnel a <-> b direct (WireGuard protocol), default --threads (the cores but one: $(( $(nproc) > 1 ? $(nproc) - 1 : 1 )) here)"
}

setup_lanyard_p2p_2threads() {
    setup_lanyard_p2p --threads 2 || return 1
    NOTE="L3 tunnel a <-> b direct, --threads 2 (seals and opens of each batch on two threads)"
}

# lanyard-l3: the routed VPN server (`lanyard server` on the hub, `lanyard client` on a and b,
# --client-to-client so a -> hub -> b). TODO(lanyard-l3): the server/client CLI was new when this
# was written; if it changes, update this function. If the binary has no `server` subcommand
# yet, the row is skipped with "not built yet".
setup_lanyard_l3() {
    [ "$LANYARD_OK" -eq 1 ] || { SKIP="no Lanyard binary at $LANYARD (build: swift build -c release)"; return 0; }
    if ! "$LANYARD" server --help 2>&1 | grep -q "USAGE: lanyard server"; then
        SKIP="not built yet ('lanyard server' does not exist in $LANYARD)"; return 0
    fi
    lanyard_keys srv a b || return 1
    printf '[Client]\nName = a\nPublicKey = %s\nAddress = 198.51.100.2/32\n[Client]\nName = b\nPublicKey = %s\nAddress = 198.51.100.3/32\n' \
        "$(cat "$WORK/ly-a.pub")" "$(cat "$WORK/ly-b.pub")" >"$WORK/ly-clients.conf"
    start lanyard-server "$NS_HUB" "$LANYARD" server --listen 51820 --private-key "$WORK/ly-srv.key" \
        --clients "$WORK/ly-clients.conf" --pool 198.51.100.0/24 --client-to-client --name "$PFX-srv"
    wait_until 5 test -S "/run/lanyard/$PFX-srv.sock" || return 1
    local n
    for n in a b; do
        start "lanyard-client-$n" "$PFX-$n" "$LANYARD" client --server 192.0.2.1:51820 \
            --server-key "$(cat "$WORK/ly-srv.pub")" --private-key "$WORK/ly-$n.key" --interface lyc0 \
            --name "$PFX-c$n"
    done
    wait_until 10 inns "$NS_A" sh -c 'ip -4 addr show dev lyc0 | grep -q 198.51.100.2' || return 1
    MTU=$(link_mtu "$NS_A" lyc0)
    NOTE="routed VPN: lanyard server on the hub (--client-to-client), lanyard client on a and b (a -> hub -> b)"
}

# wg_go_device NS DEV BIN: starts wireguard-go BIN on DEV in NS, checks it made a TUN device.
wg_go_device() {
    local n=$1 dev=$2 bin=$3
    start "wireguard-go-${n#"$PFX-"}" "$n" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 "$bin" -f "$dev"
    wait_until 5 test -S "/var/run/wireguard/$dev.sock" || return 1
    # userspace only: the device must be a TUN made by wireguard-go, not a kernel wireguard link
    inns "$n" ip -d link show "$dev" | grep -q "tun " || { echo "$dev is not a TUN device" >&2; return 1; }
}

# wg_go_p2p BIN: a <-> b directly. wg_go_hub BIN: a -> hub -> b, the hub forwarding by AllowedIPs.
wg_go_p2p() {
    local bin=$1 n i o oi dev
    for n in a b; do (umask 077; wg genkey >"$WORK/wg-$n.key"); wg pubkey <"$WORK/wg-$n.key" >"$WORK/wg-$n.pub"; done
    for n in a:2:b:3 b:3:a:2; do
        IFS=: read -r n i o oi <<<"$n"
        dev="${PFX}w$n"   # unique: wireguard-go's UAPI socket /var/run/wireguard/DEV.sock is host-wide
        wg_go_device "$PFX-$n" "$dev" "$bin" || return 1
        inns "$PFX-$n" wg set "$dev" private-key "$WORK/wg-$n.key" listen-port 51820 \
            peer "$(cat "$WORK/wg-$o.pub")" allowed-ips "198.51.100.$oi/32" endpoint "192.0.2.$oi:51820" || return 1
        inns "$PFX-$n" ip addr add "198.51.100.$i/24" dev "$dev"
        inns "$PFX-$n" ip link set "$dev" up
    done
    MTU=$(link_mtu "$NS_A" "${PFX}wa")
}
wg_go_hub() {
    local bin=$1 n i dev
    for n in hub a b; do (umask 077; wg genkey >"$WORK/wg-$n.key"); wg pubkey <"$WORK/wg-$n.key" >"$WORK/wg-$n.pub"; done
    dev="${PFX}wh"
    wg_go_device "$NS_HUB" "$dev" "$bin" || return 1
    inns "$NS_HUB" wg set "$dev" private-key "$WORK/wg-hub.key" listen-port 51820 \
        peer "$(cat "$WORK/wg-a.pub")" allowed-ips 198.51.100.2/32 \
        peer "$(cat "$WORK/wg-b.pub")" allowed-ips 198.51.100.3/32 || return 1
    inns "$NS_HUB" ip addr add 198.51.100.1/24 dev "$dev"
    inns "$NS_HUB" ip link set "$dev" up
    inns "$NS_HUB" sysctl -qw net.ipv4.ip_forward=1
    for n in a:2 b:3; do
        i=${n#*:}; n=${n%%:*}; dev="${PFX}w$n"
        wg_go_device "$PFX-$n" "$dev" "$bin" || return 1
        inns "$PFX-$n" wg set "$dev" private-key "$WORK/wg-$n.key" \
            peer "$(cat "$WORK/wg-hub.pub")" allowed-ips 198.51.100.0/24 endpoint 192.0.2.1:51820 persistent-keepalive 25 || return 1
        inns "$PFX-$n" ip addr add "198.51.100.$i/24" dev "$dev"
        inns "$PFX-$n" ip link set "$dev" up
    done
    MTU=$(link_mtu "$NS_A" "${PFX}wa")
}

debian_wg_go() { local miss; miss=$(have_pkgs wireguard-go wireguard-tools) || { SKIP="package $miss"; return 1; }; }
upstream_wg_go() {
    [ -n "${WIREGUARD_GO:-}" ] || { SKIP="WIREGUARD_GO not set: point it at an upstream wireguard-go binary built outside this repository"; return 1; }
    [ -x "$WIREGUARD_GO" ] || { SKIP="WIREGUARD_GO=$WIREGUARD_GO is not an executable"; return 1; }
    have_pkgs wireguard-tools >/dev/null || { SKIP="package wireguard-tools unavailable"; return 1; }
    UPSTREAM_VERSION=$("$WIREGUARD_GO" --version 2>/dev/null | head -1)
}

# Lanyard as the userspace implementation wg configures, exactly where wireguard-go sits above.
setup_lanyard_wg() {
    [ "$LANYARD_OK" -eq 1 ] || { SKIP="no Lanyard binary at $LANYARD (build: swift build -c release)"; return 0; }
    have_pkgs wireguard-tools >/dev/null || { SKIP="package wireguard-tools unavailable"; return 0; }
    ln -sf "$LANYARD" "$WORK/lanyard-wireguard"
    wg_go_p2p "$WORK/lanyard-wireguard" || return 1
    NOTE="lanyard-wireguard (\`lanyard wireguard\`, the wireguard-go contract) on a and b, configured with wg as the wireguard-go rows are"
}

# The jumbo rows: the same two, with both interfaces at MTU 34,736 (what WireGuard's own netns
# tests use) over the 1,500-byte underlay, so every datagram is IP-fragmented. A larger MTU must
# never be slower than the default.
JUMBO_MTU=34736
jumbo_mtu() {
    inns "$NS_A" ip link set "${PFX}wa" mtu "$JUMBO_MTU" && inns "$NS_B" ip link set "${PFX}wb" mtu "$JUMBO_MTU" || return 1
    MTU=$(link_mtu "$NS_A" "${PFX}wa")
}
setup_lanyard_wg_jumbo() {
    setup_lanyard_wg || return 1
    [ -n "$SKIP" ] && return 0
    jumbo_mtu || return 1
    NOTE="lanyard-wg with both interfaces at MTU $JUMBO_MTU on the 1,500-byte underlay (every datagram fragmented)"
}
setup_wireguard_go_jumbo() {
    setup_wireguard_go || return 1
    [ -n "$SKIP" ] && return 0
    jumbo_mtu || return 1
    NOTE="Debian's wireguard-go with both interfaces at MTU $JUMBO_MTU on the 1,500-byte underlay (every datagram fragmented)"
}

setup_wireguard_go() {
    debian_wg_go || return 0
    wg_go_p2p wireguard-go || return 1
    NOTE="userspace wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go) (Debian), a <-> b direct (device checked to be TUN, not the kernel module)"
}
setup_wireguard_go_hub() {
    debian_wg_go || return 0
    wg_go_hub wireguard-go || return 1
    NOTE="userspace wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go) (Debian) on a, b and the hub; the hub forwards a -> b by AllowedIPs"
}
setup_wireguard_go_upstream() {
    upstream_wg_go || return 0
    wg_go_p2p "$WIREGUARD_GO" || return 1
    NOTE="upstream $UPSTREAM_VERSION (\$WIREGUARD_GO, with its TUN offload and UDP GSO/GRO), a <-> b direct"
}
setup_wireguard_go_upstream_hub() {
    upstream_wg_go || return 0
    wg_go_hub "$WIREGUARD_GO" || return 1
    NOTE="upstream $UPSTREAM_VERSION (\$WIREGUARD_GO) on a, b and the hub; the hub forwards a -> b by AllowedIPs"
}

setup_openvpn() {
    local miss; miss=$(have_pkgs openvpn openssl) || { SKIP="package $miss"; return 0; }
    local d="$WORK/ovpn" n
    mkdir -p "$d/ccd"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
            -out ca.crt -days 2 -subj /CN=lb-bench-ca || exit 1
        printf 'extendedKeyUsage = serverAuth\nkeyUsage = digitalSignature, keyAgreement\n' >server.ext
        printf 'extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature, keyAgreement\n' >client.ext
        for n in server a b; do
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$n.key" \
                -out "$n.csr" -subj "/CN=$n" || exit 1
            local ext=client.ext; [ "$n" = server ] && ext=server.ext
            openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" \
                -days 2 -extfile "$ext" || exit 1
        done
    ) >"$WORK/openssl.out" 2>&1 || { cat "$WORK/openssl.out" >&2; return 1; }
    echo "ifconfig-push 198.51.100.2 255.255.255.0" >"$d/ccd/a"
    echo "ifconfig-push 198.51.100.3 255.255.255.0" >"$d/ccd/b"
    start openvpn-server "$NS_HUB" openvpn --mode server --tls-server --proto udp4 --port 1194 \
        --dev "${PFX}os" --dev-type tap --ifconfig 198.51.100.1 255.255.255.0 --client-to-client \
        --client-config-dir "$d/ccd" --ca "$d/ca.crt" --cert "$d/server.crt" --key "$d/server.key" \
        --dh none --keepalive 10 60 --verb 3
    sleep 0.5
    for n in a b; do
        start "openvpn-$n" "$PFX-$n" openvpn --client --proto udp4 --remote 192.0.2.1 1194 --nobind \
            --dev "${PFX}o$n" --dev-type tap --ca "$d/ca.crt" --cert "$d/$n.crt" --key "$d/$n.key" \
            --remote-cert-tls server --verb 3
    done
    wait_until 20 inns "$NS_A" sh -c "ip -4 addr show dev ${PFX}oa | grep -q 198.51.100.2" || return 1
    MTU=$(link_mtu "$NS_A" "${PFX}oa")
    local cipher
    cipher=$(grep -o "Data Channel: cipher '[^']*'" "$WORK/openvpn-a.log" | head -1 | cut -d"'" -f2)
    NOTE="OpenVPN $(openvpn --version | awk 'NR==1{print $2}'), TAP/UDP, TLS certs, data cipher ${cipher:-default}, no compression; a -> hub (client-to-client) -> b"
}

# tinc 1.0 in switch mode. MODE=p2p: a ConnectTo b, no hub. MODE=relayed: a and b ConnectTo hub only,
# and their host files say IndirectData = yes, so nobody sends them data directly: all goes via hub.
tinc_setup() {
    local mode=$1
    local miss; miss=$(have_pkgs tinc) || { SKIP="package $miss"; return 0; }
    local nodes="a b" n i d
    [ "$mode" = relayed ] && nodes="hub a b"
    rm -rf "$WORK/tinc"; mkdir -p "$WORK/tinc/hosts"
    for n in $nodes; do
        case $n in hub) i=1 ;; a) i=2 ;; b) i=3 ;; esac
        d="$WORK/tinc/$n"; mkdir -p "$d/hosts"
        {
            echo "Name = $n"; echo "Mode = switch"; echo "Interface = ${PFX}t$n"; echo "AddressFamily = ipv4"
            if [ "$mode" = relayed ]; then [ "$n" != hub ] && echo "ConnectTo = hub"
            else [ "$n" = a ] && echo "ConnectTo = b"; fi
        } >"$d/tinc.conf"
        { echo "Address = 192.0.2.$i"; echo "Port = 655"
          [ "$mode" = relayed ] && [ "$n" != hub ] && echo "IndirectData = yes"; } >"$d/hosts/$n"
        if [ "$n" = hub ]; then
            printf '#!/bin/sh\nip link set "$INTERFACE" up\n' >"$d/tinc-up"
        else
            printf '#!/bin/sh\nip link set "$INTERFACE" up\nip addr add 198.51.100.%s/24 dev "$INTERFACE"\n' "$i" >"$d/tinc-up"
        fi
        chmod 755 "$d/tinc-up"
        tincd -c "$d" -K 2048 </dev/null >"$WORK/tinc-keygen.out" 2>&1 || { cat "$WORK/tinc-keygen.out" >&2; return 1; }
        cp "$d/hosts/$n" "$WORK/tinc/hosts/$n"
    done
    for n in $nodes; do cp "$WORK/tinc/hosts/"* "$WORK/tinc/$n/hosts/"; done
    for n in $nodes; do
        start "tincd-$n" "$PFX-$n" tincd -c "$WORK/tinc/$n" -D -d1 --pidfile "$WORK/tinc/$n/pid"
    done
    wait_until 10 inns "$NS_A" ip link show "${PFX}ta" || return 1
    MTU=$(link_mtu "$NS_A" "${PFX}ta")
}
setup_tinc_p2p() {
    tinc_setup p2p || return 1
    [ -n "$SKIP" ] && return 0
    NOTE="tinc $(tincd --version | awk 'NR==1{print $3}') switch mode, defaults (Blowfish-CBC/SHA1, PMTU discovery, MSS clamping); a ConnectTo b, direct"
}
setup_tinc_relayed() {
    tinc_setup relayed || return 1
    [ -n "$SKIP" ] && return 0
    NOTE="tinc $(tincd --version | awk 'NR==1{print $3}') switch mode, defaults; a and b ConnectTo hub only and set IndirectData = yes in their host files, so data goes a -> hub -> b (see 'via hub')"
}

setup_n2n() {
    local miss; miss=$(have_pkgs n2n) || { SKIP="package $miss"; return 0; }
    local n i
    start n2n-supernode "$NS_HUB" supernode -l 7654
    sleep 0.5
    for n in a:2 b:3; do
        i=${n#*:}; n=${n%%:*}
        # n2n 1.x encrypts with Twofish keyed by -k (it has no -A cipher choice).
        start "n2n-edge-$n" "$PFX-$n" edge -d "${PFX}n$n" -a "198.51.100.$i" -s 255.255.255.0 \
            -c lbbench -k "lb-bench-key-$$" -l 192.0.2.1:7654
    done
    wait_until 10 inns "$NS_A" ip link show "${PFX}na" || return 1
    MTU=$(link_mtu "$NS_A" "${PFX}na")
    NOTE="n2n $(dpkg-query -W -f='${Version}' n2n) (v1 protocol), Twofish keyed with -k (v1 has no cipher choice), supernode on hub; edges register with the supernode and then exchange data directly unless 'via hub' says otherwise"
}

# ---------------------------------------------------------------------------------------------
say "topology: namespaces $NS_NET (bridge), $NS_HUB 192.0.2.1, $NS_A 192.0.2.2, $NS_B 192.0.2.3"
make_topology || { echo "could not make the namespaces"; exit 1; }

run_config underlay underlay; teardown_underlay_addrs
run_config lanyard-direct p2p
run_config lanyard-relayed relayed
run_config lanyard-switch relayed
run_config lanyard-l3 relayed
run_config lanyard-p2p p2p
run_config lanyard-p2p-2threads p2p
run_config lanyard-wg p2p
run_config lanyard-wg-jumbo p2p
run_config wireguard-go p2p
run_config wireguard-go-jumbo p2p
run_config wireguard-go-hub relayed
run_config wireguard-go-upstream p2p
run_config wireguard-go-upstream-hub relayed
run_config openvpn relayed
run_config tinc-p2p p2p
run_config tinc-relayed relayed
run_config n2n relayed

# ---------------------------------------------------------------------------------------------
# Report.
REPORT=$(python3 - "$RESULTS" <<'EOF'
import math, statistics, sys

rows = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    f += [""] * (12 - len(f))
    name, group, status, mtu, ab, ba, ab4, rtt, cpu, via, note, machine = f[:12]
    nums = lambda s: [float(x) for x in s.split() if x != "nan"]
    rows.append(dict(name=name, group=group, status=status, mtu=mtu, ab=nums(ab), ba=nums(ba),
                     ab4=nums(ab4), rtt=rtt, cpu=cpu, via=via, note=note, machine=nums(machine)))

def med(v):
    return statistics.median(v) if v else None

def cell(v):
    if not v:
        return "n/a"
    m = statistics.median(v)
    if len(v) == 1:
        return "%.2f" % m
    return "%.2f (%.2f–%.2f)" % (m, min(v), max(v))

LANYARD = {"lanyard-direct", "lanyard-relayed", "lanyard-switch", "lanyard-p2p", "lanyard-p2p-2threads", "lanyard-wg", "lanyard-wg-jumbo", "lanyard-l3"}
under = next((med(r["ab"]) for r in rows if r["name"] == "underlay" and r["status"] == "ok"), None)
best = {}
for g in ("relayed", "p2p"):
    cand = [(med(r["ab"]), r["name"]) for r in rows
            if r["group"] == g and r["name"] not in LANYARD and "jumbo" not in r["name"] and r["status"] == "ok" and r["ab"]]
    best[g] = max(cand) if cand else None

out = []
out.append("| configuration | kind | MTU | 1-stream a→b Gbit/s | 1-stream b→a Gbit/s | 4-stream a→b Gbit/s "
           "| ping RTT ms | CPU % of one core (1-stream a→b) | machine: cores busy, core·s per Gbit | via hub | ÷ underlay | ÷ best peer |")
out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    kind = {"underlay": "no VPN", "relayed": "switch/relayed", "p2p": "peer to peer"}.get(r["group"], r["group"])
    if r["status"] != "ok":
        out.append("| %s | %s | | skipped: %s | | | | | | | | |" % (r["name"], kind, r["note"]))
        continue
    m = med(r["ab"])
    ru = "%.2f" % (m / under) if (m is not None and under) else "n/a"
    b = best.get(r["group"])
    if m is None or not b:
        rb = "n/a"
    elif r["name"] == b[1]:
        rb = "1.00 (best)"
    else:
        rb = "%.2f vs %s" % (m / b[0], b[1])
    rtt = "%.3f" % float(r["rtt"]) if r["rtt"] not in ("", "nan") else "n/a"
    via = r["via"]
    if r["group"] != "underlay" and via not in ("", "nan"):
        v = float(via)
        via = "%s× (%s)" % (via, "relayed" if v >= 0.5 else "direct" if v < 0.05 else "partly relayed")
    else:
        via = "–"
    machine = "%.2f, %.3f" % tuple(r["machine"]) if len(r["machine"]) == 2 else "n/a"
    out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["name"], kind, r["mtu"], cell(r["ab"]), cell(r["ba"]), cell(r["ab4"]), rtt,
        r["cpu"] or "–", machine, via, ru, rb))
out.append("")
out.append("Notes:")
out.append("")
for r in rows:
    if r["status"] == "ok" and r["note"]:
        out.append("- **%s**: %s" % (r["name"], r["note"]))
print("\n".join(out))
EOF
)

HDR="Lanyard binary: ${LANYARD#"$REPO"/}$([ "$LANYARD_OK" -eq 1 ] || echo ' (missing: Lanyard rows skipped)')$LANYARD_NOTE. Repeats: $REPEAT per throughput cell (median, min–max in parentheses); iperf3 -t $TIME; ping: 20 × 0.05 s."
echo
echo "$HDR"
echo
echo "$REPORT"
{
    echo "# Lanyard benchmarks"
    echo
    echo "Generated by \`bench/run.sh\` (see bench/README.md for the columns). All hosts are network"
    echo "namespaces on one machine, so the numbers compare implementations, not networks."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- kernel: $(uname -r)"
    echo "- nproc: $(nproc)"
    echo "- command: \`$CMDLINE\`"
    echo "- Lanyard binary: \`${LANYARD#"$REPO"/}\`$([ "$LANYARD_OK" -eq 1 ] || echo ' (missing)')$LANYARD_NOTE"
    echo
    echo "$HDR"
    echo
    echo "$REPORT"
} >"$OUT" && say "report written to $OUT"
