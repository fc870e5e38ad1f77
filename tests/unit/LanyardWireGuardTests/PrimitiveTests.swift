import Foundation
import Testing
@testable import LanyardWireGuard

@Suite struct BLAKE2sTests {
    @Test func rfc7693Abc() {
        #expect(toHex(BLAKE2s.hash(Array("abc".utf8))) == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
    }

    /// blake2s-kat.txt: key = 00..1f, input = 00..n-1 (cross-checked with Python's hashlib).
    @Test(arguments: [
        (0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"),
        (1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1"),
        (2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803"),
        (3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b"),
        (63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd"),
        (64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"),
        (65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8"),
        (128, "0c311f38c35a4fb90d651c289d486856cd1413df9b0677f53ece2cd9e477c60a"),
        (255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"),
    ])
    func keyedKAT(length: Int, expected: String) {
        let key = (0..<32).map { UInt8($0) }
        let input = (0..<length).map { UInt8($0) }
        #expect(toHex(BLAKE2s.hash(input, key: key)) == expected)
        // Incremental updates in odd chunks give the same digest.
        var state = BLAKE2s(key: key)
        var i = 0
        while i < input.count { state.update(input[i..<min(i + 7, input.count)]); i += 7 }
        #expect(toHex(state.finalize()) == expected)
    }

    @Test func shortKeyedMac() {
        // hashlib.blake2s(b"hello", key=bytes(16), digest_size=16)
        #expect(toHex(WireGuardHash.mac(key: [UInt8](repeating: 0, count: 16), Array("hello".utf8))) == "0da97df13c654cc815b8b5d09169d26a")
    }

    @Test func hmacAndKdf() {
        // hmac.new(key, msg, hashlib.blake2s)
        #expect(toHex(WireGuardHash.hmac(key: Array("key".utf8), Array("The quick brown fox".utf8)))
            == "8717096fc5e7ac53d11d990acd4380c9ddd7bd8da5d8b5bc29855e6c98a866a4")
        #expect(toHex(WireGuardHash.hmac(key: (0..<100).map { UInt8($0) }, Array("msg".utf8)))
            == "d262c404e86fa6bc5be7b1aabcdc6737627e135c5b98de4a3b85ebc08ac01d54")
        let (t1, t2, t3) = WireGuardHash.kdf3(key: NoiseConstants.initialChainingKey, input: Array("input".utf8))
        #expect(toHex(t1) == "b58cc55b688b51fcda705a763c82c5a1ea46dab2cfaeedc9c8f6bc0df2871ad8")
        #expect(toHex(t2) == "3064288b2ce6072476471566eabb2ab5bbbb06904ba6b0b8e0e785b713b31fc8")
        #expect(toHex(t3) == "a6e4e28580f50a3ad5f3fdcc00254bc616a28d39ecb88ff1dafb94b8ec21d8af")
        #expect(WireGuardHash.kdf1(key: NoiseConstants.initialChainingKey, input: Array("input".utf8)) == t1)
    }

    @Test func noiseConstants() {
        #expect(toHex(NoiseConstants.initialChainingKey) == "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")
        #expect(toHex(NoiseConstants.initialHash) == "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3")
    }
}

@Suite struct XChaChaTests {
    @Test func hchacha20DraftVector() throws {
        let key = (0..<32).map { UInt8($0) }
        let subkey = try HChaCha20.deriveSubkey(key: key, nonce: hex("000000090000004a0000000031415927"))
        #expect(toHex(subkey) == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    }

    @Test func xchachaDraftA31() throws {
        let key = (0..<32).map { UInt8(0x80 + $0) }
        let nonce = (0..<24).map { UInt8(0x40 + $0) }
        let aad = hex("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let expected = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49"
        let sealed = try XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: plaintext, aad: aad)
        #expect(toHex(sealed) == expected)
        #expect(try XChaCha20Poly1305.open(key: key, nonce: nonce, sealed: sealed, aad: aad) == plaintext)
        var tampered = sealed
        tampered[3] ^= 1
        #expect(throws: AEADError.authenticationFailed) {
            try XChaCha20Poly1305.open(key: key, nonce: nonce, sealed: tampered, aad: aad)
        }
    }

    @Test func transportCipherInPlaceRoundTrip() {
        let key = (0..<32).map { UInt8($0 * 3) }
        let sealer = TransportCipher(key: key)!
        let opener = TransportCipher(key: key)!
        var buffer = [UInt8](repeating: 0, count: 64 + 16)
        for i in 0..<64 { buffer[i] = UInt8(i) }
        let ok = buffer.withUnsafeMutableBytes { sealer.seal(counter: 7, buffer: $0, count: 64) }
        #expect(ok)
        // Same as swift-crypto's ChaChaPoly with nonce 0^4 || LE64(7).
        let reference = try? HandshakeAEAD.seal(key: key, counter: 7, plaintext: (0..<64).map { UInt8($0) }, aad: [])
        #expect(reference == buffer)
        #expect(buffer.withUnsafeMutableBytes { opener.open(counter: 7, buffer: $0, count: 64) })
        #expect(Array(buffer[0..<64]) == (0..<64).map { UInt8($0) })
        let sealedAgain = buffer.withUnsafeMutableBytes { sealer.seal(counter: 8, buffer: $0, count: 64) }
        #expect(sealedAgain)
        #expect(!buffer.withUnsafeMutableBytes { opener.open(counter: 9, buffer: $0, count: 64) })
    }

}

@Suite struct KeyTests {
    /// RFC 7748 §6.1 Alice's key pair, in `wg` base64 form.
    @Test func rfc7748PublicKey() throws {
        let priv = try PrivateKey(base64: "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
        #expect(toHex(priv.rawValue) == "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        #expect(toHex(priv.publicKey.rawValue) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(priv.publicKey.base64 == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=")
        #expect(priv.base64 == "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
        let bob = try PrivateKey(rawValue: hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(toHex(bob.publicKey.rawValue) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        #expect(toHex(priv.sharedSecret(with: bob.publicKey)!) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    }

    @Test func base64RoundTripAndRedaction() throws {
        let key = PrivateKey()
        #expect(try PrivateKey(base64: key.base64) == key)
        #expect(key.base64.count == 44)
        #expect(String(describing: key) == "PrivateKey(redacted)")
        #expect(String(reflecting: key) == "PrivateKey(redacted)")
        let psk = PresharedKey()
        #expect(try PresharedKey(base64: psk.base64) == psk)
        #expect(!"\(psk)".contains(psk.base64))
        let pub = key.publicKey
        #expect(try PublicKey(base64: pub.base64) == pub)
        #expect(throws: KeyError.invalidBase64) { try PublicKey(base64: "short") }
        #expect(throws: KeyError.invalidBase64) { try PublicKey(base64: String(pub.base64.dropLast()) + "A") }
        #expect(throws: KeyError.invalidLength) { try PublicKey(rawValue: [1, 2]) }
    }

    @Test func tai64nOrdering() {
        let a = TAI64N(WallClockTime(seconds: 1_700_000_000, nanoseconds: 0))
        let b = TAI64N(WallClockTime(seconds: 1_700_000_000, nanoseconds: 500_000_000))
        let c = TAI64N(WallClockTime(seconds: 1_700_000_000, nanoseconds: 1_000)) // whitened away
        #expect(a.bytes.count == 12)
        #expect(toHex(Array(a.bytes[0..<8])) == "400000006553f10a")
        #expect(b.isNewer(than: a))
        #expect(!a.isNewer(than: b))
        #expect(!c.isNewer(than: a))
    }
}

/// The C shim keeps 1,024 EVP contexts per thread and direction, shared by all keys: 3,000 keys
/// used in turn (so most calls find their slot re-keyed by another key), keys freed and made
/// again, and a second thread using the same keys, all give swift-crypto's output.
@Suite struct TransportCipherCacheTests {
    static func key(_ n: Int) -> [UInt8] { (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n &* 13 &+ n >> 8) } }
    static let plaintext = (0..<100).map { UInt8($0) }

    /// How many of `ciphers` sealed differently from swift-crypto or failed to open their own output.
    static func wrong(_ ciphers: [(TransportCipher, [UInt8])], counter: UInt64) -> Int {
        var wrong = 0
        for (cipher, key) in ciphers {
            var buffer = plaintext + [UInt8](repeating: 0, count: 16)
            let sealed = buffer.withUnsafeMutableBytes { cipher.seal(counter: counter, buffer: $0, count: 100) }
            let reference = try? HandshakeAEAD.seal(key: key, counter: counter, plaintext: plaintext, aad: [])
            if !sealed || reference != buffer { wrong += 1; continue }
            if !buffer.withUnsafeMutableBytes({ cipher.open(counter: counter, buffer: $0, count: 100) })
                || Array(buffer[0..<100]) != plaintext { wrong += 1 }
        }
        return wrong
    }

    @Test func manyKeysFreedKeysAndAnotherThread() {
        var ciphers = (0..<3_000).map { (TransportCipher(key: Self.key($0))!, Self.key($0)) }
        #expect(Self.wrong(ciphers, counter: 1) == 0)
        #expect(Self.wrong(ciphers.reversed(), counter: 2) == 0)
        // Free every other key (its slot is wiped) and make new ones in their place.
        for i in stride(from: 0, to: ciphers.count, by: 2) {
            ciphers[i] = (TransportCipher(key: Self.key(i + 5_000))!, Self.key(i + 5_000))
        }
        #expect(Self.wrong(ciphers, counter: 3) == 0)
        // Another thread has its own cache; the keys are read-only, so sharing them is safe.
        nonisolated(unsafe) let shared = ciphers
        nonisolated(unsafe) var otherThread = -1
        let thread = Thread { otherThread = Self.wrong(shared, counter: 4) }
        thread.start()
        let deadline = Date().addingTimeInterval(30)
        while !thread.isFinished && Date() < deadline { usleep(1_000) }
        #expect(otherThread == 0)
        // Keys whose last reference goes with a thread's teardown are freed on that thread after
        // (or before) its cache is: both orders must be safe. The thread below owns the only
        // reference to its ciphers, through its closure, which is released as the thread exits.
        for round in 0..<40 {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) let owned = (0..<20).map { TransportCipher(key: Self.key($0 + round))! }
            Thread { _ = Self.wrong([(owned[0], Self.key(round))], counter: 5); done.signal() }.start()
            done.wait()
        }
        usleep(200_000)   // let the last threads finish exiting

        // A wrong key still fails to open, whatever its slot holds.
        var buffer = Self.plaintext + [UInt8](repeating: 0, count: 16)
        _ = buffer.withUnsafeMutableBytes { ciphers[0].0.seal(counter: 9, buffer: $0, count: 100) }
        #expect(!buffer.withUnsafeMutableBytes { ciphers[1].0.open(counter: 9, buffer: $0, count: 100) })
    }
}
