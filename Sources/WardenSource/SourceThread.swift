#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import WardenThreads

/// The thread a log source runs its epoll loop on, and the eventfd that ends that loop:
/// the loop watches `stopSignal` among its descriptors and returns when it fires.
final class SourceThread: Sendable {
    /// Readable once `stop()` was called; the loop adds it to its epoll set.
    let stopSignal: Int32
    private let thread: Mutex<DedicatedThread?> = Mutex(nil)

    init() throws {
        stopSignal = warden_eventfd()
        guard stopSignal >= 0 else { throw LogSourceError.system(call: "eventfd", reason: systemErrorText()) }
    }

    deinit {
        stop()
        close(stopSignal)
    }

    func start(_ loop: @escaping @Sendable () -> Void) throws {
        let running = try startDedicatedThread(loop)
        thread.withLock { $0 = running }
    }

    /// Signals the loop and joins its thread; does nothing when it is not running.
    func stop() {
        guard let running = thread.withLock({ thread in defer { thread = nil }; return thread }) else { return }
        var one: UInt64 = 1
        _ = write(stopSignal, &one, 8)
        running.join()
    }
}
