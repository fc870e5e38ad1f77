#!/usr/bin/env bash
# Bad arguments, key files and configuration: each gets a one-line error and a non-zero exit,
# never a crash or a stack trace. No namespaces needed.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
trap cleanup EXIT
L=$LANYARD
keypair k
PUB=$(cat "$WORK/k.pub")

# expect_error "MESSAGE PART" CMD...: fails (exit 1..64, not a signal) and prints the message.
expect_error() {
    local want=$1; shift
    "$@" >"$WORK/out" 2>&1; local rc=$?
    echo "exit $rc: $(head -1 "$WORK/out")"
    [ $rc -ge 1 ] && [ $rc -le 64 ] && grep -qF -- "$want" "$WORK/out" && ! grep -qiE "fatal error|stack|backtrace" "$WORK/out"
}

check "genkey/pubkey round trip in wg's format" bash -c "[ \$(echo -n '$PUB' | wc -c) -eq 44 ] && $L genpsk | grep -qE '^[A-Za-z0-9+/]{43}=$'"
check "pubkey refuses garbage on stdin" expect_error "not a private key" bash -c "echo garbage | $L pubkey"
cp "$WORK/k.key" "$WORK/open.key"; chmod 644 "$WORK/open.key"
check "a private key readable by others is refused" expect_error "chmod 600" $L switch --private-key "$WORK/open.key" --ports /dev/null
check "a missing ports file is named" expect_error "cannot read '/nonexistent/ports.conf'" $L switch --private-key "$WORK/k.key" --ports /nonexistent/ports.conf
printf '[Port]\nPublicKey = not-a-key\n' >"$WORK/bad.conf"
check "a bad key in the ports file gives its line" expect_error "line 2: PublicKey = not-a-key" $L switch --private-key "$WORK/k.key" --ports "$WORK/bad.conf"
head -c 3000 /dev/urandom >"$WORK/random.conf"
check "a random binary ports file is refused" expect_error "Error:" $L switch --private-key "$WORK/k.key" --ports "$WORK/random.conf"
printf '[Port]\nPublicKey = %s\n' "$PUB" >"$WORK/ok.conf"
check "a bad listen address is explained" expect_error "port must be a number" $L switch --private-key "$WORK/k.key" --ports "$WORK/ok.conf" --listen 127.0.0.1:99999
check "an unresolvable switch name is explained" expect_error "not a usable address" $L port --switch nosuchhost.invalid:51820 --switch-key "$PUB" --private-key "$WORK/k.key"
check "a bad peer key is explained" expect_error "is not a WireGuard public key" $L tunnel --private-key "$WORK/k.key" --peer-key xyz
check "a bad CIDR is explained" expect_error "is not an address/prefix" $L tunnel --private-key "$WORK/k.key" --peer-key "$PUB" --route 198.51.100.0/33
check "an unknown option is refused with usage" expect_error "Unknown option" $L switch --private-key x --ports y --frobnicate
check "silence shorter than keepalive is refused" expect_error "--silence-timeout" $L switch --private-key "$WORK/k.key" --ports "$WORK/ok.conf" --keepalive 10 --silence-timeout 5
keypair k2
printf '[Client]\nName = one\nPublicKey = %s\nAddress = 198.51.100.9\n[Client]\nName = two\nPublicKey = %s\nAddress = 198.51.100.9\n' "$PUB" "$(cat "$WORK/k2.pub")" >"$WORK/dup.conf"
check "two clients with the same fixed address are refused, both named" expect_error "clients one and two both have Address 198.51.100.9" $L server --private-key "$WORK/k.key" --clients "$WORK/dup.conf"
printf '[Client]\nName = one\nPublicKey = %s\nAddress = 198.51.100.1\n' "$PUB" >"$WORK/srvaddr.conf"
check "a client given the server's own address is told so" expect_error "is the server's own address" $L server --private-key "$WORK/k.key" --clients "$WORK/srvaddr.conf"
check "wireguard: a bad interface name is explained" expect_error "not a usable interface name" $L wireguard "this-name-is-far-too-long"
check "remove-client of an unknown client is explained" expect_error "has no [Client] named nobody" $L server remove-client nobody --clients "$WORK/dup.conf"
check "status of a daemon that is not running is explained" expect_error "cannot reach" $L status --name "${PFX}-none"

