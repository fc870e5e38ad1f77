import ArgumentParser
import Foundation
import TOMLKit

/// A daemon's configuration file: TOML, with one table named for the role (`[switch]`, `[port]`,
/// `[server]`, `[client]`) whose keys are that command's long option names without the dashes:
///
///     [switch]
///     listen = 51820
///     private-key = "/etc/lanyard/office.key"
///     ports = "/etc/lanyard/office.ports"
///
/// Options given on the command line win over the file. The keys are not listed by hand: they
/// are read off the command's own option declarations, so every flag has a key and no key exists
/// without its flag.
struct ConfigFile {
    /// One option a file may set, as the command declares it.
    struct Key: Equatable {
        enum Kind: Equatable { case flag, single, list }
        enum Value: Equatable { case string, integer, number, boolean }
        let name: String
        let kind: Kind
        let value: Value
    }

    /// Why a file was refused. Each message names the file and, where it can, the line and key.
    enum Failure: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case syntax(path: String, line: Int, column: Int, reason: String)
        case noRoleTable(path: String, expected: [String])
        case severalRoles(path: String, found: [String])
        case wrongRole(path: String, found: String, expected: String)
        case unknownKey(path: String, line: Int?, role: String, key: String, known: [String])
        case wrongType(path: String, line: Int?, key: String, expected: String, found: String)

        var description: String {
            func at(_ path: String, _ line: Int?) -> String { line.map { "\(path):\($0)" } ?? path }
            switch self {
            case .unreadable(let path, let reason): return "cannot read configuration \(path): \(reason)"
            case .syntax(let path, let line, let column, let reason):
                return "\(path):\(line):\(column): not valid TOML: \(reason)"
            case .noRoleTable(let path, let expected):
                return "\(path): no [\(expected.joined(separator: "], ["))] table; put the settings under one, e.g. [\(expected[0])]"
            case .severalRoles(let path, let found):
                return "\(path): has tables for several roles (\(found.joined(separator: ", "))); use one file per daemon"
            case .wrongRole(let path, let found, let expected):
                return "\(path) configures a \(found), not a \(expected): run `lanyard \(found) --config \(path)`"
            case .unknownKey(let path, let line, let role, let key, let known):
                let near = known.min { editDistance($0, key) < editDistance($1, key) }
                let hint = near.map { editDistance($0, key) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""
                return "\(at(path, line)): '\(key)' is not a [\(role)] setting\(hint); known keys: \(known.joined(separator: ", "))"
            case .wrongType(let path, let line, let key, let expected, let found):
                return "\(at(path, line)): '\(key)' must be \(expected), not \(found)"
            }
        }
    }

    static let roles = ["switch", "port", "server", "client"]

    let path: String
    let role: String
    let text: String
    let table: TOMLTable

