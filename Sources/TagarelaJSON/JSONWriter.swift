// JSONWriter: builds compact JSON text straight into a byte array, without a value tree.

/// An append-only JSON builder for hot paths. Commas are placed automatically: a value or
/// key after a sibling gets one, the first member of a container does not. The caller is
/// responsible for balancing begin/end and for putting a value after each key.
///
///     var w = JSONWriter()
///     w.beginObject(); w.key("seq"); w.int(7); w.endObject()   // {"seq":7}
public struct JSONWriter {
    /// The text written so far.
    public var bytes: [UInt8]
    @usableFromInline var needsComma = false

    /// A writer whose buffer starts with room for `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A writer that appends after `prefix` (which must leave the writer at a value position).
    public init(appendingTo prefix: [UInt8]) {
        bytes = prefix
    }

    @inlinable @inline(__always)
    mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Opens a container: its first member gets no comma.
    @inlinable @inline(__always)
    mutating func open(_ bracket: UInt8) {
        comma()
        bytes.append(bracket)
        needsComma = false
    }

    /// Closes a container, which is then a value its next sibling follows with a comma.
    @inlinable @inline(__always)
    mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = true
    }

    /// Opens an object `{`.
    @inlinable
    public mutating func beginObject() { open(UInt8(ascii: "{")) }

    /// Closes an object `}`.
    @inlinable
    public mutating func endObject() { close(UInt8(ascii: "}")) }

    /// Opens an array `[`.
    @inlinable
    public mutating func beginArray() { open(UInt8(ascii: "[")) }

    /// Closes an array `]`.
    @inlinable
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Writes a member name and its colon; a value must follow.
    @inlinable
    public mutating func key(_ name: String) {
        comma()
        JSONWriter.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a string value with the escapes of RFC 8259 section 7.
    @inlinable
    public mutating func string(_ s: String) {
        comma()
        JSONWriter.appendString(s, to: &bytes)
        needsComma = true
    }

    /// Writes a string value, or null when `s` is nil.
    @inlinable
    public mutating func stringOrNull(_ s: String?) {
        if let s = s { string(s) } else { null() }
    }

    /// Writes an integer value.
    @inlinable
    public mutating func int(_ n: Int64) {
        comma()
        JSONWriter.appendInt(n, to: &bytes)
        needsComma = true
    }

    /// Writes an integer value.
    @inlinable
    public mutating func int(_ n: Int) { int(Int64(n)) }

    /// Writes a double; non-finite values have no JSON form and become null.
    public mutating func double(_ d: Double) {
        comma()
        if d.isFinite {
            bytes.append(contentsOf: d.description.utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    /// Writes `true` or `false`.
    ///
    /// No array literal may appear in an `@inlinable` body of this package: the Swift 6.3
    /// compiler miscompiles it across modules in release builds. With whole-module optimisation
    /// on several threads it emits each literal's constant array as a hidden *weak* object named
    /// after this function and numbered in the order the optimiser made them (`...boolyySbFTv_`,
    /// `...Tv0_`); a module that inlines the function numbers them in its own order, the linker
    /// keeps one definition per name, and one module reads "false" for `true`. That inverted
    /// `has_more` in the release build only (issue 8). Minimal reproduction, two files a module:
    ///
    ///     // A.swift (module A, with any second file A2.swift)
    ///     public struct W { public var bytes: [UInt8] = []; public init() {}
    ///       @inlinable public mutating func bool(_ b: Bool) {
    ///         if b { bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) }
    ///         else { bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) } } }
    ///     public func viaA(_ b: Bool) -> [UInt8] { var w = W(); w.bool(b); return w.bytes }
    ///     // B.swift (module B, with any second file B2.swift that also calls bool)
    ///     import A
    ///     @inline(never) func viaB(_ b: Bool) -> [UInt8] { var w = W(); w.bool(b); return w.bytes }
    ///     // main: print(viaA(true), viaB(true)) -- one of the two prints "false".
    ///     // swiftc -module-name A -parse-as-library -wmo -num-threads 2 -O -emit-module -c A.swift A2.swift
    ///     // swiftc -module-name B -parse-as-library -wmo -num-threads 2 -O -I . -c B.swift B2.swift
    ///     // swiftc A.o A2.o B.o B2.o -o ab && ./ab
    ///
    /// String literals are not outlined that way, so the bytes come from them. The release build
    /// is checked for any such conflict by `Tests/tools/check-outlined-literals` (in Tests/run).
    @inlinable
    public mutating func bool(_ b: Bool) {
        comma()
        if b { bytes.append(contentsOf: "true".utf8) } else { bytes.append(contentsOf: "false".utf8) }
        needsComma = true
    }

    /// Writes `null` (a string literal, not an array literal: see `bool(_:)`).
    @inlinable
    public mutating func null() {
        comma()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// Writes one complete, already-encoded JSON value (for example a message encoded once
    /// and reused in a response and an event).
    @inlinable
    public mutating func raw(_ encodedValue: [UInt8]) {
        comma()
        bytes.append(contentsOf: encodedValue)
        needsComma = true
    }

    /// Writes one complete, already-encoded JSON value from borrowed memory.
    public mutating func raw(_ encodedValue: UnsafeRawBufferPointer) {
        comma()
        bytes.append(contentsOf: encodedValue)
        needsComma = true
    }

    /// Writes a value tree.
    public mutating func value(_ json: JSON) {
        comma()
        json.encode(into: &bytes)
        needsComma = true
    }

    /// Appends `s` as a quoted JSON string. Runs of bytes needing no escape are copied in one
    /// go; `"`, `\` and C0 controls are escaped (section 7). Everything else, U+007F and
    /// non-ASCII included, is valid unescaped in UTF-8 JSON and is copied as is.
    @inlinable
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { buf in
            appendEscaped(buf, to: &out)
        }
        if done == nil {
            let copy = Array(s.utf8)
            copy.withUnsafeBufferPointer { appendEscaped($0, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    @usableFromInline
    static func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = buf.count
        while i < n {
            let c = buf[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                i += 1
                continue
            }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
            }
            i += 1
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<n])) }
    }

    /// Appends the decimal text of `v` without creating a String.
    @inlinable
    public static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        var m = v.magnitude
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var digits = 1
        var t = m
        while t >= 10 {
            t /= 10
            digits += 1
        }
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var idx = start + digits - 1
        repeat {
            out[idx] = UInt8(ascii: "0") + UInt8(m % 10)
            m /= 10
            idx -= 1
        } while m > 0
    }
}
