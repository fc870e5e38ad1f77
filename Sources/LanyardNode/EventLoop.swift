import LanyardCore
import LanyardLinux
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A question for a daemon's loop from another thread (the HTTP server's): the answer is made
/// on the loop's thread and handed to `reply` there.
public struct LoopRequest: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A status request as the control socket takes it ("status", "status summary", ...).
        case status(String)
        /// The Prometheus text.
        case metrics
        /// Re-read configuration and members (as SIGHUP).
        case reload
    }
    public let kind: Kind
    /// Given what makes the answer: the loop's text, or (metrics) a renderer of the loop's
    /// snapshot, which the asker runs on its own thread.
    public let reply: @Sendable (@escaping @Sendable () -> String) -> Void
    public init(_ kind: Kind, reply: @escaping @Sendable (@escaping @Sendable () -> String) -> Void) {
        self.kind = kind
        self.reply = reply
    }
}

/// The shape shared by every daemon: poll its descriptors, handle what is ready, run timers,
/// answer the control socket and metrics scrapes, tell systemd how it is (readiness, reloads,
/// watchdog), stop on SIGINT/SIGTERM.
public struct EventLoop {
    /// One readable descriptor and what to do when it is ready.
    public struct Source {
        public let fileDescriptor: Int32
        public let onReadable: (Nanoseconds) throws -> Void
        public init(fileDescriptor: Int32, onReadable: @escaping (Nanoseconds) throws -> Void) {
            self.fileDescriptor = fileDescriptor
            self.onReadable = onReadable
        }
    }

    let sources: [Source]
    let signals: SignalWatcher
    let control: ControlServer?
    let tick: (Nanoseconds) throws -> Void
    /// Answers a status request ("status", "status summary", "status page OFFSET LIMIT").
    let status: (String) -> String
    /// Re-reads configuration; returns a one-line result ("ok: ..." or "error: ...").
    let reload: (() -> String)?
    let logger: Logger
    /// Questions from the HTTP server (`/metrics`, the management API), answered between batches.
    let requests: LoopInbox<LoopRequest>?
    /// Takes `/metrics`' snapshot on the loop's thread and returns its renderer, which the
    /// HTTP server's thread runs: formatting hundreds of members costs the loop nothing.
    let metricsText: ((LoopStats) -> @Sendable () -> String)?
    /// systemd's notification socket (does nothing when not started by systemd).
    let service = ServiceManager()
    /// A one-line summary for systemd's status (`systemctl status`): looked at a few times a
    /// second (never per packet) and sent when it changed.
    let summary: (() -> String)?
    /// How often the summary is looked at.
    static let summaryInterval: Nanoseconds = 250_000_000

    public init(sources: [Source], signals: SignalWatcher, control: ControlServer?, logger: Logger,
                tick: @escaping (Nanoseconds) throws -> Void, reload: (() -> String)? = nil,
                requests: LoopInbox<LoopRequest>? = nil, metricsText: ((LoopStats) -> @Sendable () -> String)? = nil,
                summary: (() -> String)? = nil, status: @escaping (String) -> String) {
        self.reload = reload
        self.requests = requests
        self.metricsText = metricsText
        self.summary = summary
        self.sources = sources
        self.signals = signals
        self.control = control
        self.tick = tick
        self.status = status
        self.logger = logger
    }

    /// Runs until a terminating signal (returns its number) or until the TUN/TAP interface a
    /// source reads is deleted (returns 0, as a clean stop: wireguard-go also exits 0 then).
    public func run() throws -> Int32 {
        do { return try serve() } catch SystemError.deviceGone(let name) {
            logger.notice("interface \(name) was deleted: stopping")
            service.notify("STATUS=stopping (interface \(name) deleted)")
            return 0
        }
    }

    private func serve() throws -> Int32 {
        var fds = sources.map(\.fileDescriptor) + [signals.fileDescriptor]
        let controlSlot = fds.count
        if let control { fds.append(control.fileDescriptor) }
        let requestSlot = fds.count
        if let requests { fds.append(requests.fileDescriptor) }
        var poller = Poller(fds)
        var stats = LoopStats(now: monotonicNanoseconds())
        // systemd's status line: the summary, after the last reload's failure until one succeeds.
        var reloadFailure: String?
        func statusLine() -> String {
            let base = summary?() ?? "running"
            return reloadFailure.map { "last reload failed: \($0); \(base)" } ?? base
        }
        var shownSummary = statusLine()
        service.notify("READY=1\nSTATUS=\(shownSummary)")
        /// Runs the reload, telling systemd it started and how it ended.
        func reloadNow() -> String {
            service.reloading()
            let result = reload?() ?? "error: this daemon does not reload"
            reloadFailure = result.hasPrefix("ok") ? nil : result
            shownSummary = statusLine()
            service.notify("READY=1\nSTATUS=\(shownSummary)")
            return result
        }
        var nextSummary = stats.started &+ Self.summaryInterval
        defer { service.notify("STOPPING=1") }
        while true {
            let ready = poller.wait(timeoutMilliseconds: 100)
            let now = monotonicNanoseconds()
            stats.wakes &+= 1
            defer { stats.busy &+= monotonicNanoseconds() &- now }
            for (i, source) in sources.enumerated() where ready[i] { try source.onReadable(now) }
            if ready[sources.count], let signal = signals.take() {
                if signal == SIGHUP, reload != nil {
                    logger.notice("SIGHUP: reloading")
                    _ = reloadNow()
                } else if signal == SIGHUP {
                    logger.warning("SIGHUP: this daemon has nothing to reload; restart it to apply changes")
                } else {
                    logger.info("received signal \(signal), shutting down")
                    service.notify("STATUS=stopping (signal \(signal))")
                    return signal
                }
            }
            if let control, ready[controlSlot] {
                control.serve { request in
                    guard request == "reload" else { return status(request) }
                    guard reload != nil else { return "error: this daemon does not reload" }
                    return reloadNow()
                }
            }
            if let requests, ready[requestSlot] {
                // At most 16 questions per wake; one metrics snapshot serves every scrape in them.
                var render: (@Sendable () -> String)?
                for request in requests.take(limit: 16) {
                    switch request.kind {
                    case .status(let what):
                        let text = status(what)
                        request.reply { text }
                    case .metrics:
                        if render == nil {
                            let snapshot = stats
                            render = metricsText.map { $0(snapshot) } ?? { "" }
                        }
                        request.reply(render!)
                    case .reload:
                        let text = reload == nil ? "error: this daemon does not reload" : reloadNow()
                        request.reply { text }
                    }
                }
            }
            try tick(now)
            service.keepAlive(now: now)
            if service.isActive, summary != nil, now >= nextSummary {
                nextSummary = now &+ Self.summaryInterval
                let current = statusLine()
                if current != shownSummary {
                    shownSummary = current
                    service.notify("STATUS=\(current)")
                }
            }
        }
    }
}
