import Foundation
import Glibc

/// What the generator's child processes (the switch, the real port) share: private files,
/// memory readings and a bounded stop.
enum ChildProcess {
    /// Writes `text` to `path` with mode 600 (lanyard refuses key and member files others can read).
    static func writePrivateFile(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw LoadError("cannot write \(path)")
        }
    }

    /// Resident memory of process `pid` (VmRSS in /proc/PID/status), in bytes; nil if unreadable.
    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// Stops `process` if it runs: SIGTERM, then SIGKILL after `grace` seconds.
    static func stop(_ process: Process, grace: Double = 5) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}
