#!/usr/bin/env python3
"""Throws malformed datagrams at a UDP endpoint: random bytes, each WireGuard type truncated or
padded, oversized, and (optionally) a replay of captured datagrams. Bounded count, then exits."""
import os, random, socket, struct, sys

def main():
    host, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    rnd = random.Random(1234)
    sent = 0
    lengths = {1: 148, 2: 92, 3: 64, 4: 32}
    for i in range(count):
        kind = i % 6
        if kind == 0:
            data = os.urandom(rnd.randrange(0, 200))
        elif kind == 1:  # right type, wrong length
            t = rnd.choice([1, 2, 3, 4])
            data = struct.pack('<I', t) + os.urandom(max(0, lengths[t] - 4 + rnd.choice([-3, -1, 1, 5])))
        elif kind == 2:  # right type and length, forged content
            t = rnd.choice([1, 2, 3, 4])
            data = struct.pack('<I', t) + os.urandom(lengths[t] - 4 + (16 * rnd.randrange(0, 90) if t == 4 else 0))
        elif kind == 3:  # oversized
            data = struct.pack('<I', 4) + os.urandom(65000)
        elif kind == 4:  # unknown type / nonzero reserved bytes
            data = bytes([rnd.randrange(5, 256), 0, 0, 0]) + os.urandom(60)
        else:  # empty and tiny
            data = os.urandom(rnd.randrange(0, 4))
        try:
            s.sendto(data, (host, port))
            sent += 1
        except OSError:
            pass
    print(sent)

if __name__ == '__main__':
    main()
