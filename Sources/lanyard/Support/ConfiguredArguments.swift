import ArgumentParser
import Foundation
import Logging

/// Turns `lanyard ROLE --config FILE [options]` into the options the file sets followed by those
/// given (which win), before ArgumentParser sees them; and re-reads the file on a reload.
enum ConfiguredArguments {
    /// The subcommands of each role that read the role's configuration file too.
    static let subcommands = [
        "switch": ["add-port", "remove-port"],
        "server": ["add-client", "remove-client"],
    ]

    /// The keys the daemon `role` takes (its subcommands read the same ones from their parent).
    static func keys(for role: String) -> [ConfigFile.Key] {
        switch role {
        case "switch": ConfigFile.keys(of: SwitchCommand(), DaemonOptions())
        case "port": ConfigFile.keys(of: PortCommand(), DaemonOptions())
        case "server": ConfigFile.keys(of: ServerCommand(), ServerPoolOptions(), DaemonOptions())
        case "client": ConfigFile.keys(of: ClientCommand(), DaemonOptions())
        default: []
        }
    }

    /// The file named by `--config FILE` or `--config=FILE`, if any.
    static func configPath(in arguments: [String]) -> String? {
        for (i, a) in arguments.enumerated() {
            if a == "--" { return nil }
            if a == "--config", i + 1 < arguments.count { return arguments[i + 1] }
            if a.hasPrefix("--config=") { return String(a.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// The arguments a daemon started with (after expansion) and its file as read then.
    nonisolated(unsafe) static var startup: (arguments: [String], file: ConfigFile?) = ([], nil)

    /// `arguments` with the configuration file's settings put in front of the role's own options.
    static func expand(_ arguments: [String]) throws(ConfigFile.Failure) -> (arguments: [String], file: ConfigFile?) {
        guard let path = configPath(in: arguments), let role = arguments.first, ConfigFile.roles.contains(role) else {
            if configPath(in: arguments) != nil, let first = arguments.first, ["tunnel", "wireguard"].contains(first) {
                throw .unreadable(path: configPath(in: arguments)!, reason: "--config is for switch, port, server and client; a tunnel is configured by a wg-quick file: `lanyard up FILE`")
            }
            return (arguments, nil)
        }
        // A subcommand (add-port, add-client) reads the daemon's own options from its parent, so
        // the daemon's file applies to it unchanged.
        let sub = arguments.count > 1 && (subcommands[role] ?? []).contains(arguments[1]) ? arguments[1] : nil
        let command = [role] + (sub.map { [$0] } ?? [])
        let file = try ConfigFile(path: path, role: role)
        let fromFile = try file.arguments(for: keys(for: role), overriddenBy: arguments)
        return (command + fromFile + arguments.dropFirst(command.count), file)
    }

    /// Reads the daemon's configuration file again (for a reload) and parses the command anew, so
    /// the file is checked whole before anything changes. Also returns the keys whose values
    /// changed since the start (the caller applies those it can and names the others).
    static func reread<Command: ParsableCommand>(_ type: Command.Type) throws -> (Command, changed: [String]) {
        guard let old = startup.file else {
            return (try type.parse(Array(startup.arguments.dropFirst())), [])
        }
        let original = Array(CommandLine.arguments.dropFirst())
        let (arguments, file) = try expand(original)
        let command: Command
        do { command = try type.parse(Array(arguments.dropFirst())) } catch {
            throw CommandFailure("\(old.path): \(type.message(for: error))")
        }
        let keys = Set(old.table.keys).union(file?.table.keys ?? [])
        let changed = keys.filter { old.table[$0]?.tomlValue.debugDescription != file?.table[$0]?.tomlValue.debugDescription }.sorted()
        return (command, changed)
    }
}

/// A daemon's reload: its configuration file is read again and checked whole before anything
/// changes; `applyMembers` (switch, server) applies the member list the fresh file names and
/// returns how many members came and went; other changed keys are named, and apply at the next
/// start (a restart re-creates sockets and interfaces). Returns "ok: ..." or "error: ...".
func reloadConfiguration<Command: ParsableCommand>(_ type: Command.Type, memberKey: String? = nil, logger: Logger,
                                                   applyMembers: ((Command) throws -> (added: Int, removed: Int))? = nil) -> String {
    do {
        let (fresh, changed) = try ConfiguredArguments.reread(type)
        var parts: [String] = []
        if let applyMembers {
            let (added, removed) = try applyMembers(fresh)
            parts.append("\(added) added, \(removed) removed")
        }
        let later = changed.filter { $0 != memberKey }
        if !later.isEmpty { parts.append("\(later.joined(separator: ", ")) changed, applied at the next start") }
        let result = parts.isEmpty ? "nothing changed" : parts.joined(separator: "; ")
        logger.notice("reloaded: \(result)")
        return "ok: " + result
    } catch {
        logger.error("reload failed, nothing changed: \(error)")
        return "error: \(error)"
    }
}
