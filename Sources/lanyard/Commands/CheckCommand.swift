import ArgumentParser
import Foundation

/// `lanyard check FILE`: validates a configuration file as its daemon would read it.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration file (and the key and member files it names) without starting anything.",
        discussion: "Exits with status 0 and a one-line summary when the daemon would start with it, 1 with the reason otherwise.")

    @Argument(help: "The configuration file (TOML, with a [switch], [port], [server] or [client] table).")
    var file: String

    func run() throws {
        let summary: String
        do {
            let config = try ConfigFile(path: file, role: nil)
            let (arguments, _) = try ConfiguredArguments.expand([config.role, "--config", file])
            let command: ParsableCommand
            do { command = try Lanyard.parseAsRoot(arguments) } catch {
                throw CommandFailure("\(file): \(Lanyard.message(for: error))")
            }
            switch command {
            case let c as SwitchCommand: summary = try c.check()
            case let c as PortCommand: summary = try c.check()
            case let c as ServerCommand: summary = try c.check()
            case let c as ClientCommand: summary = try c.check()
            default: throw CommandFailure("\(file): nothing to check for \(config.role)")
            }
        } catch let failure as CommandFailure where failure.description.hasPrefix(file) {
            throw failure
        } catch let error as ConfigFile.Failure {
            throw CommandFailure(error.description)
        } catch {
            throw CommandFailure("\(file): \(Lanyard.message(for: error))")
        }
        print("\(file): ok: \(summary)")
    }
}
