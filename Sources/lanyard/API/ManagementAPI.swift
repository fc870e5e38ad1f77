import Foundation
import Hummingbird
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard

/// The management API's routes: members, invites, live state, reload. Handlers run on the HTTP
/// server's threads; the store is reached through its own thread (`StoreWorker`) and live state
/// through the loop's request queue, so nothing here can stall the data path.
struct ManagementAPI: Sendable {
    let worker: StoreWorker
    let loop: LoopAsker
    let network: String
    let switchKey: PublicKey
    let endpoints: [String]

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/network") { _, _ in
            try jsonResponse(NetworkJSON(name: network, publicKey: switchKey.base64, endpoints: endpoints, store: .init(worker.health)))
        }
        router.get("/v1/members") { request, _ in
            let list = try await store(changes: false) { (s) throws(StoreError) in try s.current() }
            let live = request.uri.queryParameters["live"] == "true" ? try await livePorts() : [:]
            return try jsonResponse(MemberListJSON(version: list.version, members: list.members.map { MemberJSON($0, live: live[$0.name]) }))
        }
        router.post("/v1/members") { request, _ in
            let body = try await JSONFields.read(request, allowed: ["name", "publicKey", "presharedKey", "macs", "addresses", "tags", "enabled"],
                                                 required: ["name", "publicKey"])
            var member = try fields {
                Member(name: try body.string("name") ?? "", publicKey: try MemberFields.key(try body.string("publicKey") ?? ""),
                       macs: try MemberFields.macs(try body.strings("macs") ?? []),
                       addresses: try MemberFields.addresses(try body.strings("addresses") ?? []),
                       tags: try body.strings("tags") ?? [], enabled: try body.bool("enabled") ?? true, createdAt: UnixTime.now)
            }
            if let psk = try body.string("presharedKey") {
                guard let k = try? PresharedKey(base64: psk) else { throw APIError(.badRequest, "presharedKey is not a key made by `lanyard genpsk`") }
                member.presharedKey = k
            }
            let added = member
            try await store { (s) throws(StoreError) in try s.add(added) }
            return try jsonResponse(MemberJSON(added), status: .created)
        }
        router.get("/v1/members/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard let member = try await store(changes: false, { (s) throws(StoreError) in try s.member(named: name) }) else { throw APIError(StoreError.noSuchMember(name)) }
            return try jsonResponse(MemberJSON(member, live: try await livePorts()[name]))
        }
        router.patch("/v1/members/{name}") { request, context in
            let name = try context.parameters.require("name")
            let body = try await JSONFields.read(request, allowed: ["name", "tags", "enabled", "pending", "macs", "addresses"])
            let change = try fields {
                MemberChange(name: try body.string("name"), tags: try body.strings("tags"), enabled: try body.bool("enabled"),
                             pending: try body.bool("pending"), macs: try body.strings("macs").map(MemberFields.macs),
                             addresses: try body.strings("addresses").map(MemberFields.addresses))
            }
            let member = try await store { (s) throws(StoreError) in try s.update(name, change) }
            return try jsonResponse(MemberJSON(member))
        }
        router.delete("/v1/members/{name}") { _, context in
            let name = try context.parameters.require("name")
            try await store { (s) throws(StoreError) in try s.remove(name) }
            return Response(status: .noContent)
        }
        router.get("/v1/invites") { _, _ in
            try jsonResponse(try await store(changes: false) { (s) throws(StoreError) in try s.invites() }.map { InviteJSON($0) })
        }
        router.post("/v1/invites") { request, _ in
            let body = try await JSONFields.read(request, allowed: ["name", "expiresInSeconds", "uses", "needsApproval", "tags"], required: ["name"])
            let expires = try body.integer("expiresInSeconds", in: 1...(10 * 365 * 86400))
            let uses = try body.integer("uses", in: 1...1000) ?? 1
            let (token, invite) = try fields {
                try Invitation.make(name: try body.string("name") ?? "", switchKey: switchKey, endpoints: endpoints, expiresIn: expires,
                                    uses: Int(uses), needsApproval: try body.bool("needsApproval") ?? false,
                                    tags: try body.strings("tags") ?? [], now: UnixTime.now)
            }
            try await store { (s) throws(StoreError) in try s.createInvite(invite) }
            return try jsonResponse(InviteJSON(invite, token: token.text), status: .created)
        }
        router.delete("/v1/invites/{id}") { _, context in
            let id = try context.parameters.require("id")
            try await store { (s) throws(StoreError) in try s.revokeInvite(id) }
            return Response(status: .noContent)
        }
        router.get("/v1/status") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: await loop.ask(.status("status")))))
        }
        router.post("/v1/reload") { _, _ in
            let result = await loop.ask(.reload)
            return try jsonResponse(["result": result], status: result.hasPrefix("ok") ? .ok : .internalServerError)
        }
    }

    /// Runs `work` on the store's thread; a refusal becomes the matching HTTP error.
    private func store<T: Sendable>(changes: Bool = true, _ work: @escaping @Sendable (any MemberStore) throws(StoreError) -> T) async throws -> T {
        do { return try await worker.run(changes: changes, work) } catch { throw APIError(error) }
    }

    /// Reads request fields; a bad value is a 400 with the store's message.
    private func fields<T>(_ read: () throws -> T) throws -> T {
        do { return try read() } catch let error as StoreError { throw APIError(error) }
    }

    /// The running switch's view of each member, by name.
    private func livePorts() async throws -> [String: SwitchStatus.Port] {
        let text = await loop.ask(.status("status ports"))
        guard let status = try? JSONDecoder().decode(SwitchStatus.self, from: Data(text.utf8)) else { return [:] }
        return Dictionary(status.ports.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Asks the daemon's event loop (through its request queue) and awaits the answer.
struct LoopAsker: Sendable {
    let inbox: LoopInbox<LoopRequest>

    func ask(_ kind: LoopRequest.Kind) async -> String {
        let answer = await withCheckedContinuation { (continuation: CheckedContinuation<@Sendable () -> String, Never>) in
            inbox.post(LoopRequest(kind) { continuation.resume(returning: $0) })
        }
        return answer()
    }
}
