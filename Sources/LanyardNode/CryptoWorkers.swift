import LanyardCore
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// Threads that share a `CryptoQueue`'s jobs with the event loop's thread: the loop calls `run`,
/// which splits the queue into one contiguous range per thread, does the first range itself and
/// returns when every range is done. The loop then finishes the packets in their order, so
/// parallel crypto never reorders a flow.
///
/// Plain pthreads, a mutex and two condition variables: Dispatch would add a queue hop and an
/// allocation per batch, and Swift concurrency cannot block the loop's thread until the batch
/// is done, which in-order delivery needs.
public final class CryptoWorkers: @unchecked Sendable {
    /// Threads that run crypto, the caller's included.
    public let threads: Int
    /// What `--threads` defaults to: the processors online but one, at least 1 and at most 4.
    /// One core is left to the kernel's side of the traffic (UDP, TUN, the other processes):
    /// on 2 cores a second crypto thread only took CPU from it (the switch relayed 98,000 frames/s
    /// with 2 threads against 114,000 with 1 at 10,000 members; a tunnel gained nothing,
    /// BENCHMARKS.md). Past 4, the event loop's own work, not the AEAD, bounds one node.
    public static var defaultThreads: Int { min(max(sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1, 1), 4) }
    /// Below this many jobs per thread a batch runs on the caller alone: waking a thread costs
    /// more than a few packets' AEAD.
    static let minimumJobsPerThread = 4

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let started = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var generation: UInt64 = 0
    private var parts = 0
    private var unfinished = 0
    private var queue: CryptoQueue?
    private var stopping = false
    private var handles: [pthread_t] = []

    /// Starts `threads - 1` threads (none for 1). `threads` is clamped to 1...64. The threads
    /// hold the object until `stop()`: call it when the node ends.
    public init(threads: Int) {
        self.threads = min(max(threads, 1), 64)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(started, nil)
        pthread_cond_init(finished, nil)
        for index in 1..<self.threads {
            let context = Unmanaged.passRetained(WorkerContext(workers: self, index: index)).toOpaque()
            var handle = pthread_t()
            if pthread_create(&handle, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.workers.work(index: context.index)
                return nil
            }, context) == 0 {
                handles.append(handle)
            } else {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
                break
            }
        }
    }

    /// Stops and joins the threads.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(started)
        pthread_mutex_unlock(mutex)
        for handle in handles { pthread_join(handle, nil) }
        handles = []
    }

    deinit {
        stop()
        pthread_cond_destroy(started)
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        started.deallocate()
        finished.deallocate()
        mutex.deallocate()
    }

    /// Runs every job of `queue` and returns when all are done. Call from one thread at a time.
    public func run(_ queue: CryptoQueue) {
        let count = queue.count
        let parts = min(handles.count + 1, count / Self.minimumJobsPerThread)
        guard parts > 1 else {
            queue.run(0..<count)
            return
        }
        pthread_mutex_lock(mutex)
        self.queue = queue
        self.parts = parts
        unfinished = parts - 1
        generation &+= 1
        pthread_cond_broadcast(started)
        pthread_mutex_unlock(mutex)
        queue.run(Self.range(0, of: parts, count: count))
        pthread_mutex_lock(mutex)
        while unfinished > 0 { pthread_cond_wait(finished, mutex) }
        self.queue = nil
        pthread_mutex_unlock(mutex)
    }

    /// Part `part` of `parts` near-equal contiguous ranges of `0..<count`.
    static func range(_ part: Int, of parts: Int, count: Int) -> Range<Int> {
        (part * count / parts)..<((part + 1) * count / parts)
    }

    private func work(index: Int) {
        var seen: UInt64 = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(started, mutex) }
            if stopping { break }
            seen = generation
            guard index < parts, let queue else { continue }
            let range = Self.range(index, of: parts, count: queue.count)
            pthread_mutex_unlock(mutex)
            queue.run(range)
            pthread_mutex_lock(mutex)
            unfinished -= 1
            if unfinished == 0 { pthread_cond_signal(finished) }
        }
        pthread_mutex_unlock(mutex)
    }

    private final class WorkerContext {
        let workers: CryptoWorkers
        let index: Int
        init(workers: CryptoWorkers, index: Int) { self.workers = workers; self.index = index }
    }
}

/// Encryption queued on the way out, run on every crypto thread just before a batch is sent.
final class ParallelSeals {
    let queue = CryptoQueue()
    let workers: CryptoWorkers

    init(workers: CryptoWorkers) { self.workers = workers }

    /// Runs what is queued; returns how many seals failed.
    func run() -> Int {
        guard queue.count > 0 else { return 0 }
        workers.run(queue)
        return queue.removeAll()
    }
}

/// The data messages of one received batch, checked in order, decrypted together on every crypto
/// thread, then finished in arrival order (`SecureLink.beginOpen` / `finishOpen`). `Context` is
/// what the node needs to deliver a message once it is open.
final class ParallelOpens<Context> {
    private let queue = CryptoQueue()
    private let workers: CryptoWorkers
    private var pending: [(open: PendingOpen, link: SecureLink, context: Context)] = []

    init(workers: CryptoWorkers) {
        self.workers = workers
        pending.reserveCapacity(1_024)
    }

    /// First half of opening `datagram` on `link`: a data message waits for `finish` (nil);
    /// anything else is handled at once and its action returned.
    func begin(_ datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, on link: SecureLink,
               now: Nanoseconds, context: Context) -> LinkAction? {
        switch link.beginOpen(datagram, into: out, now: now, queue: queue) {
        case .queued(let open):
            pending.append((open, link, context))
            return nil
        case .done(let action):
            return action
        }
    }

    /// Decrypts what waits, then gives each message's action to `opened`, in arrival order.
    func finish(now: Nanoseconds, _ opened: (LinkAction, Context) -> Void) {
        guard !pending.isEmpty else { return }
        workers.run(queue)
        for p in pending { opened(p.link.finishOpen(p.open, queue: queue, now: now), p.context) }
        pending.removeAll(keepingCapacity: true)
        queue.removeAll()
    }
}