# Configuration files (TOML, one table per role): errors name the file, the line and the key.
printf '[Port]\nName = p\nPublicKey = %s\n' "$PUB" >"$WORK/ports"
cat >"$WORK/switch-ok.toml" <<CONF
[switch]
listen = 51820
private-key = "$WORK/k.key"
ports = "$WORK/ports"
CONF
check "check: a good switch file is accepted with a summary" bash -c "$L check '$WORK/switch-ok.toml' | grep -q 'ok: switch with 1 ports'"
printf '[switch]\nlistn = 51820\n' >"$WORK/typo.toml"
check "check: a misspelt key is named with its line and a suggestion" expect_error "typo.toml:2: 'listn' is not a [switch] setting (did you mean 'listen'?)" $L check "$WORK/typo.toml"
printf '[switch]\nmac-aging = "long"\n' >"$WORK/type.toml"
check "check: a value of the wrong type is named" expect_error "'mac-aging' must be a number, not string" $L check "$WORK/type.toml"
printf '[switch]\nlisten = [1,\n' >"$WORK/syntax.toml"
check "check: a TOML syntax error gives line and column" expect_error "syntax.toml:2:" $L check "$WORK/syntax.toml"
check "a port started with a switch's file is told which command fits" expect_error "configures a switch, not a port" $L port --config "$WORK/switch-ok.toml"
printf '[switch]\nprivate-key = "%s"\nports = "%s"\nkeepalive = 10\nsilence-timeout = 5\n' "$WORK/k.key" "$WORK/ports" >"$WORK/slow.toml"
check "options on the command line win over the file" bash -c "
    $L switch --config '$WORK/slow.toml' 2>&1 | grep -q -- '--silence-timeout must be larger' &&
    $L switch --config '$WORK/slow.toml' --silence-timeout 30 --listen 127.0.0.1:99999 2>&1 | grep -q 'port must be a number'"
printf '[switch]\nprivate-key = "%s"\n' "$WORK/k.key" >"$WORK/noports.toml"
check "check: a file without a ports file names the member database the switch will use" bash -c "
    $L check '$WORK/noports.toml' | grep -q 'members in /var/lib/lanyard/switch.db'"
printf '[switch]\nprivate-key = "%s"\nports = "%s"\ndatabase = "%s"\n' "$WORK/k.key" "$WORK/ports" "$WORK/m.db" >"$WORK/both.toml"
check "check: a ports file and a database at once are refused" expect_error "give --ports or --database, not both" $L check "$WORK/both.toml"
cp "$WORK/switch-ok.toml" "$WORK/open.toml"; chmod 666 "$WORK/open.toml"
check "a configuration file others can change is refused" expect_error "chmod go-w" $L check "$WORK/open.toml"
cp "$WORK/ports" "$WORK/ports-open"; chmod 644 "$WORK/ports-open"
check "a ports file others can read is refused (it may hold preshared keys)" expect_error "chmod 600" $L switch --private-key "$WORK/k.key" --ports "$WORK/ports-open"
ln -s "$WORK/k.key" "$WORK/link.key"
check "a private key behind a symbolic link is refused" expect_error "symbolic link" $L switch --private-key "$WORK/link.key" --ports "$WORK/ports"
cp "$WORK/ports" "$WORK/ports-before"
check "add-port of a key already listed under another name is refused, nothing written" bash -c "
    $L switch add-port --ports '$WORK/ports' again '$PUB' 2>&1 | grep -q 'would not be valid with this entry, nothing written' &&
    ! $L switch add-port --ports '$WORK/ports' again '$PUB' 2>/dev/null && cmp -s '$WORK/ports' '$WORK/ports-before'"
check "--config on the tunnel points to wg-quick files" expect_error "lanyard up FILE" $L tunnel --config "$WORK/switch-ok.toml"
check "--log-format must be text or json" expect_error "use text or json" $L switch --config "$WORK/switch-ok.toml" --log-format xml
check "--metrics must be an address" expect_error "--metrics 'nowhere' is not an address" $L switch --config "$WORK/switch-ok.toml" --listen 127.0.0.1:0 --metrics nowhere
check "reload of a daemon that is not running is explained" expect_error "no lanyard daemon named ${PFX}-none" $L reload "${PFX}-none"
check "every command's help lists its options (server's own too)" bash -c "
    $L server --help | grep -q -- '--private-key' && $L server --help | grep -q 'add-client' &&
    $L switch --help | grep -q -- '--metrics' && $L port --help | grep -q -- '--config'"
