#!/usr/bin/env bash
# End to end: the encrypted L2 switch with ports a, b, c (and an unknown host x) in namespaces.
# Underlay 192.0.2.0/24 + 2001:db8:1::/64 on a bridge; overlay 198.51.100.0/24 + 2001:db8:2::/64.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay sw a b c x
for k in sw a b c x; do keypair $k; done
SWPUB=$(cat "$WORK/sw.pub")
cat >"$WORK/ports.conf" <<CONF
[Port]
Name = a
PublicKey = $(cat "$WORK/a.pub")
[Port]
Name = b
PublicKey = $(cat "$WORK/b.pub")
[Port]
Name = c
PublicKey = $(cat "$WORK/c.pub")
CONF
SWSOCK=/run/lanyard/${PFX}-sw.sock

start_switch() {
    start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --ports "$WORK/ports.conf" \
        --name "${PFX}-sw" --log-level debug --metrics 127.0.0.1:9586
}
start_port() { # NAME SUFFIX [extra args]
    local n=$1 i=$2; shift 2
    start "port-$n" "$n" "$LANYARD" port --switch "${SWITCH_ADDR:-192.0.2.1:51820}" --switch-key "$SWPUB" \
        --private-key "$WORK/$n.key" --tap "tap$n" --name "${PFX}-$n" \
        --address "198.51.100.$i/24" --address "2001:db8:2::$i/64" "$@"
}
sw_json() { "$LANYARD" status --socket "$SWSOCK" --json; }
drops_total() { sw_json | python3 "$HERE/json_get.py" datagramDrops --sum; }
drop_count() { sw_json | python3 "$HERE/json_get.py" datagramDrops "$1" | sed 's/None/0/'; }
frame_drop_count() { sw_json | python3 "$HERE/json_get.py" frameDrops "$1" | sed 's/None/0/'; }

start_switch
wait_until 5 test -S "$SWSOCK"
start_port a 11 --metrics 127.0.0.1:9587 --log-format json; start_port b 12; start_port c 13

ping4() { inns "$1" ping -c "${3:-3}" -i 0.2 -W 2 "$2"; }
check "ports register and IPv4 ping a -> b" wait_until 15 ping4 a 198.51.100.12 1
check "IPv4 ping b -> a" ping4 b 198.51.100.11
check "IPv6 ping a -> b (neighbour discovery over multicast flooding)" wait_until 10 inns a ping -6 -c 2 -i 0.2 -W 2 2001:db8:2::12

transfer_check() { # FROM TO_ADDR TO_NS
    head -c 10M /dev/urandom >"$WORK/file.src"
    inns "$3" python3 "$HERE/transfer.py" recv 5001 "$WORK/file.dst" &
    local r=$!
    sleep 0.5
    inns "$1" python3 "$HERE/transfer.py" send "$2" 5001 "$WORK/file.src" || return 1
    wait $r || return 1
    local s1 s2
    s1=$(sha256sum <"$WORK/file.src" | cut -d' ' -f1); s2=$(sha256sum <"$WORK/file.dst" | cut -d' ' -f1)
    echo "sent $s1, received $s2"
    [ "$s1" = "$s2" ]
}
check "10 MB file a -> b, SHA-256 matches" transfer_check a 198.51.100.12 b

iperf_check() {
    inns b iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    local s=$!
    sleep 0.5
    inns a iperf3 -c 198.51.100.12 -p 5201 -t 3 -J >"$WORK/iperf.json"; local rc=$?
    wait $s
    [ $rc -eq 0 ] || return 1
    local bps
    bps=$(python3 -c "import json;print(int(json.load(open('$WORK/iperf.json'))['end']['sum_received']['bits_per_second']))")
    echo "iperf3 a->b: $bps bit/s"
    [ "$bps" -gt 1000000 ]
}
check "iperf3 a -> b for 3 s" iperf_check

