import CLanyardLinux

/// A fixed set of datagram slots with their buffers, allocated once and reused for every batch.
public final class DatagramBatch {
    public let capacity: Int
    public let bufferSize: Int
    /// Slots handed to recvmmsg/sendmmsg.
    public let slots: UnsafeMutablePointer<clanyard_datagram>
    private let memory: UnsafeMutableRawPointer
    /// Datagrams currently held (received, or queued to send).
    public var count = 0

    public init(capacity: Int = 64, bufferSize: Int = 65_535) {
        self.capacity = capacity
        self.bufferSize = bufferSize
        memory = .allocate(byteCount: capacity * bufferSize, alignment: 64)
        slots = .allocate(capacity: capacity)
        for i in 0..<capacity {
            slots[i] = clanyard_datagram()
            slots[i].buffer = memory + i * bufferSize
            slots[i].capacity = bufferSize
        }
    }

    /// The whole buffer of slot `i`.
    @inline(__always)
    public func buffer(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: slots[i].buffer, count: bufferSize)
    }

    /// The received bytes of slot `i` (length may exceed `bufferSize` by one for a truncated datagram).
    @inline(__always)
    public func received(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: slots[i].buffer, count: min(slots[i].length, bufferSize))
    }

    /// True when the datagram in slot `i` did not fit its buffer.
    @inline(__always)
    public func isTruncated(_ i: Int) -> Bool { slots[i].length > bufferSize }

    /// The sender of slot `i`.
    @inline(__always)
    public func address(_ i: Int) -> SocketAddress {
        SocketAddress(storage: slots[i].address, length: slots[i].address_length)
    }

    /// Sets the length and destination of slot `i` for sending.
    @inline(__always)
    public func prepare(_ i: Int, length: Int, to destination: SocketAddress) {
        slots[i].length = length
        slots[i].address = destination.storage
        slots[i].address_length = destination.length
    }

    public var isFull: Bool { count == capacity }

    deinit {
        memory.deallocate()
        slots.deallocate()
    }
}
