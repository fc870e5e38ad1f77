/// A token bucket: `rate` tokens a second, at most `burst` saved up. Pure; time passed in.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var stamp: Nanoseconds = 0

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
    }

    /// Whether the bucket would be back to its burst at `now` (nothing to remember about it).
    public func isFull(now: Nanoseconds) -> Bool {
        tokens + Double(now &- stamp) / 1e9 * rate >= burst
    }

    /// Takes one token if there is one.
    public mutating func take(now: Nanoseconds) -> Bool {
        if now > stamp {
            tokens = min(burst, tokens + Double(now - stamp) / 1e9 * rate)
            stamp = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
