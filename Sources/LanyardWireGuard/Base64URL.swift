/// Base64url without padding (RFC 4648 §5), for join tokens: safe in shells, URLs and file names.
/// The standard alphabet's coder (`KeyBase64`) with two characters swapped and no padding.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        String(decoding: KeyBase64.encode(bytes).utf8.compactMap { c -> UInt8? in
            switch c {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: c
            }
        }, as: UTF8.self)
    }

    /// Decodes canonical unpadded base64url; nil on any other character, on padding, on an
    /// impossible length, or when the unused low bits of the last character are not zero.
    static func decode<S: Collection>(_ chars: S) -> [UInt8]? where S.Element == UInt8 {
        guard chars.count % 4 != 1 else { return nil }
        var standard = [UInt8]()
        standard.reserveCapacity(chars.count + 3)
        for c in chars {
            switch c {
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): return nil
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: standard.append(c)
            }
        }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return KeyBase64.decode(String(decoding: standard, as: UTF8.self), count: chars.count * 6 / 8)
    }
}
