import Glibc
import Logging

/// Log lines for systemd's journal. A service's stderr is a stream socket into journald, which
/// stamps each line with its own time and reads a priority from a `<N>` prefix (sd-daemon(3));
/// without that prefix every line, errors included, is stored at priority info, so
/// `journalctl -p err` would not show them.
///
/// systemd sets `JOURNAL_STREAM=DEVICE:INODE` to the stream it connected; the process checks that
/// its stderr is still that stream (a child whose stderr was redirected inherits the variable).
public enum JournalStream {
    /// Whether the process's stderr is the journal stream that `environment` names.
    public static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return matches(value, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Whether a `JOURNAL_STREAM` value ("DEVICE:INODE", both decimal) names this device and inode.
    public static func matches(_ value: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = UInt64(parts[0]), let i = UInt64(parts[1]) else { return false }
        return d == device && i == inode
    }

    /// The syslog priority the journal stores for a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// One event as journal lines: `<N>LABEL: [SOURCE] MESSAGE key=value...`, no timestamp (the
    /// journal adds its own), newline-terminated. A message of several lines gets the prefix on
    /// each, since the journal makes an entry of every line.
    public static func line(level: Logger.Level, label: String, source: String, message: String,
                            metadata: Logger.Metadata) -> String {
        var text = "\(label): [\(source)] \(message)"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
        let prefix = "<\(priority(level))>"
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined()
    }
}

/// swift-log handler for a service whose stderr is the journal (`JournalStream`): lines with a
/// priority prefix and no timestamp, each written with one system call.
public struct JournalLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra, uniquingKeysWith: { $1 }) }
        if let error = event.error { all["error"] = "\(error)" }
        let text = JournalStream.line(level: event.level, label: label, source: event.source,
                                      message: event.message.description, metadata: all)
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + sent, $0.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            sent += n
        }
    }
}
