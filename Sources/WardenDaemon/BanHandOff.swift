#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import WardenStore
import WardenThreads

/// Carries a jail's decided bans from its matching thread to a thread of their own that
/// stores and publishes them, so that in a burst matching and storing run on two CPUs.
/// Storing a ban (ban time, store transaction, channel, NOTICE line) costs about as much
/// CPU as reading, matching and counting the lines that decided it.
///
/// The publishing thread takes everything queued at once: a lone ban leaves as soon as it
/// is decided, and the bans decided while a chunk is being stored form the next chunk. A
/// chunk is published with the read progress submitted with its last ban, in the bans'
/// store transaction, so the store-before-firewall order and the position contract of
/// `BanStore.record(_:progress:)` hold as when the matching thread published itself.
/// Whoever saves the jail's read position must `drain()` first: a position saved past
/// bans still queued would skip their lines after a crash.
final class BanHandOff<Ban: Sendable>: Sendable {
    private struct Queue {
        var bans: [Ban] = []
        /// How far the source had read when the last queued ban was decided.
        var progress: ReadProgress?
        var submitted = 0
        var published = 0
        var publisherWaiting = false
        var drainWaiting = false
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Wakes the publishing thread: bans queued, or stop.
    private let work: Int32
    /// Wakes `drain()`: everything submitted before it is published.
    private let caughtUp: Int32
    private let thread = Mutex<DedicatedThread?>(nil)

    /// - Parameter publish: runs on the hand-off's thread with each chunk, in order.
    init(publish: @escaping @Sendable (_ bans: [Ban], _ progress: ReadProgress) -> Void) throws {
        work = warden_eventfd()
        caughtUp = warden_eventfd()
        guard work >= 0, caughtUp >= 0 else {
            let code = errno
            if work >= 0 { close(work) }
            if caughtUp >= 0 { close(caughtUp) }
            throw DaemonError.system(call: "eventfd", path: nil, errno: code)
        }
        let started = try DedicatedThread { [self] in run(publish) }
        thread.withLock { $0 = started }
    }

    deinit {
        close(work)
        close(caughtUp)
    }

    /// Queues bans decided by one line (or one journal batch) with how far the source has
    /// read once they are decided; returns at once.
    func submit(_ bans: [Ban], progress: ReadProgress) {
        guard !bans.isEmpty else { return }
        let wake = queue.withLock { queue -> Bool in
            queue.bans += bans
            queue.progress = progress
            queue.submitted += bans.count
            defer { queue.publisherWaiting = false }
            return queue.publisherWaiting
        }
        if wake { Self.signal(work) }
    }

    /// Returns once every ban submitted before the call is stored and published.
    func drain() {
        while queue.withLock({ queue -> Bool in
            guard queue.published < queue.submitted, !queue.stopping else { return false }
            queue.drainWaiting = true
            return true
        }) {
            Self.wait(caughtUp)
        }
    }

    /// Publishes what is queued, then ends and joins the thread.
    func stop() {
        guard let running = thread.withLock({ current -> DedicatedThread? in
            defer { current = nil }
            return current
        }) else { return }
        queue.withLock { $0.stopping = true }
        Self.signal(work)
        running.join()
    }

    private func run(_ publish: @Sendable ([Ban], ReadProgress) -> Void) {
        var spare: [Ban] = []
        while true {
            let chunk = queue.withLock { queue -> (bans: [Ban], progress: ReadProgress)?? in
                if let progress = queue.progress, !queue.bans.isEmpty {
                    // Swapped with the emptied array of the previous chunk: no allocation per chunk.
                    swap(&queue.bans, &spare)
                    return (spare, progress)
                }
                if queue.stopping { return .some(nil) }
                queue.publisherWaiting = true
                return nil
            }
            switch chunk {
            case .some(let taken?):
                publish(taken.bans, taken.progress)
                let count = taken.bans.count
                spare = taken.bans
                spare.removeAll(keepingCapacity: true)
                let wakeDrain = queue.withLock { queue -> Bool in
                    queue.published += count
                    guard queue.drainWaiting, queue.published == queue.submitted else { return false }
                    queue.drainWaiting = false
                    return true
                }
                if wakeDrain { Self.signal(caughtUp) }
            case .some(nil):
                return
            case nil:
                Self.wait(work)
            }
        }
    }

    private static func signal(_ descriptor: Int32) {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Blocks in the kernel until the eventfd is signalled, and resets it.
    private static func wait(_ descriptor: Int32) {
        var counter: UInt64 = 0
        while read(descriptor, &counter, 8) < 0 && errno == EINTR {}
    }
}
