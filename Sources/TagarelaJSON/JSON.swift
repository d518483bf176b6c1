// JSON: the JSON value type (RFC 8259 section 3) with typed accessors and key lookup.

/// One JSON value. Integers without a fraction or exponent that fit in 64 bits stay exact as
/// `.int`; every other number is a `.double`. Objects keep their key order (see `JSONObject`).
public enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The member named `key` when this is an object, nil otherwise or when absent.
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The element at `index` when this is an array and the index is in range.
    public subscript(index: Int) -> JSON? {
        if case .array(let a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }

    /// The text when this is a string.
    @inlinable
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer when this is an integer, or a double holding an exact integer in Int64 range
    /// (clients written in JavaScript cannot tell `5` from `5.0`).
    @inlinable
    public var int: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d):
            guard d.rounded(.towardZero) == d, d >= -9.2e18, d <= 9.2e18 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    /// The number as a Double when this is any number.
    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The truth value when this is a boolean.
    @inlinable
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements when this is an array.
    @inlinable
    public var array: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members when this is an object.
    @inlinable
    public var object: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    /// A string literal becomes `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal becomes `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A boolean literal becomes `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array literal becomes `.array`.
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    /// A dictionary literal becomes an `.object` in the literal's order.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var o = JSONObject()
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
    /// `nil` becomes `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// A float literal becomes `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSON: CustomStringConvertible {
    /// The compact encoded text.
    public var description: String { String(decoding: encoded(), as: UTF8.self) }
}
