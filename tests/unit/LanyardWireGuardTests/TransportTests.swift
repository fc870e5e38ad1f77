import Testing
@testable import LanyardWireGuard

@Suite struct TransportTests {
    @Test func replayReorderAndWindow() {
        let pair = Pair()
        pair.handshake()
        // Produce many data messages from A, counters 1...
        var messages: [[UInt8]] = []
        for i in 0..<2100 { messages.append(pair.send(pair.a, [UInt8(i & 0xFF)]).1) }
        // Deliver out of order inside the window: each accepted exactly once.
        #expect(pair.receive(pair.b, messages[5]).0 == .writeToTunnel(16))
        #expect(pair.receive(pair.b, messages[3]).0 == .writeToTunnel(16))
        #expect(pair.receive(pair.b, messages[3]).0 == .error(.replay))
        #expect(pair.receive(pair.b, messages[5]).0 == .error(.replay))
        #expect(pair.receive(pair.b, messages[4]).0 == .writeToTunnel(16))
        // Jump ahead past the window: old counters are refused.
        #expect(pair.receive(pair.b, messages[2099]).0 == .writeToTunnel(16))
        #expect(pair.receive(pair.b, messages[10]).0 == .error(.replay))
        // Still inside the window: accepted once.
        #expect(pair.receive(pair.b, messages[2099 - 1000]).0 == .writeToTunnel(16))
        #expect(pair.b.refusals.replay == 3)
    }

    @Test func replayWindowUnit() {
        var w = ReplayWindow(limit: 10_000)
        var results: [Bool] = []
        for counter in [0, 0, ReplayWindow.windowSize + 5, 4, 5, 10_000, 9_999] as [UInt64] {
            results.append(w.accept(counter))
        }
        // fresh, replay, far ahead, too old, exactly at the window edge, at the limit, below it
        #expect(results == [true, false, true, false, true, false, true])
    }

    @Test func tamperedTruncatedAndWrongKeyRefused() {
        let pair = Pair()
        pair.handshake()
        let (_, good) = pair.send(pair.a, Array("payload".utf8))
        var flipped = good
        flipped[20] ^= 0x01
        #expect(pair.receive(pair.b, flipped).0 == .error(.decryptFailed))
        var badTag = good
        badTag[badTag.count - 1] ^= 0x80
        #expect(pair.receive(pair.b, badTag).0 == .error(.decryptFailed))
        #expect(pair.receive(pair.b, Array(good.prefix(31))).0 == .error(.wrongLength))
        #expect(pair.receive(pair.b, Array(good.dropLast(3))).0 == .error(.decryptFailed))
        var wrongIndex = good
        wrongIndex[4] ^= 0xFF
        #expect(pair.receive(pair.b, wrongIndex).0 == .error(.wrongIndex))
        #expect(pair.receive(pair.b, [7, 0, 0, 0, 1, 2]).0 == .error(.malformed))
        // A message from another session (different keys, same index) does not decrypt.
        let other = Pair(seed: 77)
        other.handshake()
        var foreign = other.send(other.a, Array("payload".utf8)).1
        for i in 4..<8 { foreign[i] = good[i] }
        #expect(pair.receive(pair.b, foreign).0 == .error(.decryptFailed))
        // The untouched original still goes through after all that.
        #expect(pair.receive(pair.b, good).0 == .writeToTunnel(16))
        #expect(pair.b.refusals.decryptFailed == 4)
        #expect(pair.b.refusals.wrongLength == 1)
        #expect(pair.b.refusals.wrongIndex == 1)
        #expect(pair.b.refusals.malformed == 1)
    }

    @Test func queuedPacketsFlushAfterHandshake() {
        let pair = Pair()
        let (r1, initiation) = pair.send(pair.a, [1])
        #expect(r1 == .writeToNetwork(148))
        #expect(pair.send(pair.a, [2]).0 == .done)
        #expect(pair.send(pair.a, [3]).0 == .done)
        let (_, response) = pair.receive(pair.b, initiation)
        let (r3, first) = pair.receive(pair.a, response)
        #expect(r3 == .writeToNetwork(48))
        #expect(pair.a.hasQueuedPackets)
        var delivered: [UInt8] = [pair.receive(pair.b, first).1[0]]
        while pair.a.hasQueuedPackets {
            let r = pair.out.withUnsafeMutableBytes { pair.a.dequeue(into: $0, now: pair.now) }
            let bytes = pair.bytes(of: r)
            delivered.append(pair.receive(pair.b, bytes).1[0])
        }
        #expect(delivered == [1, 2, 3])
    }

    @Test func responderWaitsForConfirmationThenKeepalive() {
        let pair = Pair()
        let (_, initiation) = pair.send(pair.a, [])
        let (_, response) = pair.receive(pair.b, initiation)
        // B has an unconfirmed session: it queues instead of sending.
        #expect(!pair.b.isSessionEstablished(now: pair.now))
        #expect(pair.send(pair.b, [42]).0 == .done)
        let (r, keepaliveOrData) = pair.receive(pair.a, response)
        #expect(r == .writeToNetwork(32)) // A's queued empty packet: like a keepalive
        _ = pair.receive(pair.b, keepaliveOrData)
        #expect(pair.b.isSessionEstablished(now: pair.now))
        let r2 = pair.out.withUnsafeMutableBytes { pair.b.dequeue(into: $0, now: pair.now) }
        #expect(r2 == .writeToNetwork(48))
    }
}
