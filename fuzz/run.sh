#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with -sanitize=fuzzer,address) and runs each of them.
#   fuzz/run.sh [--seconds S | --runs N] [TARGET...]
# Defaults: every target for 10 s (what .ci/run does). The long runs: fuzz/run.sh --runs 1000000.
# Corpora grow in fuzz/.corpus/TARGET (git-ignored), seeded from fuzz/seeds/TARGET; a crash leaves
# its input as fuzz/crash-* and this script exits non-zero. Prints one line per target with the
# inputs run and the coverage reached, then "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ALL="lanyard-message relay-header uapi config handshake ethernet offload join"
limit=(-max_total_time=10)
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) limit=(-max_total_time="${2:?}"); shift 2 ;;
        --runs) limit=(-runs="${2:?}"); shift 2 ;;
        *) break ;;
    esac
done
targets=${*:-$ALL}
"$HERE/../bench/swift/gen-sources.sh" "$HERE/.gen" || exit 1
echo "== building the fuzz targets (release, -sanitize=fuzzer,address)"
(cd "$HERE" && swift build -c release -j "$(nproc)" --product lanyard-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -E "error|Build (of product .*)?complete" ) || true
bin="$HERE/.build/release/lanyard-fuzz"
[ -x "$bin" ] || { echo "the fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }
pass=0; fail=0
for t in $targets; do
    mkdir -p "$HERE/.corpus/$t"
    seeds=(); [ -d "$HERE/seeds/$t" ] && seeds=("$HERE/seeds/$t")
    log=$(mktemp)
    (cd "$HERE" && SWIFT_BACKTRACE=enable=no LANYARD_FUZZ_TARGET=$t timeout -s KILL 900 "$bin" "${limit[@]}" -max_len=2048 -print_final_stats=1 \
        "$HERE/.corpus/$t" "${seeds[@]}" >"$log" 2>&1)
    rc=$?
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$")
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+")
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "ok    $t: ${runs:-?} inputs, coverage ${cov:-?} edges, no crash"
    else
        fail=$((fail + 1)); echo "FAIL  $t (exit $rc)"; grep -E "ERROR|Fatal|SUMMARY|Test unit written" "$log" | head -8 | sed 's/^/      | /'
    fi
    rm -f "$log"
done
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
