import CLanyardLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The narrow queue into an event loop from other threads (the member store's, the API
/// server's): messages wait in a locked array and an eventfd makes the loop's poll wake. Only
/// control-plane messages pass here, never packets, so a lock per message is fine.
public final class LoopInbox<Message: Sendable>: Sendable {
    private let waiting = Mutex<[Message]>([])
    /// Readable (a count above zero) while messages wait.
    public let fileDescriptor: Int32

    public init() throws(SystemError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw .call("eventfd", errno: errno) }
        fileDescriptor = fd
    }

    deinit { close(fileDescriptor) }

    /// Queues `message` for the loop (any thread).
    public func post(_ message: Message) {
        waiting.withLock { $0.append(message) }
        var one: UInt64 = 1
        _ = write(fileDescriptor, &one, 8)
    }

    /// Takes the waiting messages, at most `limit` (the loop's thread, when the descriptor is
    /// readable); the descriptor stays readable while more wait, so a flood of requests is
    /// answered a slice per wake, between batches of packets.
    public func take(limit: Int = .max) -> [Message] {
        var count: UInt64 = 0
        _ = read(fileDescriptor, &count, 8)
        let (taken, left) = waiting.withLock { queue -> ([Message], Bool) in
            let n = min(limit, queue.count)
            let taken = Array(queue.prefix(n))
            queue.removeFirst(n)
            return (taken, !queue.isEmpty)
        }
        if left {
            var one: UInt64 = 1
            _ = write(fileDescriptor, &one, 8)
        }
        return taken
    }
}