    /// Reads and parses `path`; `role` nil accepts any one role.
    init(path: String, role: String?) throws(Failure) {
        let text: String
        do { text = try KeyFiles.contents(path, kind: .configuration) } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw .syntax(path: path, line: error.source.begin.line, column: error.source.begin.column, reason: error.description)
        } catch {
            throw .syntax(path: path, line: 1, column: 1, reason: "\(error)")
        }
        let found = root.keys.filter { Self.roles.contains($0) || root[$0]?.table != nil }
        if let stray = root.keys.first(where: { root[$0]?.table == nil }) {
            throw .unknownKey(path: path, line: Self.line(of: stray, in: text, table: nil), role: role ?? "any role",
                              key: stray, known: ["a table: [\((role.map { [$0] } ?? Self.roles).joined(separator: "] or ["))]"])
        }
        guard found.count <= 1 else { throw .severalRoles(path: path, found: found) }
        guard let name = found.first, let table = root[name]?.table else {
            throw .noRoleTable(path: path, expected: role.map { [$0] } ?? Self.roles)
        }
        guard Self.roles.contains(name) else {
            throw .noRoleTable(path: path, expected: role.map { [$0] } ?? Self.roles)
        }
        if let role, name != role { throw .wrongRole(path: path, found: name, expected: role) }
        self.path = path
        self.role = name
        self.text = text
        self.table = table
    }

    /// The line where `key` is set in the role's table (best effort: TOMLKit keeps no positions).
    func line(of key: String) -> Int? { Self.line(of: key, in: text, table: role) }

    private static func line(of key: String, in text: String, table: String?) -> Int? {
        var current: String? = nil
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                current = line.dropFirst().prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard current == table, let eq = line.firstIndex(of: "=") else { continue }
            let k = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            if k == key { return n + 1 }
        }
        return nil
    }

    /// Command-line arguments equivalent to the file, for the options `keys` lists, leaving out
    /// every option that `commandLine` already sets (the command line wins). A key the command
    /// does not take is an error.
    func arguments(for keys: [Key], overriddenBy commandLine: [String]) throws(Failure) -> [String] {
        let given = Set(commandLine.compactMap { arg -> String? in
            guard arg.hasPrefix("--") else { return nil }
            return String(arg.dropFirst(2).prefix { $0 != "=" })
        })
        var out: [String] = []
        for name in table.keys.sorted() {
            guard let key = keys.first(where: { $0.name == name }), name != "config" else {
                throw .unknownKey(path: path, line: line(of: name), role: role, key: name, known: keys.map(\.name).filter { $0 != "config" }.sorted())
            }
            guard !given.contains(name), let value = table[name] else { continue }
            switch key.kind {
            case .flag:
                guard let on = value.bool else {
                    throw .wrongType(path: path, line: line(of: name), key: name, expected: "true or false", found: value.type.description)
                }
                if on { out.append("--\(name)") }
            case .single:
                out += ["--\(name)", try text(of: value.tomlValue, for: key)]
            case .list:
                let items: [TOMLValueConvertible] = value.array.map { Array($0) } ?? [value]
                for item in items { out += ["--\(name)", try text(of: item.tomlValue, for: key)] }
            }
        }
        return out
    }

    private func text(of value: TOMLValue, for key: Key) throws(Failure) -> String {
        let wrong = Failure.wrongType(path: path, line: line(of: key.name), key: key.name, expected: key.value.described,
                                      found: value.type.description)
        switch key.value {
        case .string:
            if let s = value.string { return s }
            if let i = value.int { return String(i) }
        case .integer:
            if let i = value.int { return String(i) }
        case .number:
            if let d = value.double { return String(d) }
            if let i = value.int { return String(i) }
        case .boolean:
            if let b = value.bool { return String(b) }
        }
        throw wrong
    }

    /// The keys a command takes, read off its option declarations (and those of its option
    /// groups, passed as instances too): `maxMacsPerPort` becomes `max-macs-per-port`, as
    /// ArgumentParser names the flag. Positional arguments have no key.
    static func keys(of declarations: Any...) -> [Key] {
        var keys: [Key] = []
        for declaration in declarations {
            for child in Mirror(reflecting: declaration).children {
                guard let label = child.label, label.hasPrefix("_") else { continue }
                let type = String(describing: Swift.type(of: child.value))
                let name = kebab(String(label.dropFirst()))
                if type.hasPrefix("Flag<") {
                    keys.append(Key(name: name, kind: .flag, value: .boolean))
                } else if type.hasPrefix("Option<") {
                    let inner = type.dropFirst("Option<".count).dropLast()
                    let isList = inner.hasPrefix("Array<")
                    let base = inner.replacingOccurrences(of: "Optional<", with: "").replacingOccurrences(of: "Array<", with: "")
                        .trimmingCharacters(in: CharacterSet(charactersIn: ">"))
                    let value: Key.Value = switch base {
                    case "Int", "UInt16", "UInt32": .integer
                    case "Double": .number
                    case "Bool": .boolean
                    default: .string
                    }
                    keys.append(Key(name: name, kind: isList ? .list : .single, value: value))
                }
            }
        }
        return keys
    }

    /// `maxMacsPerPort` → `max-macs-per-port`, ArgumentParser's default long name.
    static func kebab(_ camel: String) -> String {
        var out = ""
        for c in camel {
            if c.isUppercase, !out.isEmpty { out.append("-") }
            out.append(Character(c.lowercased()))
        }
        return out
    }
}

private extension ConfigFile.Key.Value {
    var described: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a number"
        case .boolean: "true or false"
        }
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var previous = row[0]
        row[0] = i
        for j in 1...b.count {
            let saved = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = saved
        }
    }
    return row[b.count]
}
