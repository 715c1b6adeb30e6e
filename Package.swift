// swift-tools-version: 6.1
import PackageDescription

// Each function in its own section, so the linker can place the code that runs at start-up
// together (`wardenLinkOrder`); warden's own targets only, dependencies keep their defaults.
let functionSections: [SwiftSetting] = [.unsafeFlags(["-function-sections"])]

// How the `warden` binary is linked, for a small resident footprint and a fast start
// (docs/footprint.md): the Swift runtime and FoundationEssentials linked in statically (only
// the pages warden touches are resident, the loader maps a dozen fewer libraries), by lld
// with packed relative relocations (DT_RELR), and with the functions that run while the
// daemon starts and bans placed next to each other (scripts/link-order.py writes the list).
let wardenLinkOrder = Context.packageDirectory + "/scripts/warden.order"
let wardenLinkerFlags = [
    "-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims",
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--symbol-ordering-file=" + wardenLinkOrder, "-Xlinker", "--no-warn-symbol-ordering",
    // The runtime's static-stdlib flags export every symbol; nothing looks warden's up by name,
    // and a short dynamic symbol table is less to map and faster for the loader to search.
    "-Xlinker", "--no-export-dynamic",
]

let package = Package(
    name: "warden",
    products: [
        .executable(name: "warden", targets: ["warden"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        // System libraries: module maps only.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // Declarations only, and no pkgConfig: SwiftPM would add its `-l` flags to the link. The
        // headers are in /usr/include; the libraries are opened at run time with dlopen, so
        // `warden regex` and the client commands start without them (docs/footprint.md):
        // libnftables by the first firewall context, libsystemd when a jail reads the journal.
        .systemLibrary(name: "CNftables", providers: [.apt(["libnftables-dev"])]),
        .systemLibrary(name: "CSystemd", providers: [.apt(["libsystemd-dev"])]),
        // Thin wrappers for Linux calls Swift cannot import (macros, _GNU_SOURCE, variadics).
        .target(name: "CLinux"),

        // A shared library opened on first use (libsystemd, libnftables, libsqlite3).
        .target(name: "DynamicLibrary", swiftSettings: functionSections),
        // A joinable POSIX thread for blocking loops, shared by every target that has one.
        .target(name: "WardenThreads", swiftSettings: functionSections),

        // fail2ban's INI dialect: includes, overrides, interpolation.
        .target(name: "WardenConfig", swiftSettings: functionSections),
        // The log lines a failure is made of, as bytes (matcher, failure counter, ban data).
        .target(name: "WardenLines", swiftSettings: functionSections),
        // Filter compilation, date detection and line matching.
        .target(name: "WardenFilter", dependencies: ["CPCRE2", "WardenConfig", "IPv4Text", "WardenLines"], swiftSettings: functionSections),
        // fail2ban's annotated sample-log suite, as a reusable runner.
        .target(name: "WardenConformance", dependencies: ["WardenFilter", "WardenConfig"], swiftSettings: functionSections),

        // Channel API and its adapters: memory, file, Unix socket, shared-memory ring.
        // Dotted-quad IPv4 text, read and written without the C library (matcher and bans).
        .target(name: "IPv4Text", swiftSettings: functionSections),
        .target(name: "WardenIPC", dependencies: ["CLinux", "IPv4Text"], swiftSettings: functionSections),
        // Plain-C client that publishes log lines into a socket channel (no Swift needed).
        .target(name: "CWardenClient"),

        // Log tailing: inotify/polling, rotation, positions; the systemd journal.
        .target(name: "WardenSource", dependencies: ["CLinux", "CSystemd", "DynamicLibrary", "WardenThreads"], swiftSettings: functionSections),

        // SQLite (system libsqlite3) for the ban store: declarations only, no pkgConfig (as
        // above); the store opens libsqlite3 with its first connection.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // Jail configuration, failure counting, ignore lists, ban-time increments.
        .target(name: "WardenJail", dependencies: ["WardenConfig", "WardenIPC", "WardenLines"], swiftSettings: functionSections),
        // Persistence of bans and log positions; fail2ban database import.
        .target(name: "WardenStore", dependencies: ["CSQLite", "DynamicLibrary"], swiftSettings: functionSections),

        // nftables layout, batched bans through libnftables, reconcile, shell actions.
        .target(name: "WardenFirewall", dependencies: ["CNftables", "CLinux", "DynamicLibrary", "WardenIPC", "WardenConfig", "WardenThreads"], swiftSettings: functionSections),

        // The daemon: jails wired from log to firewall, ban workers, control socket, metrics.
        .target(name: "WardenDaemon", dependencies: [
            "WardenSource", "WardenFilter", "WardenConfig", "WardenIPC", "WardenJail", "WardenLines", "WardenStore", "WardenFirewall", "WardenThreads", "CLinux",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: functionSections),

        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenSource", "WardenConfig", "WardenFilter", "WardenConformance", "WardenIPC", "WardenFirewall", "WardenDaemon", "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: functionSections,
            linkerSettings: [.unsafeFlags(wardenLinkerFlags)]
        ),

        // Network namespaces, veth pairs, packet probes and commands for the tests that need root.
        .target(name: "NetworkTestSupport", dependencies: ["CLinux", "WardenThreads"], path: "Tests/NetworkTestSupport"),
        .testTarget(name: "WardenConfigTests", dependencies: ["WardenConfig"], exclude: ["oracle"]),
        .testTarget(name: "WardenFilterTests", dependencies: ["WardenFilter", "WardenConfig"], exclude: ["DateOracle"]),
        .testTarget(name: "WardenConformanceTests", dependencies: ["WardenConformance", "WardenFilter"]),
        .testTarget(name: "WardenIPCTests", dependencies: ["WardenIPC"], exclude: ["CProgram"]),
        .testTarget(name: "WardenSourceTests", dependencies: ["WardenSource"]),
        // Calls libnftables directly, as a test of the C binding: CNftables links nothing.
        .testTarget(name: "CNftablesTests", dependencies: ["CNftables", "CLinux"], linkerSettings: [.linkedLibrary("nftables")]),
        .testTarget(name: "WardenFirewallTests", dependencies: ["WardenFirewall", "WardenIPC", "WardenConfig", "NetworkTestSupport"]),
        .testTarget(name: "WardenJailTests", dependencies: ["WardenJail", "WardenConfig", "WardenIPC", "WardenLines"]),
        .testTarget(name: "WardenLinesTests", dependencies: ["WardenLines"]),
        .testTarget(name: "WardenStoreTests", dependencies: ["WardenStore"]),
        .testTarget(name: "WardenDaemonTests", dependencies: ["WardenDaemon", "WardenIPC", "WardenLines", "NetworkTestSupport"]),
        // Runs the `warden` binary `swift test` builds next to it, against fail2ban-regex.
        .testTarget(name: "WardenCLITests", exclude: ["UnseenLogs"]),
    ],
    swiftLanguageModes: [.v6]
)
