import Synchronization

/// The kernel thread ids that commit nftables batches for this process. The kernel tags
/// every committed batch with the committing thread's id (NFTA_GEN_PROC_PID), so the
/// ruleset monitor can tell warden's own changes from changes made behind its back.
enum OwnNftablesCommitters {
    private static let threads = Mutex<Set<Int32>>([])

    static func register(_ thread: Int32) {
        threads.withLock { _ = $0.insert(thread) }
    }

    static func contains(_ thread: Int32) -> Bool {
        threads.withLock { $0.contains(thread) }
    }
}
