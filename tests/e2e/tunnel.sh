#!/usr/bin/env bash
# End to end: `lanyard tunnel` against Debian's wireguard-go + wg (the proof that the protocol is
# WireGuard's), and Lanyard-to-Lanyard in TAP mode with an endpoint learned from the first packet.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay l w t
for k in l w t; do keypair $k; done
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# wireguard-go in w: 198.51.100.2, listening on 51820, peer = lanyard at 192.0.2.1:51821.
start wggo w wireguard-go -f wg0
wait_until 5 inns w ip link show wg0
inns w wg set wg0 private-key "$WORK/w.key" listen-port 51820 \
    peer "$(cat "$WORK/l.pub")" allowed-ips 198.51.100.1/32,2001:db8:2::1/128 endpoint 192.0.2.1:51821
inns w ip addr add 198.51.100.2/24 dev wg0
inns w ip addr add 2001:db8:2::2/64 dev wg0 nodad
inns w ip link set wg0 up

start lanyard l "$LANYARD" tunnel --private-key "$WORK/l.key" --peer-key "$(cat "$WORK/w.pub")" \
    --endpoint 192.0.2.2:51820 --listen 51821 --interface lyt0 \
    --address 198.51.100.1/24 --address 2001:db8:2::1/64 --name "${PFX}-l" --log-level debug

check "lanyard -> wireguard-go: IPv4 ping" wait_until 10 inns l ping -c 3 -i 0.2 -W 2 198.51.100.2
check "wireguard-go -> lanyard: IPv4 ping" inns w ping -c 3 -i 0.2 -W 2 198.51.100.1
check "lanyard <-> wireguard-go: IPv6 ping" wait_until 5 inns l ping -6 -c 2 -i 0.2 -W 2 2001:db8:2::2

check "10 MB file lanyard -> wireguard-go, SHA-256 matches" sha_transfer l w 198.51.100.2
check "10 MB file wireguard-go -> lanyard, SHA-256 matches" sha_transfer w l 198.51.100.1

handshake_seen() {
    local t; t=$(inns w wg show wg0 latest-handshakes | awk '{print $2}')
    echo "wg latest-handshake: $t"
    [ -n "$t" ] && [ "$t" -gt 0 ] || return 1
    "$LANYARD" status --name "${PFX}-l" | tee "$WORK/st.txt"
    grep -q "latest handshake: [0-9.]* s ago" "$WORK/st.txt"
}
check "both sides' status shows the handshake" handshake_seen

forged_source() {
    # wireguard-go may only send sources in lanyard's allowed list; a packet from another source
    # inside the tunnel must be dropped by lanyard (cryptokey routing).
    inns w ip addr add 203.0.113.99/32 dev wg0
    local before after
    before=$("$LANYARD" status --name "${PFX}-l" --json | python3 "$HERE/json_get.py" drops "inner source address not allowed" | sed 's/None/0/')
    inns w ping -c 3 -i 0.2 -W 1 -I 203.0.113.99 198.51.100.1 && return 1
    after=$("$LANYARD" status --name "${PFX}-l" --json | python3 "$HERE/json_get.py" drops "inner source address not allowed" | sed 's/None/0/')
    echo "source-not-allowed drops $before -> $after"
    [ "$after" -ge $((before + 3)) ]
}
check "inner source outside allowed IPs is dropped" forged_source

stop lanyard
check "tunnel interface removed on exit" bash -c "! ip netns exec $(ns l) ip link show lyt0 2>/dev/null"

# Lanyard <-> Lanyard in TAP mode; t has no endpoint and learns l's from the first packet.
start tapT t "$LANYARD" tunnel --mode tap --private-key "$WORK/t.key" --peer-key "$(cat "$WORK/l.pub")" \
    --listen 51830 --interface lyt1 --address 203.0.113.2/24 --name "${PFX}-t"
sleep 0.5
start tapL l "$LANYARD" tunnel --mode tap --private-key "$WORK/l.key" --peer-key "$(cat "$WORK/t.pub")" \
    --endpoint 192.0.2.3:51830 --interface lyt1 --address 203.0.113.1/24 --name "${PFX}-l2"
