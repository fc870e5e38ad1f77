#!/usr/bin/env python3
"""Re-sends the UDP payloads of WireGuard data messages (type 4) found in a pcap file to HOST:PORT.
Usage: pcap_replay.py FILE HOST PORT. Prints how many it sent. Handles Ethernet/Linux-cooked IPv4."""
import socket, struct, sys

def payloads(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('<I', data[:4])
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    linktype, = struct.unpack(endian + 'I', data[20:24])
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        pkt = data[off + 16: off + 16 + caplen]
        off += 16 + caplen
        l2 = 14 if linktype == 1 else 16
        ip = pkt[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        body = udp[8:]
        if len(body) >= 32 and body[0] == 4 and body[1:4] == b'\0\0\0':
            yield body

def main():
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    for body in payloads(path):
        s.sendto(body, (host, port)); n += 1
    print(n)

if __name__ == '__main__':
    main()
