import Foundation
import Hummingbird
import LanyardStore

/// A refused API request: its HTTP status and a message that says what to do. The body is
/// `{"error": "..."}`; nothing was changed.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The status a store's refusal maps to.
    init(_ error: StoreError) {
        switch error {
        case .noSuchMember, .noSuchInvite, .noSuchOperator: self.init(.notFound, error.description)
        case .nameTaken, .keyTaken, .macTaken, .addressTaken, .operatorExists: self.init(.conflict, error.description)
        case .invalidName, .invalidValue, .unsupported, .refused: self.init(.badRequest, error.description)
        case .database, .locked, .newerSchema: self.init(.serviceUnavailable, error.description)
        }
    }

    var headers: HTTPFields { [.contentType: "application/json"] }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let data = (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? Data("{}".utf8)
        return allocator.buffer(bytes: data)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: body(allocator: ByteBufferAllocator())!))
    }
}

/// Any JSON value, as sent: booleans, numbers and strings stay apart (JSONSerialization on Linux
/// cannot tell `true` from `1`).
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// A request body read strictly: a JSON object of at most 64 KB, only the fields named, each of
/// the type asked for. Codable would ignore unknown fields; an API that changes members must
/// not silently drop a misspelled one.
struct JSONFields {
    let fields: [String: JSONValue]

    static func read(_ request: Request, allowed: Set<String>, required: Set<String> = []) async throws -> JSONFields {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 65_536) } catch {
            throw APIError(.contentTooLarge, "the request body is larger than 64 KB")
        }
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) else {
            throw APIError(.badRequest, "the body is not a JSON object: send one such as {\"name\": \"laptop\"}")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(.badRequest, "unknown field '\(unknown)': this request takes \(allowed.sorted().joined(separator: ", "))")
        }
        if let missing = required.sorted().first(where: { fields[$0] == nil || fields[$0] == .null }) {
            throw APIError(.badRequest, "field '\(missing)' is required")
        }
        return JSONFields(fields: fields)
    }

    func string(_ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw APIError(.badRequest, "field '\(key)' must be a string")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        switch fields[key] {
        case nil, .null?: return nil
        case .array(let a)? where a.count <= 256:
            return try a.map { v in
                guard case .string(let s) = v else { throw APIError(.badRequest, "field '\(key)' must be an array of strings") }
                return s
            }
        default: throw APIError(.badRequest, "field '\(key)' must be an array of at most 256 strings")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw APIError(.badRequest, "field '\(key)' must be true or false")
        }
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
        switch fields[key] {
        case nil, .null?: return nil
        case .number(let d)? where d.rounded() == d && d >= Double(range.lowerBound) && d <= Double(range.upperBound): return Int64(d)
        default: throw APIError(.badRequest, "field '\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
    }
}

/// A JSON response.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
