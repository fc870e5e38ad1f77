import LanyardWireGuard

/// The switches of a network served by several (one shared database).
extension SQLMemberStore {
    public func registerSwitch(_ record: SwitchRecord, now: Int64) throws(StoreError) {
        guard Member.isValidName(record.name) else { throw .invalidName(record.name) }
        let key = SQLValue.text(record.publicKey.base64), endpoints = SQLValue.text(record.endpoints.joined(separator: " "))
        try backend.transaction { (tx) throws(StoreError) in
            // Unchanged (a restart): nothing is written, so no switch rereads the list for it.
            let same = try tx.int("""
                SELECT COUNT(*) FROM switches WHERE name = ? AND public_key = ? AND mesh_endpoint = ? AND endpoints = ?
                """, [.text(record.name), key, .text(record.meshEndpoint), endpoints])
            guard same == 0 else { return }
            // Another switch under this name (two switches left at one default name would
            // otherwise take turns evicting each other): refused, with what to do.
            if let other = try tx.rows("SELECT public_key FROM switches WHERE name = ? AND public_key <> ?", [.text(record.name), key]).first?[0].string {
                throw .invalidValue("""
                    a switch named \(record.name) with another key (\(other)) is listed already: give this switch its own --name, \
                    or if its key changed, remove the old entry with `lanyard member remove-switch \(record.name) --database URL`
                    """)
            }
            try tx.execute("DELETE FROM switches WHERE public_key = ?", [key])
            try tx.execute("INSERT INTO switches (name, public_key, mesh_endpoint, endpoints, updated_at) VALUES (?, ?, ?, ?, ?)",
                           [.text(record.name), key, .text(record.meshEndpoint), endpoints, .integer(now)])
            try bump(tx)
        }
    }

    public func removeSwitch(_ name: String) throws(StoreError) {
        try backend.transaction { (tx) throws(StoreError) in
            guard try tx.execute("DELETE FROM switches WHERE name = ?", [.text(name)]) == 1 else {
                throw .invalidValue("no switch named \(name) is listed")
            }
            try bump(tx)
        }
    }

    static func switches(_ tx: any SQLTransaction) throws(StoreError) -> [SwitchRecord] {
        try tx.rows("SELECT name, public_key, mesh_endpoint, endpoints FROM switches ORDER BY name", []).compactMap { row in
            guard let name = row[0].string, let key = row[1].string.flatMap({ try? PublicKey(base64: $0) }),
                  let mesh = row[2].string else { return nil }
            return SwitchRecord(name: name, publicKey: key, meshEndpoint: mesh,
                                endpoints: (row[3].string ?? "").split(separator: " ").map(String.init))
        }
    }
}
