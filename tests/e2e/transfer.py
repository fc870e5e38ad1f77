#!/usr/bin/env python3
"""TCP file transfer for the tests: `recv PORT OUTFILE` or `send HOST PORT INFILE`. 60 s bound."""
import socket, sys

def main():
    mode = sys.argv[1]
    if mode == 'recv':
        port, out = int(sys.argv[2]), sys.argv[3]
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        srv.bind(('::', port)); srv.listen(1); srv.settimeout(60)
        conn, _ = srv.accept(); conn.settimeout(60)
        with open(out, 'wb') as f:
            while True:
                chunk = conn.recv(1 << 16)
                if not chunk: break
                f.write(chunk)
    else:
        host, port, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        s = socket.create_connection((host, port), timeout=60)
        with open(path, 'rb') as f:
            s.sendfile(f)
        s.close()

if __name__ == '__main__':
    main()
