// E2EJSON: the JSON value the end-to-end clients read and write, independent of the server's own JSON module.
import Foundation

/// A decoded JSON value. Built on Foundation's parser so a bug in TagarelaJSON cannot hide
/// behind the same bug in the tests that check the server's output.
public indirect enum E2EJSON: Equatable, CustomStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([E2EJSON])
    /// Keys in the order written (for requests); lookups scan, objects here are small.
    case object([(String, E2EJSON)])

    /// Why a text is not one JSON value.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: - Literals

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: E2EJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, E2EJSON)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }

    /// A JSON array of strings.
    public static func strings(_ values: [String]) -> E2EJSON { .array(values.map { .string($0) }) }

    // MARK: - Parsing

    /// Parses one JSON text (objects, arrays or scalars at the top level).
    public static func parse(_ text: String) throws -> E2EJSON {
        try parse(Array(text.utf8))
    }

    /// Parses one JSON text from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8]) throws -> E2EJSON {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw ParseError(description: "not JSON: \(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
        return try from(any)
    }

    private static func from(_ any: Any) throws -> E2EJSON {
        switch any {
        case is NSNull:
            return .null
        case let s as String:
            return .string(s)
        case let n as NSNumber:
            // Foundation hands booleans back as NSNumber with objCType "c"; integers as "i"/"q".
            let kind = String(cString: n.objCType)
            if kind == "c" { return .bool(n.boolValue) }
            if kind == "d" || kind == "f" {
                let d = n.doubleValue
                if d.rounded() == d, abs(d) < 9.0e15 { return .int(Int64(d)) }
                return .double(d)
            }
            return .int(n.int64Value)
        case let a as [Any]:
            return .array(try a.map(from))
        case let o as [String: Any]:
            return .object(try o.keys.sorted().map { ($0, try from(o[$0]!)) })
        default:
            throw ParseError(description: "unexpected JSON value \(type(of: any))")
        }
    }

    // MARK: - Access

    /// The member `key` of an object; nil when absent or not an object.
    public subscript(key: String) -> E2EJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// The element at `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> E2EJSON? {
        guard case .array(let items) = self, index >= 0, index < items.count else { return nil }
        return items[index]
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int? { if case .int(let n) = self { return Int(n) } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var array: [E2EJSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The object's keys, sorted (for exact key-set assertions).
    public var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map { $0.0 }.sorted()
    }

    /// An array of strings as `[String]`; nil when any element is not a string.
    public var strings: [String]? {
        guard let items = array else { return nil }
        let values = items.compactMap { $0.string }
        return values.count == items.count ? values : nil
    }

    // MARK: - Encoding

    /// Compact JSON text (RFC 8259 escaping of `"`, `\` and control characters).
    public var description: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let n): out += String(n)
        case .double(let d): out += String(d)
        case .string(let s): E2EJSON.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                E2EJSON.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(format: "%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    // MARK: - Equality (objects compare as sets of members)

    public static func == (lhs: E2EJSON, rhs: E2EJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b.contains(where: { $0.0 == member.0 && $0.1 == member.1 }) }
        default: return false
        }
    }
}
