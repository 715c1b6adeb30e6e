#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A joinable POSIX thread for one blocking loop (a channel read, accept, an eventfd
/// wait), kept off Swift's cooperative pool.
final class DaemonThread: @unchecked Sendable {
    // Written once by init before anyone can join; join() is called at most once.
    private var thread = pthread_t()

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) throws(DaemonError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw .system(call: "pthread_create", path: nil, errno: result)
        }
    }

    func join() { pthread_join(thread, nil) }
}

/// An eventfd used to wake a thread blocked in poll/read: `signal()` from any thread.
final class WakeSignal: Sendable {
    let descriptor: Int32

    init() throws(DaemonError) {
        descriptor = warden_eventfd()
        guard descriptor >= 0 else { throw .system(call: "eventfd", path: nil, errno: errno) }
    }

    deinit { close(descriptor) }

    func signal() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Clears pending signals (the eventfd is a counter).
    func consume() {
        var value: UInt64 = 0
        _ = read(descriptor, &value, 8)
    }
}

/// Wall-clock seconds since the epoch.
func wallClock() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Monotonic nanoseconds, for latencies.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}
