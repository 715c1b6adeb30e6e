import Logging
import WardenConfig
import WardenFirewall
import WardenIPC
import WardenJail
import WardenStore

/// The `action.d` actions of the jails that warden does not serve in its nftables table
/// (sendmail, a cloudflare-like API call, a site's own scripts, ...), run by one
/// `ShellActionRunner` so that a slow command never holds up the firewall: `actionstart`
/// when the ban workers start, `actionban` after each batch of bans reached the kernel,
/// `actionunban` when a ban's time is over (`UnbanSchedule`) or `warden unban` ends it,
/// `actionstop` when the workers stop.
///
/// Ban ends survive restarts: at start, bans still running are scheduled from the store,
/// and bans that ended while warden was down get `actionunban` once (the store keeps, per
/// jail, the time up to which every ended ban was unbanned). fail2ban reaches the same
/// state differently: its stop unbans everything and its start bans the stored bans again
/// (`<restored>` = 1); warden keeps bans across a restart, in the kernel and in actions.
/// Bans restored at start are therefore not sent to `actionban` again.
public final class JailShellActions: Sendable {
    private let actions: [String: [ShellAction]]
    private let runner: ShellActionRunner
    /// Where each ban's matches, failures, ban count and captured groups are read from.
    private let store: BanStore
    private let schedule: UnbanSchedule
    private let logger: Logger

    /// Nil when no jail has a non-native action (no thread is started then).
    static func make(jails: [JailDefinition], configDirectory: String, store: BanStore, logger: Logger) throws -> JailShellActions? {
        var actions: [String: [ShellAction]] = [:]
        for jail in jails {
            let jailValues = ["name": jail.name, "port": jail.port ?? "", "protocol": jail.protocol ?? "tcp", "chain": jail.chain ?? ""]
                .filter { !$0.value.isEmpty }
            for reference in jail.actions where !FirewallSpecMapping.isNative(reference) {
                actions[jail.name, default: []].append(try ShellAction(
                    reference: FilterReference(name: reference.name, options: reference.options),
                    jailValues: jailValues, configDirectory: configDirectory))
            }
        }
        guard !actions.isEmpty else { return nil }
        let runner = try ShellActionRunner { outcome in
            let metadata: Logger.Metadata = [
                "action": "\(outcome.label)", "status": "\(outcome.exitStatus.map(String.init) ?? "none")",
                "seconds": "\(outcome.seconds)", "output": "\(outcome.output)"]
            if outcome.exitStatus == 0 {
                logger.debug("action command done", metadata: metadata)
            } else {
                logger.error("action command failed", metadata: metadata.merging([
                    "timedOut": "\(outcome.timedOut)", "signal": "\(outcome.terminatingSignal.map(String.init) ?? "none")",
                    "launchError": "\(outcome.launchError.map { "\($0)" } ?? "none")"]) { $1 })
            }
        }
        return try JailShellActions(actions: actions, runner: runner, store: store, logger: logger)
    }

    private init(actions: [String: [ShellAction]], runner: ShellActionRunner, store: BanStore, logger: Logger) throws {
        self.actions = actions
        self.runner = runner
        self.store = store
        self.logger = logger
        schedule = try UnbanSchedule()
    }

    /// Jails with an `actionunban` command: the ones whose ban ends are scheduled.
    private var unbanningJails: [String] {
        actions.filter { $0.value.contains { $0.commands[.unban] != nil } }.keys.sorted()
    }

    /// `actionstart`, then `actionunban` for bans that ended while warden was down, then
    /// the schedule of the bans still running.
    func start() throws {
        submit(.start)
        let now = wallClock()
        let jails = unbanningJails
        for jail in jails {
            guard let since = try store.actionsUnbannedUntil(jail: jail) else { continue }
            for ban in try store.bansEnded(jail: jail, after: since, upTo: now) { unban(jail: jail, address: ban.address, at: now) }
        }
        try store.setActionsUnbannedUntil(now, jails: jails)
        let running = try store.restoreBans(now: now).filter { jails.contains($0.jail) && !$0.isPermanent }
        schedule.schedule(running.map { (UnbanSchedule.Ban(jail: $0.jail, address: $0.address), $0.timeOfBan + Double($0.banTime)) })
        try schedule.start { [weak self] bans, now in self?.ended(bans, at: now) }
    }

    /// Queues `actionban` of each ban's jail; returns at once.
    func banned(_ decisions: [BanDecision]) {
        for decision in decisions {
            let jailActions = actions[decision.jail] ?? []
            guard !jailActions.isEmpty else { continue }
            let tags = ticket(for: decision, actions: jailActions).tags
            for action in jailActions {
                if let command = action.command(.ban, for: tags) {
                    runner.submit(command, label: "\(decision.jail)/\(action.name) actionban \(decision.address)")
                }
            }
        }
        schedule.schedule(decisions.filter { $0.banTime >= 0 && actions[$0.jail] != nil }.map { decision in
            (UnbanSchedule.Ban(jail: decision.jail, address: decision.address.description),
             Double(decision.time) / 1e9 + Double(decision.banTime))
        })
    }

