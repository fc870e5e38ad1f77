import LanyardWireGuard

extension Generator {
    /// Phase 1: handshakes (`window` at most in flight) and hello/welcome for every port, until
    /// all are registered or failed, `timeout` seconds pass or a signal arrives. Returns the start.
    func joinAll(window: Int, timeout: Double) -> Timestamp {
        let start = Clock.now()
        let deadline = start.adding(.init(nanoseconds: UInt64(timeout * 1e9)))
        var next = 0
        while join.registered + join.failed < ports.count && !interrupted {
            let now = Clock.now()
            if now >= deadline { break }
            let inFlight = next - join.registered - join.failed
            for _ in 0..<max(0, min(window - inFlight, ports.count - next)) {
                begin(ports[next], now: now)
                next += 1
            }
            pump(milliseconds: 5)
            housekeeping(now: Clock.now())
        }
        return start
    }
}
