extension WireGuardPeer {
    /// Processes one datagram received from the peer.
    ///
    /// - Initiation: `.writeToNetwork(92)` with our response (or `.writeToNetwork(64)` with a
    ///   cookie reply when `cookieChecker.isUnderLoad` and mac2 is missing; `source` are the
    ///   sender's address bytes the cookie is bound to).
    /// - Response: completes our handshake; `.writeToNetwork` with the first queued packet or a
    ///   keepalive confirming the session (then drain the rest with `dequeue(into:now:)`).
    /// - Cookie reply: stored for mac2 of the next initiation; `.done`.
    /// - Transport: `.writeToTunnel(count)` with the padded plaintext, or `.done` for a keepalive.
    /// - Anything refused: `.error(reason)`, also counted in `refusals`.
    public func decapsulate(datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                            now: Timestamp, source: [UInt8] = []) -> PeerResult {
        let type: MessageType
        do {
            type = try MessageLayout.classify(datagram)
        } catch {
            switch error {
            case .unknownType: return fail(.malformed)
            case .truncated, .wrongLength: return fail(.wrongLength)
            }
        }
        switch type {
        case .initiation: return consumeInitiation(datagram, into: out, now: now, source: source)
        case .response: return consumeResponse(datagram, into: out, now: now)
        case .cookieReply: return consumeCookieReply(datagram, now: now)
        case .transportData: return openTransport(datagram, into: out, now: now)
        }
    }

    private func consumeInitiation(_ d: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                                   now: Timestamp, source: [UInt8]) -> PeerResult {
        guard cookieChecker.checkMac1(d) else { return fail(.invalidMac) }
        if cookieChecker.isUnderLoad, !cookieChecker.checkMac2(d, source: source, now: now) {
            guard !source.isEmpty else { return fail(.cookieRequired) }
            guard let count = cookieChecker.writeCookieReply(to: d, source: source, now: now, into: out) else {
                return .error(.bufferTooSmall)
            }
            refusals.cookieRequired += 1
            return .writeToNetwork(count)
        }
        guard out.count >= MessageLayout.responseSize else { return .error(.bufferTooSmall) }
        guard let message = try? HandshakeInitiation(parsing: d) else { return fail(.wrongLength) }
        let decoded: DecodedInitiation
        if let early = predecoded, early.senderIndex == message.senderIndex, early.ephemeral.rawValue == message.ephemeral {
            decoded = early
        } else {
            let mine = peerPublic
            let shared = staticShared
            do {
                decoded = try NoiseHandshake.decodeInitiation(message, local: localPrivate, localPublic: localPublic,
                                                              staticShared: { $0 == mine ? shared : nil })
            } catch .unknownInitiator {
                return fail(.unknownPeer)
            } catch {
                return fail(.decryptFailed)
            }
        }
        predecoded = nil
        guard decoded.initiatorStatic == peerPublic else { return fail(.unknownPeer) }
        if let last = lastAcceptedTimestamp, !decoded.timestamp.isNewer(than: last) {
            return fail(.staleTimestamp)
        }
        let index = allocator.allocate(for: self)
        guard let ephemeral = try? PrivateKey(rawValue: random.bytes(32)),
              let made = try? NoiseHandshake.createResponse(to: decoded, ephemeral: ephemeral, localIndex: index, psk: psk),
              let keypair = Keypair(keys: made.1, localIndex: index, remoteIndex: decoded.senderIndex,
                                    isInitiator: false, now: now)
        else {
            allocator.release(index)
            return .error(.cryptoFailure)
        }
        lastAcceptedTimestamp = decoded.timestamp
        install(keypair, now: now)
        var bytes = made.0.bytes
        stamper.stamp(&bytes, now: now)
        bytes.write(to: out)
        stats.rxBytes += UInt64(d.count)
        noteSent(now: now, bytes: bytes.count)
        return .writeToNetwork(bytes.count)
    }

    private func consumeResponse(_ d: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                                 now: Timestamp) -> PeerResult {
        guard cookieChecker.checkMac1(d) else { return fail(.invalidMac) }
        guard let message = try? HandshakeResponse(parsing: d) else { return fail(.wrongLength) }
        guard let state = pending, state.localIndex == message.receiverIndex else { return fail(.wrongIndex) }
        guard let keys = try? NoiseHandshake.consumeResponse(message, state: state, local: localPrivate, psk: psk) else {
            return fail(.decryptFailed)
        }
        guard let keypair = Keypair(keys: keys, localIndex: state.localIndex, remoteIndex: message.senderIndex,
                                    isInitiator: true, now: now)
        else { return .error(.cryptoFailure) }
        pending = nil // the index now belongs to the keypair
        handshakeStartedAt = nil
        lastInitiationSentAt = nil
        rekeyRequested = false
        install(keypair, now: now)
        stats.rxBytes += UInt64(d.count)
        unansweredDataSince = nil
        // Confirm the session at once: with the first queued packet, or a keepalive.
        let first = dequeue(into: out, now: now)
        if first != .done { return first }
        return sendKeepalive(into: out, now: now)
    }

    private func consumeCookieReply(_ d: UnsafeRawBufferPointer, now: Timestamp) -> PeerResult {
        guard let reply = try? CookieReply(parsing: d) else { return fail(.wrongLength) }
        let ours = [pending?.localIndex, next?.localIndex].contains(reply.receiverIndex)
        guard ours else { return fail(.wrongIndex) }
        guard stamper.consume(reply, now: now) else { return fail(.decryptFailed) }
        return .done
    }

    private func openTransport(_ d: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                               now: Timestamp) -> PeerResult {
        typealias L = MessageLayout
        let receiver = L.readLE32(d, L.transportReceiverOffset)
        // Checked one by one: no array per packet.
        let keypair: Keypair
        if let k = current, k.localIndex == receiver { keypair = k }
        else if let k = next, k.localIndex == receiver { keypair = k }
        else if let k = previous, k.localIndex == receiver { keypair = k }
        else { return fail(.wrongIndex) }
        guard !keypair.isExpired(now: now) else { return fail(.sessionExpired) }
        let counter = L.readLE64(d, L.transportCounterOffset)
        guard keypair.replay.mightAccept(counter) else { return fail(.replay) }
        let sealedCount = d.count - L.transportHeaderSize
        let plainCount = sealedCount - L.tagSize
        guard out.count >= sealedCount else { return .error(.bufferTooSmall) }
        // The caller may decrypt in place by passing the datagram's own body as `out`.
        let body = d.baseAddress! + L.transportHeaderSize
        if UnsafeRawPointer(out.baseAddress!) != body {
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: d[L.transportHeaderSize...]))
        }
        guard keypair.receiver.open(counter: counter, buffer: out, count: plainCount) else { return fail(.decryptFailed) }
        guard keypair.replay.accept(counter) else { return fail(.replay) }
        if keypair === next { promoteNext() }
        stats.rxBytes += UInt64(d.count)
        unansweredDataSince = nil
        // The initiator rekeys before its session becomes unusable for receiving.
        let rekeyAge = WireGuardTimers.rejectAfterTime.nanoseconds - WireGuardTimers.keepaliveTimeout.nanoseconds
            - WireGuardTimers.rekeyTimeout.nanoseconds
        if keypair === current, keypair.isInitiator, pending == nil, now.since(keypair.createdAt).nanoseconds >= rekeyAge {
            rekeyRequested = true
        }
        if plainCount == 0 { return .done }
        if keepaliveDueFrom == nil { keepaliveDueFrom = now }
        return .writeToTunnel(plainCount)
    }
}
