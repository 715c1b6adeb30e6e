import CLinux
import Foundation
import Glibc

/// A named network namespace (`ip netns add`), private to one test and deleted after it,
/// and a way to run code on a thread that has moved into it. Nothing here touches the
/// host's own network namespace.
final class NetworkNamespace: Sendable {
    let name: String
    private static let counter = Counter()

    init(_ role: String) throws {
        name = "wfw-\(role)-\(getpid())-\(Self.counter.next())"
        try run("ip", "netns", "add", name)
    }

    deinit { try? run("ip", "netns", "delete", name) }

    /// Runs `body` on a new thread inside this namespace and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let path = "/var/run/netns/\(name)"
        return try onNewThread {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
            defer { close(descriptor) }
            guard warden_enter_network_namespace(descriptor) == 0 else { throw TestFailure("setns: errno \(errno)") }
            return try body()
        }
    }

    /// `ip netns exec NAME command...`; returns the exit status.
    @discardableResult
    func exec(_ arguments: String...) throws -> Int32 {
        try runStatus(["ip", "netns", "exec", name] + arguments)
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}

/// Two namespaces joined by a veth pair: `server` (192.0.2.1, 2001:db8::1) and `peer`
/// (192.0.2.2, 2001:db8::2).
final class VethPair: Sendable {
    let server: NetworkNamespace
    let peer: NetworkNamespace
    static let serverV4 = "192.0.2.1", peerV4 = "192.0.2.2"
    static let serverV6 = "2001:db8::1", peerV6 = "2001:db8::2"

    init() throws {
        server = try NetworkNamespace("srv")
        peer = try NetworkNamespace("peer")
        try run("ip", "link", "add", "wfw-s", "netns", server.name, "type", "veth", "peer", "name", "wfw-p", "netns", peer.name)
        for (namespace, device, v4, v6) in [(server, "wfw-s", Self.serverV4, Self.serverV6), (peer, "wfw-p", Self.peerV4, Self.peerV6)] {
            try check(namespace.exec("ip", "addr", "add", v4 + "/24", "dev", device))
            try check(namespace.exec("ip", "-6", "addr", "add", v6 + "/64", "dev", device, "nodad"))
            try check(namespace.exec("ip", "link", "set", device, "up"))
            try check(namespace.exec("ip", "link", "set", "lo", "up"))
        }
    }

    private func check(_ status: Int32) throws {
        guard status == 0 else { throw TestFailure("ip command failed with status \(status)") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func run(_ arguments: String...) throws {
    let status = try runStatus(arguments)
    guard status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) exited with \(status)") }
}

func runStatus(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Runs `body` on a fresh pthread (namespace changes stay on that thread) and joins it.
func onNewThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
    let box = ThreadResult<T>()
    try ThreadBody { box.result = Result { try body() } }.runAndJoin()
    return try box.result!.get()
}

/// Written by the test thread before it ends, read after pthread_join.
private final class ThreadResult<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }

    func runAndJoin() throws {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw TestFailure("pthread_create: \(created)")
        }
        pthread_join(thread, nil)
    }
}

/// Re-checks `condition` until it holds or `attempts` run out, sleeping `interval` between
/// tries: for kernel-side events (expiry) that give no notification.
func eventually(attempts: Int = 100, interval: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<attempts {
        if try condition() { return true }
        usleep(UInt32(interval * 1_000_000))
    }
    return try condition()
}
