import ArgumentParser
import Foundation
import LanyardLinux
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// Reading keys, member lists and configuration files safely: each is opened once without
/// following a symbolic link, and the checks (regular file, owner, mode) are made on the open
/// descriptor, so nothing can be swapped between the check and the read.
enum KeyFiles {
    /// What a file holds, which decides who may own and read it.
    enum Kind {
        /// A private or preshared key: owner root or the running user, nobody else may read it.
        case secret
        /// A ports or clients file (may hold preshared keys): as strict as a secret.
        case memberList
        /// A configuration file (names key files, holds no secret): nobody else may write it.
        case configuration
    }

    /// Why a file was refused; each message says what to do.
    enum Failure: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)
        case symbolicLink(path: String)
        case notRegular(path: String)
        case wrongOwner(path: String, owner: UInt32)
        case tooOpen(path: String, mode: UInt32, kind: Kind)

        var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "cannot read '\(path)': \(reason)"
            case .symbolicLink(let path): "'\(path)' is a symbolic link; name the file itself (links are not followed, so nobody can redirect it)"
            case .notRegular(let path): "'\(path)' is not a regular file"
            case .wrongOwner(let path, let owner):
                "'\(path)' belongs to uid \(owner), neither root nor the user running lanyard (uid \(geteuid())): run `chown \(geteuid()) \(path)`"
            case .tooOpen(let path, let mode, let kind):
                kind == .configuration
                    ? "'\(path)' can be changed by others (mode \(String(mode & 0o777, radix: 8))): run `chmod go-w \(path)`"
                    : "'\(path)' is readable by others (mode \(String(mode & 0o777, radix: 8))) and may hold keys: run `chmod 600 \(path)`"
            }
        }
    }

    /// Loads a private key (from `lanyard genkey` or `wg genkey`).
    static func privateKey(at path: String) throws -> PrivateKey {
        try secret(at: path, what: "private key", maker: "lanyard genkey", PrivateKey.init(base64:))
    }

    /// Loads a preshared key (from `lanyard genpsk` or `wg genpsk`).
    static func presharedKey(at path: String) throws -> PresharedKey {
        try secret(at: path, what: "preshared key", maker: "lanyard genpsk", PresharedKey.init(base64:))
    }

    private static func secret<Key>(at path: String, what: String, maker: String,
                                    _ parse: (String) throws(KeyError) -> Key) throws -> Key {
        let text: String
        do { text = try contents(path, kind: .secret) } catch Failure.cannotOpen(_, let reason) {
            throw CommandFailure("cannot read \(what) file '\(path)': \(reason). Make one with `(umask 077; \(maker) > \(path))`.")
        }
        do { return try parse(text) } catch {
            throw CommandFailure("'\(path)' does not hold a \(what) (one line of base64 from `\(maker)`).")
        }
    }

    /// Parses a public key given on the command line.
    static func publicKey(_ text: String, option: String) throws -> PublicKey {
        do { return try PublicKey(base64: text) } catch {
            throw CommandFailure("\(option) '\(text)' is not a WireGuard public key (44 characters of base64 from `lanyard pubkey`).")
        }
    }

    /// Whether `path` exists (without following a final symbolic link).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Reads a whole file of the given kind, trimmed, after checking it on the open descriptor.
    static func contents(_ path: String, kind: Kind) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ELOOP { throw .symbolicLink(path: path) }
            throw .cannotOpen(path: path, reason: SystemError.text(errno))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path: path, reason: SystemError.text(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular(path: path) }
        guard info.st_uid == 0 || info.st_uid == geteuid() else { throw .wrongOwner(path: path, owner: info.st_uid) }
        let forbidden: mode_t = kind == .configuration ? 0o022 : 0o077
        guard info.st_mode & forbidden == 0 else { throw .tooOpen(path: path, mode: UInt32(info.st_mode), kind: kind) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .cannotOpen(path: path, reason: SystemError.text(errno)) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 16 << 20 else { throw .cannotOpen(path: path, reason: "larger than 16 MiB") }
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if kind == .secret {
            bytes.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
            chunk.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        }
        return text
    }
}
