/// Why a store refused or failed a request; every message says what to do about it.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case noSuchMember(String)
    case nameTaken(String)
    case keyTaken(name: String)
    case macTaken(mac: String, member: String)
    case addressTaken(address: String, member: String)
    case invalidName(String)
    case invalidValue(String)
    case noSuchInvite(String)
    case noSuchOperator(String)
    case operatorExists(String)
    /// The database answered with an error, or could not be reached.
    case database(String)
    /// The database is busy with another writer for longer than the wait allows.
    case locked(String)
    /// The database was made by a newer Lanyard.
    case newerSchema(found: Int, known: Int)
    /// This kind of store cannot hold that (a ports file has no invites).
    case unsupported(String)
    /// The running daemon's API refused, with its message.
    case refused(String)

    public var description: String {
        switch self {
        case .noSuchMember(let n): "no member named \(n) (`lanyard member list` shows them)"
        case .nameTaken(let n): "a member named \(n) exists already: choose another name"
        case .keyTaken(let n): "this public key belongs to member \(n) already"
        case .macTaken(let m, let n): "MAC \(m) is pinned to member \(n) already: unpin it there first"
        case .addressTaken(let a, let n): "address \(a) is fixed for member \(n) already"
        case .invalidName(let n): "'\(n)' is not a valid name: use 1–63 letters, digits, '-', '_' and '.'"
        case .invalidValue(let why): why
        case .noSuchInvite(let id): "no invite \(id) (`lanyard member invites` lists them)"
        case .noSuchOperator(let n): "no operator named \(n)"
        case .operatorExists(let n): "an operator named \(n) exists already"
        case .database(let why): "the member database failed: \(why)"
        case .locked(let why): "the member database is locked by another writer (\(why)): try again"
        case .newerSchema(let found, let known):
            "the member database has schema version \(found), newer than this lanyard knows (\(known)): upgrade lanyard"
        case .unsupported(let why): why
        case .refused(let why): why
        }
    }
}
