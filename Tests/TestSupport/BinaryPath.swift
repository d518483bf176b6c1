// BinaryPath: finds the tagarela executable that `swift build --build-tests` put beside the test executable.
import Foundation

/// `<folder of the running test executable>/tagarela`; stops the test run if it is missing,
/// so a test can never pass by not starting the process it is about.
public func tagarelaBinaryPath() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test executable lives inside `X.xctest` on some platforms; climb out of the bundle.
    while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
    let path = dir.appendingPathComponent("tagarela").path
    precondition(FileManager.default.isExecutableFile(atPath: path), "tagarela binary not found at \(path)")
    return path
}