check "lanyard <-> lanyard TAP tunnel: ping both ways" bash -c \
    "$(declare -f wait_until); wait_until 10 ip netns exec $(ns l) ping -c 2 -W 2 203.0.113.2 && ip netns exec $(ns t) ping -c 2 -W 2 203.0.113.1"
check "TAP tunnel carries Ethernet (ARP entry learned)" bash -c "ip netns exec $(ns l) ip neigh show dev lyt1 | grep -q lladdr"

# t had no endpoint: it logs the one it learned from l's first datagram (l's underlay address).
check "a tunnel without --endpoint logs the endpoint it learned" grep -q "at 192.0.2.1:" "$WORK/tapT.log"
stop tapL; stop tapT

own_key_refused() {
    local out rc
    out=$(inns t "$LANYARD" tunnel --private-key "$WORK/t.key" --peer-key "$(cat "$WORK/t.pub")" \
        --listen 51850 --interface lyt9 --address 203.0.113.9/30 2>&1); rc=$?
    echo "exit $rc: $(echo "$out" | grep -i "own public key" | head -1)"
    [ $rc -ne 0 ] && echo "$out" | grep -q "own public key" && ! inns t ip link show lyt9 >/dev/null 2>&1
}
check "its own key as --peer-key is refused with a clear error, no interface made" own_key_refused

# Lanyard <-> Lanyard in TUN mode with parallel crypto: four threads on one side, one on the other
# (so the four-thread side's seals must open on a plain one-thread receiver and vice versa).
start thrT t "$LANYARD" tunnel --private-key "$WORK/t.key" --peer-key "$(cat "$WORK/l.pub")" \
    --listen 51840 --interface lyt2 --address 203.0.113.6/30 --threads 1 --name "${PFX}-t3"
start thrL l "$LANYARD" tunnel --private-key "$WORK/l.key" --peer-key "$(cat "$WORK/t.pub")" \
    --endpoint 192.0.2.3:51840 --interface lyt2 --address 203.0.113.5/30 --threads 4 --name "${PFX}-l3"
check "tunnel --threads 4 <-> --threads 1: ping" wait_until 10 inns l ping -c 2 -i 0.2 -W 2 203.0.113.6
check "--threads 4 logs its crypto threads" grep -q "4 crypto thread(s)" "$WORK/thrL.log"
check "30 MB file from the 4-thread side, SHA-256 matches" sha_transfer l t 203.0.113.6 30 5003
check "30 MB file to the 4-thread side, SHA-256 matches" sha_transfer t l 203.0.113.5 30 5004

# UDP into the 4-thread side as fast as iperf3 sends (so receive batches are full): the receiver
# counts datagrams out of order, and parallel decryption must deliver in the order sent. Loss is
# expected at this rate (the kernel's buffers overflow) and only reported.
udp_in_order() {
    inns l iperf3 -s -1 -p 5205 -J >"$WORK/udp.json" 2>&1 &
    local server=$!
    sleep 0.5
    inns t iperf3 -c 203.0.113.5 -p 5205 -u -b 2G -l 1200 -t 3 >/dev/null; local rc=$?
    wait $server
    [ $rc -eq 0 ] || return 1
    python3 - "$WORK/udp.json" <<'PY'
import json, sys
# The receiver's own counts (iperf3 does not send out-of-order counts back to the client).
s = json.load(open(sys.argv[1]))["end"]["streams"][0]["udp"]
print("iperf3 UDP datagrams:", s["packets"], "lost:", s["lost_packets"], "out of order:", s["out_of_order"])
sys.exit(0 if s["packets"] - s["lost_packets"] > 10000 and s["out_of_order"] == 0 else 1)
PY
}
check "UDP into 4 crypto threads at full rate: none out of order" udp_in_order

