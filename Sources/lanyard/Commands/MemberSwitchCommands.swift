import ArgumentParser
import LanyardStore

/// `lanyard member switches`: the switches that serve one network from a shared database.
struct MemberSwitchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switches",
        abstract: "List the switches that serve the network (each lists itself at start with --mesh-endpoint).")
    @OptionGroup var target: MemberTarget

    func run() throws {
        let store = try target.open(direct: true)
        let list = try storeCall { () throws(StoreError) in try store.current().switches }
        if list.isEmpty { note("no switch is listed in \(store.location)"); return }
        for s in list {
            print("\(s.name)\t\(s.publicKey.base64)\tmesh \(s.meshEndpoint)\tmembers reach it at \(s.endpoints.isEmpty ? "-" : s.endpoints.joined(separator: " "))")
        }
    }
}

/// `lanyard member remove-switch NAME`: a switch retired (or given a new key) leaves the list;
/// the others end their sessions with it at once.
struct MemberRemoveSwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-switch",
        abstract: "Take a switch off the network's list (a retired switch, or one whose key changed).")
    @OptionGroup var target: MemberTarget
    @Argument(help: "The switch's name (its --name).") var switchName: String

    func run() throws {
        let store = try target.open(direct: true)
        try storeCall { () throws(StoreError) in try store.removeSwitch(switchName) }
        note("removed switch \(switchName) (\(store.location))")
    }
}
