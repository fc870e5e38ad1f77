/// The switch's "HOST:PORT" endpoints as join tokens and join replies carry them: UTF-8 joined by
/// ",". HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT is 1...65535.
enum JoinEndpoints {
    /// At most this many endpoints in a token or a reply.
    static let maxCount = 8
    /// At most this many UTF-8 bytes in one endpoint.
    static let maxLength = 255

    /// Whether `endpoint` is one acceptable "HOST:PORT": non-empty, at most 255 bytes, no comma,
    /// whitespace or control character, an unbracketed host without ":" (IPv6 goes in brackets).
    static func isValid(_ endpoint: String) -> Bool {
        let bytes = Array(endpoint.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        for scalar in endpoint.unicodeScalars {
            if scalar == "," || scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                return false
            }
        }
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else { return false }
        let port = bytes[(colon + 1)...]
        guard (1...5).contains(port.count), port.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let number = Int(String(decoding: port, as: UTF8.self)), (1...65535).contains(number)
        else { return false }
        let host = bytes[..<colon]
        guard !host.isEmpty else { return false }
        if host.first == UInt8(ascii: "[") {
            let inner = host.dropFirst().dropLast()
            return host.count > 2 && host.last == UInt8(ascii: "]")
                && !inner.contains(UInt8(ascii: "[")) && !inner.contains(UInt8(ascii: "]"))
        }
        return !host.contains(UInt8(ascii: ":")) && !host.contains(UInt8(ascii: "["))
            && !host.contains(UInt8(ascii: "]"))
    }

    /// Whether `endpoints` is an acceptable list (`allowEmpty`: a join reply may carry none).
    static func isValid(_ endpoints: [String], allowEmpty: Bool = false) -> Bool {
        guard endpoints.count <= maxCount, allowEmpty || !endpoints.isEmpty else { return false }
        return endpoints.allSatisfy(isValid)
    }

    /// The wire form: UTF-8 joined by ",".
    static func encode(_ endpoints: [String]) -> [UInt8] {
        Array(endpoints.joined(separator: ",").utf8)
    }

    /// Parses the wire form; nil unless every endpoint is valid (`allowEmpty`: no bytes means none).
    static func decode(_ bytes: ArraySlice<UInt8>, allowEmpty: Bool = false) -> [String]? {
        if bytes.isEmpty { return allowEmpty ? [] : nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let endpoints = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return isValid(endpoints, allowEmpty: allowEmpty) ? endpoints : nil
    }
}
