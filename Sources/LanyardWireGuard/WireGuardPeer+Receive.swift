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
        switch checkTransport(d, into: out, now: now) {
        case .refused(let result): return result
        case .ready(let checked):
            let authentic = checked.keypair.receiver.open(counter: checked.counter, buffer: out, count: checked.plainCount)
            return finish(checked, authentic: authentic, now: now)
        }
    }

    /// First half of opening a data message (type 4) whose decryption runs later in `queue`:
    /// the receiver index, the session's age and the replay window are checked now, the sealed
    /// body is copied to `out` unless `out` is the datagram's own body, and the decryption is
    /// queued. Call `finishOpen` once the queue has run, in the order the datagrams arrived.
    /// Any other message, or a refusal, gives `.done(result)` as `decapsulate` would.
    public func beginOpen(datagram d: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                          now: Timestamp, queue: CryptoQueue, source: [UInt8] = []) -> OpenStep {
        guard (try? MessageLayout.classify(d)) == .transportData else {
            return .done(decapsulate(datagram: d, into: out, now: now, source: source))
        }
        switch checkTransport(d, into: out, now: now) {
        case .refused(let result): return .done(result)
        case .ready(let checked):
            let job = queue.append(.init(cipher: checked.keypair.receiver, counter: checked.counter,
                                         buffer: out, count: checked.plainCount, seal: false))
            return .queued(PendingOpen(checked: checked, job: job))
        }
    }

    /// Second half of `beginOpen`, after `queue` ran the decryption: records the counter in the
    /// replay window and updates the session and timers, as `decapsulate` does for a data message.
    public func finishOpen(_ pending: PendingOpen, queue: CryptoQueue, now: Timestamp) -> PeerResult {
        finish(pending.checked, authentic: queue.succeeded(pending.job), now: now)
    }

    /// What is known of a data message before its decryption.
    struct CheckedTransport {
        let keypair: Keypair
        let counter: UInt64
        let plainCount: Int
        let datagramCount: Int
    }

    /// A data message ready for decryption, or what refusing it gives.
    enum TransportCheck {
        case ready(CheckedTransport)
        case refused(PeerResult)
    }

    private func checkTransport(_ d: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                                now: Timestamp) -> TransportCheck {
        typealias L = MessageLayout
        let receiver = L.readLE32(d, L.transportReceiverOffset)
        // Checked one by one: no array per packet.
        let keypair: Keypair
        if let k = current, k.localIndex == receiver { keypair = k }
        else if let k = next, k.localIndex == receiver { keypair = k }
        else if let k = previous, k.localIndex == receiver { keypair = k }
        else { return .refused(fail(.wrongIndex)) }
        guard !keypair.isExpired(now: now) else { return .refused(fail(.sessionExpired)) }
        let counter = L.readLE64(d, L.transportCounterOffset)
        guard keypair.replay.mightAccept(counter) else { return .refused(fail(.replay)) }
        let sealedCount = d.count - L.transportHeaderSize
        guard out.count >= sealedCount else { return .refused(.error(.bufferTooSmall)) }
        // The caller may decrypt in place by passing the datagram's own body as `out`.
        let body = d.baseAddress! + L.transportHeaderSize
        if UnsafeRawPointer(out.baseAddress!) != body {
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: d[L.transportHeaderSize...]))
        }
        return .ready(CheckedTransport(keypair: keypair, counter: counter, plainCount: sealedCount - L.tagSize,
                                         datagramCount: d.count))
    }

    private func finish(_ checked: CheckedTransport, authentic: Bool, now: Timestamp) -> PeerResult {
        let keypair = checked.keypair
        guard authentic else { return fail(.decryptFailed) }
        guard keypair.replay.accept(checked.counter) else { return fail(.replay) }
        if keypair === next { promoteNext() }
        stats.rxBytes += UInt64(checked.datagramCount)
        unansweredDataSince = nil
        // The initiator rekeys before its session becomes unusable for receiving.
        let rekeyAge = WireGuardTimers.rejectAfterTime.nanoseconds - WireGuardTimers.keepaliveTimeout.nanoseconds
            - WireGuardTimers.rekeyTimeout.nanoseconds
        if keypair === current, keypair.isInitiator, pending == nil, now.since(keypair.createdAt).nanoseconds >= rekeyAge {
            rekeyRequested = true
        }
        if checked.plainCount == 0 { return .done }
        if keepaliveDueFrom == nil { keepaliveDueFrom = now }
        return .writeToTunnel(checked.plainCount)
    }
}

/// What `WireGuardPeer.beginOpen` did with a datagram.
public enum OpenStep {
    /// A data message whose decryption is queued; finish it with `finishOpen`.
    case queued(PendingOpen)
    /// Anything else, already handled: the result `decapsulate` gives.
    case done(PeerResult)
}

/// A data message waiting for its decryption in a `CryptoQueue`.
public struct PendingOpen {
    let checked: WireGuardPeer.CheckedTransport
    let job: Int
}
