#!/usr/bin/env bash
# The demo: a Lanyard switch and three ports in network namespaces on this machine. The switch
# keeps its members in SQLite; three invites are made, and each port joins with its token (no
# key is copied by hand). The ports find each other through the switch, open direct encrypted
# paths, ping each other and move a 10 MB file (SHA-256 checked); then everything is removed. Needs root. Documentation
# addresses only.
set -uo pipefail
umask 077  # key and member files must not be readable by others
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "the demo makes network namespaces: run it as root (as root: $0; otherwise: sudo $0)"; exit 1; }
scripts/setup.sh debug || exit 1
. tests/e2e/lib.sh
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

say "underlay: a bridge with namespaces sw (192.0.2.1), a (192.0.2.2), b (192.0.2.3), c (192.0.2.4)"
make_underlay sw a b c
keypair sw

say "lanyard switch in sw, its members in an SQLite database (made on first start)"
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --database "$WORK/members.db" \
    --endpoint 192.0.2.1:51820 --name "${PFX}-sw"
wait_until 10 test -S "/run/lanyard/${PFX}-sw.api.sock" || { cat "$WORK/switch.log"; exit 1; }

say "three invites (lanyard member invite NAME): each prints a token to give to one machine"
for n in a b c; do
    "$LANYARD" member invite "$n" --name "${PFX}-sw" >"$WORK/$n.token"
    echo "   $n: $(cut -c1-60 "$WORK/$n.token")..."
done

say "each machine joins with its token (lanyard port --join TOKEN): it makes its own key, no key is copied"
for p in a:11 b:12 c:13; do
    n=${p%%:*}; i=${p##*:}
    start "port-$n" "$n" "$LANYARD" port --join "$(cat "$WORK/$n.token")" --state-directory "$WORK/state-$n" \
        --tap "tap$n" --address "198.51.100.$i/24" --name "${PFX}-$n"
done
wait_until 20 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || { echo "ports did not come up"; cat "$WORK"/*.log; exit 1; }
wait_until 20 inns a ping -c 1 -W 1 198.51.100.13 >/dev/null

say "lanyard member list: the members the switch let in"
"$LANYARD" member list --name "${PFX}-sw" | sed 's/^/   /'

say "ping a -> b (the first packets go through the switch while a and b set up their own session)"
inns a ping -c 4 -i 0.2 198.51.100.12

say "port a's view: b is reached over a direct path, the switch only introduced them"
"$LANYARD" status --name "${PFX}-a"

say "10 MB file a -> b over TCP"
head -c 10M /dev/urandom >"$WORK/file.src"
inns b python3 tests/e2e/transfer.py recv 5001 "$WORK/file.dst" & r=$!
sleep 0.5
inns a python3 tests/e2e/transfer.py send 198.51.100.12 5001 "$WORK/file.src"; wait $r
s1=$(sha256sum <"$WORK/file.src" | cut -d' ' -f1); s2=$(sha256sum <"$WORK/file.dst" | cut -d' ' -f1)
echo "sent     sha256 $s1"
echo "received sha256 $s2"
[ "$s1" = "$s2" ] && echo "MATCH" || { echo "MISMATCH"; exit 1; }

say "lanyard status (the switch)"
"$LANYARD" status --name "${PFX}-sw"

say "cleaning up: ports and switch stopped, namespaces removed"
