import ArgumentParser

/// The value of a setting a daemon cannot run without, or an error naming both ways to give it.
func required<T>(_ value: T?, _ key: String) throws -> T {
    guard let value else {
        throw ValidationError("missing --\(key): give it as an option or as `\(key) = ...` in the --config file")
    }
    return value
}
