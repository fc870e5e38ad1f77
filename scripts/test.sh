#!/usr/bin/env bash
# Sets up and runs every test: unit tests (swift test), then the end-to-end tests in network
# namespaces. Needs root (namespaces, TAP/TUN devices). Prints "N passed, N failed" at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "the end-to-end tests make network namespaces: run them as root (as root: $0; otherwise: sudo $0)"; exit 1; }
scripts/setup.sh debug || exit 1

total_pass=0; total_fail=0
echo "== unit tests"
if swift test -j "$(nproc)" 2>&1 | tee /tmp/lanyard-unit.$$ | grep -E "✘|error:|Test run with" ; then :; fi
n=$(grep -oE "Test run with [0-9]+ test" /tmp/lanyard-unit.$$ | tail -1 | grep -oE "[0-9]+")
bad=$(grep -cE "✘ Test .*(failed|recorded)" /tmp/lanyard-unit.$$)
if [ -z "$n" ]; then
    echo "unit tests did not run (build failure?)"; tail -30 /tmp/lanyard-unit.$$; total_fail=$((total_fail + 1))
else
    total_pass=$((total_pass + n - bad)); total_fail=$((total_fail + bad))
fi
rm -f /tmp/lanyard-unit.$$

# Coverage-guided fuzzing, a short run of every target (the long runs: fuzz/run.sh --runs 1000000).
echo "== fuzz (libFuzzer, 10 s per target)"
out=$(mktemp)
timeout 900 bash fuzz/run.sh --seconds 10 2>&1 | tee "$out"
p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | cut -d' ' -f1)
f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | cut -d' ' -f3)
if [ -z "$p" ]; then f=1; p=0; echo "fuzz/run.sh did not finish"; fi
total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
rm -f "$out"

# tests/e2e/systemd.sh installs Debian packages built from a static release binary: the full
# release build here (outside that test's time limit), so the test's two package builds only relink.
echo "== release build (scripts/build-release.sh, for the package tests)"
if scripts/build-release.sh >/tmp/lanyard-release.$$ 2>&1; then
    tail -1 /tmp/lanyard-release.$$
else
    echo "release build failed:"; tail -30 /tmp/lanyard-release.$$; total_fail=$((total_fail + 1))
fi
rm -f /tmp/lanyard-release.$$

for t in tests/e2e/*.sh; do
    [ "$(basename "$t")" = lib.sh ] && continue
    echo "== $(basename "$t")"
    out=$(mktemp)
    timeout 900 bash "$t" 2>&1 | tee "$out"
    p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | cut -d' ' -f1)
    f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | cut -d' ' -f3)
    if [ -z "$p" ]; then f=1; p=0; echo "$(basename "$t") did not finish"; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    rm -f "$out"
done
echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
