import ArgumentParser
import Foundation
import LanyardLinux
import Logging

/// Options every long-running subcommand takes.
struct DaemonOptions: ParsableArguments {
    @Option(help: "Name of this instance; its control socket is /run/lanyard/NAME.sock.")
    var name: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    /// Sets up swift-log on stderr and returns a logger labelled `label`.
    func makeLogger(_ label: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    func controlPath(default fallback: String) -> String {
        "\(ControlServer.directory)/\(name ?? fallback).sock"
    }
}

/// Fails early, with a clear message, when the process cannot configure the network.
func requireNetworkAdmin(_ what: String) throws {
    guard hasNetworkAdminCapability() else { throw SystemError.notPrivileged(operation: what) }
}

/// Runs `body`, turning expected failures into a one-line message and exit status 1.
func runDaemon(_ body: () throws -> Void) throws {
    do { try body() } catch let error as SystemError {
        FileHandle.standardError.write(Data("lanyard: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// A failure while running a command (a file, a key, a daemon that cannot be reached): printed as
/// one line, without the usage text that ArgumentParser adds to argument errors.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
