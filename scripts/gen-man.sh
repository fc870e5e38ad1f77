#!/usr/bin/env bash
# Writes the man pages of a lanyard binary (one per command: lanyard.1, lanyard.switch.1,
# lanyard.switch.add-port.1, ...) into DIR, from the binary's own help, with swift-argument-parser's
# generate-manual tool (built from this checkout's dependencies: needs the Swift toolchain).
# Usage: scripts/gen-man.sh BINARY DIR        (SWIFT=swiftl runs the build through another swift)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BINARY=${1:?usage: gen-man.sh BINARY DIR}
DIR=${2:?usage: gen-man.sh BINARY DIR}
manual=$REPO/.build/debug/generate-manual
if [ ! -x "$manual" ]; then
    log=$(mktemp)
    (cd "$REPO" && ${SWIFT:-swift} build --product generate-manual >"$log" 2>&1) ||
        { echo "gen-man.sh: building generate-manual failed: $(tail -3 "$log")" >&2; rm -f "$log"; exit 1; }
    rm -f "$log"
fi
# The date on the pages is the commit's, so two builds of one commit make the same pages.
date=$(git -C "$REPO" log -1 --format=%cs 2>/dev/null || date -u +%F)
mkdir -p "$DIR"
rm -f "$DIR"/*.1
"$manual" "$BINARY" --multi-page --date "$date" --authors "the Lanyard developers" --output-directory "$DIR" >/dev/null
# For whatis/apropos (lexgrog), a page's NAME has no spaces: "lanyard switch add-port" becomes the
# page's own name, lanyard.switch.add-port, while the synopsis still shows the command as typed.
# An empty line (a paragraph break in a command's discussion) becomes .Pp, as mdoc wants.
for page in "$DIR"/*.1; do
    awk -v self="$(basename "$page" .1)" '
        !named && /^\.Nm "[^"]* [^"]*"$/ { shown = substr($0, 5); print ".Nm " self; named = 1; next }
        named && shown != "" && $0 == ".Nm" { print ".Nm " shown; next }
        /^$/ { print ".Pp"; next }
        { print }
    ' "$page" >"$page.tmp" && mv "$page.tmp" "$page"
done
ls "$DIR"/lanyard.1 >/dev/null
