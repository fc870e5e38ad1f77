import Foundation
import Glibc
import LanyardWireGuard

/// A `lanyard switch` child process on [2001:db8:5::1]:port (in the generator's network
/// namespace) with its key and ports files in a temporary folder. `stop()` sends SIGTERM
/// (SIGKILL after 5 s) and deletes the folder.
final class SwitchProcess {
    let process = Process()
    let directory: String
    let port: UInt16
    let name: String

    /// Writes the switch's private key (mode 600) and a ports file listing `ports`, then starts
    /// `binary` listening on [`AddressPlan.switchAddress`]:`port`, with `settings` (more
    /// `lanyard switch` options) added.
    init(binary: String, key: PrivateKey, ports: [PublicKey], port: UInt16, settings: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LoadError("no lanyard binary at \(binary) (build it with `swift build -c release` or pass --lanyard)")
        }
        // In $TMPDIR when set: bench/loadgen.sh points it at a folder it deletes on every exit.
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(tmp)/lanyard-loadgen-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LoadError("mkdtemp failed") }
        directory = String(cString: made)
        self.port = port
        name = "lg\(getpid())"
        let keyPath = directory + "/switch.key"
        let portsPath = directory + "/ports.conf"
        var text = ""
        text.reserveCapacity(ports.count * 80)
        for (i, key) in ports.enumerated() { text += "[Port]\nName = p\(i)\nPublicKey = \(key.base64)\n\n" }
        // LANYARD_LOADGEN_DATABASE=1: the members go into an SQLite database (`lanyard member
        // import`) and the switch reads them from there, with its management API on
        // /run/lanyard/NAME.api.sock (bench/control.sh loads the API during the run).
        let database = ProcessInfo.processInfo.environment["LANYARD_LOADGEN_DATABASE"] == "1"
        let members = database ? ["--database", directory + "/members.db"] : ["--ports", portsPath]
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["switch", "--listen", "[\(AddressPlan.switchAddress)]:\(port)", "--private-key", keyPath,
                             "--name", name, "--log-level", "warning"] + members + settings
        do {
            try ChildProcess.writePrivateFile(key.base64 + "\n", to: keyPath)
            try ChildProcess.writePrivateFile(text, to: portsPath)
            if database {
                let importer = Process()
                importer.executableURL = URL(fileURLWithPath: binary)
                importer.arguments = ["member", "import", portsPath, "--database", directory + "/members.db"]
                try importer.run()
                importer.waitUntilExit()
                guard importer.terminationStatus == 0 else { throw LoadError("lanyard member import failed") }
            }
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// The child's process id.
    var pid: Int32 { process.processIdentifier }

    /// Waits (at most `timeout` seconds) until the switch's UDP socket is bound, reading
    /// /proc/net/udp6 (this namespace's). False if it exited or did not bind in time.
    func waitUntilListening(timeout: Double) -> Bool {
        let needle = Self.procNetAddress(AddressPlan.switchSocketAddress(port: port))
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else { return false }
            if let table = try? String(contentsOfFile: "/proc/net/udp6", encoding: .utf8), table.contains(needle) {
                return true
            }
            usleep(20_000)
        }
        return false
    }

    /// `address` as /proc/net/udp6 prints a local address: the four 32-bit words of the IPv6
    /// address in hex as the host stores them, then the port.
    static func procNetAddress(_ address: sockaddr_in6) -> String {
        var words = address.sin6_addr
        let hex = withUnsafeBytes(of: &words) { raw in
            (0..<4).map { String(format: "%08X", raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }.joined()
        }
        return hex + String(format: ":%04X", UInt16(bigEndian: address.sin6_port))
    }

    /// Resident memory of the switch in bytes; nil if unreadable.
    func residentBytes() -> Int? { ChildProcess.residentBytes(pid: pid) }

    /// Stops the switch (SIGTERM, then SIGKILL after 5 s) and deletes its files.
    func stop() {
        ChildProcess.stop(process)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
