/// Command-line options of `lanyard-loadgen`.
struct Options {
    /// What phase 2 does.
    enum Scenario: String {
        /// Pairs of ports exchange frames through the switch (its fabric decrypts and re-encrypts each).
        case relay
        /// Pairs ask the switch about each other (`lookup` → `member`) and exchange frames directly.
        case directory
    }

    /// Most ports: far below what the address plan holds; the join's time limit grows with it.
    static let maxPorts = 50_000

    /// Simulated ports.
    var ports = 1000
    /// Seconds of frame traffic in phase 2.
    var seconds = 5.0
    /// The `lanyard` binary to start as the switch (bench/loadgen.sh passes the repository's
    /// release build; relative paths are taken from the current folder).
    var lanyard = ".build/release/lanyard"
    /// Bytes of each Ethernet frame in phase 2.
    var frameBytes = 1000
    /// Most handshakes in flight at once in phase 1.
    var handshakeWindow = 128
    /// Most frames sent but not yet seen at the receivers in phase 2.
    var frameWindow = 512
    /// Learn MACs with one broadcast frame per port (flooded to every port) instead of a
    /// self-addressed frame (learned, then dropped by the switch: no flood).
    var broadcastLearning = false
    /// Percent of the ports that leave and rejoin per second in phase 2 (0: none).
    var churn = 0.0
    var scenario = Scenario.relay
    /// `lanyard switch --threads` (nil: the switch's default).
    var switchThreads: Int?
    /// Directory scenario: also start a real `lanyard port` and have simulated ports meet it
    /// (`--real-port`), this many of them (`--real-port-members`; nil: all).
    var realPort = false
    var realPortMembers: Int?

    static let usage = """
    usage: lanyard-loadgen [--ports N] [--seconds T] [--lanyard PATH] [--frame-bytes B]
                           [--handshake-window W] [--frame-window W] [--broadcast-learning]
                           [--churn PERCENT] [--scenario relay|directory] [--switch-threads N]
                           [--real-port] [--real-port-members K]

    Run it through bench/loadgen.sh, which makes the network namespace it needs (the switch at
    [2001:db8:5::1] on lo, every port's /64 in 2001:db8:100::/40 routed to lo) and deletes it after.
    Starts `lanyard switch` there and simulates N authenticated ports against it: handshakes +
    hello/welcome, then frames between pairs of ports for T seconds, optionally with PERCENT of
    the ports per second leaving (bye) and rejoining with a fresh session. Needs root (the
    switch's control socket lives in /run/lanyard).

    --real-port (with --scenario directory) also starts a real `lanyard port` (TAP device,
    198.51.100.1/24) as one more member; K simulated ports (default: all) meet it instead of
    their partners (lookup, rendezvous, handshake through the relay, direct path), and its
    memory per known member is reported. There is no frame phase then.
    """

    /// Parses `arguments` (without the program name); nil after printing why on a bad argument.
    static func parse(_ arguments: [String]) -> Options? {
        var options = Options()
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            if flag == "--help" || flag == "-h" { print(usage); return nil }
            if flag == "--broadcast-learning" { options.broadcastLearning = true; continue }
            if flag == "--real-port" { options.realPort = true; continue }
            guard let value = rest.popFirst() else { return fail("\(flag) needs a value") }
            switch flag {
            case "--ports":
                guard let n = Int(value), n >= 2, n <= maxPorts else { return fail("--ports must be 2...\(maxPorts)") }
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
            case "--churn":
                guard let p = Double(value), p >= 0, p <= 100 else { return fail("--churn must be 0...100 (percent per second)") }
                options.churn = p
            case "--switch-threads":
                guard let t = Int(value), (1...64).contains(t) else { return fail("--switch-threads must be 1...64") }
                options.switchThreads = t
            case "--real-port-members":
                guard let k = Int(value), k >= 1, k <= maxPorts else { return fail("--real-port-members must be 1...\(maxPorts)") }
                options.realPort = true
                options.realPortMembers = k
            case "--scenario":
                guard let s = Scenario(rawValue: value) else { return fail("--scenario must be relay or directory") }
                options.scenario = s
            default: return fail("unknown option \(flag)")
            }
        }
        if options.scenario == .directory && options.churn > 0 { return fail("--churn applies to the relay scenario only") }
        if options.realPort && options.scenario != .directory { return fail("--real-port needs --scenario directory") }
        return options
    }

    private static func fail(_ message: String) -> Options? {
        print("lanyard-loadgen: \(message)\n\n\(usage)")
        return nil
    }
}
