#!/usr/bin/env bash
# End to end: Lanyard as a drop-in userspace WireGuard. `lanyard up` (wg-quick with Lanyard as
# WG_QUICK_USERSPACE_IMPLEMENTATION) brings up an interface from an ordinary wg-quick file with
# three peers, each Debian's wireguard-go configured with `wg`; cryptokey routing picks the most
# specific AllowedIPs; `wg show`, `wg set` and `wg-quick down` work on it unchanged.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap 'inns l wg-quick down "$CONF" >/dev/null 2>&1; cleanup' EXIT

make_underlay l p1 p2 p3
for k in l p1 p2 p3; do keypair $k; done
(umask 077; "$LANYARD" genpsk >"$WORK/p2.psk")
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
IF="${PFX}l"                       # host-wide unique: /var/run/wireguard/IF.sock
CONF="$WORK/$IF.conf"

# Peers: 198.51.100.(i+1) on their wg interface, and one "LAN" address each on a dummy device:
# p1 203.0.113.5 (in 203.0.113.0/24), p2 203.0.113.130 (in .128/25), p3 203.0.113.200 (/32),
# on their loopback devices.
lan=(x 203.0.113.5 203.0.113.130 203.0.113.200)
for i in 1 2 3; do
    dev="${PFX}p$i"
    start "wggo-p$i" "p$i" wireguard-go -f "$dev"
    wait_until 5 inns "p$i" ip link show "$dev" >/dev/null
    extra=()
    [ $i -eq 2 ] && extra=(preshared-key "$WORK/p2.psk")
    inns "p$i" wg set "$dev" private-key "$WORK/p$i.key" listen-port 51820 \
        peer "$(cat "$WORK/l.pub")" allowed-ips 198.51.100.1/32 endpoint 192.0.2.1:51820 "${extra[@]}"
    inns "p$i" ip addr add "198.51.100.$((i + 1))/24" dev "$dev"
    inns "p$i" ip link set "$dev" up
    inns "p$i" ip addr add "${lan[$i]}/32" dev lo
done

cat >"$CONF" <<CONF
# An ordinary wg-quick file: the same works with the kernel module.
[Interface]
PrivateKey = $(cat "$WORK/l.key")
Address = 198.51.100.1/24
ListenPort = 51820
PostUp = touch $WORK/postup.ran
PostDown = touch $WORK/postdown.ran

[Peer]
PublicKey = $(cat "$WORK/p1.pub")
AllowedIPs = 198.51.100.2/32, 203.0.113.0/24
Endpoint = 192.0.2.2:51820
PersistentKeepalive = 25

[Peer]
PublicKey = $(cat "$WORK/p2.pub")
PresharedKey = $(cat "$WORK/p2.psk")
AllowedIPs = 198.51.100.3/32, 203.0.113.128/25
Endpoint = 192.0.2.3:51820

[Peer]
PublicKey = $(cat "$WORK/p3.pub")
AllowedIPs = 198.51.100.4/32, 203.0.113.200/32
Endpoint = 192.0.2.4:51820
CONF
chmod 600 "$CONF"

up_check() {
    inns l "$LANYARD" up "$CONF" || return 1
    inns l ip link show "$IF" | grep -q "UP" && [ -S "/var/run/wireguard/$IF.sock" ] && [ -e "$WORK/postup.ran" ] &&
        inns l ip -d link show "$IF" | grep -q "tun "
}
check "lanyard up: wg-quick file with 3 peers, userspace TUN, API socket, PostUp ran" up_check

ping_lan() { inns l ping -c 2 -i 0.2 -W 2 "$1"; }
check "most specific AllowedIPs wins: 203.0.113.5 -> p1 (/24)" wait_until 10 ping_lan 203.0.113.5
check "most specific AllowedIPs wins: 203.0.113.130 -> p2 (/25, with preshared key)" wait_until 10 ping_lan 203.0.113.130
check "most specific AllowedIPs wins: 203.0.113.200 -> p3 (/32)" wait_until 10 ping_lan 203.0.113.200

wg_show_check() {
    inns l wg show "$IF" | tee "$WORK/show.txt"
    local peers handshakes dump
    peers=$(grep -c "^peer: " "$WORK/show.txt")
    handshakes=$(grep -c "latest handshake" "$WORK/show.txt")
    dump=$(inns l wg show all dump | grep -c "^$IF")
    echo "wg show: $peers peers, $handshakes with a handshake; wg show all dump: $dump lines"
    [ "$peers" -eq 3 ] && [ "$handshakes" -eq 3 ] && [ "$dump" -eq 4 ] &&
        inns l wg show "$IF" listen-port | grep -qx 51820 &&
        inns l wg show "$IF" allowed-ips | grep -q "203.0.113.128/25" &&
        [ "$(inns l wg show "$IF" preshared-keys | grep -c "$(cat "$WORK/p2.psk")")" -eq 1 ] &&
        inns l wg showconf "$IF" | grep -q "^Endpoint = 192.0.2.4:51820"
}
check "wg show / show all dump / showconf read the Lanyard interface" wg_show_check

