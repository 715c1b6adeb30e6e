import WardenFirewall
import WardenJail

/// Which of a jail's actions warden serves natively in its nftables table, and with which
/// rule parameters.
///
/// fail2ban's `nftables`, `nftables-multiport`, `nftables-allports` and the iptables
/// equivalents (`iptables`, `iptables-multiport`, `iptables-allports`, Debian's old
/// default banaction) all say "block these ports of these protocols from the address";
/// warden renders that as rules over its per-jail sets. Other actions (sendmail,
/// cloudflare, ...) are left to the caller as shell actions.
enum FirewallSpecMapping {
    static let multiportActions: Set<String> = ["nftables", "nftables-multiport", "iptables", "iptables-multiport", "iptables-new", "iptables-ipset", "iptables-ipset-proto6", "nftables-common"]
    static let allportsActions: Set<String> = ["nftables-allports", "iptables-allports", "iptables-ipset-proto6-allports", "iptables-ipset-proto4"]

    /// Whether warden handles this action itself.
    static func isNative(_ action: ActionReference) -> Bool {
        multiportActions.contains(action.name) || allportsActions.contains(action.name)
    }

    /// The jail's firewall rules: from its first native action's options, falling back to
    /// the jail's `port`/`protocol`. A jail without a native action still gets its sets
    /// (so `warden ban` works) with allports rules over its protocol, as `nftables[type=allports]`.
    static func spec(for jail: JailDefinition, ipv6Prefix: UInt8 = 128) throws -> JailFirewallSpec {
        let native = jail.actions.first(where: isNative)
        let type: String
        if let native {
            type = native.option("type") ?? (allportsActions.contains(native.name) ? "allports" : "multiport")
        } else {
            type = "allports"
        }
        let port = native?.option("port") ?? jail.port ?? "0:65535"
        let proto = native?.option("protocol") ?? jail.protocol ?? "tcp"
        let blocktype = native?.option("blocktype") ?? "reject"
        var hooks: Set<FirewallHook> = [.input, .forward]
        if let chain = (native?.option("chain") ?? jail.chain)?.lowercased() {
            // fail2ban's chain names a single hook; INPUT alone would leave published
            // container ports unprotected, so only an explicit forward-only choice narrows.
            if chain == "forward" || chain == "docker-user" { hooks = [.forward] }
        }
        return try JailFirewallSpec(jail: jail.name, type: type, port: port, protocol: proto,
                                    blocktype: blocktype, hooks: hooks, ipv6Prefix: ipv6Prefix)
    }
}
