import LanyardWireGuard

/// What the join (phase 1) counted.
struct JoinCounters {
    /// Responses received (handshakes completed), and when the last one came.
    var handshakesCompleted = 0
    var lastHandshakeAt = Timestamp(nanoseconds: 0)
    /// Welcomes received, and when the last one came.
    var registered = 0
    var lastRegistrationAt = Timestamp(nanoseconds: 0)
    /// Ports that gave up after 5 attempts.
    var failed = 0
    /// Cookie replies received (the switch under a handshake flood).
    var cookieReplies = 0
}

/// Datagrams and frames over the whole run.
struct TrafficCounters {
    /// Unicast frames sent to a partner, and how many of them on a direct path.
    var framesSent = 0
    var framesSentDirect = 0
    /// Unicast frames that arrived at their addressee.
    var unicastReceived = 0
    /// Other frames that arrived (broadcasts, floods).
    var otherFramesReceived = 0
    /// Keepalives sent by ports with nothing else to send for a keepalive interval.
    var keepalivesSent = 0
    /// Datagrams a port's session refused.
    var refused = 0
    /// Datagrams for a session a port had already left (churn): refused, but expected.
    var stale = 0
    /// Datagrams to an address outside the plan, or truncated.
    var strays = 0
    /// Times the frame window stalled (nothing arrived for `Generator.stallTimeout`).
    var windowStalls = 0
}

/// The churn scenario's results.
struct ChurnCounters {
    /// Ports that left (bye) and started a rejoin.
    var churned = 0
    /// Rejoins that reached a welcome, with their latency (handshake sent → welcome), seconds.
    var rejoinLatencies: [Double] = []
    /// Rejoins that gave up after 5 attempts.
    var rejoinFailed = 0
    /// Frames addressed to a port that had not arrived when it left.
    var lostAsLeft = 0
}

/// What the directory scenario counted.
struct DirectoryCounters {
    var lookupsSent = 0
    /// `member` answers to lookups, and when the last one came.
    var answers = 0
    var lastAnswerAt = Timestamp(nanoseconds: 0)
    /// `member` messages marked rendezvous (the switch telling a port who wants it).
    var rendezvous = 0
    /// End-to-end handshakes completed (responses received by the side that looked up).
    var handshakes = 0
    /// Port-to-port datagrams that came through the switch's blind relay.
    var relayedDatagrams = 0
    /// Meetings (a pair of ports, or a port and the real port) whose both sides have a direct
    /// path, and when the last one did.
    var met = 0
    var lastDirectAt = Timestamp(nanoseconds: 0)
    /// Meetings given up on (lookup, handshake or probes unanswered 5 times).
    var gaveUp = 0
    /// Frames sent to the real port on direct paths (one per port, once its path is direct).
    var framesToRealPort = 0
}