    /// `warden unban`: `actionunban` now, and the scheduled end is dropped.
    func unbanned(_ decisions: [BanDecision]) {
        let now = wallClock()
        for decision in decisions where actions[decision.jail] != nil {
            let address = decision.address.description
            schedule.cancel(UnbanSchedule.Ban(jail: decision.jail, address: address))
            unban(jail: decision.jail, address: address, at: now)
        }
    }

    /// Jails that left the configuration (reload): what fail2ban does when it stops a
    /// jail. Each action with an `actionflush` runs it once; the others get `actionunban`
    /// for every ban of the jail that is still running. Their scheduled ends are dropped;
    /// `actionstop` follows when the workers stop.
    func lift(jails removed: Set<String>) {
        let now = wallClock()
        let running: [StoredBan]
        do {
            running = try store.restoreBans(now: now).filter { removed.contains($0.jail) }
        } catch {
            logger.error("cannot read the bans of removed jails for their actions", metadata: ["error": "\(error)"])
            return
        }
        for jail in removed.sorted() {
            for action in actions[jail] ?? [] {
                guard let flush = action.command(.flush) else { continue }
                runner.submit(flush, label: "\(jail)/\(action.name) actionflush")
            }
        }
        for ban in running where actions[ban.jail] != nil {
            schedule.cancel(UnbanSchedule.Ban(jail: ban.jail, address: ban.address))
            unban(jail: ban.jail, address: ban.address, at: now, skippingFlushedActions: true)
        }
    }

    /// The schedule's thread: these bans' time is over.
    private func ended(_ bans: [UnbanSchedule.Ban], at now: Double) {
        for ban in bans { unban(jail: ban.jail, address: ban.address, at: now) }
        // Queued before this is recorded: a crash in between runs them again at the next
        // start rather than never.
        do { try store.setActionsUnbannedUntil(now, jails: unbanningJails) } catch {
            logger.error("cannot record ended bans", metadata: ["error": "\(error)"])
        }
    }

    /// `skippingFlushedActions`: leave out actions that were flushed instead.
    private func unban(jail: String, address: String, at now: Double, skippingFlushedActions: Bool = false) {
        let jailActions = (actions[jail] ?? []).filter { !skippingFlushedActions || $0.command(.flush) == nil }
        guard let network = NetworkAddress(address) else { return }
        let stored = try? store.currentBan(jail: jail, address: address)
        let decision = BanDecision(jail: jail, address: network, banTime: stored?.ban.banTime ?? 0,
                                   time: Int64((stored?.ban.timeOfBan ?? now) * 1e9))
        let tags = ticket(for: decision, actions: jailActions).tags
        for action in jailActions {
            if let command = action.command(.unban, for: tags) {
                runner.submit(command, label: "\(jail)/\(action.name) actionunban \(address)")
            }
        }
    }

    /// The ban's tags as fail2ban's actions see them: the decision's address and times,
    /// and from the store the ban count, failures, matched lines and captured groups, plus
    /// the merged history of the address when a command asks for `<ip…matches>` or
    /// `<ip…failures>`. A store error leaves those tags at the decision's values.
    private func ticket(for decision: BanDecision, actions: [ShellAction]) -> BanTicket {
        let address = decision.address.description
        var ticket = BanTicket(ip: address, jail: decision.jail, time: Double(decision.time) / 1e9, banTime: decision.banTime)
        if let (ban, data) = try? store.currentBan(jail: decision.jail, address: address) {
            ticket.banCount = ban.banCount
            ticket.failures = data.failures ?? 0
            ticket.matches = data.matches
            ticket.fields = data.fields
        }
        if actions.contains(where: { $0.commands.values.contains(where: BanTicket.needsMergedBans) }) {
            if let merged = try? store.mergedBans(address: address, jail: decision.jail) {
                ticket.jailMerged = (merged.matches, merged.failures ?? 0)
            }
            if let merged = try? store.mergedBans(address: address, jail: nil) {
                ticket.allMerged = (merged.matches, merged.failures ?? 0)
            }
        }
        return ticket
    }

    /// Queues `actionstop`, waits for everything queued to run, and ends the threads.
    func stop() {
        schedule.stop()
        submit(.stop)
        runner.stop()
    }

    /// A phase without per-ban tags, for every jail's actions.
    private func submit(_ phase: ShellAction.Phase) {
        for (jail, jailActions) in actions.sorted(by: { $0.key < $1.key }) {
            for action in jailActions {
                if let command = action.command(phase) {
                    runner.submit(command, label: "\(jail)/\(action.name) \(phase.rawValue)")
                }
            }
        }
    }
}
