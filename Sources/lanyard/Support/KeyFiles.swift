import ArgumentParser
import Foundation
import LanyardLinux
import LanyardWireGuard

/// Reading keys from files the way `wg` does: base64 on one line, private keys not readable by others.
enum KeyFiles {
    /// Loads a private key (from `lanyard genkey` or `wg genkey`).
    static func privateKey(at path: String) throws -> PrivateKey {
        try secret(at: path, what: "private key", maker: "lanyard genkey", PrivateKey.init(base64:))
    }

    /// Loads a preshared key (from `lanyard genpsk` or `wg genpsk`).
    static func presharedKey(at path: String) throws -> PresharedKey {
        try secret(at: path, what: "preshared key", maker: "lanyard genpsk", PresharedKey.init(base64:))
    }

    /// Reads a secret key file, refusing one that group or others can read (as `wg` warns).
    private static func secret<Key>(at path: String, what: String, maker: String,
                                    _ parse: (String) throws(KeyError) -> Key) throws -> Key {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CommandFailure("cannot read \(what) file '\(path)': \(SystemError.text(errno)). Make one with `(umask 077; \(maker) > \(path))`.")
        }
        if info.st_mode & 0o077 != 0 {
            throw CommandFailure("\(what) file '\(path)' is readable by others: run `chmod 600 \(path)`.")
        }
        do { return try parse(try contents(path)) } catch {
            throw CommandFailure("'\(path)' does not hold a \(what) (one line of base64 from `\(maker)`).")
        }
    }

    /// Parses a public key given on the command line.
    static func publicKey(_ text: String, option: String) throws -> PublicKey {
        do { return try PublicKey(base64: text) } catch {
            throw CommandFailure("\(option) '\(text)' is not a WireGuard public key (44 characters of base64 from `lanyard pubkey`).")
        }
    }

    static func contents(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read '\(path)'.")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
