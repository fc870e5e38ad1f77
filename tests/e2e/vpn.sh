#!/usr/bin/env bash
# End to end: the routed VPN. Server in srv (underlay 192.0.2.1, "internet" side 203.0.113.1),
# an internet host in inet (203.0.113.2, no route back to the tunnel pool), Lanyard clients in
# c1 and c2, a stock wireguard-go client in wg; then site to site with two gateways.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay srv c1 c2 wg
ip netns add "$(ns inet)"; NAMESPACES+=(inet)
ip link add "${PFX}i0" type veth peer name "${PFX}i1"
ip link set "${PFX}i0" netns "$(ns srv)"; ip link set "${PFX}i1" netns "$(ns inet)"
inns srv ip link set "${PFX}i0" name u1; inns inet ip link set "${PFX}i1" name i0
inns srv ip addr add 203.0.113.1/24 dev u1; inns srv ip link set u1 up
inns inet ip addr add 203.0.113.2/24 dev i0; inns inet ip link set i0 up; inns inet ip link set lo up
inns srv ip route add default via 203.0.113.2
for k in srv c1 c2; do keypair $k; done
(umask 077; printf '[Client]\nName = c1\nPublicKey = %s\n[Client]\nName = c2\nPublicKey = %s\n' \
    "$(cat "$WORK/c1.pub")" "$(cat "$WORK/c2.pub")" >"$WORK/clients.conf")
SRVPUB=$(cat "$WORK/srv.pub")

# A stock WireGuard client, recorded before the server starts.
"$LANYARD" server add-client phone --clients "$WORK/clients.conf" --pool 198.51.100.0/24 \
    --private-key "$WORK/srv.key" --endpoint 192.0.2.1:51820 >"$WORK/phone.conf"

start_server() {
    start server srv "$LANYARD" server --listen 51820 --private-key "$WORK/srv.key" --clients "$WORK/clients.conf" \
        --pool 198.51.100.0/24 --pool6 2001:db8:3::/64 --nat --name "${PFX}-srv" "$@"
    wait_until 5 test -S "/run/lanyard/${PFX}-srv.sock"
}
start_client() { # NS [args]
    local n=$1; shift
    start "client-$n" "$n" "$LANYARD" client --server 192.0.2.1:51820 --server-key "$SRVPUB" \
        --private-key "$WORK/$n.key" --interface lyc0 --name "${PFX}-$n" "$@"
}
srv_drop() { "$LANYARD" status --name "${PFX}-srv" --json | python3 "$HERE/json_get.py" datagramDrops "$1" | sed 's/None/0/'; }

inns c1 ip route show table all | grep -v fe80:: >"$WORK/c1.routes.before"
start_server
start_client c1 --default-route
start_client c2

nat_check() {
    wait_until 10 inns c1 ping -c 1 -W 1 203.0.113.2 || return 1
    inns inet timeout 4 tcpdump -n -i i0 -w "$WORK/inet.pcap" icmp 2>/dev/null & local t=$!
    sleep 0.5
    inns c1 ping -c 3 -i 0.2 -W 1 203.0.113.2 || return 1
    wait $t
    local from_server from_pool
    from_server=$(tcpdump -n -r "$WORK/inet.pcap" 2>/dev/null | grep -c "203.0.113.1 > 203.0.113.2")
    from_pool=$(tcpdump -n -r "$WORK/inet.pcap" 2>/dev/null | grep -c "198.51.100")
    echo "source 203.0.113.1 (server) seen $from_server times, pool addresses $from_pool times"
    [ "$from_server" -ge 3 ] && [ "$from_pool" -eq 0 ] && ! inns inet ip route get 198.51.100.2 2>/dev/null | grep -q via
}
check "client --default-route reaches an internet host that has no route back: NAT works" nat_check
check "the client without --default-route does not reach the internet host" bash -c "! ip netns exec $(ns c2) ping -c 1 -W 1 203.0.113.2"
check "IPv6 address assigned from --pool6" wait_until 5 inns c2 ping -6 -c 1 -W 2 2001:db8:3::1

