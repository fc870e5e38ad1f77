/// AEAD work the state machine queued instead of doing at once, so that a node can run a batch
/// of it on several threads and then finish the packets in their order (wireguard-go's parallel
/// crypto stage with in-order delivery, made explicit).
///
/// The protocol state (counters, replay windows, timers) is still advanced by one thread, in
/// packet order: a seal takes its counter when it is queued; an open is checked against the replay
/// window when it is queued and recorded in it only in `WireGuardPeer.finishOpen`, in order. Only
/// the ChaCha20-Poly1305 calls, the cost of a data packet, move to other threads; they touch
/// nothing but their own buffer and their key, which is read-only (clanyard_crypto.h).
///
/// Use: queue work (`WireGuardPeer.encapsulate(…, deferringTo:)`, `beginOpen`), call `run` on
/// disjoint ranges from any threads, wait for all of them, then read `succeeded` and call
/// `removeAll` before queueing the next batch. Buffers must stay valid and untouched from
/// queueing until `run` returns.
public final class CryptoQueue: @unchecked Sendable {
    struct Job {
        let cipher: TransportCipher
        let counter: UInt64
        let buffer: UnsafeMutableRawBufferPointer
        /// Bytes of plaintext (seal) or ciphertext without the tag (open); the tag follows them.
        let count: Int
        let seal: Bool
    }

    private var jobs: [Job] = []
    private var results: UnsafeMutablePointer<Bool>
    private var resultCapacity: Int

    /// A queue expecting about `capacity` jobs per batch (it grows if needed, outside `run`).
    public init(capacity: Int = 4_096) {
        jobs.reserveCapacity(capacity)
        resultCapacity = max(capacity, 16)
        results = .allocate(capacity: resultCapacity)
    }

    deinit { results.deallocate() }

    /// Jobs queued since the last `removeAll`.
    public var count: Int { jobs.count }

    func append(_ job: Job) -> Int {
        if jobs.count == resultCapacity {
            let bigger = UnsafeMutablePointer<Bool>.allocate(capacity: resultCapacity * 2)
            bigger.update(from: results, count: resultCapacity)
            results.deallocate()
            results = bigger
            resultCapacity *= 2
        }
        jobs.append(job)
        return jobs.count - 1
    }

    /// Moves the last job's buffer by `offset` bytes: its datagram was moved (with its header)
    /// before the queue ran.
    public func moveLastJob(by offset: Int) {
        guard offset != 0, let job = jobs.popLast() else { return }
        let moved = UnsafeMutableRawBufferPointer(start: job.buffer.baseAddress! + offset, count: job.buffer.count)
        jobs.append(Job(cipher: job.cipher, counter: job.counter, buffer: moved, count: job.count, seal: job.seal))
    }

    /// Forgets the last job (its datagram was dropped before the queue ran).
    public func cancelLastJob() { _ = jobs.popLast() }

    /// Runs the jobs in `range`. Calls on disjoint ranges may run at once on different threads.
    public func run(_ range: Range<Int>) {
        for i in range {
            let job = jobs[i]
            if job.seal {
                let ok = job.cipher.seal(counter: job.counter, buffer: job.buffer, count: job.count)
                if !ok { job.buffer.initializeMemory(as: UInt8.self, repeating: 0) }
                results[i] = ok
            } else {
                results[i] = job.cipher.open(counter: job.counter, buffer: job.buffer, count: job.count)
            }
        }
    }

    /// Whether job `index` authenticated (open) or encrypted (seal); valid after `run` covered it.
    public func succeeded(_ index: Int) -> Bool { results[index] }

    /// Forgets every job, keeping the memory for the next batch. Returns how many seals failed
    /// (libcrypto out of memory): their datagrams were overwritten with zeros, so the peer drops
    /// them as forgeries and nothing leaves in clear; the caller counts them.
    @discardableResult
    public func removeAll() -> Int {
        var failed = 0
        for i in jobs.indices where jobs[i].seal && !results[i] { failed += 1 }
        jobs.removeAll(keepingCapacity: true)
        return failed
    }
}
