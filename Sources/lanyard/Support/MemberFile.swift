import Foundation
import LanyardCore
import LanyardLinux
#if canImport(Glibc)
import Glibc
#endif

/// Changing a ports or clients file the way an operator would by hand, safely: the whole file is
/// written anew and renamed over the old one (a reader never sees half of it), its mode kept, and
/// a running daemon told to re-read it through its control socket.
enum MemberFile {
    /// Appends `entry` (a `[Port]` or `[Client]` section) to `path`, creating it (mode 600) if
    /// missing; `check` sees the whole new text first, so a file the daemon would refuse (a key
    /// listed twice, a bad MAC) is never written.
    static func append(_ entry: String, to path: String, check: (String) throws -> Void) throws {
        let existing = KeyFiles.exists(path) ? try KeyFiles.contents(path, kind: .memberList) : ""
        do { try check(existing + entry) } catch { throw CommandFailure("\(path) would not be valid with this entry, nothing written: \(error)") }
        try writeAtomically(existing + entry, to: path)
    }

    /// Runs `body` (a read, check and rewrite of `path`) holding an exclusive `flock` on
    /// `PATH.lock` beside it, so two `add-port`/`remove-port` (or `add-client`/`remove-client`)
    /// run at once cannot both read the old file and lose one of their changes. The lock file is
    /// made mode 600 if missing and left in place (removing it would race with a waiting writer).
    static func locked<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandFailure("cannot open \(lockPath): \(SystemError.text(errno))") }
        defer { close(fd) } // releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw CommandFailure("cannot lock \(lockPath): \(SystemError.text(errno))") }
        }
        return try body()
    }

    /// The names in `path`'s sections of kind `section` ("Port", "Client").
    static func names(section: String, in path: String) throws -> [String] {
        guard KeyFiles.exists(path) else { return [] }
        let file: INIFile
        do { file = try INIFile(parsing: try KeyFiles.contents(path, kind: .memberList)) } catch let e as INIFile.ParseError {
            throw CommandFailure("\(path): \(e)")
        }
        return file.sections.filter { $0.name.lowercased() == section.lowercased() }.compactMap { try? $0.value("Name") }
    }

    /// Removes the `[section]` whose `Name` is `name` from `path`, keeping every other line as it is.
    static func remove(section: String, named name: String, from path: String) throws {
        let text = try KeyFiles.contents(path, kind: .memberList)
        let file: INIFile
        do { file = try INIFile(parsing: text) } catch { throw CommandFailure("\(path): \(error)") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var drop = Set<Int>()
        for (k, s) in file.sections.enumerated() where s.name.lowercased() == section.lowercased() {
            guard (try? s.value("Name")) == name else { continue }
            let end = k + 1 < file.sections.count ? file.sections[k + 1].line - 1 : lines.count
            for l in (s.line - 1)..<end { drop.insert(l) }
        }
        guard !drop.isEmpty else { throw CommandFailure("\(path) has no [\(section)] named \(name)") }
        let kept = lines.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        try writeAtomically(kept.joined(separator: "\n") + "\n", to: path)
    }

    /// The running daemon to tell: `--name`, else the instance a systemd unit gives a file named
    /// ROLE-NAME.toml (lanyard-ROLE@NAME reads /etc/lanyard/ROLE-NAME.toml), else nil (the only
    /// one running).
    static func instance(_ name: String?, config: String?, role: String) -> String? {
        if let name { return name }
        guard let config else { return nil }
        let file = (config as NSString).lastPathComponent
        guard file.hasPrefix("\(role)-"), file.hasSuffix(".toml") else { return nil }
        return String(file.dropFirst(role.count + 1).dropLast(5))
    }

    /// Tells a running daemon to re-read its configuration through its control socket: the one
    /// named `instance`, or the only `ROLE*.sock` in /run/lanyard. Prints the outcome on stderr
    /// and throws (exit status 1) if the daemon refused the change, which leaves the file changed
    /// and the daemon as it was (its log says why). No daemon running is not an error.
    static func reloadRunningDaemon(instance: String?, role: String) throws {
        var path: String?
        if let instance {
            path = "\(ControlServer.directory)/\(instance).sock"
        } else {
            let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: ControlServer.directory)) ?? [])
                .filter { $0.hasPrefix(role) && $0.hasSuffix(".sock") }
            if candidates.count == 1 { path = "\(ControlServer.directory)/\(candidates[0])" }
            if candidates.count > 1 {
                note("several daemons run here; apply the change with --name NAME or `lanyard reload NAME`")
                return
            }
        }
        guard let path, FileManager.default.fileExists(atPath: path) else {
            note("no running \(role) found\(instance.map { " named \($0)" } ?? ""); the change applies when it starts")
            return
        }
        let reply = (try? ControlClient.request(path: path, "reload")) ?? "error: no answer on \(path)"
        note("running \(role) (\(path)): \(reply)")
        if !reply.hasPrefix("ok") { throw CommandFailure("the running \(role) refused the change: \(reply)") }
    }

    private static func note(_ text: String) { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
}

/// Writes `text` to `path` atomically (a temporary file in the same folder, synced, then renamed
/// over it, and the folder synced so the rename survives a crash), keeping the file's mode, or
/// 0600 for a new file: a member file may hold preshared keys. Callers that read the file first
/// hold `MemberFile.locked`.
func writeAtomically(_ text: String, to path: String) throws {
    var info = stat()
    let mode: mode_t = lstat(path, &info) == 0 ? info.st_mode & 0o770 : 0o600
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard fd >= 0 else { throw CommandFailure("cannot write \(temporary): \(SystemError.text(errno))") }
    fchmod(fd, mode)  // the umask must not widen or narrow what the file had
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { close(fd); unlink(temporary); throw CommandFailure("cannot write \(temporary): \(SystemError.text(errno))") }
        written += n
    }
    guard fsync(fd) == 0, close(fd) == 0 else { unlink(temporary); throw CommandFailure("cannot write \(temporary): \(SystemError.text(errno))") }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw CommandFailure("cannot replace \(path): \(SystemError.text(errno))")
    }
    let folder = (path as NSString).deletingLastPathComponent
    let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dir >= 0 else { throw CommandFailure("cannot open \(folder) to sync it: \(SystemError.text(errno))") }
    defer { close(dir) }
    guard fsync(dir) == 0 else { throw CommandFailure("cannot sync \(folder): \(SystemError.text(errno))") }
}
