// CryptoVectorTests: SHA-256, HMAC-SHA256, PBKDF2-HMAC-SHA256 and base64url against published vectors.
import XCTest
@testable import TagarelaCrypto

final class CryptoVectorTests: XCTestCase {
    private func hex(_ s: String) -> String { s.replacingOccurrences(of: " ", with: "") }

    /// FIPS 180-4 / NIST CSRC examples.
    func testSHA256Vectors() {
        XCTAssertEqual(hexString(SHA256.hash(Array("abc".utf8))),
                       hex("ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad"))
        XCTAssertEqual(hexString(SHA256.hash([UInt8]())),
                       hex("e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855"))
        XCTAssertEqual(hexString(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       hex("248d6a61 d20638b8 e5c02693 0c3e6039 a33ce459 64ff2167 f6ecedd4 19db06c1"))
        XCTAssertEqual(hexString(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       hex("cdc76e5c 9914fb92 81a1c7e2 84d73e67 f1809a48 a497200e 046d39cc c7112cd0"))
    }

    func testSHA256IncrementalMatchesOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in [0, 1, 55, 56, 63, 64, 65, 500, 999, 1000] {
            var h = SHA256()
            h.update(data[..<split])
            h.update(data[split...])
            XCTAssertEqual(h.finalize(), SHA256.hash(data), "split at \(split)")
        }
    }

    /// RFC 4231 test cases 1, 2, 3, 6 and 7.
    func testHMACRFC4231() {
        func check(_ key: [UInt8], _ data: [UInt8], _ expected: String, line: UInt = #line) {
            XCTAssertEqual(hexString(HMACSHA256.authenticate(key: key, message: data)), expected, line: line)
        }
        check([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        check(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        check([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
              "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        check([UInt8](repeating: 0xaa, count: 131),
              Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        check([UInt8](repeating: 0xaa, count: 131),
              Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    /// PBKDF2-HMAC-SHA256 vectors (the RFC 6070 inputs, SHA-256 outputs as published in RFC 7914 section 11 and elsewhere).
    func testPBKDF2Vectors() {
        XCTAssertEqual(hexString(PBKDF2.deriveKey(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1, length: 32)),
                       "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        XCTAssertEqual(hexString(PBKDF2.deriveKey(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 2, length: 32)),
                       "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
        XCTAssertEqual(hexString(PBKDF2.deriveKey(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096, length: 32)),
                       "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
        XCTAssertEqual(hexString(PBKDF2.deriveKey(password: Array("passwordPASSWORDpassword".utf8),
                                                  salt: Array("saltSALTsaltSALTsaltSALTsaltSALTsalt".utf8), iterations: 4096, length: 40)),
                       "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9")
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
        XCTAssertEqual(hexString(PBKDF2.deriveKey(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)),
                       "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    }

    func testConstantTimeEqualsAndRandom() {
        XCTAssertTrue(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(constantTimeEquals([1, 2], [1, 2, 3]))
        let a = SecureRandom.bytes(count: 32), b = SecureRandom.bytes(count: 32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b, "two 256-bit draws collided")
    }

    /// RFC 4648 section 10 vectors, unpadded, and the two symbols where base64url differs.
    func testBase64URLVectors() {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE",
                       "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { XCTAssertEqual(Base64.encodeURL(Array(plain.utf8)), encoded) }
        XCTAssertEqual(Base64.encodeURL([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64.encode([0xFB, 0xFF]), "+/8=")
        XCTAssertEqual(Base64.encodeURL([UInt8](repeating: 0xFF, count: 32)).count, 43)
    }
}
