// Options: the command line of the tagarela executable, flags first, then TAGARELA_* variables, then defaults.
import Foundation

/// Parsed `--flag value` pairs and bare `--switch`es of one subcommand.
struct Options {
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private(set) var positional: [String] = []

    /// Parses `arguments`; `switchNames` are the flags that take no value.
    init(_ arguments: ArraySlice<String>, switchNames: Set<String> = []) throws {
        var rest = arguments[...]
        while let arg = rest.popFirst() {
            guard arg.hasPrefix("--") else { positional.append(arg); continue }
            var name = String(arg.dropFirst(2))
            if let eq = name.firstIndex(of: "=") {
                values[String(name[..<eq])] = String(name[name.index(after: eq)...])
                continue
            }
            if switchNames.contains(name) { switches.insert(name); continue }
            guard let value = rest.popFirst() else { throw UsageError("--\(name) needs a value") }
            values[name] = value
            name = ""
        }
    }

    /// The flag's value, else the environment's TAGARELA_<NAME> (dashes become underscores).
    func string(_ name: String) -> String? {
        if let v = values[name] { return v }
        let env = "TAGARELA_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        return ProcessInfo.processInfo.environment[env]
    }

    func string(_ name: String, default value: String) -> String { string(name) ?? value }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = string(name) else { return value }
        guard let n = Int(text) else { throw UsageError("--\(name) must be a whole number, not '\(text)'") }
        return n
    }

    func required(_ name: String) throws -> String {
        guard let v = string(name) else { throw UsageError("--\(name) is required") }
        return v
    }

    func flag(_ name: String) -> Bool { switches.contains(name) }
}

/// A mistake in the command line: printed with the usage, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
