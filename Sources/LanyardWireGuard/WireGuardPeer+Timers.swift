extension WireGuardPeer {
    /// Runs the protocol's timers (whitepaper §6) at `now` and returns at most one action:
    /// a handshake (re)transmission or keepalive to send via `.writeToNetwork(count)`, or `.done`.
    /// Call it again after an action until it returns `.done`, and whenever `nextDeadline` passes.
    /// `out` must hold at least 148 bytes.
    public func updateTimers(now: Timestamp, into out: UnsafeMutableRawBufferPointer) -> PeerResult {
        typealias T = WireGuardTimers
        // Erase everything 3 × REJECT_AFTER_TIME after the last session with no new one.
        if let derived = lastSessionDerivedAt, now.since(derived) >= T.zeroKeysAfter {
            clearAllKeys()
            return .done
        }
        // A pending handshake: retransmit after REKEY_TIMEOUT + jitter, give up after REKEY_ATTEMPT_TIME.
        if pending != nil, let started = handshakeStartedAt, let sent = lastInitiationSentAt {
            if now.since(started) >= T.rekeyAttemptTime {
                if let state = pending { allocator.release(state.localIndex) }
                pending = nil
                handshakeStartedAt = nil
                lastInitiationSentAt = nil
                unansweredDataSince = nil
                refusals.queueDropped += UInt64(queue.count)
                queue.removeAll()
                return .done
            }
            if now.since(sent) >= retransmitDelay { return beginHandshake(into: out, now: now) }
        }
        // Rekey: requested by the data path, or the initiator's session reached REKEY_AFTER_TIME
        // while it carried data.
        if let keypair = current, keypair.isInitiator, !keypair.isExpired(now: now),
           now.since(keypair.createdAt) >= T.rekeyAfterTime, let sent = lastDataSentAt, sent >= keypair.createdAt {
            rekeyRequested = true
        }
        if rekeyRequested, pending == nil { return beginHandshake(into: out, now: now) }
        // Data sent and nothing received for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: new handshake.
        if pending == nil, let since = unansweredDataSince, now.since(since) >= T.keepaliveTimeout + T.rekeyTimeout {
            unansweredDataSince = nil
            return beginHandshake(into: out, now: now)
        }
        // Packets queued but no session and no handshake (e.g. an unconfirmed responder session lapsed).
        if pending == nil, !queue.isEmpty, !isSessionEstablished(now: now), !awaitingConfirmation(now: now) {
            return beginHandshake(into: out, now: now)
        }
        // Passive keepalive: data received and nothing sent for KEEPALIVE_TIMEOUT.
        if let due = keepaliveDueFrom, now.since(due) >= T.keepaliveTimeout {
            keepaliveDueFrom = nil
            return sendKeepalive(into: out, now: now)
        }
        // Persistent keepalive.
        if let interval = persistentKeepalive, isSessionEstablished(now: now),
           now.since(lastSentAt ?? Timestamp(nanoseconds: 0)) >= interval {
            return sendKeepalive(into: out, now: now)
        }
        return .done
    }

    /// The earliest time `updateTimers` will have something to do (possibly `now` itself), or nil
    /// if nothing is scheduled. Sleep until then; every deadline returned is actionable.
    public func nextDeadline(now: Timestamp) -> Timestamp? {
        typealias T = WireGuardTimers
        var deadlines: [Timestamp] = []
        if let derived = lastSessionDerivedAt { deadlines.append(derived.adding(T.zeroKeysAfter)) }
        if pending != nil, let started = handshakeStartedAt, let sent = lastInitiationSentAt {
            deadlines.append(started.adding(T.rekeyAttemptTime))
            deadlines.append(sent.adding(retransmitDelay))
        }
        if pending == nil {
            if rekeyRequested { deadlines.append(now) }
            if let keypair = current, keypair.isInitiator, !keypair.isExpired(now: now),
               let sent = lastDataSentAt, sent >= keypair.createdAt {
                deadlines.append(keypair.createdAt.adding(T.rekeyAfterTime))
            }
            if let since = unansweredDataSince { deadlines.append(since.adding(T.keepaliveTimeout + T.rekeyTimeout)) }
            if !queue.isEmpty, !isSessionEstablished(now: now) {
                deadlines.append(awaitingConfirmation(now: now) ? next!.createdAt.adding(T.rekeyTimeout) : now)
            }
        }
        if let due = keepaliveDueFrom { deadlines.append(due.adding(T.keepaliveTimeout)) }
        if let interval = persistentKeepalive, isSessionEstablished(now: now) {
            deadlines.append((lastSentAt ?? Timestamp(nanoseconds: 0)).adding(interval))
        }
        return deadlines.min().map { max($0, now) }
    }

    /// Whether a fresh responder session waits for the initiator's first message.
    func awaitingConfirmation(now: Timestamp) -> Bool {
        guard let n = next else { return false }
        return now.since(n.createdAt) < WireGuardTimers.rekeyTimeout
    }
}
