// ZlibLibrary: the system's zlib, loaded at run time with dlopen, and the z_stream layout it expects.
import Glibc

/// zlib's `z_stream` (zlib.h), declared field for field for LP64 Linux (x86_64, aarch64): 112 bytes.
/// zlib checks the size itself: `deflateInit2_`/`inflateInit2_` receive `MemoryLayout<ZStream>.size`
/// and refuse (Z_VERSION_ERROR) a size that differs from its own `sizeof(z_stream)`, so a wrong
/// layout cannot be used silently (`ZlibTests` checks both the size and the offsets of zlib.h).
public struct ZStream {
    public var nextIn: UnsafePointer<UInt8>? = nil
    public var availIn: UInt32 = 0
    public var totalIn: UInt = 0
    public var nextOut: UnsafeMutablePointer<UInt8>? = nil
    public var availOut: UInt32 = 0
    public var totalOut: UInt = 0
    public var msg: UnsafePointer<CChar>? = nil
    public var state: OpaquePointer? = nil
    /// Null: zlib uses malloc and free.
    public var zalloc: OpaquePointer? = nil
    public var zfree: OpaquePointer? = nil
    public var opaque: UnsafeMutableRawPointer? = nil
    public var dataType: Int32 = 0
    public var adler: UInt = 0
    public var reserved: UInt = 0

    public init() {}
}

/// zlib's return codes and constants used here (zlib.h).
public enum Zlib {
    public static let ok: Int32 = 0
    public static let streamEnd: Int32 = 1
    public static let needDict: Int32 = 2
    public static let bufError: Int32 = -5
    public static let syncFlush: Int32 = 2
    public static let deflated: Int32 = 8
    public static let defaultStrategy: Int32 = 0
}

/// The zlib entry points this project uses, found with `dlsym` in the library `dlopen` loaded.
///
/// Why at run time rather than linked: the gateway must start, uncompressed, on a machine
/// without zlib (issue 11), and a link-time dependency would stop it from loading at all. The
/// handle is never closed: the library stays for the life of the process (one per process).
/// `@unchecked Sendable`: every stored property is a `let` set in `init` (C function pointers and
/// the version string zlib returns, static data of the library), so loops on several threads may
/// share it; the streams made from it (`RawDeflater`, `RawInflater`) are not shared.
public final class ZlibLibrary: @unchecked Sendable {
    // The stream travels as a raw pointer: a Swift struct cannot appear in a C function type.
    typealias InitDeflate = @convention(c) (UnsafeMutableRawPointer, Int32, Int32, Int32, Int32, Int32,
                                            UnsafePointer<CChar>, Int32) -> Int32
    typealias InitInflate = @convention(c) (UnsafeMutableRawPointer, Int32, UnsafePointer<CChar>, Int32) -> Int32
    typealias Step = @convention(c) (UnsafeMutableRawPointer, Int32) -> Int32
    typealias Call = @convention(c) (UnsafeMutableRawPointer) -> Int32
    typealias Version = @convention(c) () -> UnsafePointer<CChar>

    /// The default name: the runtime library of Debian's zlib1g (present on every Debian system).
    public static let defaultName = "libz.so.1"

    let deflateInit2: InitDeflate
    let deflate: Step
    let deflateReset: Call
    let deflateEnd: Call
    let inflateInit2: InitInflate
    let inflate: Step
    let inflateReset: Call
    let inflateEnd: Call
    /// The version string of the loaded library (passed back to the init calls, which check it).
    public let version: String
    let versionPointer: UnsafePointer<CChar>

    /// Loads `name` (a library name or path); throws `ZlibUnavailable` saying why when it cannot
    /// be loaded or lacks an entry point. Never crashes on a missing or foreign library.
    public init(name: String = ZlibLibrary.defaultName) throws(ZlibUnavailable) {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw ZlibUnavailable(library: name, reason: reason)
        }
        func symbol<T>(_ symbolName: String, as type: T.Type) throws(ZlibUnavailable) -> T {
            guard let pointer = dlsym(handle, symbolName) else {
                throw ZlibUnavailable(library: name, reason: "no symbol \(symbolName)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        deflateInit2 = try symbol("deflateInit2_", as: InitDeflate.self)
        deflate = try symbol("deflate", as: Step.self)
        deflateReset = try symbol("deflateReset", as: Call.self)
        deflateEnd = try symbol("deflateEnd", as: Call.self)
        inflateInit2 = try symbol("inflateInit2_", as: InitInflate.self)
        inflate = try symbol("inflate", as: Step.self)
        inflateReset = try symbol("inflateReset", as: Call.self)
        inflateEnd = try symbol("inflateEnd", as: Call.self)
        let zlibVersion = try symbol("zlibVersion", as: Version.self)
        versionPointer = zlibVersion()
        version = String(cString: versionPointer)
        // zlib's own rule (zlib.h): the major version of the header the caller was written for
        // must match the library's. Our layout is zlib 1.x's.
        guard version.hasPrefix("1.") else {
            throw ZlibUnavailable(library: name, reason: "zlib \(version) is not 1.x")
        }
    }

    /// `MemoryLayout<ZStream>.size`, the `stream_size` zlib compares with its own.
    static let streamSize = Int32(MemoryLayout<ZStream>.size)
}

/// Why zlib could not be used; the gateway logs it and runs uncompressed.
public struct ZlibUnavailable: Error, Equatable, Sendable, CustomStringConvertible {
    public var library: String
    public var reason: String

    public init(library: String, reason: String) {
        self.library = library
        self.reason = reason
    }

    public var description: String { "\(library): \(reason)" }
}
