import Logging
import WardenConfig
import WardenFirewall
import WardenIPC
import WardenJail

/// The `action.d` actions of the jails that warden does not serve in its nftables table
/// (sendmail, a site's own scripts, ...), run by one `ShellActionRunner` so that a slow
/// command never holds up the firewall: `actionstart` when the ban workers start,
/// `actionban` after each batch of bans reached the kernel, `actionstop` when they stop.
///
/// Bans restored from the store at start are not sent again (fail2ban sends them with
/// `<restored>` = 1, and most shell actions skip those). Unbans are the kernel's (set
/// element timeouts), so `actionunban` is not run on expiry.
public final class JailShellActions: Sendable {
    private let actions: [String: [ShellAction]]
    private let runner: ShellActionRunner

    /// Nil when no jail has a non-native action (no thread is started then).
    static func make(jails: [JailDefinition], configDirectory: String, logger: Logger) throws -> JailShellActions? {
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
        return JailShellActions(actions: actions, runner: runner)
    }

    private init(actions: [String: [ShellAction]], runner: ShellActionRunner) {
        self.actions = actions
        self.runner = runner
    }

    func start() {
        submit(.start)
    }

    /// Queues `actionban` of each ban's jail; returns at once.
    func banned(_ decisions: [BanDecision]) {
        for decision in decisions {
            let ticket = BanTicket(ip: decision.address.description, jail: decision.jail,
                                   time: Double(decision.time) / 1e9, banTime: decision.banTime).tags
            for action in actions[decision.jail] ?? [] {
                if let command = action.command(.ban, for: ticket) {
                    runner.submit(command, label: "\(decision.jail)/\(action.name) actionban \(decision.address)")
                }
            }
        }
    }

    /// Queues `actionstop`, waits for everything queued to run, and ends the thread.
    func stop() {
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
