#!/usr/bin/env bash
# Runs the end-to-end tests against a ThreadSanitizer or AddressSanitizer build of lanyard, with
# crypto threads above 1 wherever a daemon has them (the switch and the tunnel get --threads 3
# unless a test sets its own), and fails on any sanitizer report.
#
#   scripts/sanitize.sh thread  [tests/e2e/NAME.sh ...]   # default: every e2e script but systemd.sh
#   scripts/sanitize.sh address [tests/e2e/NAME.sh ...]
#
# systemd.sh is left out: it copies the binary into containers, where the sanitizer runtime's
# reports would not reach this script. Timing bounds in the tests were set for a plain debug
# build; a sanitizer build is several times slower, so a timing check may fail here without a
# report: the reports are what this run is for, and they are listed at the end.
# Builds into .build-tsan / .build-asan (ignored by git). Needs root, like the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
    thread) short=tsan ;;
    address) short=asan ;;
    *) echo "usage: $0 thread|address [tests/e2e/NAME.sh ...]"; exit 2 ;;
esac
shift
scripts/setup.sh debug >/dev/null || { echo "setup failed"; exit 1; }
echo "== building lanyard with -sanitize=$kind (.build-$short)"
${SWIFT:-swift} build --product lanyard --sanitize="$kind" --scratch-path ".build-$short" -j "$(nproc)" 2>&1 |
    grep -E "error|Build (of product .*)?complete" || true
bin=$(pwd)/.build-$short/debug/lanyard
[ -x "$bin" ] || { echo "the $kind build failed"; exit 1; }

reports=$(mktemp -d "/tmp/lanyard-$short-XXXX")
wrapper=$reports/lanyard
cat >"$wrapper" <<WRAP
#!/usr/bin/env bash
# lanyard with crypto threads where a daemon has them, unless the test chose a number.
# argv[0] is kept: wg-quick runs this through a link named lanyard-wireguard.
case "\${1:-}" in
    switch|tunnel) [[ " \$* " == *" --threads "* ]] || exec -a "\$0" "$bin" "\$1" --threads 3 "\${@:2}" ;;
esac
exec -a "\$0" "$bin" "\$@"
WRAP
chmod +x "$wrapper"
export TSAN_OPTIONS="log_path=$reports/report halt_on_error=0 second_deadlock_stack=1"
# Leak reports are left to the unit tests' and fuzzers' runs: a daemon SIGKILLed by a test
# has nothing to report, and one stopped by SIGTERM exits through exit(), which LSan reads
# as leaks of everything still referenced from globals.
export ASAN_OPTIONS="log_path=$reports/report detect_leaks=0 abort_on_error=0"

scripts=("$@")
if [ ${#scripts[@]} -eq 0 ]; then
    for t in tests/e2e/*.sh; do
        case "$(basename "$t")" in lib.sh|systemd.sh) ;; *) scripts+=("$t") ;; esac
    done
fi
pass=0; fail=0
for t in "${scripts[@]}"; do
    echo "== $(basename "$t") under $kind sanitizer"
    out=$(mktemp)
    LANYARD=$wrapper timeout 1200 bash "$t" >"$out" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    echo "   ${line:-did not finish}"
    grep -E '^FAIL' "$out" | sed 's/^/   /'
    rm -f "$out"
done
n=$(find "$reports" -name 'report*' | wc -l)
echo
echo "== sanitizer reports: $n (in $reports)"
for f in "$reports"/report*; do
    [ -e "$f" ] || continue
    grep -m1 -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY" "$f" | sed "s|^|   $(basename "$f"): |"
done
if [ "$n" -eq 0 ]; then pass=1; else fail=$n; fi
echo "$pass passed, $fail failed"
[ "$n" -eq 0 ]