isolation_check() {
    # MACs are learned by now; c must see none of a<->b's unicast.
    inns c timeout 6 tcpdump -n -i tapc -w "$WORK/c.pcap" icmp 2>/dev/null &
    local t=$!
    sleep 1
    ping4 a 198.51.100.12 10 || return 1
    wait $t
    local n; n=$(tcpdump -n -r "$WORK/c.pcap" 2>/dev/null | wc -l)
    echo "ICMP packets seen on c: $n"
    [ "$n" -eq 0 ]
}
check "c sees none of a <-> b's unicast" isolation_check

plaintext_check() {
    # A known payload inside pings: present on b's TAP, absent from the underlay.
    inns net timeout 5 tcpdump -n -i br0 -w "$WORK/underlay.pcap" udp 2>/dev/null &
    local t1=$!
    inns b timeout 5 tcpdump -n -i tapb -w "$WORK/tap.pcap" icmp 2>/dev/null &
    local t2=$!
    sleep 1
    inns a ping -c 5 -i 0.2 -p 4c414e59415244 198.51.100.12 >/dev/null || return 1
    wait $t1 $t2
    local in_tap in_underlay udp_count
    in_tap=$(tcpdump -r "$WORK/tap.pcap" -X 2>/dev/null | grep -c '4c41 4e59')
    in_underlay=$(tcpdump -r "$WORK/underlay.pcap" -X 2>/dev/null | grep -c '4c41 4e59')
    udp_count=$(tcpdump -r "$WORK/underlay.pcap" 2>/dev/null | wc -l)
    echo "pattern lines on TAP: $in_tap, on underlay: $in_underlay, underlay packets: $udp_count"
    [ "$in_tap" -gt 0 ] && [ "$udp_count" -gt 0 ] && [ "$in_underlay" -eq 0 ]
}
check "underlay capture shows no plaintext" plaintext_check

garbage_check() {
    local before after sent
    before=$(drops_total)
    sent=$(inns c python3 "$HERE/udp_garbage.py" 192.0.2.1 51820 300)
    sleep 1
    after=$(drops_total)
    echo "sent $sent garbage datagrams; switch drop counter $before -> $after"
    [ "$sent" -gt 250 ] && [ $((after - before)) -eq "$sent" ] && kill -0 "${PIDS[switch]}" && ping4 a 198.51.100.12 2
}
check "garbage datagrams are all counted, switch keeps working" garbage_check

port_drop_count() { "$LANYARD" status --socket "/run/lanyard/${PFX}-$1.sock" --json | python3 "$HERE/json_get.py" drops "$2" | sed 's/None/0/'; }

replay_check() {
    # Through the switch: broadcasts from a (they still pass the switch), replayed to the switch.
    inns sw timeout 4 tcpdump -n -i u0 -w "$WORK/replay.pcap" "udp and src host 192.0.2.2 and greater 100" 2>/dev/null &
    local t=$!
    sleep 1
    inns a ping -b -c 5 -i 0.2 -W 1 198.51.100.255 >/dev/null 2>&1
    wait $t
    local before after sent
    before=$(drop_count "replayed counter")
    sent=$(inns a python3 "$HERE/pcap_replay.py" "$WORK/replay.pcap" 192.0.2.1 51820)
    sleep 1
    after=$(drop_count "replayed counter")
    echo "replayed $sent captured data datagrams to the switch; replay drops $before -> $after"
    [ "$sent" -gt 0 ] && [ $((after - before)) -eq "$sent" ] || return 1
    # End to end: a -> b unicast on their own session, replayed to b's port.
    inns b timeout 4 tcpdump -n -i u0 -w "$WORK/replay2.pcap" "udp and src host 192.0.2.2 and dst host 192.0.2.3 and greater 100" 2>/dev/null &
    t=$!
    sleep 1
    ping4 a 198.51.100.12 5 >/dev/null
    wait $t
    local bport
    bport=$(tcpdump -n -r "$WORK/replay2.pcap" 2>/dev/null | head -1 | sed -E 's/.* > 192\.0\.2\.3\.([0-9]+):.*/\1/')
    before=$(port_drop_count b "replayed counter")
    sent=$(inns a python3 "$HERE/pcap_replay.py" "$WORK/replay2.pcap" 192.0.2.3 "$bport")
    sleep 1
    after=$(port_drop_count b "replayed counter")
    echo "replayed $sent captured a -> b datagrams to b's port $bport; b's replay drops $before -> $after"
    [ "$sent" -gt 0 ] && [ $((after - before)) -eq "$sent" ]
}
check "captured data datagrams sent again are refused and counted" replay_check

