import LanyardWireGuard

extension Generator {
    /// Phase 1: handshakes (`window` at most in flight) and hello/welcome for every port, until
    /// all are registered or failed, `timeout` seconds pass or a signal arrives. Returns the start.
    func joinAll(window: Int, timeout: Double) -> Timestamp {
        runWindowed(ports, window: window, timeout: timeout, finished: { join.registered + join.failed }) { begin($0, now: $1) }
    }

    /// Starts `start(item, now)` for each of `items` in turn, at most `window` unfinished at once
    /// (`finished` counts those done or given up), pumping the sockets and timers between
    /// starts, until all are finished, `timeout` seconds pass or a signal arrives. Returns the start.
    func runWindowed<Item>(_ items: [Item], window: Int, timeout: Double, finished: () -> Int,
                           start: (Item, Timestamp) -> Void) -> Timestamp {
        let started = Clock.now()
        let deadline = started.adding(.init(nanoseconds: UInt64(timeout * 1e9)))
        var next = 0
        while finished() < items.count && !interrupted {
            let now = Clock.now()
            if now >= deadline { break }
            for _ in 0..<max(0, min(window - (next - finished()), items.count - next)) {
                start(items[next], now)
                next += 1
            }
            pump(milliseconds: 5)
            housekeeping(now: Clock.now())
        }
        return started
    }
}
