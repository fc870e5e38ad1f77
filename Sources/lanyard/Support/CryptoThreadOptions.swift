import ArgumentParser
import LanyardNode

/// `--threads`, as every daemon whose sessions run on the shared data path takes it (tunnel,
/// switch, server; the drop-in reads LANYARD_THREADS, wireguard-go's contract having no option).
struct CryptoThreadOptions: ParsableArguments {
    @Option(help: "Threads that encrypt and decrypt, the event loop's included; 1 keeps all on the event loop (default: \(CryptoWorkers.defaultThreads) on this machine, the cores but one). Only what this daemon decrypts uses them: a switch's blind relay needs no crypto.")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be between 1 and 64") }
    }

    /// The crypto threads to start; stop them when the daemon ends.
    func makeWorkers() -> CryptoWorkers { CryptoWorkers(threads: threads ?? CryptoWorkers.defaultThreads) }
}
