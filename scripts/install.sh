#!/usr/bin/env bash
# Installs Lanyard: the binary, the systemd units, /etc/lanyard, shell completions and man pages.
# Usage: scripts/install.sh [--root DIR] [--binary PATH]
#   --root DIR     install into DIR (a chroot or container image) instead of /
#   --binary PATH  install this lanyard binary (from scripts/build-release.sh: out/lanyard) instead
#                  of building one; needs no Swift toolchain. Man pages come from man/ next to it.
# On Debian, the package (scripts/build-deb.sh; apt install ./lanyard_VERSION_amd64.deb) installs
# the same files under /usr instead of /usr/local, and removes them again.
set -euo pipefail
umask 022
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=
BINARY=
usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --binary) BINARY=${2:?--binary needs a path}; shift 2 ;;
        --binary=*) BINARY=${1#--binary=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || { echo "install.sh: --root $ROOT is not a directory" >&2; exit 1; }
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" = / ] && ROOT=
fi
[ -w "${ROOT:-/}" ] || { echo "install.sh: cannot write to ${ROOT:-/}: run it as root (as root: $0; otherwise: sudo $0)" >&2; exit 1; }

if [ -z "$BINARY" ]; then
    echo "== building (scripts/build-release.sh: static Swift runtime, version stamped)"
    "$REPO/scripts/build-release.sh"
    BINARY=$REPO/out/lanyard
fi
[ -f "$BINARY" ] && [ -x "$BINARY" ] || { echo "install.sh: $BINARY is not an executable file" >&2; exit 1; }

installed=()
put() { # MODE SOURCE DEST
    install -D -m "$1" "$2" "$ROOT$3"
    installed+=("$ROOT$3")
}

put 755 "$BINARY" /usr/local/bin/lanyard
for unit in "$REPO"/dist/systemd/*.service; do
    put 644 "$unit" "/etc/systemd/system/$(basename "$unit")"
done
install -d -m 700 "$ROOT/etc/lanyard"
chmod 700 "$ROOT/etc/lanyard"          # also when it existed with looser permissions
installed+=("$ROOT/etc/lanyard/ (mode 700)")

# Completions come from the binary itself (swift-argument-parser), so they match its options.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for shell in bash zsh fish; do
    if ! "$BINARY" --generate-completion-script "$shell" >"$tmp/$shell.out" 2>"$tmp/$shell.err" ||
       ! sed '1{/^#!/d}' "$tmp/$shell.out" >"$tmp/$shell" || [ ! -s "$tmp/$shell" ]; then
        echo "install.sh: '$BINARY --generate-completion-script $shell' failed: $(head -c 300 "$tmp/$shell.err")" >&2
        exit 1
    fi
done
put 644 "$tmp/bash" /usr/share/bash-completion/completions/lanyard
put 644 "$tmp/zsh" /usr/local/share/zsh/site-functions/_lanyard
put 644 "$tmp/fish" /usr/local/share/fish/vendor_completions.d/lanyard.fish

# Man pages: the ones scripts/build-release.sh wrote next to the binary (out/man); without them,
# made from the binary's help by scripts/gen-man.sh if a Swift toolchain is here, else skipped.
man=$(dirname "$BINARY")/man
if [ ! -f "$man/lanyard.1" ]; then
    if command -v "${SWIFT:-swift}" >/dev/null 2>&1; then
        man=$tmp/man
        "$REPO/scripts/gen-man.sh" "$BINARY" "$man"
    else
        man=
        echo "install.sh: no man pages: none in $(dirname "$BINARY")/man and no Swift toolchain to make them (copy out/man along with the binary)" >&2
    fi
fi
if [ -n "$man" ]; then
    for page in "$man"/*.1; do
        put 644 "$page" "/usr/local/share/man/man1/$(basename "$page")"
    done
fi

echo "installed:"
printf '  %s\n' "${installed[@]}"

if [ -z "$ROOT" ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl daemon-reload
    echo "ran systemctl daemon-reload"
fi

cat <<EOF

next steps:
  1. keys:     (umask 077; lanyard genkey > /etc/lanyard/office.key); lanyard pubkey < /etc/lanyard/office.key
  2. config:   /etc/lanyard/switch-office.toml, for example
                 [switch]
                 listen = "51820"
                 private-key = "/etc/lanyard/office.key"
                 ports = "/etc/lanyard/office.ports"
               (likewise port-NAME.toml [port], server-NAME.toml [server], client-NAME.toml [client])
               check it: lanyard check /etc/lanyard/switch-office.toml
  3. start:    systemctl enable --now lanyard-switch@office
               (lanyard-port@NAME, lanyard-server@NAME, lanyard-client@NAME the same way;
                lanyard-wg@wg0 runs /etc/wireguard/wg0.conf like wg-quick@wg0)
  4. look:     lanyard status office; journalctl -u lanyard-switch@office
EOF
