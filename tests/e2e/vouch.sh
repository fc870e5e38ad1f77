#!/usr/bin/env bash
# End to end: a port does not keep a MAC vouch forever. Member a uses MAC M with port p, then
# leaves M; b takes M at the switch (after the move hold) and keeps it live, but never talks to p.
# When a uses M towards p again, p must refuse it: the switch no longer vouches M for a, and p's
# old vouch lapses within 30 s (docs/DIRECT-PATHS.md), even though p never saw the move.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT

make_underlay sw a b p
for k in sw a b p; do keypair $k; done
SWPUB=$(cat "$WORK/sw.pub")
for n in a b p; do printf '[Port]\nName = %s\nPublicKey = %s\n' "$n" "$(cat "$WORK/$n.pub")"; done >"$WORK/ports.conf"
SWSOCK=/run/lanyard/${PFX}-sw.sock
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --ports "$WORK/ports.conf" --name "${PFX}-sw"
wait_until 5 test -S "$SWSOCK"
for n in a:11 b:12 p:13; do
    start "port-${n%:*}" "${n%:*}" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$SWPUB" \
        --private-key "$WORK/${n%:*}.key" --tap "tap${n%:*}" --name "${PFX}-${n%:*}" --address "198.51.100.${n#*:}/24"
done
for n in a b p; do wait_until 5 inns "$n" ip link show "tap$n" >/dev/null; inns "$n" sysctl -qw "net.ipv6.conf.tap$n.disable_ipv6=1"; done

M=$(inns a cat /sys/class/net/tapa/address)
M2=02:00:00:00:0a:02
PMAC=$(inns p cat /sys/class/net/tapp/address)
sw_mac_port() { "$LANYARD" status --socket "$SWSOCK" --json | python3 "$HERE/json_get.py" macTable "mac=$1" port; }
not_vouched() { "$LANYARD" status --socket "/run/lanyard/${PFX}-p.sock" --json | python3 "$HERE/json_get.py" drops "MAC not vouched by the switch" | sed 's/None/0/'; }

stale_vouch_check() {
    # a talks to p from M: p learns that the switch vouches M for a.
    wait_until 20 inns a ping -c 1 -W 2 198.51.100.13 >/dev/null || { echo "a cannot reach p"; return 1; }
    inns a ping -c 3 -i 0.3 -W 2 198.51.100.13 >/dev/null || return 1
    local t0=$SECONDS
    # a moves to another MAC; b takes M once a has left it for the move hold, and stays busy
    # with a only (static neighbours: no broadcast from b that would show p the move).
    inns a ip link set dev tapa address "$M2"
    # (an ARP broadcast from M2, so that the switch and b know where M2 is: b's frames to it
    # must not be flooded, which would show p the move)
    inns a ping -c 1 -W 1 198.51.100.12 >/dev/null
    sleep 16
    inns b ip link set dev tapb address "$M"
    inns b ip neigh replace 198.51.100.11 lladdr "$M2" dev tapb nud permanent   # (a new MAC flushes the table)
    inns b ping -q -i 0.5 -W 1 -w 90 198.51.100.11 >/dev/null 2>&1 &
    local busy=$!
    wait_until 15 bash -c "[ \"\$('$LANYARD' status --socket '$SWSOCK' --json | python3 '$HERE/json_get.py' macTable 'mac=$M' port)\" = b ]" \
        || { echo "the switch did not give M to b: M on $(sw_mac_port "$M")"; kill $busy; return 1; }
    # a takes M back towards p, later than p's vouch may last.
    while [ $((SECONDS - t0)) -lt 40 ]; do sleep 1; done
    inns a ip link set dev tapa address "$M"
    inns a ip neigh replace 198.51.100.13 lladdr "$PMAC" dev tapa nud permanent
    inns p ip neigh replace 198.51.100.11 lladdr "$M" dev tapp nud permanent
    local before replies
    before=$(not_vouched)
    replies=$(inns a ping -c 6 -i 0.5 -W 1 198.51.100.13 | grep -c 'bytes from')
    kill $busy 2>/dev/null; wait $busy 2>/dev/null
    echo "switch: M held by $(sw_mac_port "$M"); a -> p from M $((SECONDS - t0)) s after a left it: $replies of 6 answered; p's 'MAC not vouched' drops $before -> $(not_vouched)"
    [ "$replies" -eq 0 ] && [ "$(not_vouched)" -gt "$before" ]
}
check "a MAC the switch gave to another member is refused at a port that never saw the move" stale_vouch_check

summary
