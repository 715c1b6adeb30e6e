#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread for one blocking loop (epoll_wait, a channel read, accept,
/// poll on a netlink socket), kept off Swift's cooperative pool.
public final class DedicatedThread: @unchecked Sendable {
    /// `pthread_create` refused; `errno` is its result code.
    public struct StartError: Error, Sendable {
        public let errno: Int32
    }

    // Written once by init before anyone can join; join() is called at most once.
    private var thread = pthread_t()

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    public init(_ body: @escaping @Sendable () -> Void) throws(StartError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw StartError(errno: result)
        }
    }

    public func join() { pthread_join(thread, nil) }
}
