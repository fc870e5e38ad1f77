#!/usr/bin/env bash
# End to end under a real systemd: the Debian package (scripts/build-deb.sh: the static binary, the
# units of dist/systemd, man pages, completions) installed with apt into three fresh Debian
# containers booted with systemd-nspawn, with no Swift toolchain in them. Each container runs in a
# network namespace of this test (nspawn --private-network --network-namespace-path), joined by a
# veth to a bridge. Then an upgrade to a newer build of the package, apt remove and apt purge.
#
#   A 203.0.113.1: lanyard-switch@office (metrics 127.0.0.1:9586), lanyard-server@vpn (pool
#                  192.0.2.0/24, the server is 192.0.2.1), later lanyard-switch@wd (watchdog)
#   B 203.0.113.2: lanyard-port@office (198.51.100.2/24), lanyard-client@vpn
#   C 203.0.113.3: lanyard-port@office (198.51.100.3/24), added to the running switch live
#
# The first run builds a Debian bookworm rootfs with debootstrap (about a minute, needs the Debian
# mirror; cached in /var/tmp/lanyard-systemd-rootfs, or $LANYARD_ROOTFS). PID 1 on the host need
# not be systemd: see the notes at boot() and stop_containers().
#
# The two packages: LANYARD_DEB and LANYARD_DEB_NEW (a newer version) if set, else built here from
# this checkout with scripts/build-release.sh (VERSION+e2e1, VERSION+e2e2: after one release build,
# each is a relink; SWIFT=swiftl builds through another swift) and scripts/build-deb.sh. $LANYARD
# (the host's binary) only makes keys.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
REPO=$(cd "$HERE/../.." && pwd)
ROOTFS_CACHE=${LANYARD_ROOTFS:-/var/tmp/lanyard-systemd-rootfs}
ROOTFS_PACKAGES=systemd,dbus,systemd-sysv,python3-minimal,procps,iproute2,iputils-ping,libssl3,libsqlite3-0,nftables,curl
DEB_OLD=${LANYARD_DEB:-}
DEB_NEW=${LANYARD_DEB_NEW:-}
CONTAINERS=(a b c)
declare -A NSPAWN PID1
T0=$SECONDS
TIMES=()

# --- the rootfs (built once, into a temporary directory renamed when complete)

