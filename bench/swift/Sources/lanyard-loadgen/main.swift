import Glibc

// lanyard-loadgen: N simulated ports against a real `lanyard switch`, inside the network namespace
// bench/loadgen.sh makes. Phase 1: handshakes and hello/welcome; phase 2: frames between pairs of
// ports, optionally with churn.

guard let options = Options.parse(Array(CommandLine.arguments.dropFirst())) else { exit(2) }

do {
    // First: blocks the termination signals before anything starts a thread or the switch.
    let poller = try Poller()
    var run = LoadRun(options: options, poller: poller)
    let rows = try run.run()
    print("\n| metric | value |\n| --- | --- |")
    for (name, value) in rows { print("| \(name) | \(value) |") }
} catch {
    print("lanyard-loadgen: \(error)")
    exit(1)
}
