import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Configuration through WireGuard's userspace API (`wg`, `wg-quick`), and `lanyard tunnel`'s
/// command line applied the same way.
extension WireGuardDevice {
    /// Answers one userspace-API request (`get=1` or `set=1` and its lines).
    public func handleAPI(_ text: String, now: Nanoseconds) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { return "errno=22\n\n" }
        switch first {
        case "get=1": return get(now: now)
        case "set=1":
            do {
                let request = try UAPI.parseSet(lines.dropFirst())
                try apply(request, now: now)
                return "errno=0\n\n"
            } catch {
                logger.warning("refused a configuration change (nothing applied): \(error)")
                return "errno=\(error.errno)\n\n"
            }
        default: return "errno=22\n\n"
        }
    }

    private func get(now: Nanoseconds) -> String {
        let wall = wallClock()
        let nowWall = Int64(wall.seconds) * 1_000_000_000 + Int64(wall.nanoseconds)
        let states = peers.map { p -> UAPI.PeerState in
            var tx: UInt64 = 0, rx: UInt64 = 0, endpoint = p.endpoint, handshake: Int64 = 0
            if let hub, let id = hub.directory.id(of: p.publicKey) {
                tx = hub.peers[Int(id)].traffic.txBytes
                rx = hub.peers[Int(id)].traffic.rxBytes
                endpoint = hub.peers[Int(id)].endpoint ?? endpoint
                if let t = hub.lastHandshake(id) { handshake = nowWall - Int64(now &- t) }
            }
            return UAPI.PeerState(publicKey: p.publicKey, presharedKey: p.presharedKey, endpoint: endpoint?.description,
                                  lastHandshakeSeconds: handshake / 1_000_000_000, lastHandshakeNanoseconds: handshake % 1_000_000_000,
                                  txBytes: tx, rxBytes: rx, persistentKeepalive: p.keepalive, allowedIPs: p.allowedIPs)
        }
        return UAPI.formatGet(privateKey: privateKey, listenPort: listenPort, fwmark: fwmark, peers: states)
    }

    /// Errors a `set` can meet after parsing (an endpoint that does not resolve, a port in use).
    public struct ApplyFailure: Error, CustomStringConvertible {
        public let description: String
        let errno: Int32
    }

    /// Applies a `set` request: everything that can fail is checked first, so a refused request
    /// changes nothing. `resolved` gives endpoints already resolved by the caller (`lanyard
    /// tunnel`'s, which may carry an IPv6 zone that their text form does not), used instead of
    /// the request's text for those peers.
    public func apply(_ request: UAPI.SetRequest, now: Nanoseconds, resolved: [PublicKey: SocketAddress] = [:]) throws {
        var endpoints = resolved
        for p in request.peers where endpoints[p.publicKey] == nil {
            if let text = p.endpoint {
                guard let address = try? SocketAddress.resolve(text) else {
                    throw ApplyFailure(description: "endpoint '\(text)' is not an address", errno: EINVAL)
                }
                endpoints[p.publicKey] = address
            }
        }
        if let port = request.listenPort, port != listenPort { try rebind(port) }
        if let mark = request.fwmark {
            var m = mark
            setsockopt(socket.fileDescriptor, SOL_SOCKET, 36 /* SO_MARK */, &m, socklen_t(MemoryLayout<UInt32>.size))
            fwmark = mark
        }
        if let key = request.privateKey, key != privateKey { setPrivateKey(key) }
        if request.replacePeers {
            for p in peers { removePeer(p.publicKey) }
        }
        for change in request.peers {
            if change.remove { removePeer(change.publicKey); continue }
            var index = peers.firstIndex { $0.publicKey == change.publicKey }
            if index == nil {
                if change.updateOnly { continue }
                if change.publicKey == privateKey?.publicKey { continue } // wg ignores ourselves as a peer
                peers.append(PeerConfig(publicKey: change.publicKey))
                index = peers.count - 1
                addToHub(peers[index!])
                logger.info("peer \(change.publicKey) added")
            }
            let i = index!
            if let psk = change.presharedKey { peers[i].presharedKey = psk }
            if let e = endpoints[change.publicKey] { peers[i].endpoint = e }
            if let k = change.persistentKeepalive { peers[i].keepalive = k }
            if change.replaceAllowedIPs { peers[i].allowedIPs = [] }
            for prefix in change.allowedIPs where !peers[i].allowedIPs.contains(prefix) {
                // A prefix belongs to one peer: adding it here takes it from any other.
                for j in peers.indices where j != i { peers[j].allowedIPs.removeAll { $0 == prefix } }
                peers[i].allowedIPs.append(prefix)
            }
            configureInHub(peers[i])
        }
        rebuildRoutes()
    }

    private func setPrivateKey(_ key: PrivateKey?) {
        privateKey = key
        hub = nil
        guard let key else { return }
        // A new identity: every session ends, as in wireguard-go.
        let fresh = PeerHub(directory: WireGuardPeerDirectory(privateKey: key, peers: []), io: io, logger: logger)
        if let workers { fresh.useCryptoWorkers(workers) }
        hub = fresh
        for i in peers.indices {
            peers[i].wasEstablished = false
            addToHub(peers[i])
            configureInHub(peers[i])
        }
    }

    private func addToHub(_ p: PeerConfig) {
        hub?.add(AuthorizedPeer(name: String(p.publicKey.base64.prefix(8)), publicKey: p.publicKey, presharedKey: p.presharedKey))
    }

    private func configureInHub(_ p: PeerConfig) {
        guard let hub, let id = hub.directory.id(of: p.publicKey) else { return }
        if let wg = (hub.peers[Int(id)].link as? WireGuardLink)?.peer {
            wg.psk = p.presharedKey ?? .zero
            wg.persistentKeepalive = p.keepalive == 0 ? nil : .seconds(UInt64(p.keepalive))
        }
        if let e = p.endpoint, hub.peers[Int(id)].endpoint == nil || hub.peers[Int(id)].endpoint != socket.adapt(e) {
            hub.setRoute(id, endpoint: e, relayMember: nil)
        }
    }

    private func removePeer(_ key: PublicKey) {
        guard let i = peers.firstIndex(where: { $0.publicKey == key }) else { return }
        peers.remove(at: i)
        if let hub, let id = hub.directory.id(of: key) { hub.remove(id) }
        logger.info("peer \(key) removed")
    }

    private func rebuildRoutes() {
        routes = AllowedIPs()
        lastAllowedSource = nil
        tunnelPeer = nil
        guard let hub else { return }
        for p in peers {
            guard let id = hub.directory.id(of: p.publicKey) else { continue }
            if tunnelPeer == nil { tunnelPeer = id }
            for prefix in p.allowedIPs { routes.insert(prefix, for: id) }
        }
    }

    /// Moves the socket to another port, keeping its descriptor (the event loop polls it).
    private func rebind(_ port: UInt16) throws {
        let fresh: UDPSocket
        do {
            fresh = try UDPSocket(bindTo: SocketAddress.resolve("[::]:\(port)", passive: true))
        } catch {
            do { fresh = try UDPSocket(bindTo: SocketAddress.resolve("0.0.0.0:\(port)", passive: true)) } catch {
                throw ApplyFailure(description: "cannot listen on UDP port \(port): \(error)", errno: EADDRINUSE)
            }
        }
        guard dup2(fresh.fileDescriptor, socket.fileDescriptor) >= 0 else {
            throw ApplyFailure(description: "cannot move the socket: errno \(errno)", errno: errno)
        }
        logger.info("listening on UDP port \(port)")
    }

    /// A snapshot for `lanyard status`: a tunnel's shows its peer; the drop-in's its peer count.
    public func status(now: Nanoseconds) -> LinkStatus {
        var s = LinkStatus(kind: role == .tunnel ? "tunnel" : "wireguard", name: name, interface: tun.name,
                           publicKey: privateKey?.publicKey.base64 ?? "(none)",
                           peerPublicKey: "\(peers.count) peers", endpoint: "*:\(listenPort)", state: hub == nil ? "no private key" : "up",
                           lastHandshakeSeconds: nil, lastHeardSeconds: nil, traffic: TrafficCounters(),
                           drops: countsByName(drops.nonZero + (hub?.drops.nonZero ?? [])))
        if role == .tunnel, let hub, let id = tunnelPeer, let p = peers.first {
            let peer = hub.peers[Int(id)]
            s.peerPublicKey = p.publicKey.base64
            s.endpoint = peer.endpoint?.description
            s.state = hub.isEstablished(id, now: now) ? "up" : "handshaking"
            s.lastHandshakeSeconds = hub.lastHandshake(id).map { seconds(now &- $0) }
            s.lastHeardSeconds = peer.lastHeard == 0 ? nil : seconds(now &- peer.lastHeard)
            s.traffic = peer.traffic
        }
        tun.addDrops(to: &s.drops)
        s.batching = io.batching
        if io.batching.unsentDatagrams > 0 { s.drops["send queue full"] = io.batching.unsentDatagrams }
        if io.batching.refusedDatagrams > 0 { s.drops["refused by the kernel on send"] = io.batching.refusedDatagrams }
        return s
    }
}

extension Error {
    /// The errno to report on WireGuard's userspace API.
    var errno: Int32 {
        if let f = self as? UAPI.Failure { return f.errno }
        if let f = self as? WireGuardDevice.ApplyFailure { return f.errno }
        return EINVAL
    }
}
