/// The switch's answer to a join request.
public enum JoinOutcome: Sendable, Equatable {
    /// The joiner is a member now, named `memberName`; `endpoints` are where the switch listens
    /// (may be empty: the joiner keeps the token's).
    case accepted(memberName: String, endpoints: [String])
    /// The request is valid and waits for the operator's approval: ask again later.
    case pending
    /// The switch will not add the joiner.
    case refused(JoinRefusal)
}

/// Why the switch refused a join request.
public enum JoinRefusal: UInt8, Sendable, CaseIterable {
    /// Unknown invite, wrong secret or revoked invite: deliberately one answer, so a guesser
    /// learns nothing.
    case invalid = 1
    /// The invite's validity ended.
    case expired
    /// The invite was already used by another machine.
    case used
    /// The requested member name belongs to another member.
    case nameTaken
    /// The joiner's public key belongs to another member.
    case keyTaken
    /// The switch is busy or the request's clock is too far off: try again shortly.
    case tryLater

    /// What the person at the joining machine should do.
    public var message: String {
        let newToken = "ask the network's operator for a new one (`lanyard member invite NAME`)"
        switch self {
        case .invalid:
            return "the switch does not accept this token (unknown, revoked or altered): check you copied the whole line, otherwise \(newToken)"
        case .expired:
            return "this token has expired: \(newToken)"
        case .used:
            return "this token was already used: \(newToken)"
        case .nameTaken:
            return "the switch already has a member with this name: join with another name, or ask the network's operator to remove the old member"
        case .keyTaken:
            return "the switch already has a member with this machine's key: this machine is probably a member already (`lanyard status`); otherwise ask the network's operator"
        case .tryLater:
            return "the switch cannot take the request now (busy, or this machine's clock is more than 10 minutes off): check the clock (`timedatectl`) and try again in a minute"
        }
    }
}

/// Why a join datagram was refused.
public enum JoinExchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The datagram is not a join request (wrong type or header).
    case notARequest
    /// The datagram is not a join reply (wrong type or header).
    case notAReply
    /// Shorter or longer than any valid datagram of its type.
    case badLength
    /// The joiner's public key is a low-order point: no key can be agreed with it.
    case invalidJoinerKey
    /// The switch key is a low-order point: no key can be agreed with it.
    case invalidSwitchKey
    /// The tag did not verify: sealed for another key, altered, or not from the other side.
    case authenticationFailed
    /// Authentic, but its contents do not follow the format (a bug or another version).
    case malformed
    /// A hostname of more than 63 UTF-8 bytes, or with control characters.
    case invalidHostname
    /// A member name that is empty, longer than 63 UTF-8 bytes, or has control characters.
    case invalidMemberName
    /// More than 8 endpoints, or one that is not "HOST:PORT".
    case invalidEndpoints

    public var description: String {
        switch self {
        case .notARequest:
            return "not a Lanyard join request: nothing to do unless this repeats (then check what sends to the switch's port)"
        case .notAReply:
            return "the answer is not a Lanyard join reply: check that the token's address and port are the switch's, not another service's"
        case .badLength:
            return "a join datagram of impossible length arrived (cut in transit, or sent by something else): retry; if it repeats, check the path's MTU and the token's address"
        case .invalidJoinerKey:
            return "the join request carries an unusable public key: the joining machine must make a new key pair and retry"
        case .invalidSwitchKey:
            return "the token's switch key is unusable: ask the network's operator for a new token (`lanyard member invite NAME`)"
        case .authenticationFailed:
            return "a join datagram failed authentication (sealed for another switch key, altered, or forged): check the token belongs to this switch; if it does, retry"
        case .malformed:
            return "a join datagram was authentic but malformed: make sure the port and the switch run compatible lanyard versions"
        case .invalidHostname:
            return "the requested name must be at most 63 bytes without control characters: choose a shorter name"
        case .invalidMemberName:
            return "the member name must be 1 to 63 bytes without control characters: choose another name"
        case .invalidEndpoints:
            return "the switch's endpoints must be at most 8 \"HOST:PORT\" strings (IPv6 in brackets): fix the switch's public endpoints in its configuration"
        }
    }
}
