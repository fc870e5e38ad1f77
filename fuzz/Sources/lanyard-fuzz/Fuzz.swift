import Foundation
import LanyardCore
import LanyardWireGuard

// One libFuzzer binary, one target per parser or state machine, chosen by LANYARD_FUZZ_TARGET
// (fuzz/run.sh runs each). Every target feeds the input where the network or a file would, and
// checks what must hold for any input: no trap, and refusals are typed errors, never a crash.

/// Which target this process fuzzes.
nonisolated(unsafe) let target = ProcessInfo.processInfo.environment["LANYARD_FUZZ_TARGET"] ?? "lanyard-message"

/// A responder peer and a directory with fixed keys, made once per process (the handshake targets).
nonisolated(unsafe) let responderKey = try! PrivateKey(rawValue: [UInt8](repeating: 7, count: 32))
nonisolated(unsafe) let initiatorKey = try! PrivateKey(rawValue: [UInt8](repeating: 9, count: 32))
nonisolated(unsafe) let directory = WireGuardResponderDirectory(localPrivate: responderKey)
nonisolated(unsafe) let peer = directory.addPeer(publicKey: initiatorKey.publicKey, presharedKey: nil,
                                                 wallClock: { WallClockTime(seconds: 1_700_000_000, nanoseconds: 0) })
nonisolated(unsafe) var clock: UInt64 = 1_000_000_000
nonisolated(unsafe) let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch target {
    case "lanyard-message": lanyardMessage(bytes)
    case "relay-header": relayHeader(bytes)
    case "uapi": uapi(bytes)
    case "config": config(bytes)
    case "handshake": handshake(bytes)
    case "ethernet": ethernet(bytes)
    case "offload": offload(bytes)
    case "join": join(bytes)
    default: fatalError("unknown LANYARD_FUZZ_TARGET \(target)")
    }
    return 0
}

/// Lanyard's inner messages: the header, then every body parser, as a port or the switch would.
func lanyardMessage(_ bytes: UnsafeRawBufferPointer) {
    guard let header = try? LanyardMessage.parse(bytes) else { return }
    precondition(header.bodyRange.upperBound <= bytes.count)
    let body = UnsafeRawBufferPointer(rebasing: bytes[header.bodyRange])
    switch header.kind {
    case .welcome: _ = try? LanyardMessage.Welcome(parsing: body)
    case .member:
        if let info = try? MemberInfo(parsing: body) {
            // What parses encodes and parses back to the same member (the name aside: invalid
            // UTF-8 in it is replaced when decoded, so its bytes may differ).
            var again = try? info.bytes.withUnsafeBytes { try MemberInfo(parsing: $0) }
            again?.name = info.name
            precondition(again == info, "MemberInfo round trip")
        }
    case .endpoints: _ = try? CandidateList(parsing: body)
    case .vouch: _ = try? VouchRequest(parsing: body)
    case .lookup: _ = try? LookupRequest(parsing: body)
    case .config: _ = try? ClientConfig(parsing: body)
    case .roster:
        // What parses encodes back to the same bytes.
        if let update = try? RosterUpdate(parsing: body) { precondition(update.bytes.elementsEqual(body), "RosterUpdate round trip") }
    case .meshIntroduce:
        // The target (4), the mode (1), then a MemberInfo, as a switch reads it.
        if body.count > 5, MeshIntroduction(rawValue: body[4]) != nil { _ = try? MemberInfo(parsing: UnsafeRawBufferPointer(rebasing: body[5...])) }
    default: break
    }
}

/// The relay header checks the switch makes on any datagram that starts with 0x10.
func relayHeader(_ bytes: UnsafeRawBufferPointer) {
    guard RelayHeader.isRelay(bytes), bytes.count >= RelayHeader.minimumLength else { return }
    let key = SipHash24(key: [UInt8](repeating: 1, count: 16))
    _ = RelayHeader.memberID(bytes)
    _ = RelayHeader.counter(bytes)
    _ = RelayHeader.verify(bytes, key: key)
    var copy = Array(bytes)
    copy.withUnsafeMutableBytes { RelayHeader.write(into: $0, memberID: 3, counter: 4, key: key) }
    precondition(copy.withUnsafeBytes { RelayHeader.verify($0, key: key) }, "a header just written verifies")
}

/// WireGuard's userspace API, as `wg` or anyone with the socket would send it.
func uapi(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? UAPI.parseSet(text.split(separator: "\n", omittingEmptySubsequences: false))
}

