import Logging
import WardenFirewall
import WardenJail
import WardenStore

/// Ban workers for a set of jails: the `BanWorker` owning the nftables table, and one
/// `DecisionReader` per jail channel feeding it. Runs inside the daemon, or alone in
/// `warden worker` (privilege separation: only this process needs CAP_NET_ADMIN).
public final class BanWorkerService: Sendable {
    private let worker: BanWorker
    private let readers: [DecisionReader]
    private let shellActions: JailShellActions?
    private let metrics: DaemonMetrics
    private let logger: Logger

    /// - Parameter readerName: names this process's reader on each channel (its socket,
    ///   file offset or shm cursor), so a restarted worker reattaches where it was.
    /// - Parameter configDirectory: where `action.d` is, for the jails' shell actions.
    public init(jails: [JailDefinition], configDirectory: String, store: BanStore, metrics: DaemonMetrics, logger: Logger,
                readerName: String = "worker") throws {
        var layout = FirewallLayout()
        var policies: [String: RestorePolicy] = [:]
        for jail in jails {
            layout.add(try FirewallSpecMapping.spec(for: jail))
            let calculator = try BanTimeCalculator(jail)
            policies[jail.name] = RestorePolicy(maximumBanTime: calculator.maximumBanTime, incrementEnabled: jail.banTimeIncrement.enabled)
        }
        shellActions = try JailShellActions.make(jails: jails, configDirectory: configDirectory, store: store, logger: logger)
        worker = try BanWorker(layout: layout, store: store, policies: policies, logger: logger, metrics: metrics,
                               shellActions: shellActions)
        readers = try jails.map { jail in
            try DecisionReader(jail: jail.name, configuration: jail.channel, readerName: readerName)
        }
        self.metrics = metrics
        self.logger = logger
    }

    /// Installs the table, restores stored bans in one batch, then starts reading decisions.
    public func start() throws {
        try worker.start()
        try shellActions?.start()
        for reader in readers {
            try reader.start(worker: worker, metrics: metrics.jail(reader.jail), logger: logger)
        }
    }

    /// Jails about to be removed by a reload: their shell actions flush or unban their
    /// running bans before the workers stop (the kernel's copies go with the jail's sets).
    func liftShellActions(of jails: [JailDefinition]) {
        guard !jails.isEmpty else { return }
        shellActions?.lift(jails: Set(jails.map(\.name)))
    }

    /// Stops the readers first (their last batches reach the worker), then the worker.
    public func stop() {
        for reader in readers { reader.stop() }
        worker.stop()
        shellActions?.stop()
    }

    /// Deletes the chains and sets (and so the bans) of jails that left the configuration.
    /// The base chains are rewritten with the rules of the jails that stay, so those are
    /// enforced throughout.
    static func removeFirewall(of removed: [JailDefinition], keeping: [JailDefinition]) throws {
        var layout = FirewallLayout()
        for jail in keeping + removed { layout.add(try FirewallSpecMapping.spec(for: jail)) }
        let firewall = try NftablesFirewall(layout: layout)
        for jail in removed { try firewall.remove(jail: jail.name) }
    }

    public var reconciles: Int { worker.reconciles.load(ordering: .relaxed) }
}
