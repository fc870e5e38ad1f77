extension WireGuardPeer {
    /// Encrypts one tunnel packet for the peer.
    ///
    /// With a session: writes a type-4 message into `out` (needs
    /// `MessageLayout.transportSize(plaintextCount:)` bytes) and returns `.writeToNetwork(count)`.
    /// Without one: keeps a copy of the packet (at most `maxQueuedPackets`) and, unless a handshake
    /// is already under way, writes a handshake initiation (needs 148 bytes) and returns
    /// `.writeToNetwork(148)`; otherwise `.done`. Once a session is up, drain the queue with
    /// `dequeue(into:now:)`.
    ///
    /// With `queue`, a data message gets its header, counter and plaintext in `out` at once, but
    /// its encryption is queued there: `out` must then be where the datagram is sent from, and
    /// the queue must run before it is (see `CryptoQueue`).
    public func encapsulate(plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                            now: Timestamp, deferringTo queue: CryptoQueue? = nil) -> PeerResult {
        if isSessionEstablished(now: now), let keypair = current {
            return seal(plaintext, with: keypair, into: out, now: now, deferringTo: queue)
        }
        enqueue(Array(plaintext))
        if awaitingConfirmation(now: now) { return .done } // a fresh responder session awaits confirmation
        if pending != nil { return .done }
        return beginHandshake(into: out, now: now)
    }

    /// Sends the oldest queued packet over the established session: `.writeToNetwork(count)`,
    /// or `.done` when the queue is empty or no session is up.
    public func dequeue(into out: UnsafeMutableRawBufferPointer, now: Timestamp) -> PeerResult {
        guard !queue.isEmpty, isSessionEstablished(now: now), let keypair = current else { return .done }
        let packet = queue.removeFirst()
        return packet.withUnsafeBytes { seal($0, with: keypair, into: out, now: now) }
    }

    func enqueue(_ packet: [UInt8]) {
        if queue.count >= Self.maxQueuedPackets {
            queue.removeFirst()
            refusals.queueDropped += 1
        }
        queue.append(packet)
    }

    /// Writes a type-4 message: header, padded plaintext encrypted in place, tag.
    func seal(_ plaintext: UnsafeRawBufferPointer, with keypair: Keypair,
              into out: UnsafeMutableRawBufferPointer, now: Timestamp, deferringTo queue: CryptoQueue? = nil) -> PeerResult {
        typealias L = MessageLayout
        let padded = L.paddedCount(plaintext.count)
        let total = L.transportHeaderSize + padded + L.tagSize
        guard out.count >= total else { return .error(.bufferTooSmall) }
        let counter = keypair.sendCounter
        guard counter < WireGuardTimers.rejectAfterMessages else { return .error(.sessionExpired) }
        out[0] = MessageType.transportData.rawValue
        out[1] = 0; out[2] = 0; out[3] = 0
        L.writeLE32(out, L.transportReceiverOffset, keypair.remoteIndex)
        L.writeLE64(out, L.transportCounterOffset, counter)
        let body = UnsafeMutableRawBufferPointer(rebasing: out[L.transportHeaderSize..<total])
        // The caller may have built the plaintext in place, right after the header.
        if plaintext.count > 0 && plaintext.baseAddress != UnsafeRawPointer(body.baseAddress!) { body.copyMemory(from: plaintext) }
        for i in plaintext.count..<padded { body[i] = 0 }
        if let queue {
            _ = queue.append(.init(cipher: keypair.sender, counter: counter, buffer: body, count: padded, seal: true))
        } else {
            guard keypair.sender.seal(counter: counter, buffer: body, count: padded) else { return .error(.cryptoFailure) }
        }
        keypair.sendCounter = counter + 1
        noteSent(now: now, bytes: total)
        if plaintext.count > 0 {
            lastDataSentAt = now
            if unansweredDataSince == nil { unansweredDataSince = now }
        }
        // Keep the key fresh: the initiator rekeys on age or message count.
        if keypair.isInitiator, pending == nil,
           now.since(keypair.createdAt) >= WireGuardTimers.rekeyAfterTime || keypair.sendCounter >= WireGuardTimers.rekeyAfterMessages {
            rekeyRequested = true
        }
        return .writeToNetwork(total)
    }

    func noteSent(now: Timestamp, bytes: Int) {
        lastSentAt = now
        keepaliveDueFrom = nil
        stats.txBytes += UInt64(bytes)
    }

    /// Starts a new handshake now, whatever the timers say (a port re-registering after silence,
    /// a tunnel with a known endpoint at start). Writes the initiation (148 bytes) into `out`.
    public func initiateHandshake(into out: UnsafeMutableRawBufferPointer, now: Timestamp) -> PeerResult {
        handshakeStartedAt = nil
        return beginHandshake(into: out, now: now)
    }

    /// Writes a new handshake initiation (a retransmission keeps the round's start time).
    func beginHandshake(into out: UnsafeMutableRawBufferPointer, now: Timestamp) -> PeerResult {
        guard out.count >= MessageLayout.initiationSize else { return .error(.bufferTooSmall) }
        if let old = pending { allocator.release(old.localIndex) }
        pending = nil
        let index = allocator.allocate(for: self)
        guard let ephemeral = try? PrivateKey(rawValue: random.bytes(32)), let ss = staticShared,
              let created = try? NoiseHandshake.createInitiation(
                local: localPrivate, localPublic: localPublic, remote: peerPublic, staticShared: ss, ephemeral: ephemeral,
                localIndex: index, timestamp: TAI64N(wallClock()))
        else {
            allocator.release(index)
            return .error(.cryptoFailure)
        }
        let (message, state) = created
        var bytes = message.bytes
        stamper.stamp(&bytes, now: now)
        bytes.write(to: out)
        pending = state
        if handshakeStartedAt == nil { handshakeStartedAt = now }
        lastInitiationSentAt = now
        retransmitDelay = WireGuardTimers.rekeyTimeout + jitter()
        rekeyRequested = false
        stats.initiationsSent += 1
        noteSent(now: now, bytes: bytes.count)
        return .writeToNetwork(bytes.count)
    }

    /// 0..<333 ms from the injected random source.
    func jitter() -> Timestamp.Duration {
        let max = WireGuardTimers.rekeyTimeoutJitterMax.nanoseconds
        return Timestamp.Duration(nanoseconds: UInt64(random.uint32()) % max)
    }

    /// A keepalive (type 4 with empty plaintext) on the current session.
    func sendKeepalive(into out: UnsafeMutableRawBufferPointer, now: Timestamp) -> PeerResult {
        guard isSessionEstablished(now: now), let keypair = current else { return .done }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        return seal(empty, with: keypair, into: out, now: now)
    }
}
