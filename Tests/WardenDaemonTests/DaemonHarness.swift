import Foundation
import Glibc

/// A warden daemon started from the `warden` binary SwiftPM built next to this test
/// bundle, inside a private network namespace of a veth pair (server 192.0.2.1, peer
/// 192.0.2.2), with its own configuration directory, socket, store and log.
final class DaemonHarness: @unchecked Sendable {
    let directory: String
    let server: String
    let peer: String
    let log: String
    private(set) var process: Process?
    /// The configuration directory the daemon is started with (default: `directory`).
    var configDirectory: String?
    private var listener: Int32 = -1
    static let serverAddress = "192.0.2.1", peerAddress = "192.0.2.2"

    /// The `warden worker` process of `startWorker()`.
    private(set) var worker: Process?

    /// `ipc`: the jail's channel adapter; `bantime` in seconds; `actions`: the jail's
    /// `action` lines (action.d files of their own go in `directory/action.d`).
    init(ipc: String, bantime: Int = 4, actions: [String] = ["nftables[type=allports, protocol=all]"], extraJail: String = "") throws {
        let tag = "\(getpid())-\(Int.random(in: 0..<1_000_000))"
        directory = NSTemporaryDirectory() + "warden-daemon-\(tag)"
        server = "wd-s-\(tag)"
        peer = "wd-p-\(tag)"
        log = directory + "/auth.log"
        try FileManager.default.createDirectory(atPath: directory + "/filter.d", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        try """
            [Definition]
            socket = \(directory)/warden.sock
            pidfile = \(directory)/warden.pid
            dbfile = \(directory)/warden.sqlite3
            logtarget = \(directory)/warden.log
            loglevel = DEBUG
            """.write(toFile: directory + "/warden.conf", atomically: true, encoding: .utf8)
        try """
            [Definition]
            failregex = demo\\[\\d+\\]: authentication failure for \\S+ from <HOST>$
            """.write(toFile: directory + "/filter.d/demo.conf", atomically: true, encoding: .utf8)
        let channelPath = ipc == "shm" ? "warden-test-\(tag)" : directory + "/channel"
        try """
            [demo]
            enabled = true
            filter = demo
            logpath = \(log)
            maxretry = 3
            findtime = 10m
            bantime = \(bantime)
            ignoreself = true
            action = \(actions.joined(separator: "\n         "))
            ipc = \(ipc)
            ipc.path = \(channelPath)
            \(extraJail)
            """.write(toFile: directory + "/jail.conf", atomically: true, encoding: .utf8)
        try shell("ip", "netns", "add", server)
        try shell("ip", "netns", "add", peer)
        let serverDevice = "wds\(tag.suffix(6))", peerDevice = "wdp\(tag.suffix(6))"
        try shell("ip", "link", "add", serverDevice, "netns", server, "type", "veth", "peer", "name", peerDevice, "netns", peer)
        for (namespace, device, address) in [(server, serverDevice, Self.serverAddress), (peer, peerDevice, Self.peerAddress)] {
            try shell("ip", "-n", namespace, "addr", "add", address + "/24", "dev", device)
            try shell("ip", "-n", namespace, "link", "set", device, "up")
            try shell("ip", "-n", namespace, "link", "set", "lo", "up")
        }
    }

    deinit {
        stopDaemon(signal: SIGKILL)
        if let worker, worker.isRunning {
            kill(worker.processIdentifier, SIGKILL)
            worker.waitUntilExit()
        }
        if listener >= 0 { close(listener) }
        _ = try? shellStatus(["ip", "netns", "delete", server])
        _ = try? shellStatus(["ip", "netns", "delete", peer])
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func wardenBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["WARDEN_BINARY"] { return path }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("warden").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else { throw HarnessError("warden is not built next to the test binary") }
        return candidate
    }

    /// Starts `warden start --foreground` in the server namespace and waits for ping.
    func startDaemon(_ extraArguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", server, try Self.wardenBinary(), "start", "--config", configDirectory ?? directory, "--foreground"]
            + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try waitUntil("the daemon answers ping") { (try? self.client("ping")) == "Server replied: pong" }
    }

    /// Starts `warden worker` in the server namespace and waits until it installed the
    /// table (its start-up restore), so decisions published afterwards are applied by it.
    func startWorker() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", server, try Self.wardenBinary(), "worker", "--config", configDirectory ?? directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        worker = process
        try waitUntil("the worker installed the table") {
            (try? capture(["ip", "netns", "exec", server, "nft", "list", "table", "inet", "warden"])) != nil
        }
    }

