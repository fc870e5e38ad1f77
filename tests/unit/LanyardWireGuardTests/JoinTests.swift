import Testing
@testable import LanyardWireGuard

/// The binary form of a token, to build malformed ones.
private func tokenText(version: UInt8 = 1, key: [UInt8], id: [UInt8] = [UInt8](repeating: 7, count: 8),
                       secret: [UInt8] = [UInt8](repeating: 9, count: 16), endpoints: [UInt8]) -> String {
    JoinToken.prefix + Base64URL.encode([version] + key + id + secret + endpoints)
}

/// `swift test --filter JoinTests` runs both suites.
@Suite enum JoinTests {}

extension JoinTests {
    @Suite struct TokenTests {
        let switchKey = PrivateKey()

        @Test(arguments: [
            ["198.51.100.1:51820"],
            ["[2001:db8::1]:51820"],
            ["198.51.100.1:51820", "[2001:db8::1]:443", "switch.example:1", "bücher.example:65535"],
            (1...8).map { "h\($0).example:\($0)" },
        ])
        func roundTrip(endpoints: [String]) throws {
            let token = try JoinToken.make(switchKey: switchKey.publicKey, endpoints: endpoints)
            #expect(token.inviteID.count == 8 && token.secret.count == 16)
            let text = token.text
            #expect(text.hasPrefix("lanyard1-"))
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            let parsed = try JoinToken(parsing: text)
            #expect(parsed == token)
            #expect(parsed.switchKey == switchKey.publicKey && parsed.endpoints == endpoints)
            #expect(try JoinToken(parsing: "  \n\t" + text + " \r\n") == token)
        }

        @Test func freshSecretsAndHashes() throws {
            let a = try JoinToken.make(switchKey: switchKey.publicKey, endpoints: ["192.0.2.1:51820"])
            let b = try JoinToken.make(switchKey: switchKey.publicKey, endpoints: ["192.0.2.1:51820"])
            #expect(a.inviteID != b.inviteID && a.secret != b.secret)
            #expect(a.inviteIDHex.count == 16 && a.inviteIDHex == a.inviteIDHex.lowercased())
            #expect(a.inviteIDHex == toHex(a.inviteID))
            let hash = JoinToken.secretHash(a.secret)
            #expect(hash.count == 64 && hash == toHex(BLAKE2s.hash(a.secret)))
            #expect(JoinToken.sameHash(hash, JoinToken.secretHash(a.secret)))
            #expect(!JoinToken.sameHash(hash, JoinToken.secretHash(b.secret)))
            #expect(!JoinToken.sameHash(hash, String(hash.dropLast())))
            #expect(!JoinToken.sameHash(hash, ""))
        }

        @Test func makeRefusesBadInput() {
            #expect(throws: JoinTokenError.badEndpoints) { try JoinToken.make(switchKey: switchKey.publicKey, endpoints: []) }
            #expect(throws: JoinTokenError.badEndpoints) { try JoinToken.make(switchKey: switchKey.publicKey, endpoints: ["a,b:1"]) }
            #expect(throws: JoinTokenError.invalidKey) {
                try JoinToken.make(switchKey: try PublicKey(rawValue: [UInt8](repeating: 0, count: 32)), endpoints: ["a:1"])
            }
        }

