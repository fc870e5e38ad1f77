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

    @Flag(help: "Print JSON for scripts (every port and MAC, fetched in pages).")
    var json = false

    @Flag(help: "List every port and MAC of a large switch or server (by default, above \(Self.shownWithoutAll) ports, a summary and the first ones).")
    var all = false

    /// Ports shown without --all; tables are fetched in pages of `pageSize`, so that a status of
    /// 10,000 ports never holds up the daemon's forwarding for long.
    static let shownWithoutAll = 100
    static let pageSize = 500

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
            do { replies.append(try fetch(path)) } catch {
                if paths.count == 1 { throw CommandFailure("cannot reach \(path): \(error)") }
            }
        }
        if json {
            print(replies.count == 1 ? replies[0] : "[" + replies.joined(separator: ",\n") + "]")
            return
        }
        for reply in replies { print(StatusFormatter.text(fromJSON: reply)) }
    }

    /// One daemon's status: a switch's or server's summary, then its tables page by page (all of
    /// them with --all or --json, else the first ones); a port's members the same way; any other
    /// daemon's status as it is.
    func fetch(_ path: String) throws -> String {
        let first = try ControlClient.request(path: path, "status summary")
        if var port = try? JSONDecoder().decode(LinkStatus.self, from: Data(first.utf8)), let total = port.memberCount {
            var members = port.members ?? []
            try fetchPages(path, total: total) { (page: LinkStatus) in
                members += page.members ?? []
                return page.members?.count ?? 0
            }
            port.members = members
            return encodeStatus(port)
        }
        guard var summary = try? JSONDecoder().decode(SwitchStatus.self, from: Data(first.utf8)),
              summary.kind == "switch" || summary.kind == "server", let total = summary.portCount else { return first }
        try fetchPages(path, total: total) { (page: SwitchStatus) in
            summary.ports += page.ports
            summary.macTable += page.macTable
            return page.ports.count
        }
        return encodeStatus(summary)
    }

    /// Asks for `status page OFFSET LIMIT` until all `total` rows (or, without --all and --json,
    /// the first `shownWithoutAll`) have come; `add` takes a page and says how many rows it held.
    /// An empty page (the table shrank meanwhile) ends it.
    func fetchPages<Page: Decodable>(_ path: String, total: Int, add: (Page) -> Int) throws {
        let wanted = all || json ? total : min(total, Self.shownWithoutAll)
        var offset = 0
        while offset < wanted {
            let reply = try ControlClient.request(path: path, "status page \(offset) \(min(Self.pageSize, wanted - offset))")
            guard let page = try? JSONDecoder().decode(Page.self, from: Data(reply.utf8)) else { break }
            let rows = add(page)
            if rows == 0 { break }
            offset += rows
        }
    }
}
