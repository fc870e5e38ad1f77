/// Command-line options of `lanyard-loadgen`.
struct Options {
    /// Simulated ports.
    var ports = 1000
    /// Seconds of frame traffic in phase 2.
    var seconds = 5.0
    /// The `lanyard` binary to start as the switch.
    var lanyard = "/work/main/.build/release/lanyard"
    /// Bytes of each Ethernet frame in phase 2.
    var frameBytes = 1000
    /// Most handshakes in flight at once in phase 1.
    var handshakeWindow = 128
    /// Most frames sent but not yet seen at the receivers in phase 2.
    var frameWindow = 512
    /// Learn MACs with one broadcast frame per port (flooded to every port) instead of a
    /// self-addressed frame (learned, then dropped by the switch: no flood).
    var broadcastLearning = false

    static let usage = """
    usage: lanyard-loadgen [--ports N] [--seconds T] [--lanyard PATH] [--frame-bytes B]
                           [--handshake-window W] [--frame-window W] [--broadcast-learning]

    Starts `lanyard switch` on 127.0.0.1 and simulates N authenticated ports against it:
    handshakes + hello/welcome, then frames between pairs of ports for T seconds. Needs root
    (the switch's control socket lives in /run/lanyard).
    """

    /// Parses `arguments` (without the program name); nil after printing why on a bad argument.
    static func parse(_ arguments: [String]) -> Options? {
        var options = Options()
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            if flag == "--help" || flag == "-h" { print(usage); return nil }
            if flag == "--broadcast-learning" { options.broadcastLearning = true; continue }
            guard let value = rest.popFirst() else { return fail("\(flag) needs a value") }
            switch flag {
            case "--ports":
                guard let n = Int(value), n >= 2, n <= 20_000 else { return fail("--ports must be 2...20000") }
                options.ports = n - n % 2
            case "--seconds":
                guard let t = Double(value), t > 0, t <= 60 else { return fail("--seconds must be in (0, 60]") }
                options.seconds = t
            case "--lanyard": options.lanyard = value
            case "--frame-bytes":
                guard let b = Int(value), b >= 60, b <= 1500 else { return fail("--frame-bytes must be 60...1500") }
                options.frameBytes = b
            case "--handshake-window":
                guard let w = Int(value), w > 0 else { return fail("--handshake-window must be positive") }
                options.handshakeWindow = w
            case "--frame-window":
                guard let w = Int(value), w > 0 else { return fail("--frame-window must be positive") }
                options.frameWindow = w
            default: return fail("unknown option \(flag)")
            }
        }
        return options
    }

    private static func fail(_ message: String) -> Options? {
        print("lanyard-loadgen: \(message)\n\n\(usage)")
        return nil
    }
}
