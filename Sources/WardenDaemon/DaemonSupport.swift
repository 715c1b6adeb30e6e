#if canImport(Glibc)
import Glibc
#endif
import CLinux
import WardenThreads

/// Starts `body` on its own thread; a refusal reads like the daemon's other failed calls.
func startDaemonThread(_ body: @escaping @Sendable () -> Void) throws(DaemonError) -> DedicatedThread {
    do {
        return try DedicatedThread(body)
    } catch {
        throw .system(call: "pthread_create", path: nil, errno: error.errno)
    }
}

/// A listening socket's accept loop, run on the calling (dedicated) thread: `serve` gets
/// each connection (close-on-exec) and closes it; returns once `stop` is signalled.
func acceptConnections(on listener: Int32, until stop: WakeSignal, _ serve: (Int32) -> Void) {
    var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stop.descriptor, events: Int16(POLLIN), revents: 0)]
    while true {
        let ready = poll(&descriptors, 2, -1)
        if ready < 0 && errno == EINTR { continue }
        if descriptors[1].revents != 0 || ready < 0 { return }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { continue }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        serve(connection)
    }
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
