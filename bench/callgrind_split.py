#!/usr/bin/env python3
"""Splits callgrind's instruction counts into function groups, per packet, from two runs.

    callgrind_split.py SMALL.annotate PACKETS_SMALL LARGE.annotate PACKETS_LARGE CAPTION [PAYLOAD]

Each .annotate file is `callgrind_annotate --inclusive=no --threshold=100` output. The second run
moved more packets than the first: the difference of the two, divided by the difference of the
packet counts, is the marginal cost of a packet (setup, handshakes and allocations drop out).
Prints a Markdown table. Used by bench/instructions.sh and bench/path-instructions.sh.
"""
import re
import sys

# libcrypto ships without its internal symbols: its unnamed functions are the assembly kernels
# (ChaCha20 and Poly1305); its named ones, and the strcmp its parameter lookup calls, are the
# EVP call layer around them.
GROUPS = [
    ("AEAD: ChaCha20 and Poly1305 themselves", r"chacha|ChaCha|poly1305|Poly1305|\?\?\?:0x[0-9a-f]+ \[\S*libcrypto"),
    ("AEAD: OpenSSL call layer (EVP, parameters, contexts)", r"libcrypto|strcmp|clanyard_aead"),
    ("copies (memcpy, memmove, memset)", r"mem(cpy|move|set)|__memcpy|__memmove|__memset"),
    ("checksums (InternetChecksum)", r"InternetChecksum"),
    ("header work (segmenter, coalescer, virtio-net)", r"TCPSegmenter|TCPCoalescer|VirtioNetHeader"),
    ("WireGuard transport (counters, replay window, message layout)", r"WireGuardPeer|Keypair|ReplayWindow|TransportCipher|MessageLayout|Timestamp|Timers"),
    ("Swift runtime (retain/release, exclusivity, allocation)", r"swift_|_swift|malloc|free|swift::"),
    ("the node: sessions, routing, batches (PeerHub, WireGuardDevice, BatchedSocket, AllowedIPs)",
     r"PeerHub|WireGuardDevice|BatchedSocket|DatagramBatch|AllowedIPs|SocketAddress|TunDevice|WireGuardLink|Directory|EventLoop|Poller"),
    ("system call wrappers (libc, the C shim)", r"libc[.-]|clanyard_|sendmmsg|recvmmsg|__libc|poll"),
]


def load(path):
    funcs = {}
    for line in open(path):
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if m and ":" in m.group(2):
            funcs[m.group(2)] = funcs.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return funcs


def main():
    small, ps, large, pl, caption = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    payload = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    a, b = load(small), load(large)
    packets = pl - ps
    if packets <= 0:
        sys.exit("the second run moved no more packets than the first")
    totals = {g: 0 for g, _ in GROUPS}
    other = 0
    detail = []
    for f in set(a) | set(b):
        d = b.get(f, 0) - a.get(f, 0)
        detail.append((d, f))
        for g, rx in GROUPS:
            if re.search(rx, f):
                totals[g] += d
                break
        else:
            other += d
    total = sum(totals.values()) + other
    print(f"{caption}: {packets:,} packets (marginal between the two runs)\n")
    head = "| group | instructions per packet |" + (" per payload byte |" if payload else "") + " share |"
    print(head)
    print("|---|---:|" + ("---:|" if payload else "") + "---:|")
    for g in [g for g, _ in GROUPS] + ["other"]:
        v = other if g == "other" else totals[g]
        per_byte = f" {v / packets / payload:.2f} |" if payload else ""
        print(f"| {g} | {v / packets:,.0f} |{per_byte} {100 * v / max(total, 1):.1f}% |")
    per_byte = f" **{total / packets / payload:.2f}** |" if payload else ""
    print(f"| **total (user space)** | **{total / packets:,.0f}** |{per_byte} 100% |")
    print("\nTop functions:")
    for d, f in sorted(detail, reverse=True)[:14]:
        print(f"- {d / packets:,.0f} per packet: `{f[:110]}`")


if __name__ == "__main__":
    main()