forbidden_check() {
    local before after
    before=$(srv_drop "client to client forbidden")
    inns c1 ping -c 2 -W 1 198.51.100.3 && return 1
    after=$(srv_drop "client to client forbidden")
    echo "client-to-client drops $before -> $after"
    [ "$after" -gt "$before" ]
}
check "clients cannot reach each other without --client-to-client" forbidden_check

spoof_check() {
    # c1 sends with c2's tunnel address as source: the server must drop it.
    inns c1 ip addr add 198.51.100.3/32 dev lyc0
    local before after
    before=$(srv_drop "inner source address not allowed")
    inns inet timeout 3 tcpdump -n -i i0 -w "$WORK/spoof.pcap" icmp 2>/dev/null & local t=$!
    sleep 0.5
    inns c1 ping -c 3 -i 0.2 -W 1 -I 198.51.100.3 203.0.113.2 && return 1
    wait $t
    after=$(srv_drop "inner source address not allowed")
    inns c1 ip addr del 198.51.100.3/32 dev lyc0
    local leaked; leaked=$(tcpdump -n -r "$WORK/spoof.pcap" 2>/dev/null | wc -l)
    echo "spoofed-source drops $before -> $after; packets reaching the internet host: $leaked"
    [ $((after - before)) -ge 3 ] && [ "$leaked" -eq 0 ]
}
check "a client's packet with another client's source address is dropped" spoof_check

dead_peer_check() {
    kill -KILL "${PIDS[server]}"; wait "${PIDS[server]}" 2>/dev/null; unset "PIDS[server]"
    inns srv nft delete table inet "lanyard_${PFX}srv" 2>/dev/null  # the killed server could not clean up
    local t0=$SECONDS
    wait_until 15 grep -q "no answer from 192.0.2.1:51820" "$WORK/client-c1.log" || return 1
    echo "server loss detected after $((SECONDS - t0)) s (dead timeout 6 s)"
    start_server --client-to-client --threads 3
    t0=$SECONDS
    wait_until 30 inns c1 ping -c 1 -W 1 198.51.100.3 || return 1
    echo "reconnected and client-to-client works $((SECONDS - t0)) s after the server came back"
}
check "server killed: clients detect it, reconnect when it returns (now with --client-to-client)" dead_peer_check
# From here on the server seals and opens on 3 threads (the shared data path's crypto workers):
# the client-to-client and site-to-site transfers below go through them.
check "the restarted server runs 3 crypto threads" grep -q "3 crypto thread(s)" "$WORK/server.log"

wg_client_check() {
    local priv addr pub endpoint
    priv=$(awk -F' = ' '/^PrivateKey/{print $2}' "$WORK/phone.conf")
    addr=$(awk -F' = ' '/^Address/{print $2}' "$WORK/phone.conf")
    pub=$(awk -F' = ' '/^PublicKey/{print $2}' "$WORK/phone.conf")
    endpoint=$(awk -F' = ' '/^Endpoint/{print $2}' "$WORK/phone.conf")
    echo "$priv" >"$WORK/phone.key"; chmod 600 "$WORK/phone.key"
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 start wggo wg wireguard-go -f wg0
    wait_until 5 inns wg ip link show wg0 || return 1
    inns wg wg set wg0 private-key "$WORK/phone.key" peer "$pub" endpoint "$endpoint" allowed-ips 0.0.0.0/0 persistent-keepalive 25
    inns wg ip addr add "$addr" dev wg0
    inns wg ip link set wg0 up
    inns wg ip route add 203.0.113.0/24 dev wg0
    echo "wg client address $addr"
    wait_until 10 inns wg ping -c 2 -W 1 203.0.113.2
}
check "stock wireguard-go client with the printed config reaches the internet host" wg_client_check