ensure_rootfs() {
    local p missing=()
    for p in systemd-container debootstrap; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing on the host: ${missing[*]}"
        # No Recommends: systemd-container's (libnss-mymachines) would edit the host's nsswitch.conf.
        export DEBIAN_FRONTEND=noninteractive
        { timeout 120 apt-get update -qq && timeout 300 apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null ||
            { echo "could not install ${missing[*]} (apt-get failed: no network?)"; return 1; }
    fi
    # The marker holds the package list: a cache made with another list is built again.
    if [ "$(cat "$ROOTFS_CACHE/.complete" 2>/dev/null)" = "$ROOTFS_PACKAGES" ]; then echo "rootfs cached at $ROOTFS_CACHE"; return 0; fi
    # One build at a time (another run may be building it now: wait for it, bounded).
    exec 8>"$ROOTFS_CACHE.lock"
    flock -w 700 8 || { echo "another run has been building $ROOTFS_CACHE for 700 s"; return 1; }
    if [ "$(cat "$ROOTFS_CACHE/.complete" 2>/dev/null)" = "$ROOTFS_PACKAGES" ]; then echo "rootfs built by another run at $ROOTFS_CACHE"; exec 8>&-; return 0; fi
    local tmp="$ROOTFS_CACHE.tmp.$$" t=$SECONDS
    rm -rf "$ROOTFS_CACHE".tmp.* "$ROOTFS_CACHE"
    echo "building a Debian bookworm rootfs in $ROOTFS_CACHE (once; about a minute)"
    if ! (umask 022; timeout 600 debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" bookworm "$tmp") >"$WORK/debootstrap.log" 2>&1; then
        echo "debootstrap failed or timed out (600 s): is the Debian mirror reachable? Last lines of its log:"
        tail -n 8 "$WORK/debootstrap.log"
        rm -rf "$tmp"; exec 8>&-; return 1
    fi
    chroot "$tmp" apt-get clean
    echo "$ROOTFS_PACKAGES" >"$tmp/.complete"
    mv "$tmp" "$ROOTFS_CACHE"
    exec 8>&-
    echo "rootfs built in $((SECONDS - t)) s"
}

# --- containers

# Each container boots from its own copy of the rootfs (cp -a, about 0.5 s for 240 MB).
make_root() { # NAME
    cp -a "$ROOTFS_CACHE" "$WORK/$1" && rm -f "$WORK/$1/.complete"
    echo "${PFX}-$1" >"$WORK/$1/etc/hostname"
}

# --- the packages

build_debs() { # two builds of this checkout that differ only in the version stamped in
    if [ -n "$DEB_OLD" ] && [ -n "$DEB_NEW" ]; then echo "member packages: $DEB_OLD, $DEB_NEW (given)"; return 0; fi
    local v n t=$SECONDS
    v=$(tr -d ' \n' <"$REPO/VERSION")
    for n in 1 2; do
        "$REPO/scripts/build-release.sh" --version "$v+e2e$n" --output "$WORK/build$n" >"$WORK/build$n.log" 2>&1 &&
            DEB_COMPRESSION=gzip "$REPO/scripts/build-deb.sh" --binary "$WORK/build$n/lanyard" --output "$WORK/build$n" >>"$WORK/build$n.log" 2>&1 ||
            { tail -n 15 "$WORK/build$n.log"; return 1; }
    done
    DEB_OLD=$(ls "$WORK"/build1/lanyard_*.deb) && DEB_NEW=$(ls "$WORK"/build2/lanyard_*.deb) || return 1
    echo "member packages: $(basename "$DEB_OLD"), $(basename "$DEB_NEW") in $((SECONDS - t)) s"
}
deb_version() { dpkg-deb -f "$1" Version; }

# apt_in NAME CMD...: like ct, with more time (apt and dpkg, maintainer scripts restarting units).
apt_in() { local n=$1; shift; timeout 120 nsenter -t "${PID1[$n]:-0}" -a env DEBIAN_FRONTEND=noninteractive "$@"; }

# apt_install NAME DEB: apt-get install ./DEB inside the container, as a user would, but without
# the Recommends (wireguard-tools): the containers have no way to Debian's mirror.
apt_install() {
    local n=$1 deb=$2
    cp "$deb" "$WORK/$n/root/" || return 1
    apt_in "$n" apt-get install -y --no-install-recommends "/root/$(basename "$deb")" >"$WORK/apt-$n.log" 2>&1; local rc=$?
    rm -f "$WORK/$n/root/$(basename "$deb")"
    [ $rc -eq 0 ] || { tail -n 15 "$WORK/apt-$n.log"; return 1; }
}

install_check() { # NAME: the package installed, and what it put there
    local r=$WORK/$1 f
    apt_install "$1" "$DEB_OLD" || return 1
    for f in usr/bin/lanyard lib/systemd/system/lanyard-{switch,port,server,client,wg}@.service \
             usr/share/bash-completion/completions/lanyard usr/share/zsh/vendor-completions/_lanyard \
             usr/share/fish/vendor_completions.d/lanyard.fish usr/share/doc/lanyard/copyright; do
        [ -s "$r/$f" ] || { echo "missing: /$f"; return 1; }
    done
    for f in lanyard lanyard.switch lanyard.switch.add-port lanyard.server lanyard.check lanyard.reload; do
        zgrep -q '^\.Sh NAME' "$r/usr/share/man/man1/$f.1.gz" 2>/dev/null || { echo "missing man page $f.1.gz"; return 1; }
    done
    grep -q '^ExecStart=/usr/bin/lanyard switch' "$r/lib/systemd/system/lanyard-switch@.service" || { echo "unit does not run /usr/bin/lanyard"; return 1; }
    [ "$(stat -c %a "$r/etc/lanyard") $(stat -c %a "$r/var/lib/lanyard")" = "700 700" ] || { echo "bad modes"; return 1; }
    version_is "$1" "$DEB_OLD"
}
version_is() { # NAME DEB: lanyard --version in the container names the package's upstream version
    local v; v=$(ct "$1" lanyard --version)
    echo "member $1: $(ct "$1" dpkg-query -W -f '${Package} ${Version} ${Status}' lanyard); $v"
    [[ $v == "lanyard $(deb_version "$2" | sed 's/-[^-]*$//') (commit "* ]]
}

# The package has no Swift toolchain to rely on: none in the container, and ldd finds everything.
no_toolchain() {
    ct a sh -c 'command -v swift || ls -d /opt/swift /usr/lib/swift 2>/dev/null' && { echo "a Swift toolchain is in the container"; return 1; }
    ct a ldd /usr/bin/lanyard >"$WORK/ldd.out" 2>&1 || { cat "$WORK/ldd.out"; return 1; }
    sed 's/^[[:space:]]*/member ldd: /' "$WORK/ldd.out"
    ! grep -qiE 'not found|swift|Foundation|icu' "$WORK/ldd.out" && [ "$(ct a lanyard genkey | wc -c)" -eq 45 ]
}

# scripts/install.sh from a copy of the scripts and a built binary (out/), inside a container
# without the toolchain, into a scratch root (the package is installed there too).
install_sh_check() {
    local r=$WORK/c src=/root/lanyard-src dst=/root/install-root f
    mkdir -p "$r$src/scripts" "$r$src/dist" "$r$src/out" "$r$dst" &&
        cp "$REPO/scripts/install.sh" "$r$src/scripts/" && cp -r "$REPO/dist/systemd" "$r$src/dist/" &&
        cp "$(dirname "$DEB_OLD")/lanyard" "$r$src/out/" && cp -r "$(dirname "$DEB_OLD")/man" "$r$src/out/" || return 1
    ct c bash "$src/scripts/install.sh" --root "$dst" --binary "$src/out/lanyard" >"$WORK/install-sh.log" 2>&1 || { cat "$WORK/install-sh.log"; return 1; }
    for f in usr/local/bin/lanyard etc/systemd/system/lanyard-{switch,port,server,client,wg}@.service \
             usr/share/bash-completion/completions/lanyard usr/local/share/zsh/site-functions/_lanyard \
             usr/local/share/fish/vendor_completions.d/lanyard.fish; do
        [ -s "$r$dst/$f" ] || { echo "missing: /$f"; return 1; }
    done
    for f in lanyard lanyard.switch lanyard.switch.add-port lanyard.server lanyard.check lanyard.reload; do
        grep -q '^\.Sh NAME' "$r$dst/usr/local/share/man/man1/$f.1" 2>/dev/null || { echo "missing man page $f.1"; return 1; }
    done
    [ "$(stat -c %a "$r$dst/etc/lanyard")" = 700 ] || { echo "bad mode"; return 1; }
    echo "member c: install.sh without a toolchain installed $(grep -c '^  /' "$WORK/install-sh.log") items"
    rm -rf "${r:?}$src" "${r:?}$dst"
}

# Where nspawn makes its cgroups: in the hybrid layout the name=systemd and unified hierarchies.
cgroup_roots() {
    if [ -d /sys/fs/cgroup/systemd ]; then
        echo /sys/fs/cgroup/systemd
        [ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup
    fi
}
mapfile -t CGROUP_ROOTS < <(cgroup_roots)

# boot NAME: boots the container in the network namespace NAME of this test.
# - --register=no --keep-unit: there is no host systemd or D-Bus to register with.
# - --private-network keeps CAP_NET_ADMIN in the container (TUN/TAP, ip, nft); with
#   --network-namespace-path it runs in this test's namespace (made with ip netns add, veth to the
#   bridge already in place) instead of a new empty one, so nothing ever touches the host's.
# - Without a host systemd, nspawn puts the container in "payload" and itself in "supervisor"
#   under its own cgroup. Started from the root cgroup, every container would share /payload
#   (and their services the same cgroups), so each starts in a cgroup of its own.
boot() { # NAME
    local n=$1 r
    for r in "${CGROUP_ROOTS[@]}"; do mkdir -p "$r/${PFX}-$n"; done
    (
        for r in "${CGROUP_ROOTS[@]}"; do echo "$BASHPID" >"$r/${PFX}-$n/cgroup.procs"; done
        exec systemd-nspawn --directory="$WORK/$n" --boot --register=no --keep-unit --machine="${PFX}-$n" \
            --private-network --network-namespace-path="/run/netns/$(ns "$n")" --console=passive
    ) >"$WORK/boot-$n.log" 2>&1 &
    NSPAWN[$n]=$!
}

# ct NAME CMD...: runs CMD inside the container (all its namespaces), bounded.
ct() { local n=$1; shift; timeout 30 nsenter -t "${PID1[$n]:-0}" -a "$@"; }

booted() { # NAME: the container's systemd (nspawn's child) says the system is up
    local p
    p=$(pgrep -P "${NSPAWN[$1]}" | head -1)
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] || return 1
    PID1[$1]=$p
    local state; state=$(ct "$1" systemctl is-system-running 2>/dev/null)
    [ "$state" = running ] || [ "$state" = degraded ]
}

boot_all() {
    local n t=$SECONDS
    for n in "${CONTAINERS[@]}"; do boot "$n"; done
    for n in "${CONTAINERS[@]}"; do
        if ! wait_until 30 booted "$n"; then echo "container $n did not boot:"; tail -n 15 "$WORK/boot-$n.log"; return 1; fi
        echo "member $n: systemd $(ct "$n" systemctl is-system-running) (PID 1 is host PID ${PID1[$n]})"
        ct "$n" systemctl --failed --no-legend | sed 's/^/      failed unit: /'
    done
    TIMES+=("boot $((SECONDS - t)) s")
}

# stop_containers: poweroff (SIGTERM to nspawn), bounded; then whatever is left is killed and the
# cgroups nspawn made (they stay behind, empty, without a host systemd) are removed depth first.
stop_containers() {
    local n pid i r t=$SECONDS
    for n in "${!NSPAWN[@]}"; do kill -TERM "${NSPAWN[$n]}" 2>/dev/null; done
    for n in "${!NSPAWN[@]}"; do
        pid=${NSPAWN[$n]}
        for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then echo "container $n did not power off in 15 s: killed"; kill -KILL "$pid"; fi
        wait "$pid" 2>/dev/null
        unset "NSPAWN[$n]"
    done
    for r in "${CGROUP_ROOTS[@]}"; do
        for i in $(seq 1 20); do
            compgen -G "$r/${PFX}-*" >/dev/null || break
            find "$r"/"${PFX}"-* -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
            find "$r"/"${PFX}"-* -depth -type d -exec rmdir {} + 2>/dev/null
            sleep 0.1
        done
    done
    rmdir /run/systemd/nspawn/propagate/"${PFX}"-* 2>/dev/null
    TIMES+=("poweroff and cleanup $((SECONDS - t)) s")
}

# teardown: containers, then namespaces and copies; nothing of this run may remain on the host.
teardown_check() {
    stop_containers
    local n
    for n in "${NAMESPACES[@]}"; do ip netns del "$(ns "$n")" 2>/dev/null; done
    NAMESPACES=()
    rm -rf "${CONTAINERS[@]/#/$WORK/}"
    local left=""
    ip netns list | grep -q "^${PFX}-" && left+=" namespaces:$(ip netns list | grep "^${PFX}-" | tr '\n' ' ')"
    ip -o link | grep -q "${PFX}" && left+=" links"
    pgrep -f "machine=${PFX}-" >/dev/null && left+=" nspawn processes"
    for r in "${CGROUP_ROOTS[@]}"; do compgen -G "$r/${PFX}-*" >/dev/null && left+=" cgroups in $r"; done
    compgen -G "/run/systemd/nspawn/propagate/${PFX}-*" >/dev/null && left+=" /run/systemd/nspawn/propagate"
    for n in "${CONTAINERS[@]}"; do [ -e "$WORK/$n" ] && left+=" rootfs copy $n"; done
    echo "member teardown: ${left:-nothing left}"
    [ -z "$left" ]
}

cleanup_all() {
    stop_containers >/dev/null 2>&1
    cleanup
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# --- network: a bridge namespace and one namespace per container, underlay 203.0.113.0/24

make_network() { UNDERLAY_NET=203.0.113 make_underlay "${CONTAINERS[@]}"; }   # a, b, c: .1, .2, .3

# --- configuration, written into the roots before boot (the host sees the containers' files)

# key NAME FILE: writes /etc/lanyard/FILE.key in container NAME (mode 600), prints its public key.
key() {
    (umask 077; "$LANYARD" genkey >"$WORK/$1/etc/lanyard/$2.key") && "$LANYARD" pubkey <"$WORK/$1/etc/lanyard/$2.key"
}
put() { # NAME PATH: stdin to PATH in container NAME, mode 600
    (umask 077; cat >"$WORK/$1$2")
}

write_configs() {
    SW_PUB=$(key a office) && VPN_PUB=$(key a vpn) && B_PUB=$(key b port) && C_PUB=$(key c port) || return 1
    put a /etc/lanyard/office.ports <<EOF
[Port]
Name = laptop
PublicKey = $B_PUB
EOF
    put a /etc/lanyard/switch-office.toml <<EOF
# lanyard-switch@office
[switch]
listen = "51820"
private-key = "/etc/lanyard/office.key"
ports = "/etc/lanyard/office.ports"
metrics = "127.0.0.1:9586"
EOF
    put a /etc/lanyard/switch-bad.toml <<EOF
[switch]
listn = 5
private-key = "/etc/lanyard/office.key"
ports = "/etc/lanyard/office.ports"
EOF
    put a /etc/lanyard/switch-wd.toml <<EOF
# lanyard-switch@wd, for the watchdog check
[switch]
listen = "51830"
private-key = "/etc/lanyard/office.key"
ports = "/etc/lanyard/office.ports"
EOF
    # The clients file does not exist yet: add-client makes it.
    put a /etc/lanyard/server-vpn.toml <<EOF
[server]
listen = "51821"
private-key = "/etc/lanyard/vpn.key"
clients = "/etc/lanyard/vpn.clients"
pool = "192.0.2.0/24"
keepalive = 2
silence-timeout = 6
metrics = "127.0.0.1:9587"
EOF
    local n i
    for n in b c; do
        [ $n = b ] && i=2 || i=3
        put $n /etc/lanyard/port-office.toml <<EOF
[port]
switch = "203.0.113.1:51820"
switch-key = "$SW_PUB"
private-key = "/etc/lanyard/port.key"
address = ["198.51.100.$i/24"]
EOF
    done
    put b /etc/lanyard/client-vpn.toml <<EOF
[client]
server = "203.0.113.1:51821"
server-key = "$VPN_PUB"
private-key = "/etc/lanyard/client.key"
EOF
}

# --- helpers for units

prop() { ct "$1" systemctl show -p "$3" --value "$2"; }   # NAME UNIT PROPERTY
is_running() { # NAME UNIT
    [ "$(ct "$1" systemctl show -p ActiveState,SubState --value "$2" | tr '\n' ' ')" = "active running " ]
}
show_unit() { # NAME UNIT: one line with what systemd says about it
    echo "member $1 $2: $(ct "$1" systemctl show -p ActiveState,SubState,Result,MainPID,NRestarts,StatusText "$2" | tr '\n' ' ')"
}
# start_unit NAME UNIT: enable --now, without blocking (Type=notify: active only after READY=1).
start_unit() {
    ct "$1" systemctl enable --now --no-block "$2" || return 1
    wait_until 20 is_running "$1" "$2"; local rc=$?
    show_unit "$1" "$2"
    [ $rc -eq 0 ] || { ct "$1" journalctl -b -u "$2" -o cat --no-pager | tail -n 15; return 1; }
}
ping_ok() { ct "$1" ping -c "${3:-1}" -i 0.2 -W 1 "$2" >/dev/null; }    # NAME ADDRESS [COUNT]
ping_fails() { ! ct "$1" ping -c 1 -W 1 "$2" >/dev/null; }
sw_json() { ct a lanyard status office --json; }
port_field() { sw_json | python3 "$HERE/json_get.py" ports "name=$1" "$2"; }   # PORT FIELD

# =====================================================================================
# Harness: rootfs, install, boot, network, units verified (works with any lanyard binary)

[ "$(id -u)" -eq 0 ] || { echo "run as root (containers, namespaces)"; exit 1; }
[ -x "$LANYARD" ] || { echo "no lanyard binary at $LANYARD: build first (swift build)"; exit 1; }

check "two Debian packages of this checkout, the second a newer version" build_debs
if [ -z "$DEB_OLD" ] || [ -z "$DEB_NEW" ]; then summary; exit 1; fi
check "Debian rootfs for the containers (debootstrap, cached)" ensure_rootfs
if [ "$FAILED" -gt 0 ]; then summary; exit 1; fi
TIMES+=("packages and rootfs $((SECONDS - T0)) s")

for n in "${CONTAINERS[@]}"; do make_root "$n"; done
make_network
check "three containers boot systemd (nspawn --private-network in the test's namespaces)" boot_all
if [ "${#PID1[@]}" -lt 3 ]; then summary; exit 1; fi

t=$SECONDS
for n in "${CONTAINERS[@]}"; do check "apt-get install ./$(basename "$DEB_OLD") in $n: binary, units, man pages, completions, /etc/lanyard 700" install_check "$n"; done
check "no Swift in the containers; ldd of /usr/bin/lanyard finds everything (libc, libcrypto)" no_toolchain
check "scripts/install.sh in a container without a toolchain, from the built binary and its man pages" install_sh_check
check "keys and configuration files written" write_configs
TIMES+=("install $((SECONDS - t)) s")

underlay_ping() { ping_ok a 203.0.113.2 2 && ping_ok a 203.0.113.3 2 && ping_ok b 203.0.113.3 2; }
check "underlay: ping A -> B, A -> C, B -> C (203.0.113.0/24 over the bridge)" underlay_ping

verify_units() {
    # --man=no: man(1) is not in the containers (install_check looks for the man pages instead).
    local out rc
    out=$(ct a systemd-analyze verify --man=no lanyard-switch@office.service lanyard-port@office.service \
        lanyard-server@vpn.service lanyard-client@vpn.service lanyard-wg@wg0.service 2>&1); rc=$?
    echo "$out"
    [ $rc -eq 0 ] && [ -z "$out" ]
}
check "systemd-analyze verify: every unit, no warnings" verify_units

# =====================================================================================
# Lanyard under systemd (needs: --config, lanyard check/reload/status NAME, sd_notify with
# READY/STATUS/WATCHDOG, switch add-port/remove-port, --metrics, server add-client --config)

check_bad() {
    local out rc
    out=$(ct a lanyard check /etc/lanyard/switch-bad.toml 2>&1); rc=$?
    echo "exit $rc: $out"
    [ $rc -ne 0 ] && grep -q 'switch-bad.toml' <<<"$out" && grep -q 'listn' <<<"$out"
}
check "lanyard check accepts switch-office.toml" ct a lanyard check /etc/lanyard/switch-office.toml
check "lanyard check refuses a typo key, naming the file and the key" check_bad

check "lanyard-switch@office: enable --now, active (running) after READY=1" start_unit a lanyard-switch@office
check "lanyard-port@office in B: active (running)" start_unit b lanyard-port@office
registered() { [ "$(port_field laptop state)" = up ]; }
check "B's port registers with the switch (lanyard status office --json)" wait_until 15 registered

B_PID=$(prop b lanyard-port@office MainPID)
B_UP=$(port_field laptop connectedSeconds)
add_port() {
    ct a lanyard switch add-port --config /etc/lanyard/switch-office.toml laptop2 "$C_PUB" || return 1
    local f=$WORK/a/etc/lanyard/office.ports
    echo "member ports file: $(grep -c '^\[Port\]' "$f") ports, mode $(stat -c %a "$f")"
    grep -q "PublicKey = $C_PUB" "$f" && grep -q 'laptop2' "$f"
}
check "lanyard switch add-port laptop2 (ports file rewritten, running switch told)" add_port
status_lists() { ct a lanyard status office >"$WORK/status.txt" 2>&1; cat "$WORK/status.txt"; grep -q laptop2 "$WORK/status.txt"; }
check "lanyard status office in A lists laptop2" status_lists
check "lanyard-port@office in C: active (running)" start_unit c lanyard-port@office
check "ping B -> C over the switch network (198.51.100.3)" wait_until 20 ping_ok b 198.51.100.3
session_kept() {
    local pid up
    pid=$(prop b lanyard-port@office MainPID); up=$(port_field laptop connectedSeconds)
    echo "member b: MainPID $B_PID -> $pid, NRestarts $(prop b lanyard-port@office NRestarts), connected for $B_UP s -> $up s"
    [ "$pid" = "$B_PID" ] && [ "$(prop b lanyard-port@office NRestarts)" = 0 ] &&
        python3 -c "import sys; sys.exit(0 if float('$up') > float('$B_UP') else 1)" && ping_ok b 198.51.100.3 3
}
check "adding laptop2 did not disturb B (same process, session not reset, pings go on)" session_kept

metric() { # the switch's lanyard_peer_receive_bytes_total for laptop2
    ct a curl -s --max-time 3 http://127.0.0.1:9586/metrics | grep '^lanyard_peer_receive_bytes_total{' | grep laptop2 | awk '{print $NF}' | head -1
}
metrics_check() {
    local v1 v2
    v1=$(metric)
    [ -n "$v1" ] || { ct a curl -s --max-time 3 http://127.0.0.1:9586/metrics | head -30; return 1; }
    # Unicast between ports goes direct; broadcasts from C go through the switch.
    ct c ping -b -c 5 -i 0.2 -W 1 198.51.100.255 >/dev/null 2>&1
    ping_ok b 198.51.100.3 3
    v2=$(metric)
    echo "member laptop2: lanyard_peer_receive_bytes_total $v1 -> $v2"
    awk -v a="$v1" -v b="$v2" 'BEGIN { exit !(b > a) }'
}
check "metrics: lanyard_peer_receive_bytes_total{...laptop2...} grows with traffic" metrics_check

reload_ok() {
    local pid; pid=$(prop a lanyard-switch@office MainPID)
    ct a systemctl reload lanyard-switch@office || return 1
    echo "member a: reload ok, Result=$(prop a lanyard-switch@office Result), MainPID $pid -> $(prop a lanyard-switch@office MainPID)"
    [ "$(prop a lanyard-switch@office Result)" = success ] && [ "$(prop a lanyard-switch@office MainPID)" = "$pid" ] &&
        is_running a lanyard-switch@office
}
check "systemctl reload lanyard-switch@office succeeds" reload_ok

reload_corrupt() {
    local f=$WORK/a/etc/lanyard/switch-office.toml pid rc
    pid=$(prop a lanyard-switch@office MainPID)
    cp -p "$f" "$WORK/switch-office.good"
    printf 'this is [not toml\n' >>"$f"
    ct a systemctl reload lanyard-switch@office; rc=$?
    cp -p "$WORK/switch-office.good" "$f"
    echo "member a: reload of a corrupt config exit $rc; $(ct a journalctl -b -u lanyard-switch@office -o cat --no-pager | grep -i reload | tail -1)"
    [ $rc -ne 0 ] || return 1
    # Stored at priority err (journalctl -p err shows it), without a second timestamp in the text.
    local err; err=$(ct a journalctl -b -u lanyard-switch@office -p err -o cat --no-pager | grep "reload failed" | tail -1)
    echo "member a: journalctl -p err: ${err:-nothing}"
    [ -n "$err" ] && [[ ! $err =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || return 1
    show_unit a lanyard-switch@office
    is_running a lanyard-switch@office && [ "$(prop a lanyard-switch@office MainPID)" = "$pid" ] || return 1
    # Still forwarding: with the neighbour caches empty, ARP has to go through the switch.
    ct b ip neigh flush all; ct c ip neigh flush all
    ping_ok b 198.51.100.3 3 && ct a systemctl reload lanyard-switch@office
}
check "reload with a corrupt config fails, the switch keeps running and forwarding" reload_corrupt

remove_port() {
    ct a lanyard switch remove-port --config /etc/lanyard/switch-office.toml laptop2 || return 1
    local t=$SECONDS
    wait_until 10 ping_fails b 198.51.100.3 || return 1
    echo "member laptop2: B -> C stopped after $((SECONDS - t)) s"
    sleep 1
    ping_fails b 198.51.100.3 && is_running b lanyard-port@office && [ "$(prop b lanyard-port@office MainPID)" = "$B_PID" ] &&
        ! grep -q laptop2 "$WORK/a/etc/lanyard/office.ports"
}
check "lanyard switch remove-port laptop2: B -> C stops within 10 s, B's unit stays up" remove_port

check "lanyard-server@vpn: active (running) without a clients file yet" start_unit a lanyard-server@vpn
add_client() {
    ct a lanyard server add-client --config /etc/lanyard/server-vpn.toml --endpoint 203.0.113.1:51821 laptop >"$WORK/laptop.conf" || return 1
    local k; k=$(sed -n 's/^PrivateKey *= *//p' "$WORK/laptop.conf")
    [ -n "$k" ] || { cat "$WORK/laptop.conf"; return 1; }
    echo "$k" | put b /etc/lanyard/client.key
    echo "member laptop: $(grep -c '^\[Client\]' "$WORK/a/etc/lanyard/vpn.clients") client(s) in vpn.clients, mode $(stat -c %a "$WORK/a/etc/lanyard/vpn.clients")"
    grep -q '^Name *= *laptop' "$WORK/a/etc/lanyard/vpn.clients" && ct a systemctl reload lanyard-server@vpn
}
check "lanyard server add-client --config laptop (then systemctl reload lanyard-server@vpn)" add_client
check "lanyard-client@vpn in B: active (running)" start_unit b lanyard-client@vpn
check "ping from B to the VPN server (192.0.2.1)" wait_until 15 ping_ok b 192.0.2.1 2

# The watchdog last, on an instance of its own (a 3 s watchdog for office would need no change of
# its own, but a drop-in for the template would reach every instance at the next start).
watchdog_setup() {
    mkdir -p "$WORK/a/etc/systemd/system/lanyard-switch@wd.service.d"
    # TimeoutAbortSec: a stopped process never acts on SIGABRT; SIGKILL follows after 2 s.
    printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\n' >"$WORK/a/etc/systemd/system/lanyard-switch@wd.service.d/wd.conf"
    chmod -R go+rX "$WORK/a/etc/systemd/system/lanyard-switch@wd.service.d"
    ct a systemctl daemon-reload && start_unit a lanyard-switch@wd || return 1
    WD_PID=$(prop a lanyard-switch@wd MainPID)
    sleep 7   # more than twice WatchdogSec: a live daemon keeps petting it
    echo "member wd: WatchdogUSec=$(prop a lanyard-switch@wd WatchdogUSec), MainPID $WD_PID -> $(prop a lanyard-switch@wd MainPID) after 7 s"
    is_running a lanyard-switch@wd && [ "$(prop a lanyard-switch@wd MainPID)" = "$WD_PID" ]
}
check "lanyard-switch@wd with WatchdogSec=3s stays up (WATCHDOG=1 sent in time)" watchdog_setup
watchdog_fired() {
    [ "$(prop a lanyard-switch@wd NRestarts)" -gt 0 ] 2>/dev/null ||
        ct a journalctl -b -u lanyard-switch@wd -o cat --no-pager | grep -qi 'watchdog timeout'
}
watchdog_kill() {
    ct a kill -STOP "$WD_PID" || return 1
    local t=$SECONDS
    wait_until 15 watchdog_fired || return 1
    echo "member wd: $(ct a journalctl -b -u lanyard-switch@wd -o cat --no-pager | grep -i 'watchdog timeout' | tail -1) after $((SECONDS - t)) s"
    wait_until 15 is_running a lanyard-switch@wd
    show_unit a lanyard-switch@wd
    [ "$(prop a lanyard-switch@wd MainPID)" != "$WD_PID" ] && [ "$(prop a lanyard-switch@wd NRestarts)" -ge 1 ]
}
check "SIGSTOP: systemd reports the watchdog timeout and restarts the switch" watchdog_kill
# The drop-in is the administrator's file, which a purge leaves alone: the test removes its own
# (lanyard-switch@wd keeps WatchdogSec=3s until its next start, the upgrade's restart).
rm -rf "$WORK/a/etc/systemd/system/lanyard-switch@wd.service.d" && ct a systemctl daemon-reload

# =====================================================================================
# The package's life: an upgrade under running instances, apt remove, apt purge

readd_port() {
    ct a lanyard switch add-port --config /etc/lanyard/switch-office.toml laptop2 "$C_PUB" || return 1
    wait_until 20 ping_ok b 198.51.100.3
}
check "laptop2 added again: B -> C pings before the upgrade" readd_port

running_units() { ct "$1" systemctl list-units --no-legend --plain --state=running 'lanyard-*' | awk '{print $1}'; }
etc_sums() { (cd "$WORK/$1/etc/lanyard" && sha256sum -- *) 2>&1; }   # NAME: configuration, members, keys
for n in "${CONTAINERS[@]}"; do etc_sums "$n" >"$WORK/etc-$n.sums"; done

upgrade() { # NAME: apt-get install the newer package over the running instances
    local n=$1 u units=() before=() i=0 bad=0
    mapfile -t units < <(running_units "$n")
    [ ${#units[@]} -gt 0 ] || { echo "no running instances in $n"; return 1; }
    for u in "${units[@]}"; do before+=("$(prop "$n" "$u" MainPID)"); done
    apt_install "$n" "$DEB_NEW" && version_is "$n" "$DEB_NEW" || return 1
    for u in "${units[@]}"; do
        echo "member $n: $u MainPID ${before[$i]} -> $(prop "$n" "$u" MainPID)"
        is_running "$n" "$u" && [ "$(prop "$n" "$u" MainPID)" != "${before[$i]}" ] || bad=1
        i=$((i + 1))
    done
    [ $bad -eq 0 ]
}
for n in "${CONTAINERS[@]}"; do
    check "apt-get install ./$(basename "$DEB_NEW") in $n: the new version, every running instance restarted on it" upgrade "$n"
done
kept_and_reconnected() {
    local n
    for n in "${CONTAINERS[@]}"; do
        diff "$WORK/etc-$n.sums" <(etc_sums "$n") || { echo "/etc/lanyard changed in $n"; return 1; }
    done
    echo "member: /etc/lanyard unchanged in a, b, c ($(cat "$WORK"/etc-?.sums | wc -l) files: configuration, members, keys)"
    wait_until 30 registered || return 1
    laptop2_up() { [ "$(port_field laptop2 state)" = up ]; }
    wait_until 30 laptop2_up || return 1
    wait_until 20 ping_ok b 198.51.100.3 3 && wait_until 20 ping_ok b 192.0.2.1 2
}
check "after the upgrade: configuration, members and keys unchanged; ports and the VPN client reconnect (B -> C, B -> 192.0.2.1)" kept_and_reconnected

removed() { # NAME: apt-get remove with the instances running
    local n=$1 links socks files
    apt_in "$n" apt-get remove -y lanyard >"$WORK/remove-$n.log" 2>&1 || { tail -n 15 "$WORK/remove-$n.log"; return 1; }
    links=$(ct "$n" ip -o link | awk -F': ' '{print $2}' | grep '^lanyard' | tr '\n' ' ')
    socks=$(ct "$n" sh -c 'ls /run/lanyard/*.sock 2>/dev/null' | tr '\n' ' ')
    files=$(ct "$n" systemctl list-unit-files --no-legend 'lanyard*' | awk '{print $1}' | tr '\n' ' ')
    echo "member $n: lanyard processes [$(ct "$n" pgrep -x lanyard | tr '\n' ' ')], unit files [$files], active units [$(ct "$n" systemctl list-units --no-legend --plain --state=active 'lanyard-*' | awk '{print $1}' | tr '\n' ' ')], interfaces [$links], sockets [$socks]"
    ! ct "$n" pgrep -x lanyard >/dev/null && [ -z "$files$links$socks" ] &&
        [ -z "$(ct "$n" systemctl list-units --no-legend --state=active 'lanyard-*')" ] &&
        [ ! -e "$WORK/$n/usr/bin/lanyard" ] && [ ! -e "$WORK/$n/lib/systemd/system/lanyard-port@.service" ] || return 1
    diff "$WORK/etc-$n.sums" <(etc_sums "$n") && [ "$(stat -c %a "$WORK/$n/etc/lanyard")" = 700 ] || { echo "/etc/lanyard not kept in $n"; return 1; }
    echo "member $n: /etc/lanyard kept: $(cd "$WORK/$n/etc/lanyard" && ls | tr '\n' ' ')"
}
for n in "${CONTAINERS[@]}"; do
    check "apt-get remove in $n: instances stopped, units and binary gone, no interfaces or sockets; /etc/lanyard kept" removed "$n"
done

purged() { # NAME
    local n=$1 left
    apt_in "$n" apt-get purge -y lanyard >"$WORK/purge-$n.log" 2>&1 || { tail -n 15 "$WORK/purge-$n.log"; return 1; }
    left=$(ct "$n" sh -c "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -name '*lanyard*' -print; find /run -name '*lanyard*'")
    echo "member $n: dpkg says '$(ct "$n" dpkg-query -W -f '${Status}' lanyard 2>&1)'; files named *lanyard* left: [${left//$'\n'/ }]"
    [ -z "$left" ] && [ ! -e "$WORK/$n/etc/lanyard" ] && [ ! -e "$WORK/$n/var/lib/lanyard" ]
}
for n in "${CONTAINERS[@]}"; do
    check "apt-get purge in $n: /etc/lanyard, /var/lib/lanyard and everything else named lanyard gone" purged "$n"
done

# =====================================================================================
check "teardown: containers powered off; no namespaces, links, processes or cgroups left" teardown_check
log "times: ${TIMES[*]}; total $((SECONDS - T0)) s"
summary
