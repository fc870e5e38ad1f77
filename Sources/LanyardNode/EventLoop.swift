import LanyardCore
import LanyardLinux
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The shape shared by every daemon: poll its descriptors, handle what is ready, run timers,
/// answer the control socket, stop on SIGINT/SIGTERM.
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
    let status: () -> String
    /// Re-reads configuration; returns a one-line result ("ok: ..." or "error: ...").
    let reload: (() -> String)?
    let logger: Logger

    public init(sources: [Source], signals: SignalWatcher, control: ControlServer?, logger: Logger,
                tick: @escaping (Nanoseconds) throws -> Void, reload: (() -> String)? = nil, status: @escaping () -> String) {
        self.reload = reload
        self.sources = sources
        self.signals = signals
        self.control = control
        self.tick = tick
        self.status = status
        self.logger = logger
    }

    /// Runs until a terminating signal; returns the signal number.
    public func run() throws -> Int32 {
        var fds = sources.map(\.fileDescriptor) + [signals.fileDescriptor]
        if let control { fds.append(control.fileDescriptor) }
        var poller = Poller(fds)
        while true {
            let ready = poller.wait(timeoutMilliseconds: 100)
            let now = monotonicNanoseconds()
            for (i, source) in sources.enumerated() where ready[i] { try source.onReadable(now) }
            if ready[sources.count], let signal = signals.take() {
                if signal == SIGHUP, let reload {
                    logger.notice("SIGHUP: reloading")
                    _ = reload()
                } else if signal == SIGHUP {
                    logger.warning("SIGHUP: reloading is not supported yet; restart lanyard to apply changed files")
                } else {
                    logger.info("received signal \(signal), shutting down")
                    return signal
                }
            }
            if let control, ready[sources.count + 1] {
                control.serve { request in
                    guard request == "reload" else { return status() }
                    guard let reload else { return "error: this daemon does not reload" }
                    return reload()
                }
            }
            try tick(now)
        }
    }
}
