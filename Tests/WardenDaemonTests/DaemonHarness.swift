import Foundation
import Glibc
import NetworkTestSupport

/// A warden daemon started from the `warden` binary SwiftPM built next to this test
/// bundle, inside the server namespace of a veth pair (server 192.0.2.1, peer 192.0.2.2),
/// with its own configuration directory, socket, store and log.
final class DaemonHarness: @unchecked Sendable {
    let directory: String
    let network: VethPair
    /// The namespace the daemon, its worker and its firewall run in.
    var server: NetworkNamespace { network.server }
    let log: String
    private(set) var process: Process?
    /// The configuration directory the daemon is started with (default: `directory`).
    var configDirectory: String?
    private var listener: Int32 = -1

    /// The `warden worker` process of `startWorker()`.
    private(set) var worker: Process?

    /// `ipc`: the jail's channel adapter; `bantime` in seconds; `actions`: the jail's
    /// `action` lines (action.d files of their own go in `directory/action.d`).
    init(ipc: String, bantime: Int = 4, actions: [String] = ["nftables[type=allports, protocol=all]"], extraJail: String = "") throws {
        let tag = "\(getpid())-\(Int.random(in: 0..<1_000_000))"
        directory = NSTemporaryDirectory() + "warden-daemon-\(tag)"
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
        network = try VethPair()
    }

    deinit {
        stopDaemon(signal: SIGKILL)
        if let worker, worker.isRunning {
            kill(worker.processIdentifier, SIGKILL)
            worker.waitUntilExit()
        }
        if listener >= 0 { close(listener) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func wardenBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["WARDEN_BINARY"] { return path }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("warden").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else { throw TestFailure("warden is not built next to the test binary") }
        return candidate
    }

    /// Starts `warden start --foreground` in the server namespace and waits for ping.
    func startDaemon(_ extraArguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", server.name, try Self.wardenBinary(), "start", "--config", configDirectory ?? directory, "--foreground"]
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
        process.arguments = ["ip", "netns", "exec", server.name, try Self.wardenBinary(), "worker", "--config", configDirectory ?? directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        worker = process
        try waitUntil("the worker installed the table") {
            (try? server.output("nft", "list", "table", "inet", "warden")) != nil
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
        try Command.output([try Self.wardenBinary()] + arguments + ["--config", configDirectory ?? directory])
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
        try server.output("nft", "list", "set", "inet", "warden", "demo-v4")
    }

    /// The addresses of the jail's kernel set, one per element.
    func kernelElements() throws -> [String] {
        let listing = try server.output("nft", "-j", "list", "set", "inet", "warden", "demo-v4")
        let pattern = try NSRegularExpression(pattern: #"\"val\": \"([0-9.]+)\""#)
        return pattern.matches(in: listing, range: NSRange(listing.startIndex..., in: listing)).compactMap {
            Range($0.range(at: 1), in: listing).map { String(listing[$0]) }
        }
    }

    /// Unexpired addresses of the store's current bans (sqlite3 CLI on the daemon's file).
    func storedBans() throws -> [String] {
        let now = Date().timeIntervalSince1970
        let rows = try Command.output(["sqlite3", directory + "/warden.sqlite3",
                                       "SELECT address FROM current WHERE bantime < 0 OR timeofban + bantime > \(now)"])
        return rows.split(separator: "\n").map(String.init)
    }

    /// Moves a stored ban's start into the past so that it has expired.
    func expireStoredBan(_ address: String) throws {
        _ = try Command.output(["sqlite3", directory + "/warden.sqlite3",
                                "UPDATE current SET timeofban = timeofban - 100000 WHERE address = '\(address)'"])
        _ = try server.output("nft", "flush", "ruleset")
    }

    /// Whether a TCP connection from the peer reaches a listener on the server (the jail
    /// blocks every protocol, so a banned peer's SYN is rejected).
    func peerCanConnect() throws -> Bool {
        if listener < 0 {
            listener = try server.perform { try PacketProbe.bound(VethPair.serverV4, port: 2222, type: Int32(SOCK_STREAM.rawValue)) }
        }
        return try network.peer.perform { PacketProbe.tcpConnect(VethPair.serverV4, port: 2222, timeoutMilliseconds: 1000) == .connected }
    }

    /// Re-checks `condition` every 50 ms up to 15 s (a bound on waiting, not a timing assertion).
    func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<300 {
            if try condition() { return }
            usleep(50_000)
        }
        throw TestFailure("timed out waiting until \(what); daemon log:\n" + ((try? String(contentsOfFile: directory + "/warden.log", encoding: .utf8)) ?? ""))
    }
}
