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
check "remove-client of an unknown client is explained" expect_error "has no client named nobody" $L server remove-client nobody --clients "$WORK/dup.conf"
check "status of a daemon that is not running is explained" expect_error "cannot reach" $L status --name "${PFX}-none"

summary