srv_port() { "$LANYARD" status --name "${PFX}-srv" --json | python3 "$HERE/json_get.py" ports "name=$1" "$2"; }
live_add_check() {
    local up_before up_after priv addr
    up_before=$(srv_port c1 connectedSeconds)
    "$LANYARD" server add-client tablet --clients "$WORK/clients.conf" --pool 198.51.100.0/24 \
        --private-key "$WORK/srv.key" --endpoint 192.0.2.1:51820 --name "${PFX}-srv" >"$WORK/tablet.conf" 2>"$WORK/tablet.err" || return 1
    cat "$WORK/tablet.err"
    priv=$(awk -F' = ' '/^PrivateKey/{print $2}' "$WORK/tablet.conf")
    addr=$(awk -F' = ' '/^Address/{print $2}' "$WORK/tablet.conf")
    echo "$priv" >"$WORK/tablet.key"; chmod 600 "$WORK/tablet.key"
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 start wggo1 wg wireguard-go -f wg1
    wait_until 5 inns wg ip link show wg1 || return 1
    inns wg wg set wg1 private-key "$WORK/tablet.key" listen-port 51999 peer "$SRVPUB" endpoint 192.0.2.1:51820 \
        allowed-ips 198.51.100.1/32 persistent-keepalive 25
    inns wg ip addr add "$addr" dev wg1
    inns wg ip link set wg1 up
    wait_until 10 inns wg ping -c 1 -W 1 -I wg1 198.51.100.1 || return 1
    up_after=$(srv_port c1 connectedSeconds)
    echo "client-to-server: tablet $addr joined a running server; c1 up for $up_before s before, $up_after s after (not reconnected)"
    python3 -c "import sys; sys.exit(0 if float('$up_after') >= float('$up_before') else 1)" &&
        inns wg ping -c 1 -W 2 203.0.113.2 >/dev/null   # the phone, too, is untouched
}
check "server add-client lets a new stock WireGuard client in live; other clients keep their sessions" live_add_check

wg_show_server_check() {
    local iface; iface=$(inns srv ip -o link show | grep -o 'lanyard[0-9]*' | head -1)
    inns srv wg show "$iface" | tee "$WORK/srvshow.txt" | head -20
    echo "wg show on the server: $(grep -c '^peer: ' "$WORK/srvshow.txt") peers, $(grep -c 'latest handshake' "$WORK/srvshow.txt") with a handshake"
    [ "$(grep -c '^peer: ' "$WORK/srvshow.txt")" -ge 4 ] && grep -q "$(cat "$WORK/c1.pub")" "$WORK/srvshow.txt" &&
        inns srv wg show "$iface" dump | grep -q "$(cat "$WORK/c1.pub")"
}
check "stock wg show lists the L3 server's clients with handshakes and addresses" wg_show_server_check

live_remove_check() {
    "$LANYARD" server remove-client tablet --clients "$WORK/clients.conf" --name "${PFX}-srv" 2>&1 || return 1
    ! grep -q "Name = tablet" "$WORK/clients.conf" || return 1
    [ "$(stat -c %a "$WORK/clients.conf")" = 600 ] || { echo "clients file mode changed"; return 1; }
    ! inns wg ping -c 2 -W 1 -I wg1 198.51.100.1 >/dev/null 2>&1 &&
        inns wg ping -c 1 -W 2 203.0.113.2 >/dev/null && [ "$(srv_port c1 state)" = up ]
}
check "server remove-client cuts that client off at once, the others stay" live_remove_check

restore_check() {
    stop client-c1
    inns c1 ip route show table all | grep -v fe80:: >"$WORK/c1.routes.after"
    diff "$WORK/c1.routes.before" "$WORK/c1.routes.after" && ! inns c1 ip link show lyc0 2>/dev/null
}
check "after the client exits its routes are as before and its interface is gone" restore_check

