import Testing
@testable import LanyardWireGuard

/// A complete deterministic exchange (fixed keys, ephemerals, clock, PSK = 07×32) whose bytes were
/// reproduced step by step by an independent implementation (Python: hashlib.blake2s, hmac,
/// cryptography's X25519 and ChaCha20Poly1305) following the whitepaper.
@Test func goldenHandshakeCrossChecked() {
    let pair = Pair(psk: try! PresharedKey(rawValue: [UInt8](repeating: 7, count: 32)))
    let (_, initiation) = pair.send(pair.a, Array("ping".utf8))
    let (_, response) = pair.receive(pair.b, initiation)
    let (_, data) = pair.receive(pair.a, response)
    let expectedInitiation =             "01000000eafba0299de48461d745dfda05b8af071c425da1601a0a504689f645"
            + "a2c64011fefdd231d5d50b233612aa5e5010c008f39bdd88ca7439959a5f5302"
            + "584585394cac301474644ed040c1bf93e9ad69106f1300d1442de8c6edf81b20"
            + "9ec12a675df6c457c62c5c414782a3e645c5631cd3fd6de8308f799bea6935d1"
            + "b557df0500000000000000000000000000000000"
    let expectedResponse =             "02000000e456356beafba029e9e7ba4551c236aaeda449f7e1619113519d1293"
            + "9d184e6736ef0818eacd171febc53ebde2b4b0d810c2ab3ed77ec7a5e9d2d6c9"
            + "bec8b1ba763360fc1ddec17400000000000000000000000000000000"
    let expectedData =             "04000000e456356b0000000000000000695575e617656c992133e75254d5110f"
            + "70ef9fd78dbee5b480bf2b1ba4e5cced"
    #expect(toHex(initiation) == expectedInitiation)
    #expect(toHex(response) == expectedResponse)
    #expect(toHex(data) == expectedData)
}
