#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WardenFirewall
import WardenIPC
import WardenStore
import WardenThreads

/// A ban or unban as a ban worker receives it.
struct WorkerDecision: Sendable {
    var type: MessageType
    var decision: BanDecision
}

/// The thread that owns warden's nftables table: it applies decisions in batches (all that
/// arrived while the previous transaction ran become the next one), restores the store's
/// unexpired bans in one batch at start, and re-asserts table and bans when the ruleset
/// was changed behind its back (`nft flush ruleset`), woken by `RulesetChangeMonitor`.
///
/// libnftables contexts are confined to one thread, so every firewall call happens on this
/// thread; other threads hand work over through a queue and an eventfd.
public final class BanWorker: Sendable {
    private struct Queue {
        var decisions: [WorkerDecision] = []
        var reconcile = false
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let wake: WakeSignal
    private let thread = Mutex<DedicatedThread?>(nil)
    private let monitor = Mutex<RulesetChangeMonitor?>(nil)
    private let layout: FirewallLayout
    private let store: BanStore
    private let policies: [String: RestorePolicy]
    private let logger: Logger
    private let metrics: DaemonMetrics
    /// Shell actions told about each batch of bans once it is in the kernel.
    private let shellActions: JailShellActions?
    /// Reconciles so far (start-up restore included); read by tests and `status`.
    public let reconciles = Atomic<Int>(0)

    public init(layout: FirewallLayout, store: BanStore, policies: [String: RestorePolicy],
                logger: Logger, metrics: DaemonMetrics, shellActions: JailShellActions? = nil) throws {
        self.layout = layout
        self.shellActions = shellActions
        self.store = store
        self.policies = policies
        self.logger = logger
        self.metrics = metrics
        wake = try WakeSignal()
    }

    /// Installs the layout and restores the store's bans (one batch) before returning, then
    /// runs the apply loop on its own thread.
    public func start() throws {
        let started = Mutex<Result<Void, any Error>?>(nil)
        let ready = try WakeSignal()
        let running = try startDaemonThread { [self] in
            let firewall: NftablesFirewall
            do {
                firewall = try NftablesFirewall(layout: layout)
                try reconcile(firewall, reason: "start")
                started.withLock { $0 = .success(()) }
            } catch {
                started.withLock { $0 = .failure(error) }
                ready.signal()
                return
            }
            ready.signal()
            loop(firewall)
        }
        ready.consumeBlocking()
        if case .failure(let error) = started.withLock({ $0 }) {
            running.join()
            throw error
        }
        thread.withLock { $0 = running }
        let watcher = try RulesetChangeMonitor { [self] in
            queue.withLock { $0.reconcile = true }
            wake.signal()
        }
        monitor.withLock { $0 = watcher }
    }

    /// Queues decisions for the next transaction.
    func submit(_ decisions: [WorkerDecision]) {
        guard !decisions.isEmpty else { return }
        queue.withLock { $0.decisions.append(contentsOf: decisions) }
        wake.signal()
    }

    /// Applies what is queued, then joins the thread. The table and its bans stay: the
    /// kernel keeps enforcing (and expiring) them while warden is down or restarting.
    public func stop() {
        monitor.withLock { $0?.stop(); $0 = nil }
        guard let running = thread.withLock({ thread in defer { thread = nil }; return thread }) else { return }
        queue.withLock { $0.stopping = true }
        wake.signal()
        running.join()
    }

    private func loop(_ firewall: NftablesFirewall) {
        while true {
            wake.consumeBlocking()
            let work = queue.withLock { queue in defer { queue.decisions = []; queue.reconcile = false }; return queue }
            if work.reconcile {
                do { try reconcile(firewall, reason: "ruleset changed outside warden") } catch {
                    logger.error("reconcile failed", metadata: ["error": "\(error)"])
                }
            }
            if !work.decisions.isEmpty { apply(work.decisions, firewall) }
            if work.stopping { return }
        }
    }

    private func apply(_ decisions: [WorkerDecision], _ firewall: NftablesFirewall) {
        let now = wallClock()
        var batch = BanBatch()
        for item in decisions {
            let decision = item.decision
            switch item.type {
            case .ban:
                if decision.banTime < 0 {
                    batch.ban(decision.address, jail: decision.jail, timeout: .permanent)
                } else {
                    // The ban runs from its time of ban (the last failure), so a decision
                    // replayed after a crash ends when the original would have.
                    let remaining = Double(decision.banTime) - (now - Double(decision.time) / 1e9)
                    guard remaining > 0 else { continue }
                    batch.ban(decision.address, jail: decision.jail, timeout: .seconds(Int64(remaining.rounded(.up))))
                }
            case .unban:
                batch.unban(decision.address, jail: decision.jail)
            case .logLine:
                continue
            }
        }
        var result: BanBatchResult?
        do {
            result = try firewall.apply(batch)
        } catch .layoutMissing {
            // The table went away between the monitor's wake-up and this batch: re-create
            // it with every stored ban (these decisions are in the store already).
            do { try reconcile(firewall, reason: "layout missing while applying") } catch {
                logger.error("reconcile failed", metadata: ["error": "\(error)"])
            }
            result = try? firewall.apply(batch)
        } catch {
            logger.error("ban batch failed", metadata: ["error": "\(error)", "entries": "\(batch.count)"])
        }
        let applied = monotonicNanoseconds()
        shellActions?.banned(decisions.filter { $0.type == .ban }.map(\.decision))
        shellActions?.unbanned(decisions.filter { $0.type == .unban }.map(\.decision))
        for item in decisions {
            metrics.jail(item.decision.jail).channelDepth.subtract(1, ordering: .relaxed)
            if item.type == .ban { metrics.banApplied(jail: item.decision.jail, address: item.decision.address, at: applied) }
        }
        for rejection in result?.rejected ?? [] {
            logger.warning("nftables refused an element", metadata: [
                "jail": "\(rejection.entry.jail)", "address": "\(rejection.entry.address)", "error": "\(rejection.message)"])
        }
    }

    private func reconcile(_ firewall: NftablesFirewall, reason: String) throws {
        let now = wallClock()
        let active = try store.restoreBans(now: now, policies: policies).compactMap { ban -> ActiveBan? in
            guard let address = NetworkAddress(ban.address), firewall.layout.spec(forJail: ban.jail) != nil else { return nil }
            return ActiveBan(jail: ban.jail, address: address, expiry: ban.remaining(at: now).map { now + $0 })
        }
        let reconciler = FirewallReconciler(firewall: firewall)
        let report = try reconciler.reconcile(activeBans: active, now: now)
        reconciles.add(1, ordering: .relaxed)
        logger.notice("firewall reconciled", metadata: [
            "reason": "\(reason)", "layoutWasMissing": "\(report.layoutWasMissing)", "restoredBans": "\(report.restoredBans)"])
    }
}

extension WakeSignal {
    /// Blocks in `read` until signalled (EINTR retried), then clears the counter.
    func consumeBlocking() {
        var value: UInt64 = 0
        while read(descriptor, &value, 8) < 0 && errno == EINTR {}
    }
}
