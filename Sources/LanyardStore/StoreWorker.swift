import Dispatch
import Foundation
import Logging
import Synchronization

/// How a daemon's member store is doing, for status and metrics.
public struct StoreHealth: Sendable, Equatable {
    /// Where the members come from ("sqlite /var/lib/lanyard/office.db").
    public var location: String
    /// Whether the last call to the store succeeded.
    public var reachable: Bool
    /// The version of the list the daemon runs with.
    public var appliedVersion: Int64
    /// Unix seconds of the last list applied.
    public var appliedAt: Int64
    /// The last failure, while unreachable.
    public var lastError: String?
}

/// The thread that talks to a daemon's member store, so no database call ever runs on the event
/// loop: every call is queued here, and new member lists go out through `deliver` (which posts
/// them to the loop). It looks at the store's version every `interval` (the safety net) and at
/// once after each change made through it, or when the store says another writer changed it
/// (PostgreSQL's NOTIFY).
public final class StoreWorker: Sendable {
    public let store: any MemberStore
    private let queue = DispatchQueue(label: "lanyard.store")
    private let deliver: @Sendable (MemberList) -> Void
    private let reportHealth: @Sendable (StoreHealth) -> Void
    private let logger: Logger
    private let state: Mutex<(version: Int64, health: StoreHealth, lastComplaint: Int64)>
    /// The periodic check; set in `start`, cancelled in `stop` (a class: a timer is not Sendable).
    private final class TimerSlot: @unchecked Sendable {
        let lock = NSLock()
        var timer: (any DispatchSourceTimer)?
    }
    private let slot = TimerSlot()

    /// `first` is the list the daemon started with (read before its loop started).
    public init(store: any MemberStore, first: MemberList, logger: Logger,
                deliver: @escaping @Sendable (MemberList) -> Void, health: @escaping @Sendable (StoreHealth) -> Void) {
        self.store = store
        self.deliver = deliver
        self.reportHealth = health
        self.logger = logger
        let h = StoreHealth(location: store.location, reachable: true, appliedVersion: first.version, appliedAt: UnixTime.now)
        state = Mutex((first.version, h, 0))
    }

    /// Starts the periodic version check (and, where the store can, listening for changes).
    public func start(interval: Double = 2) {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(200))
        t.setEventHandler { [weak self] in self?.refresh() }
        t.resume()
        slot.lock.withLock { slot.timer = t }
        store.watch { [weak self] in
            guard let self else { return }
            self.queue.async { self.refresh() }
        }
    }

    public func stop() {
        slot.lock.withLock {
            slot.timer?.cancel()
            slot.timer = nil
        }
        store.stopWatching()
    }

    /// Runs `work` on the store's thread and hands its result to `done` there; a change made
    /// by `work` is delivered to the daemon before `done` is called (so a reply that follows a
    /// change finds it applied: the loop takes both in that order).
    /// `changes` false (a read) skips looking at the version afterwards.
    public func perform<T: Sendable>(changes: Bool = true, _ work: @escaping @Sendable (any MemberStore) throws(StoreError) -> T,
                                     done: @escaping @Sendable (Result<T, StoreError>) -> Void) {
        queue.async { [self] in
            let result: Result<T, StoreError>
            do throws(StoreError) { result = .success(try work(store)) } catch { result = .failure(error) }
            if changes { refresh() }
            done(result)
        }
    }

    /// `perform` for async callers (the API's handlers).
    public func run<T: Sendable>(changes: Bool = true, _ work: @escaping @Sendable (any MemberStore) throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            perform(changes: changes, work) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Looks at the store's version now (a reload), on the store's thread.
    public func refreshNow() { queue.async { self.refresh() } }

    /// The health as last seen.
    public var health: StoreHealth { state.withLock { $0.health } }

    /// Fetches the list if the version moved (on the store's thread).
    private func refresh() {
        let known = state.withLock { $0.version }
        do {
            let version = try store.version()
            var list: MemberList?
            if version != known { list = try store.current() }
            let (health, wasDown) = state.withLock { s -> (StoreHealth?, Bool) in
                let wasDown = !s.health.reachable
                s.health.reachable = true
                s.health.lastError = nil
                if let list {
                    s.version = list.version
                    s.health.appliedVersion = list.version
                    s.health.appliedAt = UnixTime.now
                }
                return (wasDown || list != nil ? s.health : nil, wasDown)
            }
            if let list { deliver(list) }
            if wasDown { logger.notice("member store \(store.location) reachable again") }
            if let health { reportHealth(health) }
        } catch {
            let now = UnixTime.now
            let (health, complain) = state.withLock { s -> (StoreHealth, Bool) in
                s.health.reachable = false
                s.health.lastError = error.description
                let complain = now - s.lastComplaint >= 60
                if complain { s.lastComplaint = now }
                return (s.health, complain)
            }
            // Once a minute: the daemon keeps forwarding with the members it has.
            if complain { logger.warning("member store unreachable, running with the members it had: \(error)") }
            reportHealth(health)
        }
    }
}
