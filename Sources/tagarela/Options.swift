// Options: the command line of one tagarela subcommand, flags first, then TAGARELA_* variables, then defaults.
import Foundation

/// Parsed `--flag value` pairs and bare `--switch`es of one subcommand.
///
/// Only the subcommand's own flags are accepted: a misspelt or unsupported flag is refused,
/// naming it, rather than silently ignored (an operator who typed `--loop 4` would otherwise
/// run with the default and never know).
struct Options {
    /// The flags that take a value, and the switches that take none.
    let flags: Set<String>
    let switches: Set<String>
    private var values: [String: String] = [:]
    private var given: Set<String> = []
    private let environment: [String: String]

    /// Parses `arguments` against the subcommand's `flags` and `switches`.
    init(_ arguments: ArraySlice<String>, flags: Set<String>, switches: Set<String> = [],
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.flags = flags
        self.switches = switches
        self.environment = environment
        var rest = arguments[...]
        while let arg = rest.popFirst() {
            guard arg.hasPrefix("--"), arg.count > 2 else { throw UsageError("unexpected argument '\(arg)'") }
            var name = String(arg.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if switches.contains(name) {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                given.insert(name)
                continue
            }
            guard flags.contains(name) else { throw UsageError("unknown flag --\(name)") }
            guard let value = inline ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
            values[name] = value
        }
    }

    /// The flag's value, else the environment's TAGARELA_<NAME> (dashes become underscores).
    func string(_ name: String) -> String? {
        precondition(flags.contains(name), "--\(name) is read but not declared")
        if let v = values[name] { return v }
        return environment["TAGARELA_" + name.uppercased().replacingOccurrences(of: "-", with: "_")]
    }

    func string(_ name: String, default value: String) -> String { string(name) ?? value }

    /// Whether `--name` is on the command line itself, not only in the environment.
    func onCommandLine(_ name: String) -> Bool {
        precondition(flags.contains(name), "--\(name) is read but not declared")
        return values[name] != nil
    }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = string(name) else { return value }
        guard let n = Int(text) else { throw UsageError("--\(name) must be a whole number, not '\(text)'") }
        return n
    }

    /// `int`, refused outside `range` with a message naming the flag and the range.
    func int(_ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        let n = try int(name, default: value)
        guard range.contains(n) else {
            let bounds = range.upperBound == .max ? "at least \(range.lowerBound)" : "\(range.lowerBound)...\(range.upperBound)"
            throw UsageError("--\(name) must be \(bounds), not \(n)")
        }
        return n
    }

    func required(_ name: String) throws -> String {
        guard let v = string(name) else { throw UsageError("--\(name) is required") }
        return v
    }

    func flag(_ name: String) -> Bool {
        precondition(switches.contains(name), "--\(name) is read but not declared")
        return given.contains(name)
    }
}

/// A mistake in the command line: printed with the usage, exit status 2.
struct UsageError: Error, CustomStringConvertible, Equatable {
    let description: String
    init(_ text: String) { description = text }
}
