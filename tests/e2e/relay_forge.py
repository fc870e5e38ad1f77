#!/usr/bin/env python3
"""Sends forged relay datagrams to a switch: `relay_forge.py HOST PORT COUNT [MEMBER_ID...]`.
Each is a 24-byte relay header (type 0x10, three zero bytes, a member id little-endian, an 8-byte
counter, an 8-byte tag that is random, so never valid) and 32 to 232 bytes of junk. The member ids
cycle through those given (default 0, 1, 2). Prints how many were sent. Bounded count, then exits."""
import os, random, socket, struct, sys

def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ids = [int(i) for i in sys.argv[4:]] or [0, 1, 2]
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    rnd = random.Random(4321)
    sent = 0
    for i in range(count):
        header = bytes([0x10, 0, 0, 0]) + struct.pack('<IQ', ids[i % len(ids)], rnd.getrandbits(64)) + os.urandom(8)
        try:
            s.sendto(header + os.urandom(32 + rnd.randrange(0, 201)), (host, port))
            sent += 1
        except OSError:
            pass
    print(sent)

if __name__ == '__main__':
    main()