        @Test(arguments: [
            "a:1", "198.51.100.1:51820", "[2001:db8::1]:51820", "[::1]:65535", "switch.example:51820",
        ])
        func validEndpoints(endpoint: String) { #expect(JoinToken.isValidEndpoint(endpoint)) }

        @Test(arguments: [
            "", "host", "host:", ":51820", "host:0", "host:65536", "host:123456", "host:+1", "host:-1", "host:51820x",
            "a b:1", "a\tb:1", "a\u{7}b:1", "a,b:1", "2001:db8::1:51820", "[]:1", "[::1:1", "::1]:1", "[[::1]]:1",
            String(repeating: "a", count: 254) + ":1",
        ])
        func invalidEndpoints(endpoint: String) { #expect(!JoinToken.isValidEndpoint(endpoint)) }

        @Test func refusals() throws {
            let key = switchKey.publicKey.rawValue
            let good = tokenText(key: key, endpoints: Array("192.0.2.1:51820".utf8))
            #expect(throws: Never.self) { try JoinToken(parsing: good) }

            #expect(throws: JoinTokenError.wrongPrefix) { try JoinToken(parsing: "") }
            #expect(throws: JoinTokenError.wrongPrefix) { try JoinToken(parsing: "lanyard2-" + good.dropFirst(9)) }
            #expect(throws: JoinTokenError.wrongPrefix) { try JoinToken(parsing: String(good.dropFirst(9))) }
            #expect(throws: JoinTokenError.wrongPrefix) { try JoinToken(parsing: "Lanyard1-" + good.dropFirst(9)) }
            #expect(throws: JoinTokenError.tooLong) { try JoinToken(parsing: good + String(repeating: "A", count: 4100)) }
            #expect(throws: JoinTokenError.tooLong) { try JoinToken(parsing: String(repeating: " ", count: 5000)) }
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: "lanyard1-!!!!") }
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: good + "=") }
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: good + "A") } // length % 4 == 1
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: "lanyard1-AB") } // non-zero leftover bits
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: good.replacingFirst("-", by: "-+")) }
            #expect(throws: JoinTokenError.badEncoding) { try JoinToken(parsing: String(good.prefix(40)) + " " + good.dropFirst(40)) }
            #expect(throws: JoinTokenError.truncated) { try JoinToken(parsing: "lanyard1-") }
            #expect(throws: JoinTokenError.truncated) { try JoinToken(parsing: "lanyard1-" + Base64URL.encode([1] + key)) }
            #expect(throws: JoinTokenError.truncated) { try JoinToken(parsing: tokenText(key: key, endpoints: [])) }
            #expect(throws: JoinTokenError.unsupportedVersion(2)) {
                try JoinToken(parsing: tokenText(version: 2, key: key, endpoints: Array("192.0.2.1:51820".utf8)))
            }
            #expect(throws: JoinTokenError.unsupportedVersion(0)) { try JoinToken(parsing: "lanyard1-" + Base64URL.encode([0])) }
            #expect(throws: JoinTokenError.invalidKey) {
                try JoinToken(parsing: tokenText(key: [UInt8](repeating: 0, count: 32), endpoints: Array("192.0.2.1:51820".utf8)))
            }
            // A low-order point other than zero (u = 1).
            #expect(throws: JoinTokenError.invalidKey) {
                try JoinToken(parsing: tokenText(key: [1] + [UInt8](repeating: 0, count: 31), endpoints: Array("192.0.2.1:51820".utf8)))
            }
            for endpoints in ["host", ",192.0.2.1:1", "192.0.2.1:1,", "192.0.2.1:1,,192.0.2.2:1", "a b:1", "2001:db8::1:51820",
                              (1...9).map { "h\($0):1" }.joined(separator: ",")] {
                #expect(throws: JoinTokenError.badEndpoints) { try JoinToken(parsing: tokenText(key: key, endpoints: Array(endpoints.utf8))) }
            }
            #expect(throws: JoinTokenError.badEndpoints) { try JoinToken(parsing: tokenText(key: key, endpoints: [0x68, 0xFF, 0x3A, 0x31])) }
            #expect(throws: JoinTokenError.badEndpoints) { try JoinToken(parsing: tokenText(key: key, endpoints: [0x68, 0x00, 0x3A, 0x31])) }
        }

        @Test func messagesSayWhatToDo() {
            let errors: [JoinTokenError] = [.tooLong, .wrongPrefix, .badEncoding, .unsupportedVersion(3), .truncated, .invalidKey, .badEndpoints]
            let texts = Set(errors.map(\.description))
            #expect(texts.count == errors.count)
            #expect(JoinTokenError.wrongPrefix.description.contains("lanyard1-"))
            #expect(JoinTokenError.wrongPrefix.description.contains("lanyard member invite"))
            for refusal in JoinRefusal.allCases { #expect(refusal.message.contains(":")) }
            #expect(JoinRefusal.used.message.contains("lanyard member invite NAME"))
        }

        @Test func randomGarbageNeverCrashes() {
            let random = TestRandom(seed: 0x70CE)
            for i in 0..<2000 {
                let length = Int(random.uint32() % 301)
                let bytes = random.bytes(length)
                _ = try? JoinToken(parsing: String(decoding: bytes, as: UTF8.self))
                // Also base64url-alphabet garbage behind the right prefix, which gets past decoding.
                let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
                var text = Array(JoinToken.prefix.utf8) + bytes.map { alphabet[Int($0 & 63)] }
                if i % 2 == 0, text.count > 11 { text[9] = UInt8(ascii: "A"); text[10] = UInt8(ascii: "Q") } // version 1
                _ = try? JoinToken(parsing: String(decoding: text, as: UTF8.self))
            }
        }
    }
}

