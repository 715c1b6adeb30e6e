#if canImport(Glibc)
import Glibc
#endif
import WardenIPC

/// A ban warden believes is active, from the caller's model (the store or the ban
/// worker's memory), with its absolute expiry.
public struct ActiveBan: Hashable, Sendable {
    public var jail: String
    public var address: NetworkAddress
    /// Seconds since the Unix epoch when the ban ends; nil for a permanent ban.
    public var expiry: Double?

    public init(jail: String, address: NetworkAddress, expiry: Double?) {
        self.jail = jail
        self.address = address
        self.expiry = expiry
    }
}

/// Restores warden's layout and active bans after someone changed the ruleset behind
/// warden's back (`nft flush ruleset`, `nft delete table inet warden`, `nft flush set`,
/// an nftables service restart: fail2ban #2480, #2313).
///
/// A reconcile re-asserts everything in two transactions: the layout (idempotent `add`s,
/// chains rewritten) and every unexpired ban with its remaining time. Re-adding an element
/// that is still there is accepted by the kernel, so nothing has to be diffed and a set
/// that was only flushed is refilled the same way as a deleted table. `RulesetChangeMonitor`
/// says when to call it.
public final class FirewallReconciler {
    public struct Report: Sendable {
        /// The table, a set or a chain was missing before the repair.
        public var layoutWasMissing: Bool
        public var restoredBans: Int
        public var rejected: [BanBatchResult.Rejection]
    }

    private let firewall: NftablesFirewall

    public init(firewall: NftablesFirewall) {
        self.firewall = firewall
    }

    /// - Parameter now: seconds since the Unix epoch; bans that ended by then are skipped.
    public func reconcile(activeBans: [ActiveBan], now: Double = FirewallReconciler.currentTime()) throws(FirewallError) -> Report {
        let missing: Bool
        do {
            missing = try !layoutIsComplete()
            try firewall.install()
        } catch {
            throw .nftables(error)
        }
        var batch = BanBatch()
        for ban in activeBans {
            if let expiry = ban.expiry {
                let remaining = Int64((expiry - now).rounded(.up))
                guard remaining > 0 else { continue }
                batch.ban(ban.address, jail: ban.jail, timeout: .seconds(remaining))
            } else {
                batch.ban(ban.address, jail: ban.jail, timeout: .permanent)
            }
        }
        let result = try firewall.apply(batch)
        return Report(layoutWasMissing: missing, restoredBans: result.applied, rejected: result.rejected)
    }

    private func layoutIsComplete() throws(NftablesError) -> Bool {
        guard let present = try firewall.presentObjects() else { return false }
        for jail in firewall.layout.jails {
            for name in jail.sets.map({ "set \($0.name)" }) + ["chain \(jail.chain)"] where !present.contains(name) {
                return false
            }
        }
        return FirewallHook.allCases.allSatisfy { present.contains("chain \($0.rawValue)") }
    }

    public static func currentTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