    func stopWorker() -> Int32? {
        guard let worker else { return nil }
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        self.worker = nil
        return worker.terminationStatus
    }

    func stopDaemon(signal: Int32 = SIGTERM) {
        guard let process, process.isRunning else { return }
        // `ip netns exec` execs warden, so the pid is the daemon's.
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
    }

    /// Runs a client command against this daemon; returns its standard output.
    @discardableResult
    func client(_ arguments: String...) throws -> String {
        try capture([try Self.wardenBinary()] + arguments + ["--config", configDirectory ?? directory])
    }

    func appendFailures(from address: String, count: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        let stamp = ISO8601DateFormatter().string(from: Date())
        for _ in 0..<count {
            try handle.write(contentsOf: Data("\(stamp) host demo[42]: authentication failure for root from \(address)\n".utf8))
        }
        try handle.close()
    }

    /// Addresses in the jail's kernel set (server namespace).
    func kernelSet() throws -> String {
        try capture(["ip", "netns", "exec", server, "nft", "list", "set", "inet", "warden", "demo-v4"])
    }

    /// The addresses of the jail's kernel set, one per element.
    func kernelElements() throws -> [String] {
        let listing = try capture(["ip", "netns", "exec", server, "nft", "-j", "list", "set", "inet", "warden", "demo-v4"])
        let pattern = try NSRegularExpression(pattern: #"\"val\": \"([0-9.]+)\""#)
        return pattern.matches(in: listing, range: NSRange(listing.startIndex..., in: listing)).compactMap {
            Range($0.range(at: 1), in: listing).map { String(listing[$0]) }
        }
    }

    /// Unexpired addresses of the store's current bans (sqlite3 CLI on the daemon's file).
    func storedBans() throws -> [String] {
        let now = Date().timeIntervalSince1970
        let rows = try capture(["sqlite3", directory + "/warden.sqlite3",
                                "SELECT address FROM current WHERE bantime < 0 OR timeofban + bantime > \(now)"])
        return rows.split(separator: "\n").map(String.init)
    }

    /// Moves a stored ban's start into the past so that it has expired.
    func expireStoredBan(_ address: String) throws {
        _ = try capture(["sqlite3", directory + "/warden.sqlite3",
                         "UPDATE current SET timeofban = timeofban - 100000 WHERE address = '\(address)'"])
        _ = try capture(["ip", "netns", "exec", server, "nft", "flush", "ruleset"])
    }

    /// Whether a TCP connection from the peer reaches a listener on the server (the jail
    /// blocks every protocol, so a banned peer's SYN is rejected).
    func peerCanConnect() throws -> Bool {
        if listener < 0 { listener = try NamespaceSockets.listen(in: server, address: Self.serverAddress, port: 2222) }
        return try NamespaceSockets.canConnect(from: peer, to: Self.serverAddress, port: 2222)
    }

    /// Re-checks `condition` every 50 ms up to 15 s (a bound on waiting, not a timing assertion).
    func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<300 {
            if try condition() { return }
            usleep(50_000)
        }
        throw HarnessError("timed out waiting until \(what); daemon log:\n" + ((try? String(contentsOfFile: directory + "/warden.log", encoding: .utf8)) ?? ""))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func shell(_ arguments: String...) throws {
    let status = try shellStatus(arguments)
    guard status == 0 else { throw HarnessError("\(arguments.joined(separator: " ")) exited with \(status)") }
}

func shellStatus(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

func capture(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw HarnessError("\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