/// Configuration files (INI) and IP prefixes in them.
func config(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let file = try? INIFile(parsing: text) {
        for section in file.sections { for entry in section.entries { _ = IPPrefix(entry.value); _ = MACAddress(entry.value) } }
    }
}

/// Any datagram into the handshake responder: the directory's screening, then the peer.
func handshake(_ bytes: UnsafeRawBufferPointer) {
    clock &+= 1_000_000
    let now = Timestamp(nanoseconds: clock)
    _ = directory.checkInitiation(bytes, source: [0, 1, 192, 0, 2, 1], now: now, into: scratch)
    var copy = Array(bytes) // transport data is decrypted in place: give it a buffer it may write
    copy.withUnsafeMutableBytes { d in
        _ = peer.decapsulate(datagram: UnsafeRawBufferPointer(d), into: scratch, now: now, source: [0, 1, 192, 0, 2, 1])
    }
}

/// Join datagrams as the switch and a joiner read them, and join tokens as `port --join` reads
/// them: refusals are typed errors; a request that opens names a valid key.
func join(_ bytes: UnsafeRawBufferPointer) {
    let array = Array(bytes)
    if let request = try? JoinExchange.openRequest(array, switchKey: responderKey) {
        precondition(request.inviteID.count == 8 && request.secret.count == 16)
    }
    _ = try? JoinExchange.openReply(array, joiner: initiatorKey, switchKey: responderKey.publicKey)
    _ = JoinExchange.isJoinRequest(bytes)
    if let token = try? JoinToken(parsing: String(decoding: bytes, as: UTF8.self)) {
        precondition(!token.endpoints.isEmpty && (try? JoinToken(parsing: token.text)) == token)
    }
}

/// Ethernet frames and the offload headers in front of TAP packets.
func ethernet(_ bytes: UnsafeRawBufferPointer) {
    _ = try? EthernetFrame(parsing: bytes)
    if bytes.count >= 10 { _ = VirtioNetHeader(bytes) }
    _ = InternetChecksum.of(bytes)
    var table = MACTable()
    var fabric = SwitchFabric(table: table)
    _ = fabric.decide(frame: bytes, ingress: 1, now: 1)
    if bytes.count >= 6 { _ = table.learn(MACAddress(bytes: bytes, offset: 0), on: 2, now: 2) }
    _ = table.expire(now: 1_000_000_000_000)
}

/// Buffers for the offload target: a packet with headroom, the segmenter's scratch, the coalescer's run.
nonisolated(unsafe) let packetRoom = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 16)
nonisolated(unsafe) let segmentRoom = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 16)
nonisolated(unsafe) let runRoom = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 16)

/// What an offloading TUN/TAP hands over: a virtio-net header, then a packet (TUN) or frame (TAP,
/// chosen by the input's first byte). The segmenter either refuses it with a typed error or splits
/// it; each segment must fit what it was cut from, and the coalescer, fed the segments, must join
/// or refuse them without trapping, and never produce more bytes than it was given.
func offload(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 1 + VirtioNetHeader.length else { return }
    let ipOffset = bytes[0] & 1 == 0 ? 0 : 14
    let header = VirtioNetHeader(UnsafeRawBufferPointer(rebasing: bytes[1..<(1 + VirtioNetHeader.length)]))
    let packet = UnsafeRawBufferPointer(rebasing: bytes[(1 + VirtioNetHeader.length)...])
    let headroom = 32
    let room = UnsafeMutableRawBufferPointer(rebasing: packetRoom[headroom..<(headroom + packet.count)])
    room.copyMemory(from: packet)
    var coalescer = TCPCoalescer(ipOffset: ipOffset, buffer: runRoom)
    var given = 0, produced = 0
    try? TCPSegmenter.prepare(room, header: header, ipOffset: ipOffset, scratch: segmentRoom, headroom: headroom) { region in
        precondition(region.count >= headroom && region.count - headroom <= 65_536, "segment size")
        let segment = UnsafeRawBufferPointer(rebasing: region[headroom...])
        given += segment.count
        if !coalescer.append(segment) {
            if let run = coalescer.finish() { produced += run.bytes.count }
            _ = coalescer.start(segment)
        }
    }
    if let run = coalescer.finish() { produced += run.bytes.count }
    precondition(produced <= given, "the coalescer made bytes out of nothing")
}

/// libFuzzer's driver (`-sanitize=fuzzer` links it in).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer.
@_cdecl("lanyard_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzz(data, size) }
}
