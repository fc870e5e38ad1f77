#!/usr/bin/env bash
# The demo: a Lanyard switch and two ports in network namespaces on this machine. The ports
# find each other through the switch, open a direct encrypted path, ping each other and move a
# 10 MB file (SHA-256 checked) over it; then everything is removed. Needs root. Documentation
# addresses only.
set -uo pipefail
umask 077  # key and member files must not be readable by others
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "the demo makes network namespaces: run it as root (as root: $0; otherwise: sudo $0)"; exit 1; }
scripts/setup.sh debug || exit 1
. tests/e2e/lib.sh
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

say "underlay: a bridge with namespaces sw (192.0.2.1), a (192.0.2.2), b (192.0.2.3)"
make_underlay sw a b
for k in sw a b; do keypair $k; done
printf '[Port]\nName = a\nPublicKey = %s\n[Port]\nName = b\nPublicKey = %s\n' \
    "$(cat "$WORK/a.pub")" "$(cat "$WORK/b.pub")" >"$WORK/ports.conf"
say "keys made with 'lanyard genkey'; the switch lets in a and b only:"
sed 's/^/   /' "$WORK/ports.conf"

say "lanyard switch in sw, lanyard port in a (198.51.100.11) and b (198.51.100.12)"
start switch sw "$LANYARD" switch --listen 51820 --private-key "$WORK/sw.key" --ports "$WORK/ports.conf" --name "${PFX}-sw"
sleep 0.5
for p in a:11 b:12; do
    n=${p%%:*}; i=${p##*:}
    start "port-$n" "$n" "$LANYARD" port --switch 192.0.2.1:51820 --switch-key "$(cat "$WORK/sw.pub")" \
        --private-key "$WORK/$n.key" --tap "tap$n" --address "198.51.100.$i/24" --name "${PFX}-$n"
done
wait_until 15 inns a ping -c 1 -W 1 198.51.100.12 >/dev/null || { echo "ports did not come up"; cat "$WORK"/*.log; exit 1; }

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
