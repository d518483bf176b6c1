// JSONWriterTests: the encoder and the streaming writer produce exact, parseable bytes.

import TagarelaJSON
import XCTest

final class JSONWriterTests: XCTestCase {
    func text(_ v: JSON) -> String { String(decoding: v.encoded(), as: UTF8.self) }

    func testEncodeExactBytes() {
        let v: JSON = ["type": "login", "n": 7, "neg": -9_223_372_036_854_775_808, "ok": true, "none": nil, "arr": [1, "a", 2.5]]
        XCTAssertEqual(text(v), #"{"type":"login","n":7,"neg":-9223372036854775808,"ok":true,"none":null,"arr":[1,"a",2.5]}"#)
    }

    func testStringEscapes() {
        XCTAssertEqual(text(.string("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀/")),
                       "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é😀/\"")
    }

    func testRoundTripCorpus() throws {
        let corpus = [
            #"{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00","d":-0.5,"e":1e+300}"#,
            #"[[],{},"",0,-1,true,false,null]"#,
            #"{"k":"line\nbreak\ttab \"quoted\" back\\slash \u0000"}"#,
            #"9007199254740993"#,
        ]
        for text in corpus {
            let v = try JSON.parse(text)
            let again = try JSON.parse(v.encoded())
            XCTAssertEqual(v, again, text)
            XCTAssertEqual(v.encoded(), again.encoded())
        }
    }

    func testWriterCommasAndNesting() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("b"); w.beginArray(); w.int(1); w.string("x"); w.beginObject(); w.endObject(); w.null(); w.endArray()
        w.key("c"); w.bool(false)
        w.key("d"); w.raw(Array(#"{"pre":"encoded"}"#.utf8))
        w.key("e"); w.stringOrNull(nil)
        w.key("f"); w.double(0.25)
        w.key("g"); w.value(["z": 1])
        w.endObject()
        let s = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertEqual(s, #"{"a":1,"b":[1,"x",{},null],"c":false,"d":{"pre":"encoded"},"e":null,"f":0.25,"g":{"z":1}}"#)
        XCTAssertNoThrow(try JSON.parse(w.bytes))
    }

    func testIntegerText() {
        for v: Int64 in [0, 9, 10, 99, 100, -1, -10, 1_234_567_890, Int64.max, Int64.min] {
            var out: [UInt8] = []
            JSONWriter.appendInt(v, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(v))
        }
    }

    func testNonFiniteBecomesNull() {
        XCTAssertEqual(text(.double(.infinity)), "null")
        var w = JSONWriter()
        w.double(.nan)
        XCTAssertEqual(w.bytes, Array("null".utf8))
    }

    func testObjectMutation() {
        var o = JSONObject()
        for i in 0..<20 { o["k\(i)"] = .int(Int64(i)) }
        o["k3"] = nil
        o["k4"] = "four"
        XCTAssertNil(o["k3"])
        XCTAssertEqual(o["k4"], "four")
        XCTAssertEqual(o["k19"], 19)
        XCTAssertEqual(o.count, 19)
        XCTAssertEqual(o.keys.first, "k0")
    }
}
