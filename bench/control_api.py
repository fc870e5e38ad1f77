#!/usr/bin/env python3
"""The management API under load, for bench/control.sh. Talks HTTP/1.1 over the switch's Unix socket.

  control_api.py changes SOCKET N          N members added in a row (fresh keys), then removed;
                                           prints the time each POST was sent, as JSON lines
  control_api.py burst SOCKET SECONDS      add and remove members continuously for SECONDS
  control_api.py scrape SOCKET SECONDS     GET /metrics continuously for SECONDS
"""
import base64, http.client, json, os, socket, sys, time
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("lanyard", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def key():
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def call(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"} if body is not None else {})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def main():
    mode, path = sys.argv[1], sys.argv[2]
    conn = UnixConnection(path)
    if mode == "changes":
        n = int(sys.argv[3])
        keys = [key() for _ in range(n)]
        start = time.time()
        for i, k in enumerate(keys):
            sent = time.time()
            status, data = call(conn, "POST", "/v1/members", {"name": f"bench{i}", "publicKey": k})
            assert status == 201, (status, data)
            print(json.dumps({"name": f"bench{i}", "sent": sent, "answered": time.time()}))
        took = time.time() - start
        for i in range(n):
            call(conn, "DELETE", f"/v1/members/bench{i}")
        print(json.dumps({"changes": n, "seconds": took}))
    elif mode in ("burst", "scrape", "spin"):
        start = time.time()
        until = start + float(sys.argv[3])
        count = 0
        keys = [key() for _ in range(2000)] if mode == "burst" else []
        try:
            while time.time() < until:
                if mode == "burst":
                    call(conn, "POST", "/v1/members", {"name": f"burst{count}", "publicKey": keys[count // 2 % len(keys)]})
                    call(conn, "DELETE", f"/v1/members/burst{count}")
                    count += 2
                elif mode == "scrape":
                    status, _ = call(conn, "GET", "/metrics")
                    assert status == 200
                    count += 1
                else:
                    count += 1   # a busy loop on one core, no request: the CPU share alone
        except (OSError, http.client.HTTPException):
            pass   # the switch stopped (the load generator's run ended)
        cpu = time.process_time()
        print(json.dumps({"requests": count if mode != "spin" else 0, "seconds": round(time.time() - start, 1), "clientCPU": round(cpu, 1)}))


main()