check "10 MB file to p2's LAN address through the interface, SHA-256 matches" sha_transfer l p2 203.0.113.130

status_drop() { "$LANYARD" status --name "$IF" --json | python3 "$HERE/json_get.py" drops "$1" | sed 's/None/0/'; }
spoof_check() {
    # p1 sends from an address that belongs to p2's AllowedIPs: Lanyard must drop it.
    inns p1 ip addr add 203.0.113.131/32 dev lo
    local before after
    before=$(status_drop "inner source address not allowed")
    inns p1 ping -c 3 -i 0.2 -W 1 -I 203.0.113.131 198.51.100.1 >/dev/null 2>&1
    after=$(status_drop "inner source address not allowed")
    inns p1 ip addr del 203.0.113.131/32 dev lo
    echo "source-not-allowed drops $before -> $after"
    [ $((after - before)) -eq 3 ]
}
check "a packet from p1 with a source in p2's AllowedIPs is dropped and counted" spoof_check

remove_check() {
    inns l wg set "$IF" peer "$(cat "$WORK/p3.pub")" remove || return 1
    ! inns l ping -c 2 -i 0.2 -W 1 203.0.113.200 >/dev/null 2>&1 || return 1
    [ "$(inns l wg show "$IF" peers | wc -l)" -eq 2 ] || return 1
    ping_lan 203.0.113.5 >/dev/null   # the others are untouched
}
check "wg set ... remove cuts p3 off at once; p1 still works" remove_check

add_check() {
    inns l wg set "$IF" peer "$(cat "$WORK/p3.pub")" allowed-ips 198.51.100.4/32,203.0.113.200/32 endpoint 192.0.2.4:51820 || return 1
    wait_until 10 ping_lan 203.0.113.200 >/dev/null
}
check "wg set adds p3 back live, without a restart" add_check

