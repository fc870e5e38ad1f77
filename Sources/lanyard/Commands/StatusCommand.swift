import ArgumentParser
import Foundation
import LanyardLinux
import LanyardNode

/// `lanyard status`: asks running daemons for their state over their control sockets.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the state of running switches, ports and tunnels on this host.")

    @Argument(help: "Query this instance only (its --name).")
    var instance: String?

    @Option(help: "Query this instance only (its --name; same as the argument).")
    var name: String?

    @Option(help: "Query the daemon listening on this control socket.")
    var socket: String?

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        let paths: [String]
        if let socket { paths = [socket] }
        else if let name = instance ?? name { paths = ["\(ControlServer.directory)/\(name).sock"] }
        else {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: ControlServer.directory)) ?? []
            paths = files.filter { $0.hasSuffix(".sock") }.sorted().map { "\(ControlServer.directory)/\($0)" }
            if paths.isEmpty { throw CommandFailure("no running lanyard found (nothing in \(ControlServer.directory)); are you root?") }
        }
        var replies: [String] = []
        for path in paths {
            do { replies.append(try ControlClient.request(path: path, "status")) } catch {
                if paths.count == 1 { throw CommandFailure("cannot reach \(path): \(error)") }
            }
        }
        if json {
            print(replies.count == 1 ? replies[0] : "[" + replies.joined(separator: ",\n") + "]")
            return
        }
        for reply in replies { print(StatusFormatter.text(fromJSON: reply)) }
    }
}