extension JoinTests {
    @Suite struct ExchangeTests {
        let switchKey = PrivateKey()
        let joiner = PrivateKey()
        var token: JoinToken { try! JoinToken.make(switchKey: switchKey.publicKey, endpoints: ["198.51.100.1:51820"]) }

        @Test func requestRoundTrip() throws {
            let token = token
            for hostname in ["", "laptop", String(repeating: "é", count: 31) + "x"] {
                let bytes = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: hostname, now: 1_765_000_000)
                #expect(bytes.count == JoinExchange.minRequestSize + hostname.utf8.count)
                #expect(bytes.withUnsafeBytes(JoinExchange.isJoinRequest))
                #expect(!bytes.withUnsafeBytes(JoinExchange.isJoinReply))
                let request = try JoinExchange.openRequest(bytes, switchKey: switchKey)
                #expect(request.joinerKey == joiner.publicKey)
                #expect(request.inviteID == token.inviteID && request.secret == token.secret)
                #expect(request.timestamp == 1_765_000_000 && request.hostname == hostname)
            }
            let longest = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: String(repeating: "a", count: 63), now: .max)
            #expect(longest.count == JoinExchange.maxRequestSize && longest.count <= 256)
            #expect(try JoinExchange.openRequest(longest, switchKey: switchKey).timestamp == .max)
            // The timestamp is only carried: far from now is still returned.
            #expect(try JoinExchange.openRequest(JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "", now: 0), switchKey: switchKey).timestamp == 0)
        }

        @Test func requestRefusesBadHostnames() {
            #expect(throws: JoinExchangeError.invalidHostname) {
                try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: String(repeating: "a", count: 64), now: 1)
            }
            #expect(throws: JoinExchangeError.invalidHostname) {
                try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "a\nb", now: 1)
            }
        }

        @Test func requestsAreRandomized() throws {
            let a = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "x", now: 1)
            let b = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "x", now: 1)
            #expect(a != b)
        }

        @Test func requestForAnotherSwitchFails() throws {
            let bytes = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "x", now: 1)
            #expect(throws: JoinExchangeError.authenticationFailed) { try JoinExchange.openRequest(bytes, switchKey: PrivateKey()) }
        }

        @Test func everyFlippedByteFails() throws {
            let bytes = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "laptop", now: 42)
            for i in bytes.indices {
                for mask: UInt8 in [0x01, 0x80] {
                    var copy = bytes
                    copy[i] ^= mask
                    #expect(throws: JoinExchangeError.self) { try JoinExchange.openRequest(copy, switchKey: switchKey) }
                    if i < 4 { #expect(throws: JoinExchangeError.notARequest) { try JoinExchange.openRequest(copy, switchKey: switchKey) } }
                }
            }
            let reply = try JoinExchange.sealReply(.accepted(memberName: "laptop", endpoints: ["192.0.2.1:1"]), to: joiner.publicKey, switchKey: switchKey)
            for i in reply.indices {
                var copy = reply
                copy[i] ^= 0x04
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openReply(copy, joiner: joiner, switchKey: switchKey.publicKey) }
            }
        }

        @Test func zeroJoinerKeyIsRefused() throws {
            var bytes = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "", now: 1)
            for i in 4..<36 { bytes[i] = 0 }
            #expect(throws: JoinExchangeError.invalidJoinerKey) { try JoinExchange.openRequest(bytes, switchKey: switchKey) }
            #expect(throws: JoinExchangeError.invalidJoinerKey) {
                try JoinExchange.sealReply(.pending, to: try PublicKey(rawValue: [UInt8](repeating: 0, count: 32)), switchKey: switchKey)
            }
        }

        @Test func truncatedAndOversizedFail() throws {
            let bytes = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "laptop", now: 1)
            for n in 0..<bytes.count {
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openRequest(Array(bytes.prefix(n)), switchKey: switchKey) }
            }
            for extra in [1, 60, 200, 2000] {
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openRequest(bytes + [UInt8](repeating: 0, count: extra), switchKey: switchKey) }
            }
            #expect(throws: JoinExchangeError.badLength) { try JoinExchange.openRequest([0x11, 0, 0, 0], switchKey: switchKey) }
            #expect(throws: JoinExchangeError.badLength) { try JoinExchange.openRequest([0x11, 0, 0, 0] + [UInt8](repeating: 1, count: 300), switchKey: switchKey) }

            let reply = try JoinExchange.sealReply(.refused(.used), to: joiner.publicKey, switchKey: switchKey)
            for n in 0..<reply.count {
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openReply(Array(reply.prefix(n)), joiner: joiner, switchKey: switchKey.publicKey) }
            }
            #expect(throws: JoinExchangeError.self) { try JoinExchange.openReply(reply + [0], joiner: joiner, switchKey: switchKey.publicKey) }
            #expect(throws: JoinExchangeError.badLength) {
                try JoinExchange.openReply([0x12, 0, 0, 0] + [UInt8](repeating: 0, count: JoinExchange.maxReplySize), joiner: joiner, switchKey: switchKey.publicKey)
            }
        }

        @Test(arguments: [
            JoinOutcome.accepted(memberName: "laptop", endpoints: []),
            .accepted(memberName: "l", endpoints: ["198.51.100.1:51820", "[2001:db8::1]:51820", "switch.example:51820"]),
            .accepted(memberName: String(repeating: "n", count: 63), endpoints: (1...8).map { String(repeating: "h", count: 253 - String($0).count) + ":\($0)" }),
            .pending,
        ] + JoinRefusal.allCases.map { JoinOutcome.refused($0) })
        func replyRoundTrip(outcome: JoinOutcome) throws {
            let bytes = try JoinExchange.sealReply(outcome, to: joiner.publicKey, switchKey: switchKey)
            #expect(bytes.withUnsafeBytes(JoinExchange.isJoinReply))
            #expect(!bytes.withUnsafeBytes(JoinExchange.isJoinRequest))
            #expect(bytes.count >= JoinExchange.minReplySize && bytes.count <= JoinExchange.maxReplySize)
            #expect(try JoinExchange.openReply(bytes, joiner: joiner, switchKey: switchKey.publicKey) == outcome)
        }

        @Test func largestReplyFitsTheBound() throws {
            let outcome = JoinOutcome.accepted(memberName: String(repeating: "n", count: 63),
                                               endpoints: (1...8).map { String(repeating: "h", count: 253) + ":\($0)" })
            let bytes = try JoinExchange.sealReply(outcome, to: joiner.publicKey, switchKey: switchKey)
            #expect(bytes.count == JoinExchange.maxReplySize)
            #expect(try JoinExchange.openReply(bytes, joiner: joiner, switchKey: switchKey.publicKey) == outcome)
        }

        @Test func replyRefusesBadOutcomes() {
            let to = joiner.publicKey
            #expect(throws: JoinExchangeError.invalidMemberName) { try JoinExchange.sealReply(.accepted(memberName: "", endpoints: []), to: to, switchKey: switchKey) }
            #expect(throws: JoinExchangeError.invalidMemberName) {
                try JoinExchange.sealReply(.accepted(memberName: String(repeating: "n", count: 64), endpoints: []), to: to, switchKey: switchKey)
            }
            #expect(throws: JoinExchangeError.invalidEndpoints) { try JoinExchange.sealReply(.accepted(memberName: "a", endpoints: ["nope"]), to: to, switchKey: switchKey) }
            #expect(throws: JoinExchangeError.invalidEndpoints) {
                try JoinExchange.sealReply(.accepted(memberName: "a", endpoints: (1...9).map { "h:\($0)" }), to: to, switchKey: switchKey)
            }
        }

        @Test func replyAndRequestDoNotCross() throws {
            let request = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "x", now: 1)
            let reply = try JoinExchange.sealReply(.pending, to: joiner.publicKey, switchKey: switchKey)
            #expect(throws: JoinExchangeError.notARequest) { try JoinExchange.openRequest(reply, switchKey: switchKey) }
            #expect(throws: JoinExchangeError.notAReply) { try JoinExchange.openReply(request, joiner: joiner, switchKey: switchKey.publicKey) }
            // Relabelled, a request's sealed part still does not open as a reply (different key label).
            let reflected = [JoinExchange.replyType, 0, 0, 0] + Array(request[36...])
            #expect(throws: JoinExchangeError.authenticationFailed) { try JoinExchange.openReply(reflected, joiner: joiner, switchKey: switchKey.publicKey) }
            // A reply-shaped datagram sealed under the request's key does not open either.
            let key = JoinExchange.sealingKey(JoinExchange.requestLabel, mine: switchKey, theirs: joiner.publicKey,
                                              joiner: joiner.publicKey, switchKey: switchKey.publicKey)!
            let nonce = [UInt8](repeating: 3, count: 24)
            let forged = [0x12, 0, 0, 0] + nonce + (try XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: [2], aad: [0x12, 0, 0, 0] + joiner.publicKey.rawValue))
            #expect(throws: JoinExchangeError.authenticationFailed) { try JoinExchange.openReply(forged, joiner: joiner, switchKey: switchKey.publicKey) }
            // Neither is a relay datagram, and a relay header is neither.
            let relay: [UInt8] = [0x10, 0, 0, 0] + [UInt8](repeating: 0, count: 200)
            #expect(!relay.withUnsafeBytes(JoinExchange.isJoinRequest) && !relay.withUnsafeBytes(JoinExchange.isJoinReply))
            #expect(![UInt8]([0x11, 0, 0]).withUnsafeBytes(JoinExchange.isJoinRequest))
        }

        @Test func replyForAnotherJoinerFails() throws {
            let other = PrivateKey()
            let reply = try JoinExchange.sealReply(.accepted(memberName: "a", endpoints: []), to: joiner.publicKey, switchKey: switchKey)
            #expect(throws: JoinExchangeError.authenticationFailed) { try JoinExchange.openReply(reply, joiner: other, switchKey: switchKey.publicKey) }
            #expect(throws: JoinExchangeError.authenticationFailed) { try JoinExchange.openReply(reply, joiner: joiner, switchKey: PrivateKey().publicKey) }
        }

        @Test func malformedButAuthenticReplies() throws {
            let key = JoinExchange.sealingKey(JoinExchange.replyLabel, mine: switchKey, theirs: joiner.publicKey,
                                              joiner: joiner.publicKey, switchKey: switchKey.publicKey)!
            for plaintext: [UInt8] in [[0], [4], [2, 0], [3], [3, 0], [3, 7], [3, 1, 1], [1], [1, 0], [1, 5, 0x61], [1, 1, 0x61, 0x78], [1, 1, 0x0A]] {
                let nonce = [UInt8](repeating: 5, count: 24)
                var bytes: [UInt8] = [0x12, 0, 0, 0] + nonce
                bytes += try XChaCha20Poly1305.seal(key: key, nonce: nonce, plaintext: plaintext, aad: [0x12, 0, 0, 0] + joiner.publicKey.rawValue)
                if bytes.count < JoinExchange.minReplySize { continue }
                #expect(throws: JoinExchangeError.malformed) { try JoinExchange.openReply(bytes, joiner: joiner, switchKey: switchKey.publicKey) }
            }
        }

        @Test func messagesAreDistinct() {
            let errors: [JoinExchangeError] = [.notARequest, .notAReply, .badLength, .invalidJoinerKey, .invalidSwitchKey,
                                               .authenticationFailed, .malformed, .invalidHostname, .invalidMemberName, .invalidEndpoints]
            #expect(Set(errors.map(\.description)).count == errors.count)
        }

        @Test func randomGarbageNeverCrashes() throws {
            let random = TestRandom(seed: 0x1A1)
            let valid = try JoinExchange.sealRequest(token: token, joiner: joiner, hostname: "host", now: 1)
            for i in 0..<2000 {
                var bytes = random.bytes(Int(random.uint32() % 301))
                // Half get a valid header, so they reach the length check, the key agreement and the AEAD.
                if i % 2 == 0, bytes.count >= 4 { bytes[0] = 0x11; bytes[1] = 0; bytes[2] = 0; bytes[3] = 0 }
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openRequest(bytes, switchKey: switchKey) }
                if i % 2 == 0, bytes.count >= 4 { bytes[0] = 0x12 }
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openReply(bytes, joiner: joiner, switchKey: switchKey.publicKey) }
                _ = bytes.withUnsafeBytes { JoinExchange.isJoinRequest($0) || JoinExchange.isJoinReply($0) }
            }
            // Random tails behind a valid prefix.
            for _ in 0..<200 {
                let cut = 4 + Int(random.uint32() % UInt32(valid.count - 4))
                let bytes = Array(valid.prefix(cut)) + random.bytes(Int(random.uint32() % 100))
                if bytes == valid { continue }
                #expect(throws: JoinExchangeError.self) { try JoinExchange.openRequest(bytes, switchKey: switchKey) }
            }
        }
    }
}

private extension String {
    func replacingFirst(_ target: Character, by replacement: String) -> String {
        guard let i = firstIndex(of: target) else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
