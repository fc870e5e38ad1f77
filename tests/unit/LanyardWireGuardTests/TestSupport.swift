@testable import LanyardWireGuard

func hex(_ s: String) -> [UInt8] {
    let chars = Array(s.utf8)
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(decoding: chars[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

func toHex(_ b: [UInt8]) -> String {
    b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// Deterministic random source (xorshift64*), for reproducible tests.
final class TestRandom: RandomSource {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for i in 0..<buffer.count {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            buffer[i] = UInt8(truncatingIfNeeded: (state &* 2685821657736338717) >> 56)
        }
    }
}

/// A shared fake clock: monotonic and wall clock advance together.
final class TestClock {
    var now = Timestamp.seconds(1000)
    func advance(_ seconds: Double) { now = Timestamp(nanoseconds: now.nanoseconds + UInt64(seconds * 1e9)) }
    var wall: WallClockTime {
        WallClockTime(seconds: 1_700_000_000 + Int64(now.nanoseconds / 1_000_000_000),
                      nanoseconds: UInt32(now.nanoseconds % 1_000_000_000))
    }
}
