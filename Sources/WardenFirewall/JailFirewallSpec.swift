#if canImport(Glibc)
import Glibc
#endif

/// What one jail needs from the firewall: which packets from a banned address are blocked
/// and how. Mirrors fail2ban's nftables actions: `nftables-multiport` (the given ports of
/// the given protocols), `nftables-allports` (every port of the given protocols) and
/// `nftables[type=multiport|allports]`.
public struct JailFirewallSpec: Hashable, Sendable {
    public var jail: String
    public var ports: PortSelection
    public var protocols: ProtocolSelection
    public var blockType: BlockType
    /// The netfilter hooks whose traffic the jail filters (fail2ban's single `chain`
    /// becomes a choice of hooks: `forward` also covers published container ports).
    public var hooks: Set<FirewallHook>
    /// IPv6 addresses are banned as the network of this many bits around them (128: the
    /// address alone; 64: the whole /64 a host usually controls, fail2ban #1965).
    public var ipv6Prefix: UInt8

    public init(jail: String, ports: PortSelection = .all, protocols: ProtocolSelection = .tcp,
                blockType: BlockType = .reject, hooks: Set<FirewallHook> = [.input, .forward],
                ipv6Prefix: UInt8 = 128) {
        self.jail = jail
        self.ipv6Prefix = min(ipv6Prefix, 128)
        self.ports = ports
        self.protocols = protocols
        self.blockType = blockType
        self.hooks = hooks
    }

    /// Reads fail2ban's action parameters: `type` (`multiport`, the default, or `allports`),
    /// `port`, `protocol` and `blocktype`, as a jail's `action = nftables[...]` or
    /// `banaction = nftables-allports` leave them.
    public init(jail: String, type: String = "multiport", port: String = "ssh", protocol: String = "tcp",
                blocktype: String = "reject", hooks: Set<FirewallHook> = [.input, .forward],
                ipv6Prefix: UInt8 = 128) throws(FirewallSpecError) {
        let protocols = try ProtocolSelection(parsing: `protocol`)
        let ports: PortSelection
        switch type.trimmed {
        case "multiport": ports = try PortSelection(parsing: port, protocols: protocols)
        case "allports": ports = .all
        default: throw FirewallSpecError("jail \(jail): nftables type '\(type)' is neither multiport nor allports")
        }
        self.init(jail: jail, ports: ports, protocols: protocols,
                  blockType: try BlockType(parsing: blocktype), hooks: hooks, ipv6Prefix: ipv6Prefix)
    }

    /// The jail's identifier in nft (see `NftablesName`).
    public var identifier: String { NftablesName.identifier(forJail: jail) }
    public var chain: String { "jail-" + identifier }

    /// `<jail>-v4`, `<jail>-v6` hold single addresses; `<jail>-v4-net`, `<jail>-v6-net` hold
    /// networks (CIDR bans, IPv6 prefix bans). See `SetKind` for why they are apart.
    public func set(for family: AddressFamily, _ kind: SetKind) -> String {
        identifier + (family == .ipv4 ? "-v4" : "-v6") + (kind == .networks ? "-net" : "")
    }

    /// Every set of the jail, in the order the rules use them.
    var sets: [(name: String, family: AddressFamily, kind: SetKind)] {
        [AddressFamily.ipv4, .ipv6].flatMap { family in SetKind.allCases.map { (set(for: family, $0), family, $0) } }
    }
}

public struct FirewallSpecError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Each jail has a set of single addresses and a set of networks per family.
///
/// Both carry per-element timeouts. Only the networks set has the `interval` flag: before
/// every `add element`, nft 1.0.6 reads back all elements of every non-empty interval set
/// in the ruleset (to check overlaps), so a batch into an interval set holding thousands of
/// bans costs time proportional to all of them. Single addresses, nearly all bans, go to a
/// hash set, which nft adds to without reading anything back.
public enum SetKind: Hashable, Sendable, CaseIterable {
    case hosts, networks

    var declaration: String { self == .hosts ? "flags timeout;" : "flags interval, timeout;" }
}

public enum FirewallHook: String, Hashable, Sendable, CaseIterable {
    case input, forward
}

public enum AddressFamily: Hashable, Sendable {
    case ipv4, ipv6
    var nftAddressMatch: String { self == .ipv4 ? "ip saddr" : "ip6 saddr" }
}

/// fail2ban's `protocol`: one or more of tcp, udp, sctp, dccp, or `all`.
public enum ProtocolSelection: Hashable, Sendable {
    case all
    case some([String])

    public static let tcp = ProtocolSelection.some(["tcp"])
    /// The protocols that have ports, which `all` means when ports are named.
    static let withPorts = ["tcp", "udp", "sctp", "dccp"]

    public init(parsing text: String) throws(FirewallSpecError) {
        let names = text.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.lowercased() }
        if names.isEmpty || names.contains("all") { self = .all; return }
        for name in names where !(Self.withPorts + ["icmp", "icmpv6"]).contains(name) {
            throw FirewallSpecError("protocol '\(name)' is not one of tcp, udp, sctp, dccp, icmp, icmpv6, all")
        }
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        self = .some(unique)
    }
}

/// fail2ban's `port`: a comma list of numbers, service names and ranges (`1000:2000`,
/// also written `1000-2000`), or every port.
public enum PortSelection: Hashable, Sendable {
    case all
    case ranges([ClosedRange<UInt16>])

