#!/usr/bin/env bash
# End to end: a cookie reply never moves `lanyard tunnel`'s endpoint. Whoever sees the tunnel's
# handshake initiation can make a valid cookie reply (it needs only the peer's public key and the
# initiation's mac1), so it proves nothing about where the peer is (docs/SECURITY.md).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay l w
keypair l; keypair w
inns w ip addr add 192.0.2.99/24 dev u0

cookie_does_not_move() {
    inns w python3 "$HERE/cookie_forge.py" 192.0.2.2 51820 "$(cat "$WORK/w.pub")" 192.0.2.99 >"$WORK/forge.out" 2>&1 &
    local forger=$!
    sleep 0.5
    start tun l "$LANYARD" tunnel --private-key "$WORK/l.key" --peer-key "$(cat "$WORK/w.pub")" \
        --endpoint 192.0.2.2:51820 --listen 51821 --interface lyt0 --address 198.51.100.1/24 --name "${PFX}-l" --log-level debug
    wait $forger || { cat "$WORK/forge.out"; return 1; }
    sleep 1
    local endpoint
    endpoint=$("$LANYARD" status --name "${PFX}-l" --json | python3 "$HERE/json_get.py" endpoint)
    echo "cookie reply sent from $(cat "$WORK/forge.out"); the tunnel's endpoint is now $endpoint"
    [ "$endpoint" = "192.0.2.2:51820" ]
}
check "a forged but valid cookie reply from another address leaves the tunnel's endpoint alone" cookie_does_not_move

summary
