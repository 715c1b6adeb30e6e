#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import WardenThreads

/// When each ban with a shell action ends. The kernel expires its own set elements, but
/// `action.d` commands (a cloudflare-like API call, a route) need `actionunban` when the
/// ban time is over: this keeps the end times and calls `onEnd` with the bans due.
///
/// One thread waits in `epoll_wait` on a wall-clock timerfd armed (absolute time, so it
/// follows clock changes) for the earliest end, and on an eventfd that says the schedule
/// changed or is stopping; nothing polls.
final class UnbanSchedule: Sendable {
    struct Ban: Hashable, Sendable {
        var jail: String
        var address: String
    }

    private struct State {
        var ends: [Ban: Double] = [:]
        var stopping = false
    }

    private let state = Mutex(State())
    private let timer: Int32
    private let epoll: Int32
    private let wake: WakeSignal
    private let thread = Mutex<DedicatedThread?>(nil)

    init() throws {
        wake = try WakeSignal()
        timer = warden_wall_clock_timer()
        epoll = warden_epoll_create()
        guard timer >= 0, epoll >= 0 else { throw DaemonError.system(call: "timerfd_create/epoll_create1", path: nil, errno: errno) }
        warden_epoll_add(epoll, timer)
        warden_epoll_add(epoll, wake.descriptor)
    }

    deinit {
        close(timer)
        close(epoll)
    }

    /// Adds or replaces bans' end times (epoch seconds).
    func schedule(_ bans: [(Ban, Double)]) {
        guard !bans.isEmpty else { return }
        state.withLock { state in for (ban, end) in bans { state.ends[ban] = end } }
        wake.signal()
    }

    /// Forgets a ban that ended early (`warden unban`).
    func cancel(_ ban: Ban) {
        state.withLock { _ = $0.ends.removeValue(forKey: ban) }
        wake.signal()
    }

    /// - Parameter onEnd: called on the schedule's thread with the bans whose end time has
    ///   come (earliest first) and the time they were collected at.
    func start(onEnd: @escaping @Sendable ([Ban], Double) -> Void) throws {
        let running = try startDaemonThread { [self] in run(onEnd: onEnd) }
        thread.withLock { $0 = running }
    }

    /// Ends the thread; bans not yet due are left to the next start (the store has them).
    func stop() {
        guard let running = thread.withLock({ thread in defer { thread = nil }; return thread }) else { return }
        state.withLock { $0.stopping = true }
        wake.signal()
        running.join()
    }

    private func run(onEnd: @Sendable ([Ban], Double) -> Void) {
        var ready = [Int32](repeating: -1, count: 2)
        while true {
            let now = wallClock()
            let (due, next, stopping) = state.withLock { state -> ([Ban], Double?, Bool) in
                let due = state.ends.filter { $0.value <= now }.sorted { $0.value < $1.value }.map(\.key)
                for ban in due { state.ends.removeValue(forKey: ban) }
                return (due, state.ends.values.min(), state.stopping)
            }
            if stopping { return }
            if !due.isEmpty { onEnd(due, now) }
            if let next {
                warden_wall_clock_timer_set(timer, UInt64(max(next, 0) * 1e9))
            } else {
                warden_wall_clock_timer_disarm(timer)
            }
            let count = warden_epoll_wait(epoll, &ready, Int32(ready.count), -1)
            guard count >= 0 || errno == EINTR else { return }
            for descriptor in ready.prefix(Int(max(count, 0))) {
                if descriptor == timer {
                    var expirations: UInt64 = 0
                    _ = read(timer, &expirations, 8)
                } else {
                    wake.consume()  // readable, so this read does not block
                }
            }
        }
    }
}