nft_check() {
    inns srv nft list tables | grep -q "lanyard_${PFX}srv" || return 1
    stop server
    ! inns srv nft list tables | grep -q lanyard && ! inns srv ip link show lanyard0 2>/dev/null
}
check "the server's nftables table and TUN are gone after it exits" nft_check

timeout_check() {
    local t0=$SECONDS
    inns c1 "$LANYARD" client --server 192.0.2.1:51820 --server-key "$SRVPUB" --private-key "$WORK/c1.key" \
        --interface lyc9 --name "${PFX}-ct" >"$WORK/ct.log" 2>&1 && return 1
    local took=$((SECONDS - t0))
    cat "$WORK/ct.log" | tail -1
    echo "client without a server gave up after ${took} s (timeout 2.5 s)"
    [ "$took" -le 5 ] && grep -q "could not connect to 192.0.2.1:51820 within 2.5 s" "$WORK/ct.log"
}
check "a client with no server fails within the connect timeout, with its message" timeout_check

# Site to site: LAN1 198.51.100.0/24 (h1 .10, gw1 .1) <-> LAN2 203.0.113.0/24 (h2 .10, gw2 .1).
site_setup() {
    for n in gw1 gw2 h1 h2; do ip netns add "$(ns $n)"; NAMESPACES+=($n); inns $n ip link set lo up; done
    ip link add "${PFX}g1" type veth peer name "${PFX}g2"
    ip link set "${PFX}g1" netns "$(ns gw1)"; ip link set "${PFX}g2" netns "$(ns gw2)"
    inns gw1 ip addr add 192.0.2.101/24 dev "${PFX}g1"; inns gw1 ip link set "${PFX}g1" up
    inns gw2 ip addr add 192.0.2.102/24 dev "${PFX}g2"; inns gw2 ip link set "${PFX}g2" up
    for side in 1:198.51.100 2:203.0.113; do
        local i=${side%%:*} net=${side##*:}
        ip link add "${PFX}l$i" type veth peer name "${PFX}m$i"
        ip link set "${PFX}l$i" netns "$(ns gw$i)"; ip link set "${PFX}m$i" netns "$(ns h$i)"
        inns gw$i ip addr add "$net.1/24" dev "${PFX}l$i"; inns gw$i ip link set "${PFX}l$i" up
        inns h$i ip addr add "$net.10/24" dev "${PFX}m$i"; inns h$i ip link set "${PFX}m$i" up
        inns h$i ip route add default via "$net.1"
    done
    keypair gw1; keypair gw2
    start gw1 gw1 "$LANYARD" tunnel --private-key "$WORK/gw1.key" --peer-key "$(cat "$WORK/gw2.pub")" \
        --endpoint 192.0.2.102:51900 --listen 51900 --interface lys0 --route 203.0.113.0/24 --forwarding --name "${PFX}-gw1"
    start gw2 gw2 "$LANYARD" tunnel --private-key "$WORK/gw2.key" --peer-key "$(cat "$WORK/gw1.pub")" \
        --endpoint 192.0.2.101:51900 --listen 51900 --interface lys0 --route 198.51.100.0/24 --forwarding --name "${PFX}-gw2"
}
site_setup
check "site to site: host1 on LAN 1 pings host2 on LAN 2 through the gateways" wait_until 10 inns h1 ping -c 3 -i 0.2 -W 1 203.0.113.10
check "site to site: 10 MB file host1 -> host2, SHA-256 matches" sha_transfer h1 h2 203.0.113.10 10 5003
forwarding_restored() {
    local before; before=$(inns gw1 sysctl -n net.ipv4.ip_forward)
    stop gw1
    local after; after=$(inns gw1 sysctl -n net.ipv4.ip_forward)
    echo "gw1 ip_forward while running $before, after exit $after"
    [ "$before" = 1 ] && [ "$after" = 0 ]
}
check "site to site: gateway puts ip_forward back on exit" forwarding_restored

summary
