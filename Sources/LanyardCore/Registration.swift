/// The client side of a session with a hub (a port with its switch, a VPN client with its server):
/// when to start a handshake, when to ping, when the hub counts as gone, with exponential backoff.
/// Pure logic on a caller's clock; the caller performs the actions it returns.
public struct Registration: Sendable, Equatable {
    /// Where the client stands.
    public enum Phase: Sendable, Equatable {
        /// Not (or no longer) welcomed; `attempt` handshakes were started since the last success.
        case connecting(attempt: Int, nextTry: Nanoseconds)
        /// Welcomed by the hub.
        case registered
    }

    /// What the caller must do now.
    public enum Action: Sendable, Equatable {
        /// Start a new handshake; `attempt` is 1 for the first try after a success or at start.
        case startHandshake(attempt: Int)
        /// Send a keepalive ping.
        case ping
        /// The hub fell silent for `silence` ns: it is now considered gone.
        case lostHub(silence: Nanoseconds)
    }

    public private(set) var phase: Phase
    public private(set) var lastHeard: Nanoseconds = 0
    public private(set) var lastPing: Nanoseconds = 0
    public var keepaliveInterval: Nanoseconds
    public var silenceTimeout: Nanoseconds
    public let initialBackoff: Nanoseconds
    public let maximumBackoff: Nanoseconds

    public init(keepaliveInterval: Nanoseconds = .seconds(5), silenceTimeout: Nanoseconds = .seconds(15),
                initialBackoff: Nanoseconds = .seconds(1), maximumBackoff: Nanoseconds = .seconds(16), now: Nanoseconds = 0) {
        self.keepaliveInterval = keepaliveInterval
        self.silenceTimeout = silenceTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        phase = .connecting(attempt: 0, nextTry: now)
    }

    public var isRegistered: Bool { phase == .registered }

    /// The delay before try number `attempt + 1`: initial × 2^attempt, capped.
    public func backoff(after attempt: Int) -> Nanoseconds {
        min(initialBackoff << UInt64(min(max(attempt - 1, 0), 16)), maximumBackoff)
    }

    /// An authenticated message came from the hub.
    public mutating func heard(now: Nanoseconds) { lastHeard = now }

    /// The hub accepted us.
    public mutating func welcomed(now: Nanoseconds) {
        lastHeard = now
        lastPing = now
        phase = .registered
    }

    /// The hub said it is leaving: try again after the initial backoff.
    public mutating func hubLeft(now: Nanoseconds) { phase = .connecting(attempt: 0, nextTry: now + initialBackoff) }

    /// Advances the timers; returns at most one action.
    public mutating func tick(now: Nanoseconds) -> Action? {
        switch phase {
        case .registered:
            let silence = now &- lastHeard
            if silence > silenceTimeout {
                phase = .connecting(attempt: 0, nextTry: now)
                return .lostHub(silence: silence)
            }
            if now &- lastPing >= keepaliveInterval {
                lastPing = now
                return .ping
            }
            return nil
        case .connecting(let attempt, let nextTry):
            guard now >= nextTry else { return nil }
            phase = .connecting(attempt: attempt + 1, nextTry: now + backoff(after: attempt + 1))
            return .startHandshake(attempt: attempt + 1)
        }
    }
}
