#!/usr/bin/env bash
# Builds the Debian package from a release binary, offline (dpkg-deb): out/lanyard_VERSION-REV_ARCH.deb
# Usage: scripts/build-deb.sh [--binary PATH] [--revision N] [--output DIR]
#   --binary PATH   the lanyard binary (default: out/lanyard, from scripts/build-release.sh); the
#                   package's version is the one the binary was built as (lanyard --version)
#   --revision N    the Debian revision (default: 1)
#   --output DIR    where the .deb goes (default: out/)
# Man pages come from man/ next to the binary (build-release.sh writes them), else scripts/gen-man.sh
# makes them (needs the toolchain). Completions come from the binary itself.
set -euo pipefail
umask 022
REPO=$(cd "$(dirname "$0")/.." && pwd)
BINARY=$REPO/out/lanyard
REVISION=1
OUTPUT=$REPO/out
while [ $# -gt 0 ]; do
    case $1 in
        --binary) BINARY=${2:?--binary needs a path}; shift 2 ;;
        --binary=*) BINARY=${1#--binary=}; shift ;;
        --revision) REVISION=${2:?--revision needs a value}; shift 2 ;;
        --revision=*) REVISION=${1#--revision=}; shift ;;
        --output) OUTPUT=${2:?--output needs a directory}; shift 2 ;;
        --output=*) OUTPUT=${1#--output=}; shift ;;
        -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "build-deb.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
die() { echo "build-deb.sh: $*" >&2; exit 1; }
[ -f "$BINARY" ] && [ -x "$BINARY" ] || die "$BINARY is not an executable file (scripts/build-release.sh makes out/lanyard)"
BINARY=$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")
for tool in dpkg-deb dpkg-shlibdeps gzip; do command -v $tool >/dev/null || die "needs $tool (apt install dpkg-dev)"; done

# "lanyard 1.2.3 (commit 0123456789ab)": the package says what the binary says.
line=$("$BINARY" --version) || die "$BINARY --version failed"
[[ $line =~ ^lanyard\ ([^ ]+)\ \(commit\ ([^\)]+)\)$ ]] || die "unexpected --version output: $line"
UPSTREAM=${BASH_REMATCH[1]}; COMMIT=${BASH_REMATCH[2]}
[ "$UPSTREAM" != dev ] || die "$BINARY was not built by scripts/build-release.sh (its version is 'dev')"
VERSION=$UPSTREAM-$REVISION
ARCH=$(dpkg --print-architecture)
DEB=$OUTPUT/lanyard_${VERSION}_$ARCH.deb

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/lanyard
put() { install -D -m "$1" "$2" "$root$3"; }   # MODE SOURCE DEST

# The binary (stripped: the symbols are most of a static Swift binary's size).
put 755 "$BINARY" /usr/bin/lanyard
strip --strip-unneeded --remove-section=.comment "$root/usr/bin/lanyard"

# The units of dist/systemd, pointing at /usr/bin (install.sh's copies run /usr/local/bin/lanyard).
for unit in "$REPO"/dist/systemd/*.service; do
    install -d "$root/lib/systemd/system"
    sed 's|/usr/local/bin/lanyard|/usr/bin/lanyard|g' "$unit" >"$root/lib/systemd/system/$(basename "$unit")"
    chmod 644 "$root/lib/systemd/system/$(basename "$unit")"
done

# Configuration and keys (never part of the package's files, so dpkg leaves them on remove), and
# state: readable by root only.
install -d -m 700 "$root/etc/lanyard" "$root/var/lib/lanyard"

# Completions from the binary itself (swift-argument-parser), so they match its options; sourced,
# not run, so without the #! line.
for shell in bash zsh fish; do
    "$BINARY" --generate-completion-script "$shell" | sed '1{/^#!/d}' >"$work/completion.$shell" && [ -s "$work/completion.$shell" ] ||
        die "$BINARY --generate-completion-script $shell failed"
done
put 644 "$work/completion.bash" /usr/share/bash-completion/completions/lanyard
put 644 "$work/completion.zsh" /usr/share/zsh/vendor-completions/_lanyard
put 644 "$work/completion.fish" /usr/share/fish/vendor_completions.d/lanyard.fish

# Man pages, compressed as Debian wants them.
man=$(dirname "$BINARY")/man
if [ ! -f "$man/lanyard.1" ]; then
    man=$work/man
    "$REPO/scripts/gen-man.sh" "$BINARY" "$man"
fi
install -d "$root/usr/share/man/man1"
for page in "$man"/*.1; do
    gzip -9n <"$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done

# Documentation: copyright, changelog.
doc=$root/usr/share/doc/lanyard
install -d "$doc"
install -m 644 "$REPO/dist/debian/copyright" "$doc/copyright"
date=$(git -C "$REPO" log -1 --format=%cD 2>/dev/null || date -R)
MAINTAINER=${LANYARD_MAINTAINER:-Lanyard maintainers <maintainers@users.noreply.b-seed-c412ab5f.example>}
printf 'lanyard (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
    "$VERSION" "$COMMIT" "$MAINTAINER" "$date" | gzip -9n >"$doc/changelog.Debian.gz"
install -m 644 "$REPO/dist/debian/lintian-overrides" -D "$root/usr/share/lintian/overrides/lanyard"

# Control: dependencies from the binary's shared libraries (dpkg-shlibdeps), plus ip(8).
install -d "$root/DEBIAN"
mkdir -p "$work/shlibs/debian"
printf 'Source: lanyard\n\nPackage: lanyard\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/lanyard" 2>"$work/shlibdeps.err") ||
    die "dpkg-shlibdeps failed: $(cat "$work/shlibdeps.err")"
shlibs=${shlibs#shlibs:Depends=}
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: lanyard
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $shlibs, iproute2
Recommends: wireguard-tools
Suggests: nftables
Section: net
Priority: optional
Description: self-hosted virtual network: encrypted Ethernet switch, VPN, WireGuard
 Lanyard joins machines anywhere into one encrypted virtual Ethernet segment: a
 switch on a server with a public address and ports (TAP interfaces) on each
 machine, which talk directly once the switch has introduced them. It also
 runs a routed VPN server and client and point-to-point tunnels.
 .
 Everything speaks WireGuard's protocol, and lanyard is a drop-in userspace
 implementation for wg(8) and wg-quick(8) (lanyard-wg@IFACE runs
 /etc/wireguard/IFACE.conf, which needs wireguard-tools).
 .
 Systemd units: lanyard-switch@NAME, lanyard-port@NAME, lanyard-server@NAME,
 lanyard-client@NAME and lanyard-wg@IFACE. Configuration and keys live in
 /etc/lanyard (mode 700); removing the package leaves them, purging deletes
 them.
EOF
for script in postinst prerm postrm; do
    install -m 755 "$REPO/dist/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"

mkdir -p "$OUTPUT"
# Files owned by root whoever builds; times from the commit, so one commit gives one package.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# DEB_COMPRESSION=gzip (or none) for packages that only a test installs: xz takes ~50 s for the
# 65 MB binary here.
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$DEB" >/dev/null
echo "$DEB: $(stat -c %s "$DEB") bytes, $line"
