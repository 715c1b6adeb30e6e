#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread for a blocking loop (poll on the netlink socket, waiting for
/// child processes), which must not run on Swift's cooperative pool.
final class WorkerThread: @unchecked Sendable {
    // Written once by init before anyone joins; join() is called at most once.
    private var thread = pthread_t()

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", errno: result)
        }
    }

    func join() { pthread_join(thread, nil) }
}

/// A failed system call and its errno.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}
