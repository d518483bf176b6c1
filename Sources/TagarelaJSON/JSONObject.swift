// JSONObject: an insertion-ordered JSON object with fast lookup by key.

/// The members of a JSON object in their original order. Member names are compared by their
/// bytes (RFC 8259 section 8.3), not by Unicode canonical equivalence: `{"café":1,"café":2}`
/// with one name composed and one decomposed holds two members, and each finds only its own. Small objects (the common case: a
/// chat request has about five keys) are searched linearly, which beats hashing; objects past
/// `indexThreshold` members also keep a dictionary from key to position.
public struct JSONObject: Equatable {
    /// Above this many members a hash index is kept.
    @usableFromInline static let indexThreshold = 12

    /// The members, in order. Keys are unique.
    public private(set) var entries: [(key: String, value: JSON)]
    @usableFromInline var index: [ByteKey: Int]?

    /// An empty object.
    public init() {
        entries = []
        index = nil
    }

    /// An object from members in order; a repeated key keeps its first position and last value.
    public init(_ members: [(String, JSON)]) {
        self.init()
        entries.reserveCapacity(members.count)
        for (k, v) in members { self[k] = v }
    }

    /// The number of members.
    public var count: Int { entries.count }

    /// The keys in order.
    public var keys: [String] { entries.map { $0.key } }

    /// The position of `key`, if present.
    @inlinable
    public func position(of key: String) -> Int? {
        if let index = index { return index[ByteKey(key)] }
        var i = 0
        let n = entries.count
        while i < n {
            if ByteKey.equal(entries[i].key, key) { return i }
            i += 1
        }
        return nil
    }

    /// The value for `key`; setting nil removes the member, setting a new key appends it.
    public subscript(key: String) -> JSON? {
        get {
            guard let i = position(of: key) else { return nil }
            return entries[i].value
        }
        set {
            if let i = position(of: key) {
                if let v = newValue {
                    entries[i].value = v
                } else {
                    entries.remove(at: i)
                    rebuildIndex()
                }
            } else if let v = newValue {
                appendUnchecked(key, v)
            }
        }
    }

    /// Appends a member whose key the caller knows is absent (the parser checks first).
    mutating func appendUnchecked(_ key: String, _ value: JSON) {
        entries.append((key, value))
        if index != nil {
            index![ByteKey(key)] = entries.count - 1
        } else if entries.count > JSONObject.indexThreshold {
            rebuildIndex()
        }
    }

    mutating func rebuildIndex() {
        guard entries.count > JSONObject.indexThreshold else {
            index = nil
            return
        }
        var d = [ByteKey: Int](minimumCapacity: entries.count)
        for (i, e) in entries.enumerated() { d[ByteKey(e.key)] = i }
        index = d
    }

    /// Members compare in order: two objects with the same members in another order differ,
    /// because this type promises to keep order on output.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for i in 0..<lhs.entries.count {
            if !ByteKey.equal(lhs.entries[i].key, rhs.entries[i].key) || lhs.entries[i].value != rhs.entries[i].value {
                return false
            }
        }
        return true
    }
}
