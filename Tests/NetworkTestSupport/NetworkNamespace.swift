import CLinux
import Glibc
import Synchronization
import WardenThreads

/// A named network namespace (`ip netns add`), private to one test and deleted with this
/// object, and ways to run code and commands inside it. Nothing here touches the host's
/// own network namespace.
public final class NetworkNamespace: Sendable {
    public let name: String
    private static let created = Atomic<Int>(0)

    /// `role` goes into the name, so a namespace a crashed test left behind says whose it was.
    public init(_ role: String) throws {
        name = "warden-\(role)-\(getpid())-\(Self.created.add(1, ordering: .relaxed).newValue)"
        try Command.run("ip", "netns", "add", name)
    }

    deinit { _ = try? Command.status(["ip", "netns", "delete", name]) }

    /// Runs `body` on a new thread that has moved into this namespace (a namespace change
    /// stays on its thread, and sockets belong to the namespace they were created in),
    /// and returns its result.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let path = "/var/run/netns/\(name)"
        let outcome = ThreadOutcome<T>()
        try DedicatedThread {
            outcome.result = Result {
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
                defer { close(descriptor) }
                guard warden_enter_network_namespace(descriptor) == 0 else { throw TestFailure("setns \(path): errno \(errno)") }
                return try body()
            }
        }.join()
        return try outcome.result!.get()
    }

    /// `ip netns exec NAME command...`; returns the exit status.
    @discardableResult
    public func exec(_ arguments: String...) throws -> Int32 {
        try Command.status(["ip", "netns", "exec", name] + arguments)
    }

    /// `ip netns exec NAME command...`; returns its standard output, throws unless it exits 0.
    public func output(_ arguments: String...) throws -> String {
        try Command.output(["ip", "netns", "exec", name] + arguments)
    }
}

/// Written by the namespace's thread before it ends, read after the join.
private final class ThreadOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
