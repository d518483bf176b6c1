// FileTreeTests: the path-level file calls the store is built on: private modes, links never followed, errors naming their path.
import Glibc
import TagarelaSystem
import TestSupport
import XCTest

final class FileTreeTests: XCTestCase {
    private var temp: TempDirectory!

    override func setUp() { temp = TempDirectory(prefix: "tagarela-filetree") }
    override func tearDown() { temp.remove() }

    func testCreatedFilesAndFoldersArePrivateWhateverTheUmask() throws {
        let old = umask(0)
        defer { umask(old) }
        let nested = temp.file("a/b/c")
        try FileTree.makeDirectories(nested)
        for path in [temp.file("a"), temp.file("a/b"), nested] {
            XCTAssertEqual(try FileTree.status(path), FileTree.Status(kind: .directory, permissions: 0o700), path)
        }
        let fd = try FileIO.open(nested + "/f", [.writeOnly, .create, .exclusive])
        FileDescriptor.close(fd)
        XCTAssertEqual(try FileTree.status(nested + "/f"), FileTree.Status(kind: .file, permissions: 0o600))
        XCTAssertThrowsError(try FileIO.open(nested + "/f", [.writeOnly, .create, .exclusive])) { error in
            XCTAssertEqual((error as? SystemError)?.isAlreadyExisting, true, "\(error)")
        }
    }

    func testReplaceDurablyAndReadBack() throws {
        let path = temp.file("layout.json")
        XCTAssertNil(try FileIO.readFile(path))
        try FileTree.replaceDurably(path, with: Array("one".utf8), temporary: path + ".tmp")
        try FileTree.replaceDurably(path, with: Array("two, longer".utf8), temporary: path + ".tmp")
        XCTAssertEqual(try FileIO.readFile(path), Array("two, longer".utf8))
        XCTAssertEqual(try FileTree.list(temp.path), ["layout.json"], "the temporary file was renamed away")
    }

    func testRemoveTreeRemovesLinksWithoutFollowingThem() throws {
        let outside = temp.file("outside")
        try FileTree.makeDirectory(outside)
        let kept = outside + "/kept"
        FileDescriptor.close(try FileIO.open(kept, [.writeOnly, .create]))
        let tree = temp.file("tree")
        try FileTree.makeDirectories(tree + "/inner")
        XCTAssertEqual(symlink(outside, tree + "/inner/link"), 0)
        XCTAssertEqual(try FileTree.status(tree + "/inner/link")?.kind, .symbolicLink)

        try FileTree.removeTree(tree)
        XCTAssertFalse(FileTree.exists(tree))
        XCTAssertTrue(FileTree.exists(kept), "what the link pointed at is not ours to remove")
        try FileTree.removeTree(tree)  // missing: fine
    }

    func testErrorsNameThePathTheyFailedOn() throws {
        let missing = temp.file("missing/file")
        XCTAssertThrowsError(try FileIO.open(missing, .readOnly)) { error in
            let failure = error as? SystemError
            XCTAssertEqual(failure?.op, "open")
            XCTAssertEqual(failure?.path, missing)
            XCTAssertEqual(failure?.isNotFound, true)
            XCTAssertTrue(failure?.description.hasPrefix("open \(missing): ") ?? false, "\(error)")
        }
        // A file where a folder is expected: the listing fails naming that path.
        let file = temp.file("plain")
        FileDescriptor.close(try FileIO.open(file, [.writeOnly, .create]))
        XCTAssertThrowsError(try FileTree.makeDirectories(file + "/sub")) { error in
            XCTAssertEqual((error as? SystemError)?.path, file + "/sub", "\(error)")
            XCTAssertEqual((error as? SystemError)?.errno, ENOTDIR)
        }
        // A descriptor call names no path until its caller says which file it was.
        let bad = SystemError(op: "fsync", errno: EIO)
        XCTAssertNil(bad.path)
        XCTAssertEqual(bad.naming("/d/journal-0.log").path, "/d/journal-0.log")
        XCTAssertEqual(bad.naming("/d/journal-0.log").naming("/other").path, "/d/journal-0.log")
    }
}
