#!/usr/bin/env python3
"""TCP file transfer for the tests: `recv PORT OUTFILE` or `send HOST PORT INFILE [BYTES_PER_SECOND]`
(the rate cap, if given, paces the sender so a transfer lasts long enough to disturb it midway).
60 s bound on any stall."""
import socket, sys, time

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
        rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
        s = socket.create_connection((host, port), timeout=60)
        with open(path, 'rb') as f:
            if rate <= 0:
                s.sendfile(f)
            else:
                start, sent = time.monotonic(), 0
                while True:
                    chunk = f.read(1 << 16)
                    if not chunk: break
                    s.sendall(chunk); sent += len(chunk)
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0: time.sleep(ahead)
        s.close()

if __name__ == '__main__':
    main()