bad_set_check() {
    # An invalid request is refused whole: the valid peer change before the bad key is not applied.
    local reply
    reply=$(printf 'set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=203.0.113.64/26\nbogus_key=1\n\n' \
        "$(python3 -c "import base64,sys;print(base64.b64decode(open('$WORK/p1.pub').read()).hex())")" |
        inns l python3 -c "
import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect('/var/run/wireguard/$IF.sock'); s.sendall(sys.stdin.buffer.read())
print(s.recv(4096).decode().strip())")
    echo "reply to a set with an unknown key: $reply"
    [ "$reply" = "errno=22" ] && inns l wg show "$IF" allowed-ips | grep "$(cat "$WORK/p1.pub")" | grep -q "203.0.113.0/24"
}
check "a set with an unknown key is refused with errno 22 and changes nothing" bad_set_check

down_check() {
    local pid; pid=$(pgrep -f "lanyard.* wireguard $IF\$|lanyard-wireguard $IF\$" | head -1)
    inns l "$LANYARD" down "$CONF" || return 1
    for _ in $(seq 1 30); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    local routes; routes=$(inns l ip route | grep -c "203.0.113" || true)
    echo "after down: interface $(inns l ip link show "$IF" >/dev/null 2>&1 && echo present || echo gone), routes to 203.0.113.x: $routes, process ${pid:-?} $(kill -0 "$pid" 2>/dev/null && echo alive || echo gone)"
    ! inns l ip link show "$IF" >/dev/null 2>&1 && [ "$routes" -eq 0 ] && ! kill -0 "$pid" 2>/dev/null &&
        [ ! -e "/var/run/wireguard/$IF.sock" ] && [ -e "$WORK/postdown.ran" ]
}
check "lanyard down: interface, routes, process and API socket gone; PostDown ran" down_check

bad_conf_check() {
    sed 's/^AllowedIPs = 198.51.100.4\/32, 203.0.113.200\/32/AllowedIPs = 300.1.2.3\/32/' "$CONF" >"$WORK/${PFX}x.conf"
    chmod 600 "$WORK/${PFX}x.conf"
    ! inns l "$LANYARD" up "$WORK/${PFX}x.conf" >"$WORK/bad.out" 2>&1 || return 1
    cat "$WORK/bad.out" | tail -3
    sleep 0.5
    ! inns l ip link show "${PFX}x" >/dev/null 2>&1 && [ ! -e "/var/run/wireguard/${PFX}x.sock" ] &&
        ! pgrep -f "wireguard ${PFX}x\$" >/dev/null
}
check "a wg-quick file with a bad AllowedIPs is refused whole: no interface, no process left" bad_conf_check

wgquick_direct_check() {
    # The unmodified wg-quick with WG_QUICK_USERSPACE_IMPLEMENTATION naming Lanyard.
    ln -sf "$LANYARD" "$WORK/lanyard-wireguard"
    inns l env WG_QUICK_USERSPACE_IMPLEMENTATION="$WORK/lanyard-wireguard" wg-quick up "$CONF" || return 1
    wait_until 10 ping_lan 203.0.113.130 >/dev/null || return 1
    inns l wg-quick down "$CONF" || return 1
    ! inns l ip link show "$IF" >/dev/null 2>&1
}
check "wg-quick up/down itself with WG_QUICK_USERSPACE_IMPLEMENTATION=lanyard-wireguard" wgquick_direct_check


# The standard container pattern (wireguard.com/netns): the interface is created in one namespace,
# whose UDP socket it keeps, and moved into another, where it is addressed and used.
ip netns add "$(ns c)"; NAMESPACES+=(c)
NIF="${PFX}n"
netns_move_check() {
    start wg-netns l "$LANYARD" wireguard -f "$NIF"
    wait_until 5 inns l ip link show "$NIF" >/dev/null || return 1
    inns l wg set "$NIF" private-key "$WORK/l.key" listen-port 51820 \
        peer "$(cat "$WORK/p1.pub")" allowed-ips 198.51.100.2/32 endpoint 192.0.2.2:51820 || return 1
    ip -n "$(ns l)" link set "$NIF" netns "$(ns c)" || return 1
    inns c ip addr add 198.51.100.1/24 dev "$NIF"
    inns c ip link set "$NIF" up
    sleep 2   # the daemon used to die about 1 s after the move, looking for its name
    kill -0 "${PIDS[wg-netns]}" || { echo "lanyard wireguard died after the move:"; tail -3 "$WORK/wg-netns.log"; return 1; }
    # Jumbo MTU (below): the first packets, 8 UDP datagrams of 20 KB sent at once, wait in the
    # queue while the handshake runs; every one must arrive.
    inns c ip link set "$NIF" mtu 34736 && inns p1 ip link set "${PFX}p1" mtu 34736 || return 1
    rm -f "$WORK/burst.bound"
    inns p1 timeout 20 python3 -c '
import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.bind(("198.51.100.2", 9999)); open(sys.argv[1], "w").close(); s.settimeout(3); n = 0
try:
    while n < 8: s.recv(65535); n += 1
except OSError: pass
print(n)' "$WORK/burst.bound" >"$WORK/burst.txt" & local receiver=$!
    # (sent only once the receiver is bound: python may start slowly on a busy machine)
    wait_until 15 test -e "$WORK/burst.bound" || return 1
    # p1's kernel drops for a full socket buffer (wireguard-go's or the receiver's, both outside
    # Lanyard): counted, so that a datagram lost there is told apart from one Lanyard lost.
    local full0; full0=$(inns p1 nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ {print $2}')
    inns c python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(8): s.sendto(b"x" * 20000, ("198.51.100.2", 9999))'
    wait "$receiver"
    local got full; got=$(cat "$WORK/burst.txt"); full=$(( $(inns p1 nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ {print $2}') - full0 ))
    echo "wg burst: 8 datagrams of 20000 bytes sent before the handshake, $got received, $full dropped by p1's kernel for a full socket buffer"
    [ "$got" = 8 ] || [ $((got + full)) = 8 ] || return 1
    wait_until 10 inns c ping -c 1 -W 1 198.51.100.2 >/dev/null || return 1
    inns c ping -c 3 -i 0.2 -W 2 198.51.100.2 | grep -E "^[0-9]+ packets" | sed 's/^/ICMP /'
    kill -0 "${PIDS[wg-netns]}"
}
check "interface moved to another namespace (UDP socket stays behind): keeps working, pings a wireguard-go peer" netns_move_check

# Jumbo MTU (34,736, as WireGuard's own netns tests use): each datagram is IP-fragmented on the
# 1,500-byte underlay and each TCP segment is ~34 KB, far above what a default link hands over.
jumbo_drops() { "$LANYARD" status --name "$NIF" --json | python3 -c '
import json, sys
d = json.load(sys.stdin).get("drops") or {}
print(sum(v for k, v in d.items() if k != "no client for destination"))'; }
jumbo_check() {
    inns c ip link set "$NIF" mtu 34736 && inns p1 ip link set "${PFX}p1" mtu 34736 || return 1
    local before after; before=$(jumbo_drops)
    sha_transfer c p1 198.51.100.2 20 || return 1
    sha_transfer p1 c 198.51.100.1 20 5003 || return 1
    after=$(jumbo_drops)
    echo "wg drops other than no-route, before -> after: $before -> $after"
    [ "$before" = "$after" ]
}
check "MTU 34736 through the drop-in: 20 MB each way to wireguard-go, SHA-256 intact, no drop counter rises" jumbo_check

netns_delete_check() {
    local pid=${PIDS[wg-netns]} rc
    inns c ip link del "$NIF" || return 1
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "still running 3 s after ip link del"; return 1; }
    wait "$pid"; rc=$?; unset "PIDS[wg-netns]"
    echo "exit status after ip link del in the other namespace: $rc"; tail -2 "$WORK/wg-netns.log"
    [ "$rc" -eq 0 ] && grep -q "was deleted" "$WORK/wg-netns.log" && [ ! -e "/var/run/wireguard/$NIF.sock" ]
}
check "ip link del of the moved interface stops the daemon cleanly (exit 0, API socket removed)" netns_delete_check

summary
