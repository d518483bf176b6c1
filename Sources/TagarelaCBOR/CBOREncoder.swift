// CBOREncoder: writes a JSON value tree as CBOR (RFC 8949) in preferred serialization, base64 text at named paths as byte strings.
import TagarelaCrypto
import TagarelaJSON

extension JSON {
    /// Appends the CBOR encoding of this value to `out`: definite lengths, the shortest head for
    /// every integer and length, and each float in the shortest width that holds it exactly
    /// (RFC 8949 section 4.2.2), so equal values always encode to equal bytes. Map keys keep
    /// their stored order. A string at one of `bytePaths` that is strict base64 is written as
    /// the byte string it encodes (the protocol's binary data, PROTOCOL.md 3.7).
    public func encodeCBOR(into out: inout [UInt8], bytePaths: [CBORKeyPath] = []) {
        if bytePaths.isEmpty {
            CBOREncoder.write(self, into: &out)
        } else {
            var path: [String?] = []
            CBOREncoder.write(self, into: &out, byteStrings: .base64(at: bytePaths), path: &path)
        }
    }

    /// The CBOR encoding as bytes (see `encodeCBOR(into:bytePaths:)`).
    public func encodedCBOR(bytePaths: [CBORKeyPath] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        encodeCBOR(into: &out, bytePaths: bytePaths)
        return out
    }
}

/// The encoder's pieces, public for callers that frame CBOR themselves.
public enum CBOREncoder {
    /// Appends the head of an item: major type and argument in the shortest form (section 3).
    public static func appendHead(major: UInt8, _ argument: UInt64, to out: inout [UInt8]) {
        let m = major << 5
        switch argument {
        case 0..<24:
            out.append(m | UInt8(argument))
        case 24...0xFF:
            out.append(m | 24)
            out.append(UInt8(argument))
        case 0x100...0xFFFF:
            out.append(m | 25)
            appendBigEndian(argument, bytes: 2, to: &out)
        case 0x1_0000...0xFFFF_FFFF:
            out.append(m | 26)
            appendBigEndian(argument, bytes: 4, to: &out)
        default:
            out.append(m | 27)
            appendBigEndian(argument, bytes: 8, to: &out)
        }
    }

    static func appendBigEndian(_ v: UInt64, bytes n: Int, to out: inout [UInt8]) {
        var shift = (n - 1) * 8
        while shift >= 0 {
            out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
            shift -= 8
        }
    }

    /// A text string.
    public static func appendText(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            appendHead(major: 3, UInt64(utf8.count), to: &out)
            out.append(contentsOf: utf8)
        }
    }

    /// A byte string.
    public static func appendBytes<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        appendHead(major: 2, UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    /// A float in the shortest of half, single and double that holds it exactly.
    public static func appendDouble(_ d: Double, to out: inout [UInt8]) {
        let f = Float(d)
        if Double(f) == d {
            if let h = CBORFloat.halfBits(exactly: f) {
                out.append(0xF9)
                appendBigEndian(UInt64(h), bytes: 2, to: &out)
            } else {
                out.append(0xFA)
                appendBigEndian(UInt64(f.bitPattern), bytes: 4, to: &out)
            }
        } else {
            out.append(0xFB)
            appendBigEndian(d.bitPattern, bytes: 8, to: &out)
        }
    }

    /// The scalar cases every path shares; false for arrays and objects.
    static func writeScalar(_ value: JSON, into out: inout [UInt8]) -> Bool {
        switch value {
        case .null: out.append(0xF6)
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .int(let v):
            // Section 3.1: a negative n is major type 1 with argument -1 - n (no overflow: ~n).
            if v >= 0 { appendHead(major: 0, UInt64(v), to: &out) } else { appendHead(major: 1, UInt64(~v), to: &out) }
        case .double(let d):
            // The JSON model holds finite doubles only; a non-finite one is written as JSON does.
            if d.isFinite { appendDouble(d, to: &out) } else { out.append(0xF6) }
        case .string(let s): appendText(s, to: &out)
        case .array, .object: return false
        }
        return true
    }

    /// The plain encoding: no byte-string paths to look for.
    static func write(_ value: JSON, into out: inout [UInt8]) {
        if writeScalar(value, into: &out) { return }
        switch value {
        case .array(let items):
            appendHead(major: 4, UInt64(items.count), to: &out)
            for item in items { write(item, into: &out) }
        case .object(let o):
            appendHead(major: 5, UInt64(o.count), to: &out)
            for e in o.entries {
                appendText(e.key, to: &out)
                write(e.value, into: &out)
            }
        default:
            preconditionFailure("scalar not written")
        }
    }

    /// The encoding with byte-string paths, keeping the key path as it descends.
    static func write(_ value: JSON, into out: inout [UInt8], byteStrings: CBORByteStrings, path: inout [String?]) {
        if case .string(let s) = value, byteStrings.isBytePath(path), let bytes = Base64.decode(s) {
            appendBytes(bytes, to: &out)
            return
        }
        if writeScalar(value, into: &out) { return }
        switch value {
        case .array(let items):
            appendHead(major: 4, UInt64(items.count), to: &out)
            path.append(nil)
            for item in items { write(item, into: &out, byteStrings: byteStrings, path: &path) }
            path.removeLast()
        case .object(let o):
            appendHead(major: 5, UInt64(o.count), to: &out)
            for e in o.entries {
                appendText(e.key, to: &out)
                path.append(e.key)
                write(e.value, into: &out, byteStrings: byteStrings, path: &path)
                path.removeLast()
            }
        default:
            preconditionFailure("scalar not written")
        }
    }
}
