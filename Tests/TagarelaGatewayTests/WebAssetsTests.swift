// WebAssetsTests: the files embedded in the gateway (Web/index.html, Web/tagarela.js) equal their sources in Web/.
import Foundation
import XCTest
@testable import TagarelaGateway

/// Web/embed turns Web/'s files into Swift constants at build time (no SwiftPM resources: they
/// need Foundation's Bundle at run time, which a copied binary lacks). A file edited without
/// running Web/embed fails here, so the binary never serves a stale copy.
final class WebAssetsTests: XCTestCase {
    /// The repository's Web/ folder, found from this file's own path.
    let web = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Web")

    func assertEmbedded(_ name: String, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let source = try Data(contentsOf: web.appendingPathComponent(name))
        XCTAssertTrue(Array(source) == bytes, "Web/\(name) differs from its embedded copy: run Web/embed",
                      file: file, line: line)
    }

    func testPageIsTheFileInWeb() throws {
        try assertEmbedded("index.html", WebClientPage.bytes)
    }

    func testLibraryIsTheFileInWeb() throws {
        try assertEmbedded("tagarela.js", WebClientLibrary.bytes)
    }

    /// The page is written on the library, loaded from the same origin.
    func testPageLoadsTheLibrary() {
        let page = String(decoding: WebClientPage.bytes, as: UTF8.self)
        XCTAssertTrue(page.contains(#"import { Tagarela, isInlineImage } from "/tagarela.js""#))
    }
}
