#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with one condition variable, for in-process waits that must block the
/// calling thread (the memory adapter's readers and back-pressured writers).
final class ConditionLock: @unchecked Sendable {
    // Heap-allocated so their addresses never move; pthread objects must not be copied.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        // Timed waits measure the monotonic clock, which a clock change cannot move.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a broadcast; call only inside `withLock`.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a broadcast or for `seconds` to pass; false when the time ran out.
    /// Call only inside `withLock`.
    func wait(seconds: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += seconds
        return pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}
