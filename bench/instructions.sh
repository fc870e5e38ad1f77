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
python3 - "$work" "$N" <<'PY'
import re, sys
work, n = sys.argv[1], int(sys.argv[2])
def load(k):
    funcs = {}
    for line in open(f"{work}/annotate.{k}"):
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if m and ":" in m.group(2):
            funcs[m.group(2)] = funcs.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    packets = int(re.search(r"packets (\d+)", open(f"{work}/out.{k}").read()).group(1))
    return funcs, packets
a, pa = load(n)
b, pb = load(2 * n)
packets = pb - pa
# libcrypto ships without its internal symbols: its unnamed functions are the assembly kernels
# (ChaCha20 and Poly1305); its named ones, and the strcmp its parameter lookup calls, are the
# EVP call layer around them.
groups = [
    ("AEAD: ChaCha20 and Poly1305 themselves", r"chacha|ChaCha|poly1305|Poly1305|\?\?\?:0x[0-9a-f]+ \[\S*libcrypto"),
    ("AEAD: OpenSSL call layer (EVP, parameters, contexts)", r"libcrypto|strcmp|clanyard_aead"),
    ("copies (memcpy, memmove, memset)", r"mem(cpy|move|set)|__memcpy|__memmove|__memset"),
    ("checksums (InternetChecksum)", r"InternetChecksum"),
    ("header work (segmenter, coalescer, virtio-net)", r"TCPSegmenter|TCPCoalescer|VirtioNetHeader"),
    ("WireGuard transport (counters, replay window, message layout)", r"WireGuardPeer|Keypair|ReplayWindow|TransportCipher|MessageLayout|Timestamp|Timers"),
    ("Swift runtime (retain/release, exclusivity, allocation)", r"swift_|_swift|malloc|free|swift::"),
]
totals = {g: 0 for g, _ in groups}; other = 0; detail = {}
for f in set(a) | set(b):
    d = b.get(f, 0) - a.get(f, 0)
    for g, rx in groups:
        if re.search(rx, f):
            totals[g] += d; detail.setdefault(g, []).append((d, f)); break
    else:
        other += d; detail.setdefault("other", []).append((d, f))
total = sum(totals.values()) + other
mss = 1380
print(f"{packets} packets of {mss} bytes of TCP payload, sealed and opened (marginal over {n} super-packets of 64,000 bytes)\n")
print("| group | instructions per packet | per payload byte | share |")
print("|---|---:|---:|---:|")
for g, _ in groups + [("other", "")]:
    v = totals.get(g, other if g == "other" else 0)
    print(f"| {g} | {v / packets:,.0f} | {v / packets / mss:.2f} | {100 * v / total:.1f}% |")
print(f"| **total (user space)** | **{total / packets:,.0f}** | **{total / packets / mss:.2f}** | 100% |")
print("\nTop functions:")
for d, f in sorted(((d, f) for g in detail for d, f in detail[g]), reverse=True)[:14]:
    print(f"- {d / packets:,.0f} per packet: `{f[:110]}`")
PY