    /// Service names are resolved here, through the services database, so a name nft
    /// would misread (`ms-sql-s` looks like a range) or an unknown name is an error at
    /// load time instead of a failed transaction.
    public init(parsing text: String, protocols: ProtocolSelection = .tcp) throws(FirewallSpecError) {
        let items = text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        guard !items.isEmpty else { throw FirewallSpecError("port list '\(text)' is empty") }
        if items.contains(where: { $0.lowercased() == "all" || $0 == "0:65535" || $0 == "0-65535" }) {
            self = .all; return
        }
        var ranges: [ClosedRange<UInt16>] = []
        for item in items {
            if let numericRange = Self.numericRange(item) {
                ranges.append(numericRange)
            } else if let first = item.firstIndex(of: ":") {
                let low = try Self.port(String(item[..<first]), protocols: protocols)
                let high = try Self.port(String(item[item.index(after: first)...]), protocols: protocols)
                guard low <= high else { throw FirewallSpecError("port range '\(item)' is reversed") }
                ranges.append(low...high)
            } else {
                let port = try Self.port(item, protocols: protocols)
                ranges.append(port...port)
            }
        }
        self = .ranges(ranges)
    }

    private static func numericRange(_ item: String) -> ClosedRange<UInt16>? {
        let parts = item.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 2, let low = UInt16(parts[0]), let high = UInt16(parts[1]), low <= high else { return nil }
        return low...high
    }

    private static func port(_ text: String, protocols: ProtocolSelection) throws(FirewallSpecError) -> UInt16 {
        if let number = UInt16(text) { return number }
        let candidates: [String]
        switch protocols {
        case .all: candidates = ProtocolSelection.withPorts
        case .some(let names): candidates = names + ["tcp", "udp"]
        }
        for proto in candidates {
            if let entry = getservbyname(text, proto) {
                return UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port))
            }
        }
        throw FirewallSpecError("port '\(text)' is neither a number nor a known service name")
    }

    /// `{ 22, 1000-2000 }`, nft's anonymous set syntax.
    var nftSet: String {
        guard case .ranges(let ranges) = self else { return "" }
        let items = ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
        return "{ " + items.joined(separator: ", ") + " }"
    }
}

/// fail2ban's `blocktype`: what a banned address's matching packets get.
public enum BlockType: Hashable, Sendable {
    /// `reject`: ICMP (v4 or v6) port unreachable, nft's default reject.
    case reject
    case drop
    /// `reject with icmp type X`, `reject with icmpv6 type X` or `reject with icmpx type X`;
    /// the type is kept and rendered for each family (see `statement(for:)`).
    case rejectWith(ICMPRejectType)
    /// `reject with tcp reset`: only valid on rules that match TCP.
    case tcpReset

    public init(parsing text: String) throws(FirewallSpecError) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        switch words {
        case ["reject"]: self = .reject
        case ["drop"]: self = .drop
        case ["reject", "with", "tcp", "reset"]: self = .tcpReset
        case let w where w.count == 5 && w[0] == "reject" && w[1] == "with" && w[3] == "type"
                && ["icmp", "icmpv6", "icmpx"].contains(w[2]):
            guard let type = ICMPRejectType(name: w[4]) else {
                throw FirewallSpecError("blocktype '\(text)': unknown ICMP reject type '\(w[4])'")
            }
            self = .rejectWith(type)
        default:
            throw FirewallSpecError("blocktype '\(text)' is not reject, drop, 'reject with icmp[v6|x] type T' or 'reject with tcp reset'")
        }
    }

    func statement(for family: AddressFamily) -> String {
        switch self {
        case .reject: return "reject"
        case .drop: return "drop"
        case .tcpReset: return "reject with tcp reset"
        case .rejectWith(let type): return type.statement(for: family)
        }
    }
}

/// An ICMP reject reason, named as in iptables/nft for either family. Each family's rule
/// gets its own family's code: a v4 name on the v6 rule becomes its ICMPv6 counterpart.
public enum ICMPRejectType: Hashable, Sendable {
    case portUnreachable, hostUnreachable, networkUnreachable, adminProhibited, protocolUnreachable

    init?(name: String) {
        switch name {
        case "port-unreachable", "icmp-port-unreachable": self = .portUnreachable
        case "host-unreachable", "icmp-host-unreachable", "addr-unreachable": self = .hostUnreachable
        case "net-unreachable", "icmp-net-unreachable", "no-route": self = .networkUnreachable
        case "admin-prohibited", "host-prohibited", "net-prohibited", "icmp-admin-prohibited": self = .adminProhibited
        case "prot-unreachable", "icmp-proto-unreachable": self = .protocolUnreachable
        default: return nil
        }
    }

    func statement(for family: AddressFamily) -> String {
        switch (self, family) {
        case (.portUnreachable, .ipv4): return "reject with icmp type port-unreachable"
        case (.hostUnreachable, .ipv4): return "reject with icmp type host-unreachable"
        case (.networkUnreachable, .ipv4): return "reject with icmp type net-unreachable"
        case (.adminProhibited, .ipv4): return "reject with icmp type admin-prohibited"
        case (.protocolUnreachable, .ipv4): return "reject with icmp type prot-unreachable"
        case (.portUnreachable, .ipv6), (.protocolUnreachable, .ipv6): return "reject with icmpv6 type port-unreachable"
        case (.hostUnreachable, .ipv6): return "reject with icmpv6 type addr-unreachable"
        case (.networkUnreachable, .ipv6): return "reject with icmpv6 type no-route"
        case (.adminProhibited, .ipv6): return "reject with icmpv6 type admin-prohibited"
        }
    }
}

extension String {
    var trimmed: String {
        let scalars = Array(unicodeScalars)
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
