// swift-tools-version: 6.0
// Tagarela: a multi-process sharded chat gateway. One package, no dependencies.
// Module layers are described in README.md ("Code layout"); a module imports only lower layers.
import PackageDescription

// Language mode 5: the event loops are single-threaded by design and hand work across
// threads only through EventLoop.execute, which strict Sendable checking cannot see.
// No unsafe compiler flags: `-enforce-exclusivity=unchecked` was removed with issue 8 (the release
// build must be the tested build; Benchmarks/README.md has the chat benchmark with and without it).
let settings: [SwiftSetting] = []

let package = Package(
    name: "Tagarela",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tagarela", targets: ["tagarela"]),
    ],
    targets: [
        // Layer 0
        .target(name: "TagarelaSystem", swiftSettings: settings),
        .target(name: "TagarelaCrypto", swiftSettings: settings),
        .target(name: "TagarelaWire", dependencies: ["TagarelaCrypto"], swiftSettings: settings),
        .target(name: "TagarelaJSON", swiftSettings: settings),
        .target(name: "TagarelaModel", dependencies: ["TagarelaJSON"], swiftSettings: settings),
        // Layer 1
        .target(name: "TagarelaEventLoop", dependencies: ["TagarelaSystem"], swiftSettings: settings),
        .target(name: "TagarelaLink", swiftSettings: settings),
        .target(name: "TagarelaShard",
                dependencies: ["TagarelaModel", "TagarelaJSON", "TagarelaCrypto"], swiftSettings: settings),
        .target(name: "TagarelaStore", dependencies: ["TagarelaSystem"], swiftSettings: settings),
        // Layer 2
        .target(name: "TagarelaGateway",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaWire", "TagarelaLink",
                               "TagarelaJSON", "TagarelaModel", "TagarelaCrypto"], swiftSettings: settings),
        .target(name: "TagarelaWorker",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaLink", "TagarelaShard",
                               "TagarelaStore", "TagarelaCrypto", "TagarelaJSON", "TagarelaModel"],
                swiftSettings: settings),
        .target(name: "TagarelaBench",
                dependencies: ["TagarelaSystem", "TagarelaEventLoop", "TagarelaWire", "TagarelaJSON",
                               "TagarelaCrypto", "TagarelaStore", "TagarelaShard"],
                path: "Benchmarks/TagarelaBench", swiftSettings: settings),
        // Layer 3
        .executableTarget(name: "tagarela",
                          dependencies: ["TagarelaGateway", "TagarelaWorker", "TagarelaBench"],
                          swiftSettings: settings),

        // Tests: one target per module, a support target, and end-to-end tests over real processes.
        .target(name: "TestSupport", dependencies: ["TagarelaSystem", "TagarelaJSON", "TagarelaWire"],
                path: "Tests/TestSupport"),
        .testTarget(name: "TagarelaSystemTests", dependencies: ["TagarelaSystem", "TestSupport"]),
        .testTarget(name: "TagarelaWireTests", dependencies: ["TagarelaWire", "TagarelaCrypto", "TestSupport"]),
        .testTarget(name: "TagarelaCryptoTests", dependencies: ["TagarelaCrypto", "TestSupport"]),
        .testTarget(name: "TagarelaJSONTests", dependencies: ["TagarelaJSON", "TestSupport"]),
        .testTarget(name: "TagarelaModelTests", dependencies: ["TagarelaModel", "TestSupport"]),
        .testTarget(name: "TagarelaEventLoopTests", dependencies: ["TagarelaEventLoop", "TestSupport"]),
        .testTarget(name: "TagarelaLinkTests", dependencies: ["TagarelaLink", "TestSupport"]),
        .testTarget(name: "TagarelaShardTests", dependencies: ["TagarelaShard", "TestSupport"]),
        .testTarget(name: "TagarelaStoreTests", dependencies: ["TagarelaStore", "TestSupport"]),
        .testTarget(name: "TagarelaGatewayTests", dependencies: ["TagarelaGateway", "TagarelaModel", "TestSupport"]),
        .testTarget(name: "TagarelaWorkerTests",
                    dependencies: ["TagarelaWorker", "TagarelaLink", "TagarelaJSON", "TagarelaStore", "TagarelaWire",
                                   "TestSupport"]),
        .testTarget(name: "TagarelaBenchTests", dependencies: ["TagarelaBench", "TestSupport"]),
        .testTarget(name: "EndToEndTests",
                    dependencies: ["tagarela", "TestSupport", "TagarelaJSON", "TagarelaWire", "TagarelaSystem", "TagarelaLink"]),
    ],
    swiftLanguageModes: [.v5]
)
