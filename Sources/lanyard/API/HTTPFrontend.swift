import Dispatch
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LanyardLinux
import LanyardNode
import LanyardStore
import LanyardWireGuard
import Logging
import NIOSSL
import Synchronization

/// A daemon's HTTP side, on Hummingbird's own threads: `/metrics` (on `--metrics`), and for a
/// switch on a member database the management API, on a Unix socket only root may open and,
/// when asked, on TCP behind operators' bearer tokens. Whatever it needs from the daemon it asks
/// the event loop through `requests`, answered between batches.
final class HTTPFrontend: Sendable {
    /// Questions for the event loop (pass to `EventLoop`).
    let requests: LoopInbox<LoopRequest>
    private let servers: Mutex<[Task<Void, Never>]> = Mutex([])
    private let socketPath: String?

    /// Starts the servers; throws (a clear message) if one cannot listen.
    init(metrics: String?, api: (ManagementAPI.Parts, unixSocket: String, tcp: String?)?, tls: TLSConfiguration? = nil, logger: Logger) throws {
        requests = try LoopInbox<LoopRequest>()
        socketPath = api?.unixSocket
        let asker = LoopAsker(inbox: requests)
        if let metrics {
            let router = Router()
            Self.addMetrics(to: router, asker)
            try start(router, at: try Self.tcpAddress(metrics, option: "--metrics"), shown: metrics, logger: logger)
        }
        if let (parts, path, tcp) = api {
            let routes = ManagementAPI(worker: parts.worker, loop: asker, network: parts.network, switchKey: parts.switchKey, endpoints: parts.endpoints)
            let local = Router()
            Self.addMetrics(to: local, asker)
            Self.addDocument(to: local)
            routes.addRoutes(to: local)
            try Self.prepareSocket(path)
            try start(local, at: .unixDomainSocket(path: path), shown: path, logger: logger)
            chmod(path, 0o600)
            if let tcp {
                let remote = Router()
                remote.add(middleware: OperatorAuthentication(worker: parts.worker))
                Self.addMetrics(to: remote, asker)
                Self.addDocument(to: remote)
                routes.addRoutes(to: remote)
                try start(remote, at: try Self.tcpAddress(tcp, option: "--api-listen"), shown: tcp, tls: tls, logger: logger)
            }
        }
    }

    /// Stops every server and removes the API's socket file.
    func stop() {
        servers.withLock { tasks in
            for t in tasks { t.cancel() }
            tasks.removeAll()
        }
        if let socketPath { unlink(socketPath) }
    }

    private static func addMetrics(to router: Router<BasicRequestContext>, _ asker: LoopAsker) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await asker.ask(.metrics))))
        }
    }

    private static func addDocument(to router: Router<BasicRequestContext>) {
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }

    /// Runs one server in a task of its own; waits (at most 10 s) until it listens or failed.
    private func start(_ router: Router<BasicRequestContext>, at address: BindAddress, shown: String,
                       tls: TLSConfiguration? = nil, logger: Logger) throws {
        let outcome = Mutex<String?>(nil)
        let settled = DispatchSemaphore(value: 0)
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)   // no line per request
        // Connections idle for 30 s are closed (a client holding many open costs descriptors).
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(30)))
        let server: HTTPServerBuilder
        do { server = try tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1 } catch {
            throw CommandFailure("cannot set up TLS for \(shown): \(error)")
        }
        let app = Application(router: router, server: server, configuration: .init(address: address, serverName: nil),
                              onServerRunning: { _ in settled.signal() }, logger: quiet)
        let task = Task {
            do { try await app.run() } catch {
                outcome.withLock { $0 = "\(error)" }
                settled.signal()
            }
        }
        servers.withLock { $0.append(task) }
        guard settled.wait(timeout: .now() + 10) == .success else { throw CommandFailure("cannot listen on \(shown): no answer in 10 s") }
        if let failure = outcome.withLock({ $0 }) { throw CommandFailure("cannot listen on \(shown): \(failure)") }
    }

    static func tcpAddress(_ text: String, option: String) throws -> BindAddress {
        guard let address = try? SocketAddress.resolve(text, passive: true), let colon = text.lastIndex(of: ":") else {
            throw CommandFailure("\(option) '\(text)' is not an address to listen on: give ADDRESS:PORT, e.g. 127.0.0.1:9586 or [::1]:9586")
        }
        let host = text[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return .hostname(host, port: Int(address.port))
    }

    /// Makes the socket's folder (mode 755, as /run/lanyard) and removes a socket left by a
    /// daemon that died; refuses if another daemon answers there.
    static func prepareSocket(_ path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? ControlClient.request(path: path, "GET /v1/network HTTP/1.0\r\n\r\n")) != nil {
            throw CommandFailure("\(path) is in use by another running daemon: give this one another --name")
        }
        unlink(path)
    }
}

extension HTTPFrontend {
    /// The API's TLS from a PEM certificate chain and its private key (mode 600).
    static func tls(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        } catch {
            throw CommandFailure("cannot read the API's certificate \(certificate) or key \(key): \(error) (PEM files expected)")
        }
    }
}

extension ManagementAPI {
    /// What the API serves besides the loop's answers.
    struct Parts: Sendable {
        let worker: StoreWorker
        let network: String
        let switchKey: PublicKey
        let endpoints: [String]
    }
}

/// Lets a request through only with `Authorization: Bearer TOKEN` of an operator (`lanyard
/// member operator add`); the store keeps each token's hash only. The hashes are held here and
/// read again from the store at most every 5 s (a removed operator's token stops working within
/// that), so requests with wrong tokens cost the store nothing.
struct OperatorAuthentication: RouterMiddleware {
    let worker: StoreWorker
    let known = OperatorHashes()

    final class OperatorHashes: Sendable {
        let state = Mutex<(hashes: Set<String>, readAt: ContinuousClock.Instant?)>(([], nil))
    }

    func handle(_ request: Request, context: BasicRequestContext,
                next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count < 512 else {
            throw APIError(.unauthorized, "this API needs an operator's token: Authorization: Bearer TOKEN (`lanyard member operator add NAME` makes one)")
        }
        let hash = OperatorToken.hash(String(header.dropFirst("Bearer ".count)))
        let now = ContinuousClock.now
        var hashes = known.state.withLock { s in s.readAt.map { now - $0 < .seconds(5) } == true ? s.hashes : nil }
        if hashes == nil {
            do {
                // Read-only: the store's version is not looked at again for it.
                let read = try await worker.run(changes: false) { (s) throws(StoreError) in try s.operatorHashes() }
                known.state.withLock { $0 = (read, now) }
                hashes = read
            } catch { throw APIError(error) }
        }
        // Constant time over every operator's hash (a handful).
        guard hashes!.reduce(false, { $0 || JoinToken.sameHash($1, hash) }) else {
            throw APIError(.unauthorized, "the token is not an operator's (revoked, or mistyped)")
        }
        return try await next(request, context)
    }
}

/// Operators' bearer tokens: random, shown once, stored as a hash.
enum OperatorToken {
    static func make() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var g = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = g.next() }
        return "lanyard-op-" + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> String { JoinToken.secretHash(Array(token.utf8)) }
}
