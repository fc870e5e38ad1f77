#!/usr/bin/env bash
# Builds the release binary that packages and installs ship: the Swift runtime and Foundation
# linked in (--static-swift-stdlib), so it needs only what every Debian system has (libc, and
# libcrypto from libssl3 for the data path's in-place ChaCha20-Poly1305). Stamps the version and
# the git commit into it (lanyard --version), copies it to out/lanyard and writes its man pages to
# out/man (scripts/gen-man.sh), which scripts/build-deb.sh and scripts/install.sh take from there.
# Usage: scripts/build-release.sh [--version VERSION] [--output DIR] [--dynamic]
#   --version VERSION  the version to stamp (default: the VERSION file)
#   --output DIR       where lanyard and man/ go (default: out)
#   --dynamic          link the Swift runtime dynamically instead (for comparisons; it then needs
#                      the toolchain's libraries at run time): DIR/lanyard-dynamic, no man pages
# A new version recompiles one C file and relinks (seconds), not the whole package.
# SWIFT=swiftl runs the build through another swift command.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
VERSION=$(tr -d ' \n' <VERSION)
DYNAMIC=0
OUTPUT=$REPO/out
while [ $# -gt 0 ]; do
    case $1 in
        --version) VERSION=${2:?--version needs a value}; shift 2 ;;
        --version=*) VERSION=${1#--version=}; shift ;;
        --output) OUTPUT=${2:?--output needs a directory}; shift 2 ;;
        --output=*) OUTPUT=${1#--output=}; shift ;;
        --dynamic) DYNAMIC=1; shift ;;
        -h|--help) sed -n '8,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "build-release.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
# A Debian version: digits first, then letters, digits and . + ~ only (no - : the package adds its revision).
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "build-release.sh: '$VERSION' is not a version (like 1.2.3 or 1.2.3~rc1)" >&2; exit 2; }

commit=unknown
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git -C "$REPO" rev-parse --short=12 HEAD)
    [ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ] || commit+=-dirty
fi

# The header only changes (and version.c is only recompiled) when the version or commit does.
header=Sources/CLanyardLinux/lanyard_version.h
want=$(printf '// Written by scripts/build-release.sh; not in git.\n#define LANYARD_VERSION "%s"\n#define LANYARD_COMMIT "%s"\n' "$VERSION" "$commit")
if [ "$(cat "$header" 2>/dev/null)" != "$want" ]; then
    printf '%s\n' "$want" >"$header"
    touch Sources/CLanyardLinux/version.c     # a header that did not exist before is not a known dependency
fi

mkdir -p "$OUTPUT"
OUTPUT=$(cd "$OUTPUT" && pwd)
if [ $DYNAMIC -eq 1 ]; then
    ${SWIFT:-swift} build -c release --build-path .build-dynamic --product lanyard
    cp .build-dynamic/release/lanyard "$OUTPUT/lanyard-dynamic"
    echo "$OUTPUT/lanyard-dynamic: $("$OUTPUT/lanyard-dynamic" --version)"
else
    ${SWIFT:-swift} build -c release --static-swift-stdlib --product lanyard
    cp .build/release/lanyard "$OUTPUT/lanyard"
    "$REPO/scripts/gen-man.sh" "$OUTPUT/lanyard" "$OUTPUT/man"
    echo "$OUTPUT/lanyard: $("$OUTPUT/lanyard" --version), $(stat -c %s "$OUTPUT/lanyard") bytes; man pages in $OUTPUT/man"
fi