unknown_key_check() {
    inns x timeout 8 tcpdump -n -i u0 -w "$WORK/x.pcap" "udp and src host 192.0.2.1" 2>/dev/null &
    local t=$!
    sleep 0.5
    local before; before=$(drop_count "handshake from unknown key")
    start_port x 15
    sleep 6
    local after; after=$(drop_count "handshake from unknown key")
    stop port-x
    wait $t
    local replies; replies=$(tcpdump -r "$WORK/x.pcap" 2>/dev/null | wc -l)
    echo "unknown-key handshakes dropped $before -> $after; datagrams from switch to x: $replies"
    [ "$after" -gt "$before" ] && [ "$replies" -eq 0 ] && ! ping4 x 198.51.100.12 1
}
check "a port with an unknown key gets no reply and no access" unknown_key_check

hijack_check() {
    local bmac; bmac=$(inns b cat /sys/class/net/tapb/address)
    # b stays busy so its MAC is live; c takes b's MAC and talks.
    inns b ping -c 40 -i 0.2 198.51.100.11 >/dev/null &
    local keep=$!
    sleep 0.5
    local before; before=$(frame_drop_count "MAC held by another live port")
    inns c ip link set dev tapc address "$bmac"
    inns c ping -c 3 -i 0.3 -W 1 198.51.100.11 >/dev/null
    inns c timeout 4 tcpdump -n -i tapc -w "$WORK/hijack.pcap" icmp 2>/dev/null &
    local t=$!
    sleep 0.5
    ping4 a 198.51.100.12 5 >/dev/null
    wait $t
    kill $keep 2>/dev/null; wait $keep 2>/dev/null
    local after; after=$(frame_drop_count "MAC held by another live port")
    local seen; seen=$(tcpdump -n -r "$WORK/hijack.pcap" 2>/dev/null | grep -c '198.51.100.12')
    echo "frames refused for MAC conflict $before -> $after; a->b ICMP seen on c: $seen"
    [ "$after" -gt "$before" ] && [ "$seen" -eq 0 ] && ping4 a 198.51.100.12 2
}
check "a port claiming another live port's MAC does not get its traffic" hijack_check

ports_up() { [ "$(sw_json | python3 -c 'import json,sys; print(sum(p["state"] == "up" for p in json.load(sys.stdin)["ports"]))')" -ge "$1" ]; }
restart_check() {
    # SIGKILL: the switch cannot say goodbye, so ports must notice the silence themselves.
    kill -KILL "${PIDS[switch]}"; wait "${PIDS[switch]}" 2>/dev/null; unset "PIDS[switch]"
    sleep 1
    start_switch
    local t0=$SECONDS
    # a and b keep their direct session meanwhile; the ports re-register with the new switch.
    wait_until 40 ports_up 3 || return 1
    wait_until 10 ping4 a 198.51.100.12 1 || return 1
    echo "a -> b traffic back and ports a, b, c registered $((SECONDS - t0)) s after the switch restarted (bound: 40 s)"
}
check "switch killed (SIGKILL) and restarted: a <-> b traffic returns without restarting ports" restart_check

status_check() {
    "$LANYARD" status --socket "$SWSOCK" | tee "$WORK/status.txt"
    grep -q "MAC" "$WORK/status.txt" && grep -q "^ *a " "$WORK/status.txt"
}
check "lanyard status prints ports and the MAC table" status_check

