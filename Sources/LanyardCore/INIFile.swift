/// A small parser for WireGuard-style configuration files: `[Section]` headers, `Key = Value`
/// lines, `#` or `;` comments. Keys may repeat (e.g. several `MACAddress` lines).
public struct INIFile: Sendable, Equatable {
    /// One `[Name]` section with its entries in file order.
    public struct Section: Sendable, Equatable {
        public var name: String
        public var line: Int
        public var entries: [(key: String, value: String, line: Int)]

        public static func == (a: Section, b: Section) -> Bool {
            a.name == b.name && a.line == b.line && a.entries.map { "\($0.key)=\($0.value)@\($0.line)" } == b.entries.map { "\($0.key)=\($0.value)@\($0.line)" }
        }

        /// All values of `key` (case-insensitive).
        public func values(_ key: String) -> [String] {
            entries.filter { $0.key.lowercased() == key.lowercased() }.map(\.value)
        }

        /// The single value of `key`, nil if absent; an error if given twice.
        public func value(_ key: String) throws(ParseError) -> String? {
            let all = entries.filter { $0.key.lowercased() == key.lowercased() }
            guard all.count <= 1 else { throw .duplicateKey(key, line: all[1].line) }
            return all.first?.value
        }
    }

    /// What is wrong with a file, with the line to fix.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case entryOutsideSection(line: Int)
        case malformedLine(line: Int)
        case duplicateKey(String, line: Int)
        case unknownKey(String, section: String, line: Int)
        case invalidValue(key: String, value: String, line: Int, reason: String)
        case missingKey(String, section: String, line: Int)

        public var description: String {
            switch self {
            case .entryOutsideSection(let l): "line \(l): a setting before any [Section] header"
            case .malformedLine(let l): "line \(l): expected 'Key = Value' or '[Section]'"
            case .duplicateKey(let k, let l): "line \(l): '\(k)' given twice"
            case .unknownKey(let k, let s, let l): "line \(l): unknown setting '\(k)' in [\(s)]"
            case .invalidValue(let k, let v, let l, let r): "line \(l): \(k) = \(v): \(r)"
            case .missingKey(let k, let s, let l): "[\(s)] at line \(l) needs '\(k)'"
            }
        }
    }

    public var sections: [Section]

    /// Parses `text`.
    public init(parsing text: String) throws(ParseError) {
        sections = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if let hash = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<hash] }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count > 2 else { throw .malformedLine(line: lineNumber) }
                let name = trimmed.dropFirst().dropLast().trimmingWhitespace()
                sections.append(Section(name: String(name), line: lineNumber, entries: []))
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else { throw .malformedLine(line: lineNumber) }
            let key = trimmed[..<eq].trimmingWhitespace()
            let value = trimmed[trimmed.index(after: eq)...].trimmingWhitespace()
            guard !key.isEmpty else { throw .malformedLine(line: lineNumber) }
            guard !sections.isEmpty else { throw .entryOutsideSection(line: lineNumber) }
            sections[sections.count - 1].entries.append((String(key), String(value), lineNumber))
        }
    }

    /// Sections named `name` (case-insensitive).
    public func sections(named name: String) -> [Section] {
        sections.filter { $0.name.lowercased() == name.lowercased() }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}
