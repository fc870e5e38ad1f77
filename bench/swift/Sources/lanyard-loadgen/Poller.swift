import CLanyardLinux
import CLoadgenEpoll
import Glibc

/// epoll(7) over the shared sockets plus a signalfd for SIGINT, SIGTERM and SIGHUP: a wait costs
/// what is ready, and Ctrl-C ends the run through the normal clean-up (switch stopped, files
/// deleted) instead of killing the generator mid-way.
final class Poller {
    private let epoll: Int32
    private let signals: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 256)
    private static let signalTag = UInt64.max
    /// Set once a termination signal arrived; every phase stops soon after.
    private(set) var interrupted = false

    /// Blocks the termination signals for this thread (and threads made later): call before
    /// anything starts a thread.
    init() throws(SystemCallError) {
        let fd = clanyard_signalfd_open()
        guard fd >= 0 else { throw SystemCallError("signalfd", errno: -fd) }
        signals = fd
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { close(fd); throw SystemCallError("epoll_create1") }
        add(signals, tag: Self.signalTag)
    }

    deinit {
        close(epoll)
        close(signals)
    }

    /// Watches `fd` for input; `tag` comes back from `wait`.
    func add(_ fd: Int32, tag: Int) { add(fd, tag: UInt64(tag)) }

    private func add(_ fd: Int32, tag: UInt64) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = tag
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0, "epoll_ctl failed")
    }

    /// Waits at most `milliseconds` and calls `ready` with the tag of each readable descriptor.
    /// Returns how many were readable.
    @discardableResult
    func wait(milliseconds: Int32, ready: (Int) -> Void) -> Int {
        let n = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), milliseconds) }
        guard n > 0 else { return 0 }
        for k in 0..<Int(n) {
            let tag = events[k].data.u64
            if tag == Self.signalTag {
                if clanyard_signalfd_read(signals) > 0 { interrupted = true }
            } else {
                ready(Int(tag))
            }
        }
        return Int(n)
    }
}
