import ArgumentParser
import Foundation
import LanyardStore
import LanyardWireGuard

/// `lanyard member invite`: a join token for a new member.
struct MemberInviteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Print a join token: on the new machine, `lanyard port --join TOKEN` makes its key and joins.",
        discussion: "The token holds the switch's address and public key and a secret; the database keeps only the secret's hash. It is single-use unless --uses says otherwise; later members joining with it are named NAME-2, NAME-3 ...")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The name the new member gets.") var member: String
    @Option(help: "How long the token is valid: 30m, 24h, 7d (default 24h); 'never' for no end.") var expires: String = "24h"
    @Option(help: "How many members may join with it.") var uses: Int = 1
    @Flag(help: "Members that join with it wait until `lanyard member approve NAME`.") var approval = false
    @Option(help: "A label the new members get; repeatable.") var tag: [String] = []
    @Option(help: "The switch's public address HOST:PORT (default: its --endpoint); repeatable.") var endpoint: [String] = []

    func run() throws {
        let seconds = try Self.duration(expires)
        let store = try target.open()
        if let api = store as? APIMemberStore, endpoint.isEmpty {
            var body: [String: Any] = ["name": member, "uses": uses, "needsApproval": approval, "tags": tag]
            if let seconds { body["expiresInSeconds"] = seconds }
            let made = try storeCall { () throws(StoreError) in try api.invite(body) }
            return show(made.token ?? "", id: made.id, expiresAt: made.expiresAt)
        }
        let options = try target.switchOptions()
        guard let keyFile = options?.privateKey else {
            throw CommandFailure("the switch's public key is needed for the token: give --config (the switch's file), or run this while the switch runs")
        }
        let switchKey = try KeyFiles.privateKey(at: keyFile).publicKey
        let endpoints = endpoint.isEmpty ? options?.endpoint ?? [] : endpoint
        let (token, invite) = try storeCall { () throws(StoreError) in
            try Invitation.make(name: member, switchKey: switchKey, endpoints: endpoints, expiresIn: seconds, uses: uses,
                                needsApproval: approval, tags: tag, now: UnixTime.now)
        }
        let direct = try target.open(direct: true)
        try storeCall { () throws(StoreError) in try direct.createInvite(invite) }
        show(token.text, id: invite.id, expiresAt: invite.expiresAt)
    }

    private func show(_ token: String, id: String, expiresAt: Int64?) {
        print(token)
        note("invite \(id) for \(member): \(uses == 1 ? "single use" : "\(uses) uses"), " +
             (expiresAt.map { "valid until \(Date(timeIntervalSince1970: TimeInterval($0)))" } ?? "no expiry") +
             ". Revoke it with `lanyard member revoke \(id)`.")
    }

    /// "90s", "30m", "24h", "7d", or "never" (nil).
    static func duration(_ text: String) throws -> Int64? {
        if text == "never" { return nil }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropLast()), n > 0, n <= 3650 * 86400 / unit else {
            throw CommandFailure("--expires '\(text)' is not a duration: use e.g. 30m, 24h, 7d, or never")
        }
        return n * unit
    }
}

struct MemberInvitesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "invites", abstract: "List invites (never their secrets).")
    @OptionGroup var target: MemberTarget
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let invites = try storeCall(try target.open().invites)
        if json { return try printJSON(invites.map { InviteJSON($0) }) }
        let now = UnixTime.now
        print("ID\tNAME\tSTATE\tUSED\tLEFT\tEXPIRES")
        for i in invites {
            let state = i.revoked ? "revoked" : (i.expiresAt.map { $0 <= now } == true ? "expired" : (i.usesLeft == 0 ? "used" : "valid"))
            print("\(i.id)\t\(i.name)\t\(state)\t\(i.used)\t\(i.usesLeft)\t\(i.expiresAt.map { "\(Date(timeIntervalSince1970: TimeInterval($0)))" } ?? "never")")
        }
    }
}

struct MemberRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an invite: its token no longer lets anyone join.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The invite's id (`lanyard member invites`).") var id: String

    func run() throws {
        let store = try target.open()
        try storeCall { () throws(StoreError) in try store.revokeInvite(id) }
        note("revoked invite \(id)")
    }
}

/// `lanyard member operator`: the people who may use the API over TCP.
struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Manage operators of the management API over TCP (bearer tokens).",
        subcommands: [OperatorAddCommand.self, OperatorRemoveCommand.self, OperatorListCommand.self])
}

struct OperatorAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an operator and print its token (shown once; only its hash is kept).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The operator's name.") var operatorName: String

    func run() throws {
        let token = OperatorToken.make()
        let store = try target.open(direct: true)
        try storeCall { () throws(StoreError) in try store.addOperator(operatorName, tokenHash: OperatorToken.hash(token)) }
        print(token)
        note("operator \(operatorName) added: send Authorization: Bearer TOKEN to the API on --api-listen")
    }
}

struct OperatorRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an operator: its token stops working at once.")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The operator's name.") var operatorName: String

    func run() throws {
        let store = try target.open(direct: true)
        try storeCall { () throws(StoreError) in try store.removeOperator(operatorName) }
        note("operator \(operatorName) removed")
    }
}

struct OperatorListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List operators.")
    @OptionGroup var target: MemberTarget
    func run() throws { for name in try storeCall(try target.open(direct: true).operators) { print(name) } }
}