# Member files changed by several commands at once: none of the changes may be lost (the file is
# locked from read to rename). --name points at no daemon, so no running switch is told.
concurrent_member_changes() {
    local f="$WORK/conc.conf" i pids=()
    for i in $(seq 1 24); do keypair "m$i"; done
    : >"$f"
    for i in $(seq 1 12); do $L switch add-port --ports "$f" --name "${PFX}-none" "m$i" "$(cat "$WORK/m$i.pub")" 2>/dev/null & pids+=($!); done
    wait "${pids[@]}"; pids=()
    for i in $(seq 1 6); do $L switch remove-port --ports "$f" --name "${PFX}-none" "m$i" 2>/dev/null & pids+=($!); done
    for i in $(seq 13 24); do $L switch add-port --ports "$f" --name "${PFX}-none" "m$i" "$(cat "$WORK/m$i.pub")" 2>/dev/null & pids+=($!); done
    wait "${pids[@]}"
    local got want
    got=$(sed -n 's/^Name = //p' "$f" | sort -V | tr '\n' ' ')
    want=$(seq 7 24 | sed 's/^/m/' | tr '\n' ' ')
    echo "ports file holds: $got"
    [ "$got" = "$want" ] && [ "$(stat -c %a "$f")" = 600 ]
}
check "12 add-port at once, then 6 remove-port and 12 add-port at once: no change lost" concurrent_member_changes
check "the member-list commands' help lists the daemon options they take (--config, --name)" bash -c "
    for c in 'switch add-port' 'switch remove-port' 'server add-client' 'server remove-client'; do
        $L \$c --help | grep -q -- '--config <config>' && $L \$c --help | grep -q -- '--name <name>' || { echo \"\$c --help lacks them\"; exit 1; }
    done"

# A fresh install: start the switch with no members, then add them live (docs/SERVICE.md's order).
ip netns add "$(ns empty)"; NAMESPACES+=(empty); inns empty ip link set lo up
printf '# ports are added with lanyard switch add-port\n' >"$WORK/ports-empty"
empty_switch_check() {
    start empty-switch empty $L switch --private-key "$WORK/k.key" --ports "$WORK/ports-empty" --listen 127.0.0.1:51820 --name "${PFX}-empty"
    wait_until 5 test -S "/run/lanyard/${PFX}-empty.sock" || { tail -3 "$WORK/empty-switch.log"; return 1; }
    grep "lists no ports yet" "$WORK/empty-switch.log" || return 1
    $L switch add-port --ports "$WORK/ports-empty" --name "${PFX}-empty" first "$(cat "$WORK/k2.pub")" || return 1
    local n; n=$($L status --name "${PFX}-empty" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ports"]))')
    echo "switch: ports listed after add-port: $n"
    [ "$n" -eq 1 ] && kill -0 "${PIDS[empty-switch]}"
}
check "a switch starts with a comment-only ports file (notice logged) and add-port then adds a member live" empty_switch_check
stop empty-switch

# Under systemd, stderr is the journal stream JOURNAL_STREAM names (DEVICE:INODE): lines then carry
# the journal's <N> priority and no timestamp. A file stands in for the stream here.
journal_check() {
    : >"$WORK/journal.txt"; local stream; stream=$(stat -c '%d:%i' "$WORK/journal.txt")
    JOURNAL_STREAM=$stream $L switch --private-key "$WORK/k.key" --ports /nonexistent/ports.conf 2>>"$WORK/journal.txt"
    JOURNAL_STREAM=$stream inns empty timeout 3 $L switch --private-key "$WORK/k.key" --ports "$WORK/ports-empty" \
        --listen 127.0.0.1:51821 --name "${PFX}-journal" --log-level debug 2>>"$WORK/journal.txt"
    JOURNAL_STREAM=1:1 $L switch --private-key "$WORK/k.key" --ports /nonexistent/ports.conf 2>"$WORK/not-journal.txt"
    sed 's/^/journal: /' "$WORK/journal.txt" | head -5
    grep -q "^<3>.*cannot read '/nonexistent/ports.conf'" "$WORK/journal.txt" &&
        grep -q "^<5>lanyard.switch: \[lanyard\] switch ${PFX}-journal listening" "$WORK/journal.txt" &&
        grep -q "^<6>lanyard.switch: .*shutting down" "$WORK/journal.txt" &&
        ! grep -qE "^<[0-9]>[0-9]{4}-" "$WORK/journal.txt" && ! grep -q "^<" "$WORK/not-journal.txt"
}
check "stderr on the journal (JOURNAL_STREAM): <N> priorities, errors <3>, no timestamps; elsewhere unchanged" journal_check

ip netns add "$(ns nonat)"; NAMESPACES+=(nonat)
check "--nat on a host without a default route says what to give instead" expect_error "add --nat-interface IFACE" \
    inns nonat $L server --private-key "$WORK/k.key" --clients "$WORK/ports-none" --nat --listen 127.0.0.1:0 --name "${PFX}-nonat"

summary
