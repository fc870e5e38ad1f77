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

summary
