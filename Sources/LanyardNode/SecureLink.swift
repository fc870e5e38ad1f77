import LanyardCore
import LanyardWireGuard

/// What the protocol layer asks the node to do after one call.
public enum LinkAction: Equatable, Sendable {
    /// Nothing to do.
    case none
    /// `out` holds this many bytes to send to the peer's endpoint.
    case send(Int)
    /// `out` holds this many bytes of authenticated plaintext for the node (an empty keepalive gives 0).
    case deliver(Int)
    /// The input was refused; count the reason.
    case drop(DatagramDropReason)
}

/// One encrypted, authenticated session with one peer: the protocol state machine as the event
/// loops see it. It never touches a socket; the caller owns endpoints, buffers and time.
public protocol SecureLink: AnyObject {
    /// Encrypts one plaintext for the peer. Without a session this may start a handshake (`.send`
    /// of an initiation) and hold or drop the plaintext.
    func seal(_ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction
    /// Consumes one datagram from the peer (handshake, cookie or data). For a data message,
    /// `out` may be the datagram's own body (`WireMessage.inPlaceOutput`): it is then decrypted
    /// in place, without a copy.
    func open(_ datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction
    /// Returns the next datagram the link wants sent (queued data after a handshake, timers'
    /// keepalives and retries), or `.none`. Call until `.none`.
    func poll(into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction
    /// Starts a new handshake now, whatever the timers say.
    func initiateHandshake(into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction
    /// True while a session can carry data at `now`.
    func isEstablished(now: Nanoseconds) -> Bool
    /// When the last handshake completed, on the caller's clock.
    var lastHandshake: Nanoseconds? { get }
    /// Ends every session and pending handshake (idle teardown); the next `seal` starts anew.
    func wipeIfPossible()
    /// `seal`, with the encryption of a data message queued in `queue` instead of done at once;
    /// `out` must be where the datagram is sent from, after `queue` has run.
    func seal(_ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds,
              deferringTo queue: CryptoQueue) -> LinkAction
    /// `open` in two halves for parallel decryption: a data message is checked and its
    /// decryption queued (`.queued`); anything else is handled at once (`.done`).
    func beginOpen(_ datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds,
                   queue: CryptoQueue) -> LinkOpenStep
    /// The second half of a queued open, after `queue` has run; call in arrival order.
    func finishOpen(_ pending: PendingOpen, queue: CryptoQueue, now: Nanoseconds) -> LinkAction
}

/// What `SecureLink.beginOpen` did with a datagram.
public enum LinkOpenStep {
    /// A data message waiting for its decryption.
    case queued(PendingOpen)
    /// Anything else, handled as `open` would.
    case done(LinkAction)
}
