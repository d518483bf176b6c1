// json: the strict JSON parser on arbitrary bytes; whatever parses must write back and re-parse to the same value.

import TagarelaJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // libFuzzer's buffer has exactly `size` bytes: AddressSanitizer sees any read past the end.
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let value: JSON
    do {
        value = try JSON.parse(raw)
    } catch {
        require(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside the input")
        return 0
    }
    let text = value.encoded()
    require(String(decoding: text, as: UTF8.self).utf8.elementsEqual(text), "the encoding is not valid UTF-8")
    let again: JSON
    do {
        again = try JSON.parse(text)
    } catch {
        require(false, "our own output does not parse: \(error) in \(String(decoding: text, as: UTF8.self))")
        return 0
    }
    require(again == value, "round trip changed \(value) into \(again)")
    require(again.encoded() == text, "the encoding is not stable")
    // The depth limit refuses, it never changes what parses.
    if let shallow = try? JSON.parse(raw, maxDepth: 2) { require(shallow == value, "depth limit changed the value") }
    return 0
}
