import Glibc

/// A fatal problem of the load generator, shown to the user.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// Run outside the namespace bench/loadgen.sh makes.
    static let outsideNamespace = LoadError("""
        run me through bench/loadgen.sh (sudo bench/loadgen.sh --ports N ...): it makes the network namespace \
        this needs ([\(AddressPlan.switchAddress)] on lo, \(AddressPlan.portRange) routed to lo) and deletes it \
        afterwards; benchmark traffic never runs in the host's own namespace
        """)

    /// Stopped by a signal.
    static let interrupted = LoadError("interrupted")

    /// Throws `outsideNamespace` when this process shares PID 1's network namespace.
    static func checkNamespace() throws {
        func link(_ path: String) -> String? {
            var buffer = [CChar](repeating: 0, count: 256)
            let n = readlink(path, &buffer, buffer.count - 1)
            return n > 0 ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : nil
        }
        if let own = link("/proc/self/ns/net"), let host = link("/proc/1/ns/net"), own == host { throw outsideNamespace }
    }
}
