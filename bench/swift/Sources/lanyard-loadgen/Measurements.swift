import Foundation
import Glibc

/// Readings of processes and the text the report shows them as.
enum Measurements {
    /// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds the switch (`pid`) and this process use while `body` runs, nil if unreadable.
    static func cpu<T>(switch pid: Int32, _ body: () -> T) -> (result: T, switch: Double?, generator: Double?) {
        let s0 = cpuSeconds(pid: pid), g0 = cpuSeconds(pid: getpid())
        let result = body()
        let s1 = cpuSeconds(pid: pid), g1 = cpuSeconds(pid: getpid())
        return (result, s0.flatMap { a in s1.map { $0 - a } }, g0.flatMap { a in g1.map { $0 - a } })
    }

    /// Each side's CPU as a share of one core, and which one limited the phase: a side above 90%
    /// of its core was saturated (both single-threaded); below that, neither was.
    static func bottleneck(switchCPU: Double, generatorCPU: Double, seconds: Double) -> String {
        let s = 100 * switchCPU / seconds, g = 100 * generatorCPU / seconds
        let limit = s >= 90 && s >= g ? "the switch is the limit" : g >= 90 ? "the generator is the limit" : "neither side saturated"
        return String(format: "%.0f %% / %.0f %% of one core (%@)", s, g, limit)
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }

    /// The median of `values` (nil when empty).
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
