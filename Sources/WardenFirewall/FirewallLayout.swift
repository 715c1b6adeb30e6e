/// warden's own nftables layout, rendered as nft commands:
///
///     table inet warden {
///         set sshd-v4     { type ipv4_addr; flags timeout; }
///         set sshd-v4-net { type ipv4_addr; flags interval, timeout; }
///         set sshd-v6     { type ipv6_addr; flags timeout; }
///         set sshd-v6-net { type ipv6_addr; flags interval, timeout; }
///         chain jail-sshd {
///             tcp dport { 22 } ip saddr @sshd-v4 reject
///             tcp dport { 22 } ip saddr @sshd-v4-net reject
///             tcp dport { 22 } ip6 saddr @sshd-v6 reject
///             tcp dport { 22 } ip6 saddr @sshd-v6-net reject
///         }
///         chain input   { type filter hook input priority -1; jump jail-sshd }
///         chain forward { type filter hook forward priority -1; jump jail-sshd }
///     }
///
/// One table owned by warden (nothing else is touched), per family a hash set for single
/// addresses and an interval set so CIDR bans work (`SetKind` says why two), per-element
/// timeouts so the kernel expires bans, one regular chain per jail
/// so a jail's rules are replaced as a unit, and base chains on input and forward so
/// traffic to published container ports (which is forwarded) is filtered too.
public struct FirewallLayout: Sendable {
    public var table: String
    /// Base chain priority; -1 (just before the usual `filter` chains at 0) as in fail2ban.
    public var priority: Int
    public private(set) var jails: [JailFirewallSpec]

    public init(table: String = "warden", priority: Int = -1, jails: [JailFirewallSpec] = []) {
        self.table = table
        self.priority = priority
        self.jails = []
        for jail in jails { add(jail) }
    }

    /// Adds or replaces the jail with the same name.
    public mutating func add(_ jail: JailFirewallSpec) {
        if let existing = jails.firstIndex(where: { $0.identifier == jail.identifier }) {
            jails[existing] = jail
        } else {
            jails.append(jail)
        }
    }

    public mutating func remove(jail name: String) {
        jails.removeAll { $0.jail == name }
    }

    public func spec(forJail name: String) -> JailFirewallSpec? {
        jails.first { $0.jail == name }
    }

    var qualifiedTable: String { "inet \(table)" }

    /// Commands that create whatever is missing and rewrite every rule, leaving set
    /// elements alone: `add` of an existing table, set or chain is a no-op, and each chain
    /// is flushed and refilled in the same transaction, so a re-install is atomic.
    public func installCommands() -> String {
        var lines = ["add table \(qualifiedTable)"]
        for jail in jails {
            for set in jail.sets {
                let type = set.family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
                lines.append("add set \(qualifiedTable) \(set.name) { type \(type); \(set.kind.declaration) }")
            }
            lines.append("add chain \(qualifiedTable) \(jail.chain)")
            lines.append("flush chain \(qualifiedTable) \(jail.chain)")
            for rule in rules(for: jail) { lines.append("add rule \(qualifiedTable) \(jail.chain) \(rule)") }
        }
        for hook in FirewallHook.allCases {
            lines.append("add chain \(qualifiedTable) \(hook.rawValue) { type filter hook \(hook.rawValue) priority \(priority); policy accept; }")
            lines.append("flush chain \(qualifiedTable) \(hook.rawValue)")
            for jail in jails where jail.hooks.contains(hook) {
                lines.append("add rule \(qualifiedTable) \(hook.rawValue) jump \(jail.chain)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Removes the jail's chain and sets (its rules go with the base chains' rewrite).
    func removalCommands(for jail: JailFirewallSpec) -> String {
        var remaining = self
        remaining.remove(jail: jail.jail)
        return remaining.installCommands()
            + "delete chain \(qualifiedTable) \(jail.chain)\n"
            + jail.sets.map { "delete set \(qualifiedTable) \($0.name)\n" }.joined()
    }

    /// The jail's rules, one per family and protocol, as fail2ban's actions write them:
    /// multiport matches `<proto> dport { ports }` for each protocol, allports matches
    /// `meta l4proto { protocols }`. `protocol = all` with ports matches every protocol
    /// that has ports (`meta l4proto { tcp, udp, sctp, dccp } th dport { ports }`), and
    /// with all ports drops the protocol match.
    func rules(for jail: JailFirewallSpec) -> [String] {
        var matches: [String] = []
        switch (jail.ports, jail.protocols) {
        case (.all, .all):
            matches = [""]
        case (.all, .some(let protocols)):
            matches = ["meta l4proto { \(protocols.joined(separator: ", ")) } "]
        case (.ranges, .all):
            matches = ["meta l4proto { \(ProtocolSelection.withPorts.joined(separator: ", ")) } th dport \(jail.ports.nftSet) "]
        case (.ranges, .some(let protocols)):
            matches = protocols.map { "\($0) dport \(jail.ports.nftSet) " }
        }
        var rules: [String] = []
        for set in jail.sets {
            for match in matches {
                rules.append("\(match)\(set.family.nftAddressMatch) @\(set.name) \(jail.blockType.statement(for: set.family))")
            }
        }
        return rules
    }
}
