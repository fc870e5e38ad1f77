import Foundation
import Glibc
import LanyardWireGuard

/// A real `lanyard port` (the switch's binary) in the generator's namespace: one more member in
/// the switch's ports file, its key in the switch's folder, its own TAP device with a
/// documentation address, and a control socket that `lanyard status NAME --json` reads.
/// `stop()` sends SIGTERM (SIGKILL after 5 s) and makes sure the TAP device and its files are gone.
final class RealPort {
    /// What the generator reads of `lanyard status NAME --json` (a port's `LinkStatus`).
    struct Status: Decodable {
        struct Member: Decodable { let path: String }
        let state: String
        let members: [Member]?
        let drops: [String: UInt64]

        var known: Int { members?.count ?? 0 }
        var direct: Int { members?.filter { $0.path == "direct" }.count ?? 0 }
    }

    /// The TAP's address (RFC 5737 documentation range; nothing routes it anywhere).
    static let tapAddress = "198.51.100.1/24"

    let process = Process()
    let binary: String
    let key: PrivateKey
    /// Its instance name (control socket /run/lanyard/NAME.sock) and TAP device.
    let name: String
    let tap: String
    private let keyPath: String

    /// Writes `key` into `folder` (mode 600) and starts `lanyard port` towards the switch at
    /// [`AddressPlan.switchAddress`]:`switchPort`.
    init(binary: String, key: PrivateKey, folder: String, switchKey: PublicKey, switchPort: UInt16) throws {
        self.binary = binary
        self.key = key
        name = "lg\(getpid())-port"
        tap = "lgp\(getpid())"
        keyPath = folder + "/real-port.key"
        try ChildProcess.writePrivateFile(key.base64 + "\n", to: keyPath)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["port", "--switch", "[\(AddressPlan.switchAddress)]:\(switchPort)", "--switch-key", switchKey.base64,
                             "--private-key", keyPath, "--tap", tap, "--address", Self.tapAddress, "--name", name,
                             "--log-level", "notice"]
        do { try process.run() } catch { unlink(keyPath); throw error }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Resident memory of the port in bytes; nil if unreadable.
    func residentBytes() -> Int? { ChildProcess.residentBytes(pid: pid) }

    /// Its state from `lanyard status NAME --json` (the whole member list in one reply: a port's
    /// status is not paged); nil if it does not answer within 20 s or the reply does not parse.
    func status() -> Status? {
        let query = Process()
        let output = Pipe()
        query.executableURL = URL(fileURLWithPath: binary)
        query.arguments = ["status", name, "--json"]
        query.standardOutput = output
        query.standardError = FileHandle.nullDevice
        guard (try? query.run()) != nil else { return nil }
        // The client bounds each read (2 s); this bounds the whole query.
        let watchdog = DispatchWorkItem { if query.isRunning { kill(query.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        query.waitUntilExit()
        watchdog.cancel()
        guard query.terminationStatus == 0 else { return nil }
        return try? JSONDecoder().decode(Status.self, from: data)
    }

    /// The TAP device's MAC address (sysfs of this namespace), nil if unreadable.
    func tapMAC() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(tap)/address", encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: ""), radix: 16)
    }

    /// Frames the port wrote to its TAP device so far (the device's rx_packets).
    func framesToTAP() -> Int? {
        (try? String(contentsOfFile: "/sys/class/net/\(tap)/statistics/rx_packets", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Stops the port and deletes its key file and control socket (left behind only if it had to
    /// be killed). Returns what was left over: its TAP device if it outlived the process (the
    /// namespace's deletion removes it then), its socket.
    @discardableResult
    func stop() -> [String] {
        ChildProcess.stop(process)
        var leftOver: [String] = []
        if FileManager.default.fileExists(atPath: "/sys/class/net/\(tap)") { leftOver.append("TAP device \(tap)") }
        let socket = "/run/lanyard/\(name).sock"
        if FileManager.default.fileExists(atPath: socket) { leftOver.append(socket); unlink(socket) }
        unlink(keyPath)
        return leftOver
    }
}
