import ArgumentParser
import Foundation
import LanyardWireGuard

/// Reading keys from files the way `wg` does: base64 on one line, private keys not readable by others.
enum KeyFiles {
    /// Loads a private key; refuses a file that group or others can read (as a private key must never be).
    static func privateKey(at path: String) throws -> PrivateKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CommandFailure("cannot read private key file '\(path)': \(String(cString: strerror(errno))). Make one with `lanyard genkey > \(path)`.")
        }
        if info.st_mode & 0o077 != 0 {
            throw CommandFailure("private key file '\(path)' is readable by others: run `chmod 600 \(path)`.")
        }
        let text = try contents(path)
        do { return try PrivateKey(base64: text) } catch {
            throw CommandFailure("'\(path)' does not hold a private key (one line of base64 from `lanyard genkey` or `wg genkey`).")
        }
    }

    /// Loads a preshared key from a file (same rules as a private key).
    static func presharedKey(at path: String) throws -> PresharedKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CommandFailure("cannot read preshared key file '\(path)'.") }
        if info.st_mode & 0o077 != 0 {
            throw CommandFailure("preshared key file '\(path)' is readable by others: run `chmod 600 \(path)`.")
        }
        do { return try PresharedKey(base64: try contents(path)) } catch {
            throw CommandFailure("'\(path)' does not hold a preshared key (one line of base64 from `lanyard genpsk`).")
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
