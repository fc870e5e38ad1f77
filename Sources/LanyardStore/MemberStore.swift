import LanyardWireGuard

/// Where a network's members live: the seam between membership (changed rarely, by an operator
/// or a join) and the data path (which reads only the list it was last given). Implemented by
/// an SQLite file, a PostgreSQL database and a ports file.
///
/// Calls block (a database round trip); the daemons make them on a thread of their own, never on
/// the event loop's. Every change is one transaction and raises the version.
public protocol MemberStore: AnyObject, Sendable {
    /// Where it is, for messages ("sqlite /var/lib/lanyard/office.db").
    var location: String { get }
    /// The current list and its version.
    func current() throws(StoreError) -> MemberList
    /// The version alone (cheap: a safety-net poll).
    func version() throws(StoreError) -> Int64

    func add(_ member: Member) throws(StoreError)
    /// Adds all or none (one transaction where the store has them).
    func add(all members: [Member]) throws(StoreError)
    /// Changes the member named `name` and returns it as it is now.
    @discardableResult
    func update(_ name: String, _ change: MemberChange) throws(StoreError) -> Member
    func remove(_ name: String) throws(StoreError)

    func createInvite(_ invite: Invite) throws(StoreError)
    func invites() throws(StoreError) -> [Invite]
    func revokeInvite(_ id: String) throws(StoreError)
    /// Makes `publicKey` a member with the invite `inviteID` if `secretHash` matches and it is
    /// neither expired, used up nor revoked; a repeated request from the key it already made a
    /// member answers the same (a lost reply is retried).
    func redeem(inviteID: String, secretHash: String, publicKey: PublicKey, now: Int64) throws(StoreError) -> Redemption

    /// Operators of the API over TCP: their bearer tokens, stored as hashes.
    func addOperator(_ name: String, tokenHash: String) throws(StoreError)
    func removeOperator(_ name: String) throws(StoreError)
    func operators() throws(StoreError) -> [String]
    /// Every operator's token hash (the API holds them and compares a token with each).
    func operatorHashes() throws(StoreError) -> Set<String>

    /// Lists switch `record` as one of the network's (replacing an entry of the same name or
    /// key); a store that holds no switches refuses.
    func registerSwitch(_ record: SwitchRecord, now: Int64) throws(StoreError)
    /// Takes switch `name` off the list.
    func removeSwitch(_ name: String) throws(StoreError)

    /// Calls `changed` (on any thread) when another writer changed the members, where the
    /// store can tell (PostgreSQL's LISTEN/NOTIFY); others are only polled.
    func watch(_ changed: @escaping @Sendable () -> Void)
    func stopWatching()
}

/// The member named `name`, if any.
extension MemberStore {
    public func member(named name: String) throws(StoreError) -> Member? {
        try current().members.first { $0.name == name }
    }
}

/// A store that cannot tell of other writers' changes (a ports file, SQLite) is only polled.
extension MemberStore {
    /// One by one, where the store has no transactions of its own (a ports file, the API).
    public func add(all members: [Member]) throws(StoreError) { for m in members { try add(m) } }


    public func watch(_ changed: @escaping @Sendable () -> Void) {}
    public func stopWatching() {}

    public func registerSwitch(_ record: SwitchRecord, now: Int64) throws(StoreError) {
        throw .unsupported("\(location) cannot list several switches: give them one PostgreSQL database (--database postgres://...)")
    }
    public func removeSwitch(_ name: String) throws(StoreError) {
        throw .unsupported("\(location) lists no switches")
    }
}
