// JSONEncoding: turns a JSON value tree back into compact RFC 8259 text.

extension JSON {
    /// Appends the compact encoding (no spaces, keys in their stored order) to `out`.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b):
            out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .int(let v):
            JSONWriter.appendInt(v, to: &out)
        case .double(let d):
            // Non-finite doubles cannot be written in JSON; the parser never produces them.
            if d.isFinite { out.append(contentsOf: d.description.utf8) } else { out.append(contentsOf: "null".utf8) }
        case .string(let s):
            JSONWriter.appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                item.encode(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (k, e) in o.entries.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(e.key, to: &out)
                out.append(UInt8(ascii: ":"))
                e.value.encode(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The compact encoding as bytes.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        encode(into: &out)
        return out
    }
}
