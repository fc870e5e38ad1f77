#!/usr/bin/env bash
# Instructions per packet on Lanyard's data path, counted by valgrind's callgrind (the same count
# on every run, whatever else the machine does), split by function group.
#   bench/instructions.sh [SUPER_PACKETS]    (default 100 super-packets of 64,000 bytes each way)
# Runs bench/swift's lanyard-datapath twice (N and 2N super-packets) and reports the difference,
# so setup (the handshake, allocations) drops out. Writes a Markdown table on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-100}
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
"$HERE/swift/gen-sources.sh"
(cd "$HERE/swift" && swift build -c release --product lanyard-datapath 2>&1 | grep -E "error|Compiling lanyard-datapath|Build of product" ) || true
bin="$HERE/swift/.build/release/lanyard-datapath"
[ -x "$bin" ] || { echo "build of lanyard-datapath failed"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 that swiftc writes: count on a copy without debug
# information (function names come from the symbol table).
objcopy --strip-debug "$bin" "$work/lanyard-datapath"
for n in "$N" $((2 * N)); do
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" "$work/lanyard-datapath" "$n" 64000 >"$work/out.$n" 2>"$work/err.$n" ||
        { cat "$work/err.$n"; exit 1; }
    callgrind_annotate --inclusive=no --threshold=100 "$work/cg.$n" >"$work/annotate.$n"
done
packets() { grep -o "packets [0-9]*" "$work/out.$1" | awk '{print $2}'; }
python3 "$HERE/callgrind_split.py" "$work/annotate.$N" "$(packets "$N")" "$work/annotate.$((2 * N))" "$(packets $((2 * N)))" \
    "lanyard-datapath: packets of 1380 bytes of TCP payload, sealed and opened" 1380
