import Glibc
import Testing
@testable import LanyardLinux

/// WireGuard's userspace API over the control socket: only a whole request is handed on.
@Suite(.serialized) struct ControlSocketTests {
    /// Sends `text` to a fresh server, closes the sending side, serves once; returns what the
    /// handler was given and the reply.
    func exchange(_ text: String) throws -> (handled: [String], reply: String) {
        let directory = "/tmp/lanyard-control-test-\(getpid())"
        let path = directory + "/api.sock"
        let server = try ControlServer(path: path, directory: directory)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = try ControlServer.unixAddress(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(rc == 0)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        shutdown(fd, Int32(SHUT_WR))
        var handled: [String] = []
        server.serveBlankLineTerminated { request in handled.append(request); return "errno=0\n\n" }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            reply += buffer[0..<n]
        }
        return (handled, String(decoding: reply, as: UTF8.self))
    }

    /// Security review (issue 19): a `set` cut before its closing empty line (`allowed_ip=10.1.0.0/16`
    /// cut to `/1` would route half of IPv4 to that peer) is applied not at all and answered
    /// with an errno.
    @Test func aTruncatedSetIsNeverHandedOn() throws {
        let cut = try exchange("set=1\npublic_key=\(String(repeating: "ab", count: 32))\nallowed_ip=10.1.0.0/1")
        #expect(cut.handled.isEmpty)
        #expect(cut.reply.hasPrefix("errno=") && cut.reply != "errno=0\n\n" && cut.reply.hasSuffix("\n\n"))
        let noBlank = try exchange("set=1\nlisten_port=51820\n")
        #expect(noBlank.handled.isEmpty)
        #expect(noBlank.reply.hasPrefix("errno=") && noBlank.reply != "errno=0\n\n")
        let whole = try exchange("set=1\nlisten_port=51820\n\n")
        #expect(whole.handled == ["set=1\nlisten_port=51820\n\n"])
        #expect(whole.reply == "errno=0\n\n")
    }
}