# Status of a large switch never builds the whole table at once: a summary, then pages.
control() { python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(data.decode())' "$SWSOCK" "$1"; }
paging_check() {
    local summary page
    summary=$(control "status summary" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["portCount"], d["portsUp"], len(d["ports"]), len(d["macTable"]))')
    page=$(control "status page 1 1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["ports"]), d["ports"][0]["name"], d["portCount"])')
    echo "switch status summary (ports, up, rows, MACs): $summary; page 1+1: $page"
    [ "$summary" = "3 3 0 0" ] && [ "$page" = "1 b 3" ] || return 1
    sw_json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["portCount"] == len(d["ports"]) == 3, d["portCount"]; assert len(d["macTable"]) >= 2'
    "$LANYARD" status --socket "$SWSOCK" | grep -q "3 of 3 ports up"
}
check "status: summary and pages from the control socket; --json assembles every page" paging_check

# Prometheus metrics: read when scraped from the counters the daemons keep; they move with traffic.
scrape() { inns "$1" curl -sf --max-time 3 "http://127.0.0.1:$2/metrics"; }
metric() { scrape "$1" "$2" | awk -v m="$3" '$1 == m { print $2 }'; }
metrics_check() {
    local before after m1 m2
    # Unicast a <-> b goes direct: the switch sees a's keepalives (every 5 s) and its MAC reports.
    before=$(metric sw 9586 'lanyard_peer_receive_bytes_total{peer="a"}')
    grows() { after=$(metric sw 9586 'lanyard_peer_receive_bytes_total{peer="a"}'); [ "${after%.*}" -gt "${before%.*}" ]; }
    wait_until 12 grows || { echo "switch: bytes from a stayed at $before"; return 1; }
    echo "switch: bytes from a $before -> $after; up = $(metric sw 9586 'lanyard_peer_up{peer="a"}')"
    [ "$(metric sw 9586 'lanyard_peer_up{peer="a"}')" = 1.0 ] || return 1
    scrape sw 9586 | grep -q '^lanyard_mac_table_entries [1-9]' || { echo "no MAC table size"; return 1; }
    scrape sw 9586 | grep -q '^# TYPE lanyard_datagram_drops_total counter' || { echo "no drop counters"; return 1; }
    m1=$(metric a 9587 'lanyard_member_transmit_bytes_total{member="b"}')
    ping4 a 198.51.100.12 5 >/dev/null || return 1
    m2=$(metric a 9587 'lanyard_member_transmit_bytes_total{member="b"}')
    echo "port a: bytes to member b $m1 -> $m2, direct path = $(metric a 9587 'lanyard_member_path{member="b",path="direct"}')"
    [ -n "$m1" ] && [ "${m2%.*}" -gt "${m1%.*}" ] || return 1
    [ "$(metric a 9587 'lanyard_member_path{member="b",path="direct"}')" = 1.0 ] || return 1
    [ "$(inns sw curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:9586/other)" = 404 ]
}
check "metrics: /metrics on switch and port, values move with traffic, path state shown" metrics_check
# A client that trickles its request one byte at a time must not hold up the switch's event loop
# (before the fix, each byte reset a 200 ms wait and the control socket timed out).
slow_client_check() {
    inns sw python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.1", 9586))
for c in b"GET /metrics HTTP/1.0\r\n":
    try: s.send(bytes([c]))
    except OSError: break
    time.sleep(0.15)' &
    local slow=$!
    sleep 0.5
    local ok=0
    for _ in 1 2 3; do "$LANYARD" status --socket "$SWSOCK" >/dev/null || ok=1; sleep 0.3; done
    scrape sw 9586 >/dev/null || ok=1
    wait "$slow"
    echo "switch status and a second scrape answered while a client trickled its request: $([ $ok = 0 ] && echo yes || echo no)"
    return $ok
}
check "metrics: a client trickling its request does not stall the switch" slow_client_check
json_log_check() {
    local n
    n=$(grep -c . "$WORK/port-a.log")
    echo "port a wrote $n log lines"
    [ "$n" -ge 1 ] && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    assert {"time", "level", "logger", "message"} <= record.keys(), record
' "$WORK/port-a.log"
}
check "--log-format json: every log line of port a is a JSON object" json_log_check

# A multi-homed switch answers from the address each port wrote to (IP_PKTINFO), not from
# whichever address the route would pick: NAT and firewalls drop answers from another address.
multihome_check() {
    inns sw ip addr add 192.0.2.200/24 dev u0 || return 1
    stop port-c
    inns c timeout 20 tcpdump -i u0 -n -l "udp and host 192.0.2.4" >"$WORK/multihome.txt" 2>/dev/null &
    local capture=$!
    sleep 1
    SWITCH_ADDR=192.0.2.200:51820 start_port c 13
    wait_until 15 ping4 c 198.51.100.11 1 || { kill "$capture"; return 1; }
    sleep 1; kill "$capture" 2>/dev/null; wait "$capture" 2>/dev/null
    local good bad
    good=$(grep -c "IP 192.0.2.200.51820 > 192.0.2.4" "$WORK/multihome.txt")
    bad=$(grep -c "IP 192.0.2.1.51820 > 192.0.2.4" "$WORK/multihome.txt")
    echo "switch reached at its second address 192.0.2.200: replies from it $good, from 192.0.2.1 $bad"
    [ "$good" -gt 0 ] && [ "$bad" -eq 0 ]
}
check "multi-homed switch replies from the address the port wrote to" multihome_check

exit_check() {
    inns a ip link show tapa >/dev/null || return 1
    stop port-a
    ! inns a ip link show tapa 2>/dev/null
}
check "after a port exits its TAP device is gone" exit_check


# systemd's status line (STATUS= over $NOTIFY_SOCKET) follows the port as it registers and learns
# members, within a second, not on a 5-second timer; with one other member it says "1 member".
notify_status_check() {
    stop port-b
    inns b timeout 20 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)
out = open(sys.argv[2], "a", buffering=1)
while True:
    for line in s.recv(4096).decode().splitlines(): out.write("%.3f %s\n" % (time.monotonic(), line))
' "$WORK/notify-b.sock" "$WORK/notify-b.txt" &
    local listener=$!
    wait_until 5 test -S "$WORK/notify-b.sock" || return 1
    start port-b b env NOTIFY_SOCKET="$WORK/notify-b.sock" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$SWPUB" \
        --private-key "$WORK/b.key" --tap tapb --name "${PFX}-b" --address 198.51.100.12/24
    wait_until 10 grep -q "STATUS=registered with the switch" "$WORK/notify-b.txt"
    wait_until 10 ping4 b 198.51.100.13 1 >/dev/null   # b learns c, its only other member, from the switch
    local pinged; pinged=$(python3 -c "import time; print('%.3f' % time.monotonic())")
    wait_until 5 grep -q "STATUS=registered with the switch; 1 member known" "$WORK/notify-b.txt"
    kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null
    grep STATUS "$WORK/notify-b.txt" | sed 's/^/member b: /'
    local ready registered known
    ready=$(grep -m1 "READY=1" "$WORK/notify-b.txt" | cut -d' ' -f1)
    registered=$(grep -m1 "STATUS=registered with the switch" "$WORK/notify-b.txt" | cut -d' ' -f1)
    known=$(grep -m1 "STATUS=registered with the switch; 1 member known" "$WORK/notify-b.txt" | cut -d' ' -f1)
    [ -n "$ready" ] && [ -n "$registered" ] && [ -n "$known" ] || return 1
    echo "member b: status said registered $(python3 -c "print('%.2f' % ($registered - $ready))") s after READY=1, '1 member known' $(python3 -c "print('%.2f' % max(0, $known - $pinged))") s after the ping (bounds: 3 s)"
    python3 -c "import sys; sys.exit(0 if $registered - $ready <= 3 and $known - $pinged <= 3 else 1)"
}
check "systemd status follows a port within 3 s: registered, then '1 member known' once it talks to c" notify_status_check

summary