# Nothing leaves in clear: a file made of a known text crosses the 4-thread side (packets of
# every size, so the send batch moves some datagrams between slots before they are encrypted)
# while tcpdump records the underlay; the text must not appear in any captured datagram.
no_plaintext_on_the_wire() {
    local canary="LANYARD-CLEAR-TEXT-CANARY-" i
    python3 -c "import sys; sys.stdout.write('$canary' * 300000)" >"$WORK/canary.src"
    inns t timeout 20 tcpdump -n -i u0 -s 0 -U -w "$WORK/wire.pcap" udp port 51840 2>/dev/null & local dump=$!
    sleep 1
    # A transfer the other way at the same time, so that the 4-thread side interleaves short
    # acknowledgements with full data packets.
    head -c 20M /dev/urandom >"$WORK/back.src"
    inns t python3 "$HERE/transfer.py" recv 5006 "$WORK/canary.dst" & local r=$!
    inns l python3 "$HERE/transfer.py" recv 5007 "$WORK/back.dst" & local r2=$!
    sleep 0.5
    inns t python3 "$HERE/transfer.py" send 203.0.113.5 5007 "$WORK/back.src" & local s2=$!
    inns l python3 "$HERE/transfer.py" send 203.0.113.6 5006 "$WORK/canary.src" || { wait $r $r2 $s2; kill $dump; return 1; }
    wait $r && wait $r2 && wait $s2 || { kill $dump; return 1; }
    for i in 1 2 3 4 5 6 7 8 9 10; do inns l ping -c 1 -W 1 -s $((i * 137)) -p 4c414e59 203.0.113.6 >/dev/null; done
    sleep 1; kill -INT $dump; wait $dump
    local size hits
    size=$(stat -c %s "$WORK/wire.pcap"); hits=$(grep -c -a "$canary" "$WORK/wire.pcap")
    echo "sha256 $(sha256sum <"$WORK/canary.src" | cut -c1-16) sent, $(sha256sum <"$WORK/canary.dst" | cut -c1-16) received; captured $size bytes of the tunnel's UDP, canary found $hits times"
    cmp -s "$WORK/canary.src" "$WORK/canary.dst" && cmp -s "$WORK/back.src" "$WORK/back.dst" && [ "$size" -gt 8000000 ] && [ "$hits" -eq 0 ]
}
check "4 crypto threads: 8 MB of known text (and 20 MB back), none of it visible on the wire" no_plaintext_on_the_wire


# The tunnel's interface moved into another namespace (its UDP socket stays in l) keeps working;
# deleting it there stops the daemon cleanly, as for `lanyard wireguard` (wg.sh).
ip netns add "$(ns c)"; NAMESPACES+=(c)
tunnel_move_check() {
    start moved l "$LANYARD" tunnel --private-key "$WORK/l.key" --peer-key "$(cat "$WORK/w.pub")" \
        --endpoint 192.0.2.2:51820 --listen 51821 --interface lyt4 --allowed-ip 198.51.100.2/32 --name "${PFX}-l4"
    wait_until 5 inns l ip link show lyt4 >/dev/null || return 1
    ip -n "$(ns l)" link set lyt4 netns "$(ns c)" || return 1
    inns c ip addr add 198.51.100.1/24 dev lyt4; inns c ip link set lyt4 up
    sleep 2
    kill -0 "${PIDS[moved]}" || { tail -3 "$WORK/moved.log"; return 1; }
    wait_until 10 inns c ping -c 2 -i 0.2 -W 2 198.51.100.2
}
check "tunnel interface moved to another namespace keeps carrying traffic" tunnel_move_check
tunnel_delete_check() {
    local pid=${PIDS[moved]} rc
    inns c ip link del lyt4 || return 1
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "still running 3 s after ip link del"; return 1; }
    wait "$pid"; rc=$?; unset "PIDS[moved]"
    echo "tunnel exit status after ip link del: $rc"; tail -2 "$WORK/moved.log"
    [ "$rc" -eq 0 ] && grep -q "was deleted" "$WORK/moved.log"
}
check "deleting the moved tunnel interface stops the daemon cleanly (exit 0)" tunnel_delete_check

summary
