// cbor: the strict CBOR decoder on arbitrary bytes; whatever decodes must encode back, decode to the same value, and write JSON that parses to it.

import TagarelaCBOR
import TagarelaJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBOR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The control byte picks where byte strings may stand: nowhere, at the request's
    // attachment.data (the gateway's setting), or anywhere (the test clients'); bit 7 a small
    // depth limit.
    let input = FuzzInput(data, size)
    let paths: [CBORKeyPath] = [["attachment", "data"]]
    let policy: CBORByteStrings
    switch input.control & 3 {
    case 0: policy = .refused
    case 1, 2: policy = .base64(at: paths)
    default: policy = .base64Anywhere
    }
    let maxDepth = input.control & 0x80 != 0 ? 3 : JSON.defaultMaxDepth
    // A copy of exactly the stream's size: AddressSanitizer sees any read past the end.
    let decoded: Result<JSON, CBORDecodeError> = input.withExactCopy(0..<input.stream.count) { buffer in
        do throws(CBORDecodeError) {
            return .success(try JSON.decodeCBOR(UnsafeRawBufferPointer(buffer), byteStrings: policy, maxDepth: maxDepth))
        } catch {
            return .failure(error)
        }
    }
    let value: JSON
    switch decoded {
    case .failure(let error):
        require(error.offset >= 0 && error.offset <= input.stream.count, "error offset \(error.offset) outside the input")
        return 0
    case .success(let v):
        value = v
    }
    // Encode back (byte strings where they came from, for the path policy) and decode again.
    let bytePaths = policy == .base64(at: paths) ? paths : []
    let cbor = value.encodedCBOR(bytePaths: bytePaths)
    let again: JSON
    do {
        again = try JSON.decodeCBOR(cbor, byteStrings: bytePaths.isEmpty ? .refused : policy, maxDepth: maxDepth)
    } catch {
        require(false, "our own CBOR does not decode: \(error)")
        return 0
    }
    require(again == value, "CBOR round trip changed \(value) into \(again)")
    require(again.encodedCBOR(bytePaths: bytePaths) == cbor, "the CBOR encoding is not stable")
    if policy != .base64Anywhere {
        require(cbor.count <= input.stream.count, "preferred serialization is longer than the input")
    }
    // The gateway forwards the JSON text of what it decoded: it must parse to the same value.
    let text = value.encoded()
    require((try? JSON.parse(text)) == value, "the JSON of a decoded value does not parse back: \(value)")
    return 0
}
