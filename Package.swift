// swift-tools-version: 6.0
// Tagarela: a multi-process sharded chat gateway. One package, no dependencies.
// Module layers are described in README.md ("Code layout"): which module may import which, enforced by
// Tests/tools/check-imports (Tests/run). Target dependencies below follow that table.
import PackageDescription

// Swift 6 language mode (complete concurrency checking) for every library module but the two
// processes: TagarelaGateway and TagarelaWorker (and the bench and the executable above them)
// stay in mode 5, because their loop-confined objects cross threads through EventLoop.execute
// and Thread closures in ways Sendable checking cannot see; README.md "Concurrency" says what
// stands in the way and how to get there. Tests stay in mode 5 (the package default).
// No unsafe compiler flags: `-enforce-exclusivity=unchecked` was removed with issue 8 (the release
// build must be the tested build; Benchmarks/README.md has the chat benchmark with and without it).
let settings: [SwiftSetting] = []
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Tagarela",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tagarela", targets: ["tagarela"]),
    ],
    targets: [
        // Layer 0
        .target(name: "TagarelaSystem", swiftSettings: swift6),
        .target(name: "TagarelaCrypto", swiftSettings: swift6),
        .target(name: "TagarelaWire", dependencies: ["TagarelaCrypto"], swiftSettings: swift6),
        .target(name: "TagarelaJSON", swiftSettings: swift6),
        .target(name: "TagarelaModel", dependencies: ["TagarelaJSON"], swiftSettings: swift6),
        .target(name: "TagarelaCBOR", dependencies: ["TagarelaJSON", "TagarelaWire", "TagarelaCrypto"],
                swiftSettings: swift6),
        .target(name: "TagarelaZlib", swiftSettings: swift6),
        // Layer 1
        .target(name: "TagarelaEventLoop", dependencies: ["TagarelaSystem"], swiftSettings: swift6),
        .target(name: "TagarelaLink", swiftSettings: swift6),
        .target(name: "TagarelaShard",
                dependencies: ["TagarelaModel", "TagarelaJSON", "TagarelaCrypto"], swiftSettings: swift6),
        .target(name: "TagarelaStore", dependencies: ["TagarelaSystem", "TagarelaJSON"], swiftSettings: swift6),
        // Layer 2
        .target(name: "TagarelaNATS",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaJSON", "TagarelaCrypto"],
                swiftSettings: swift6),
        .target(name: "TagarelaBus", dependencies: ["TagarelaEventLoop", "TagarelaLink", "TagarelaNATS"], swiftSettings: settings),
        .target(name: "TagarelaGateway",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaWire", "TagarelaLink",
                               "TagarelaJSON", "TagarelaModel", "TagarelaCrypto", "TagarelaCBOR", "TagarelaBus", "TagarelaZlib"],
                swiftSettings: settings),
        .target(name: "TagarelaWorker",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaLink", "TagarelaShard",
                               "TagarelaStore", "TagarelaCrypto", "TagarelaJSON", "TagarelaModel", "TagarelaBus", "TagarelaNATS"],
                swiftSettings: settings),
        .target(name: "TagarelaBench",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaWire", "TagarelaJSON",
                               "TagarelaCrypto", "TagarelaStore", "TagarelaShard", "TagarelaCBOR", "TagarelaZlib"],
                path: "Benchmarks/TagarelaBench", swiftSettings: settings),
        // Layer 3
        .executableTarget(name: "tagarela",
                          dependencies: ["TagarelaGateway", "TagarelaWorker", "TagarelaBench", "TagarelaBus"],
                          swiftSettings: settings),

        // Tests: one target per module, a support target, and end-to-end tests over real processes.
        .target(name: "TestSupport", dependencies: ["TagarelaSystem", "TagarelaJSON", "TagarelaWire", "TagarelaCBOR"],
                path: "Tests/TestSupport"),
        .testTarget(name: "TagarelaSystemTests", dependencies: ["TagarelaSystem", "TestSupport"]),
        .testTarget(name: "TagarelaWireTests", dependencies: ["TagarelaWire", "TagarelaCrypto", "TagarelaZlib", "TestSupport"]),
        .testTarget(name: "TagarelaCryptoTests", dependencies: ["TagarelaCrypto", "TestSupport"]),
        .testTarget(name: "TagarelaJSONTests", dependencies: ["TagarelaJSON", "TestSupport"]),
        .testTarget(name: "TagarelaCBORTests", dependencies: ["TagarelaCBOR", "TagarelaJSON", "TestSupport"]),
        .testTarget(name: "TagarelaZlibTests", dependencies: ["TagarelaZlib", "TagarelaWire", "TestSupport"]),
        .testTarget(name: "TagarelaModelTests", dependencies: ["TagarelaModel", "TestSupport"]),
        .testTarget(name: "TagarelaEventLoopTests", dependencies: ["TagarelaEventLoop", "TestSupport"]),
        .testTarget(name: "TagarelaLinkTests", dependencies: ["TagarelaLink", "TestSupport"]),
        .testTarget(name: "TagarelaShardTests", dependencies: ["TagarelaShard", "TestSupport"]),
        .testTarget(name: "TagarelaStoreTests", dependencies: ["TagarelaStore", "TagarelaSystem", "TestSupport"]),
        .testTarget(name: "TagarelaGatewayTests", dependencies: ["TagarelaGateway", "TagarelaModel", "TagarelaCBOR", "TestSupport"],
                    exclude: ["RequestCorpus.golden"]),
        .testTarget(name: "TagarelaWorkerTests",
                    dependencies: ["TagarelaWorker", "TagarelaLink", "TagarelaJSON", "TagarelaStore", "TagarelaWire",
                                   "TestSupport"]),
        .testTarget(name: "TagarelaBusTests",
                    dependencies: ["TagarelaBus", "TagarelaGateway", "TagarelaWorker", "TagarelaLink", "TagarelaEventLoop",
                                   "TestSupport"]),
        .testTarget(name: "TagarelaNATSTests",
                    dependencies: ["TagarelaNATS", "TagarelaEventLoop", "TagarelaJSON", "TagarelaSystem", "TestSupport"]),
        .testTarget(name: "TagarelaBenchTests", dependencies: ["TagarelaBench", "TestSupport"]),
        .testTarget(name: "tagarelaTests", dependencies: ["tagarela", "TagarelaGateway", "TagarelaWorker"]),
        .testTarget(name: "EndToEndTests",
                    dependencies: ["tagarela", "TestSupport", "TagarelaJSON", "TagarelaWire", "TagarelaSystem", "TagarelaLink",
                                   "TagarelaZlib"]),
    ],
    swiftLanguageModes: [.v5]
)
