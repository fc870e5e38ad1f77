import ArgumentParser
import Foundation
import LanyardLinux
import Logging
import NIOSSL

/// Options every long-running subcommand takes.
struct DaemonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration file (TOML) with a table for this role; options given here win over it.",
                               discussion: "Keys are the long option names without the dashes, e.g. private-key = \"/etc/lanyard/office.key\". Check one with `lanyard check FILE`."))
    var config: String?

    @Option(help: "Name of this instance; its control socket is /run/lanyard/NAME.sock.")
    var name: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Log format: text (one line per event) or json (one JSON object per line, for log collectors).")
    var logFormat: String = "text"

    @Option(help: "Serve Prometheus metrics at http://ADDRESS:PORT/metrics, e.g. 127.0.0.1:9586 (off by default).")
    var metrics: String?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level '\(logLevel)' is not a level: use trace, debug, info, notice, warning or error")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format '\(logFormat)' is not a format: use text or json")
        }
        if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw ValidationError("--name '\(name)' cannot name a control socket: use letters, digits, '-', '_' or '.' (not first)")
        }
    }

    /// Sets up swift-log on stderr and returns a logger labelled `label`.
    func makeLogger(_ label: String) throws -> Logger {
        Self.makeLogger(label, level: Logger.Level(rawValue: logLevel) ?? .info, json: logFormat == "json")
    }

    /// Whether stderr is systemd's journal: lines then carry a `<N>` priority and no timestamp.
    static let logsToJournal = JournalStream.standardErrorIsJournal(environment: ProcessInfo.processInfo.environment)

    /// Sets up swift-log on stderr (text or JSON lines; journal lines when stderr is the journal)
    /// and returns a logger labelled `label`.
    static func makeLogger(_ label: String, level: Logger.Level, json: Bool) -> Logger {
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            if logsToJournal { return JournalLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    /// Tells the running `role` daemon these options name (or the only one running) to re-read
    /// its member list: what add-port, remove-port, add-client and remove-client end with.
    func reloadRunning(role: String) throws {
        try MemberFile.reloadRunningDaemon(instance: MemberFile.instance(name, config: config, role: role), role: role)
    }

    func controlPath(default fallback: String) -> String {
        "\(ControlServer.directory)/\(name ?? fallback).sock"
    }

    /// The HTTP server for `--metrics` (and a switch's management API), on threads of its own;
    /// nil when neither is wanted.
    func httpFrontend(api: (ManagementAPI.Parts, unixSocket: String, tcp: String?)? = nil, tls: TLSConfiguration? = nil,
                      logger: Logger) throws -> HTTPFrontend? {
        guard metrics != nil || api != nil else { return nil }
        return try HTTPFrontend(metrics: metrics, api: api, tls: tls, logger: logger)
    }
}

/// Fails early, with a clear message, when the process cannot configure the network.
func requireNetworkAdmin(_ what: String) throws {
    guard hasNetworkAdminCapability() else { throw SystemError.notPrivileged(operation: what) }
}

/// Runs `body`, turning expected failures into a one-line message and exit status 1.
func runDaemon(_ body: () throws -> Void) throws {
    do { try body() } catch let error as SystemError {
        FileHandle.standardError.write(Data("\(DaemonOptions.logsToJournal ? "<3>" : "")lanyard: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// A failure while running a command (a file, a key, a daemon that cannot be reached): printed as
/// one line, without the usage text that ArgumentParser adds to argument errors.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
