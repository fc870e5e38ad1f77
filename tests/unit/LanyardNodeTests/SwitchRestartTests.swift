import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
import Testing
@testable import LanyardNode

/// A switch that restarts (same key, same address) while a port's WireGuard session with it is
/// renewed by WireGuard's own timers: the port never sees silence, so it never says `hello`
/// again. The switch must welcome it on its first ping, or the port keeps the relay key of the
/// switch's previous run and its relayed traffic is refused for good. Real sockets on loopback.
@Suite(.serialized) struct SwitchRestartTests {
    let switchKey = PrivateKey()
    let portKey = PrivateKey()
    let logger = Logger(label: "test")

    func makeSwitch(at address: SocketAddress) throws -> SwitchNode {
        let socket = try UDPSocket(bindTo: address)
        let directory = WireGuardPeerDirectory(privateKey: switchKey, peers: [AuthorizedPeer(name: "p", publicKey: portKey.publicKey)])
        return SwitchNode(settings: SwitchSettings(name: "sw"), hub: PeerHub(directory: directory, socket: socket, logger: logger),
                          pins: [], logger: logger)
    }

    /// Runs both sides for a few rounds at `now`; returns the kinds of message the port received
    /// (a welcome registers it, as PortNode does).
    func pump(_ sw: SwitchNode, _ port: HubConnection, now: Nanoseconds) throws -> [LanyardMessage.Kind] {
        var kinds: [LanyardMessage.Kind] = []
        for _ in 0..<4 {
            port.tick(now: now)
            try sw.receiveAll(now: now)
            try port.receive(now: now) { plaintext in
                guard let header = try? LanyardMessage.parse(plaintext) else { return }
                kinds.append(header.kind)
                if header.kind == .welcome { port.registration.welcomed(now: now) }   // as PortNode does
            }
        }
        return kinds
    }

    @Test func aPortWhoseSessionWasRenewedSilentlyIsWelcomedOnItsFirstPing() throws {
        var sw: SwitchNode? = try makeSwitch(at: SocketAddress.resolve("127.0.0.1:0", passive: true))
        let address = try SocketAddress.resolve("127.0.0.1:\(sw!.hub.io.socket.localAddress.port)")
        let port = HubConnection(hubAddress: address.description, endpoint: address,
                                 socket: try UDPSocket(toReach: address),
                                 link: WireGuardLink(privateKey: portKey, peerKey: switchKey.publicKey, presharedKey: nil),
                                 registration: Registration(now: 0), helloBody: Array("p".utf8), logger: logger)
        let first = try pump(sw!, port, now: .seconds(1))
        #expect(first.contains(.welcome))
        #expect(port.registration.isRegistered)

        // The switch restarts on the same address; the port's session is renewed by a handshake
        // of WireGuard's own (no silence, so the port stays "registered" and says no hello).
        sw = nil
        sw = try makeSwitch(at: address)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 16)
        defer { scratch.deallocate() }
        if case .send(let n) = port.link.initiateHandshake(into: scratch, now: .seconds(2)) {
            port.io.enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: port.endpoint)
            port.io.flush()
        }
        _ = try pump(sw!, port, now: .seconds(2))
        #expect(port.registration.isRegistered)
        // The next keepalive ping: the new switch answers with a welcome (new relay key) and a pong.
        let after = try pump(sw!, port, now: .seconds(8))
        #expect(after.contains(.pong))
        #expect(after.contains(.welcome), "the restarted switch must welcome a port that pings without hello: got \(after)")
    }
}
