#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread for blocking loops (epoll_wait, sd_journal_wait), which must
/// not run on Swift's cooperative pool.
final class DedicatedThread: @unchecked Sendable {
    // Written once by start() before anyone joins; join() is called at most once.
    private var thread = pthread_t()

    private final class Body { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }

    init(_ body: @escaping @Sendable () -> Void) throws {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw LogSourceError.system(call: "pthread_create", reason: systemErrorText(result))
        }
    }

    func join() { pthread_join(thread, nil) }
}
