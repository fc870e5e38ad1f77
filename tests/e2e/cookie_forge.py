#!/usr/bin/env python3
"""Plays an on-path attacker against a WireGuard initiator: `cookie_forge.py LISTEN_ADDR PORT
RESPONDER_PUB_B64 FROM_ADDR`. Waits (at most 10 s) for one handshake initiation on LISTEN_ADDR:PORT
(where the initiator believes its peer is), then sends it a valid cookie reply (type 3) made with
the responder's *public* key and the initiation's mac1 (all anyone who saw the initiation needs),
from FROM_ADDR, another address. The initiator must take the cookie and must not move its peer's
endpoint to FROM_ADDR. Prints the address the reply was sent from; exit 1 if no initiation came."""
import base64, hashlib, os, socket, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

def rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))

def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha): the subkey for XChaCha20."""
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574] + list(struct.unpack('<8I', key)) + list(struct.unpack('<4I', nonce16))
    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))

def xaead(key, nonce24, plaintext, aad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b'\0' * 4 + nonce24[16:], plaintext, aad)

def main():
    listen, port, pub, source = sys.argv[1], int(sys.argv[2]), base64.b64decode(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((listen, port))
    s.settimeout(10)
    while True:
        try:
            data, sender = s.recvfrom(2048)
        except socket.timeout:
            print('no initiation'); sys.exit(1)
        if len(data) == 148 and data[0] == 1:
            break
    sender_index, mac1 = data[4:8], data[116:132]
    key = hashlib.blake2s(b'cookie--' + pub).digest()
    nonce = os.urandom(24)
    reply = bytes([3, 0, 0, 0]) + sender_index + nonce + xaead(key, nonce, os.urandom(16), mac1)
    assert len(reply) == 64
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind((source, 0))
    out.sendto(reply, sender)
    print('%s:%d' % out.getsockname())

if __name__ == '__main__':
    main()
