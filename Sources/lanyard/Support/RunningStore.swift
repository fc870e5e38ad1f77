import Foundation
import LanyardCore
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard
import Logging

/// What a switch whose members live in a database runs beside its event loop: the store's own
/// thread (`StoreWorker`), the join desk, and the queue (`LoopInbox`) through which new member
/// lists, the store's health and join answers reach the loop. Nothing here blocks the loop.
final class RunningStore {
    enum Message: Sendable {
        /// The members that may join now, made into the data path's form on the store's thread,
        /// and the switches that serve the network.
        case members([AuthorizedPeer], [MeshSwitch])
        case health(StoreHealth)
        case joined(PublicKey, JoinOutcome, SocketAddress)
    }

    let worker: StoreWorker
    let inbox: LoopInbox<Message>
    /// The inbox's descriptor, for the event loop.
    let source: EventLoop.Source

    init(store: any MemberStore, first: MemberList, node: SwitchNode, io: BatchedSocket, key: PrivateKey,
         endpoints: [String], logger: Logger) throws {
        let inbox = try LoopInbox<Message>()
        let worker = StoreWorker(store: store, first: first, logger: logger,
                                 deliver: { inbox.post(.members($0.active.map(AuthorizedPeer.init(member:)), $0.switches.map(MeshSwitch.init(record:)))) },
                                 health: { inbox.post(.health($0)) })
        self.inbox = inbox
        self.worker = worker
        node.store = .init(worker.health)
        node.joins = JoinDesk(privateKey: key, io: io) { request, from in
            let id = request.inviteID.map { String(format: "%02x", $0) }.joined()
            let hash = JoinToken.secretHash(request.secret)
            let joiner = request.joinerKey
            worker.perform({ (store) throws(StoreError) in
                try store.redeem(inviteID: id, secretHash: hash, publicKey: joiner, now: UnixTime.now)
            }) { result in
                inbox.post(.joined(joiner, Self.outcome(result, endpoints: endpoints, logger: logger), from))
            }
        }
        source = .init(fileDescriptor: inbox.fileDescriptor) { now in
            for message in inbox.take() {
                switch message {
                case .members(let list, let switches):
                    node.apply(list, now: now)
                    node.applySwitches(switches, now: now)
                case .health(let health): node.store = .init(health)
                case .joined(let joiner, let outcome, let address): node.joins?.finish(joiner, outcome: outcome, to: address)
                }
            }
        }
        worker.start()
    }

    /// A reload: the members are read again at once (configuration changes apply at the next start).
    func reload() -> String {
        worker.refreshNow()
        return "ok: members are read again from \(worker.store.location)"
    }

    func stop() { worker.stop() }

    /// The answer a joiner gets for what the store made of its token.
    static func outcome(_ result: Result<Redemption, StoreError>, endpoints: [String], logger: Logger) -> JoinOutcome {
        switch result {
        case .success(.member(let name, pending: false)):
            logger.notice("\(name) joined with an invite")
            return .accepted(memberName: name, endpoints: endpoints)
        case .success(.member(let name, pending: true)):
            logger.notice("\(name) joined with an invite and waits for approval: `lanyard member approve \(name)`")
            return .pending
        case .success(.refused(let why)):
            logger.info("join refused: \(why)")
            switch why {
            case .invalid: return .refused(.invalid)
            case .expired: return .refused(.expired)
            case .used: return .refused(.used)
            case .keyTaken: return .refused(.keyTaken)
            }
        case .failure(let error):
            logger.warning("join not answered, the member store failed: \(error)")
            return .refused(.tryLater)
        }
    }
}

extension AuthorizedPeer {
    /// A member of the store as the data path sees it.
    init(member m: Member) {
        self.init(name: m.name, publicKey: m.publicKey, presharedKey: m.presharedKey, macs: m.macs, addresses: m.addresses)
    }
}

extension MeshSwitch {
    /// A switch listed in the store as the data path sees it.
    init(record r: SwitchRecord) { self.init(name: r.name, publicKey: r.publicKey, meshEndpoint: r.meshEndpoint) }
}

extension SwitchStatus.Store {
    init(_ h: StoreHealth) {
        self.init(location: h.location, reachable: h.reachable, appliedVersion: h.appliedVersion, appliedAt: h.appliedAt, lastError: h.lastError)
    }
}

/// Opening the member store a location names.
enum MemberStores {
    /// The SQLite file a daemon named `instance` uses when no database is given.
    static func defaultDatabase(instance: String) -> String { "/var/lib/lanyard/\(instance).db" }

    /// `location` without a password it may hold (for messages and logs).
    static func shown(_ location: String) -> String {
        guard let scheme = location.range(of: "://"), let at = location.range(of: "@", options: .backwards), scheme.upperBound < at.lowerBound,
              let colon = location[scheme.upperBound..<at.lowerBound].firstIndex(of: ":") else { return location }
        return String(location[..<colon]) + ":***" + String(location[at.lowerBound...])
    }

    /// A postgres:// URL, or an SQLite file (its folder made, mode 700, if missing).
    static func open(_ location: String, logger: Logger) throws -> any MemberStore {
        do {
            if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
                return try SQLMemberStore.postgres(url: location, logger: logger)
            }
            let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
                try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            return try SQLMemberStore.sqlite(path: path)
        } catch {
            throw CommandFailure("cannot open the member database \(shown(location)): \(error)")
        }
    }
}
