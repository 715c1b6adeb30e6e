import WardenIPC

/// One batch entry resolved to the set it goes to and the element it is there.
struct SetElement {
    var entry: BanBatch.Entry
    /// The address as banned: IPv6 masked to the jail's prefix, host bits cleared.
    var address: NetworkAddress
    /// The set, as an index into `ResolvedBatch.setNames`.
    var set: Int
}

/// A batch's entries resolved to set elements: one per set and address, holding the last
/// operation recorded for it (`BanBatch` coalesces) in the place of its first appearance.
///
/// Sets are numbered per batch, so elements are told apart and grouped without hashing or
/// comparing set names, and each jail's set names are worked out once per batch.
struct ResolvedBatch {
    private(set) var setNames: [String] = []
    private(set) var elements: [SetElement] = []
    /// Entries of jails the layout does not have.
    private(set) var unknownJail: [BanBatch.Entry] = []

    private struct Key: Hashable {
        var set: Int
        var address: NetworkAddress

        /// The address alone: a batch rarely holds one address in two sets, and one value
        /// less to hash per element (equality still compares the set).
        func hash(into hasher: inout Hasher) {
            hasher.combine(address)
        }
    }

    init(_ batch: BanBatch, layout: FirewallLayout) {
        var jails: [BatchJail] = []
        var indexByKey: [Key: Int] = [:]
        elements.reserveCapacity(batch.count)
        indexByKey.reserveCapacity(batch.count)
        for entry in batch.entries {
            // A batch names few jails: scanning those already met is cheaper than hashing the name.
            let jail: BatchJail
            if let known = jails.first(where: { $0.name == entry.jail }) {
                jail = known
            } else if let spec = layout.spec(forJail: entry.jail) {
                jail = BatchJail(spec, setNames: &setNames)
                jails.append(jail)
            } else {
                unknownJail.append(entry)
                continue
            }
            let element = jail.element(for: entry)
            let key = Key(set: element.set, address: element.address)
            // One lookup per element: the key takes the next index, and gets its first one
            // back if it had one (a repeated element keeps its place and takes the later
            // operation).
            if let existing = indexByKey.updateValue(elements.count, forKey: key) {
                indexByKey[key] = existing
                elements[existing] = element
            } else {
                elements.append(element)
            }
        }
    }
}

/// A jail as one batch uses it: its IPv6 prefix and where its sets are in the batch's
/// set names.
private struct BatchJail {
    let name: String
    let ipv6Prefix: UInt8
    /// The jail's IPv4 hosts, IPv4 networks, IPv6 hosts and IPv6 networks sets are the set
    /// names from this index on.
    let firstSet: Int

    init(_ spec: JailFirewallSpec, setNames: inout [String]) {
        name = spec.jail
        ipv6Prefix = spec.ipv6Prefix
        firstSet = setNames.count
        for family in [AddressFamily.ipv4, .ipv6] {
            for kind in [SetKind.hosts, .networks] { setNames.append(spec.set(for: family, kind)) }
        }
    }

    /// Single addresses go to the jail's hosts set of their family, networks to its
    /// interval set.
    func element(for entry: BanBatch.Entry) -> SetElement {
        let isIPv6 = entry.address.family == .ipv6
        let prefix: UInt8 = isIPv6 ? ipv6Prefix : 32
        // A host address is its own /32 (/128) network: masking it would only copy it.
        let address = entry.address.isHost && prefix == (isIPv6 ? 128 : 32) ? entry.address : entry.address.masked(toPrefix: prefix)
        let set = firstSet + (isIPv6 ? 2 : 0) + (address.isHost ? 0 : 1)
        return SetElement(entry: entry, address: address, set: set)
    }
}

/// What one transaction does to one set: its bans go in one `add` with their timeouts, its
/// unbans in an `add` with a 1 s timeout followed by a `delete` (`NftablesFirewall.apply`
/// says why).
struct SetOperations {
    let name: String
    var bans: [(address: NetworkAddress, timeout: BanTimeout)] = []
    var unbans: [NetworkAddress] = []

    /// The elements' operations set by set, sets in the order they first appear.
    static func grouping(_ elements: ArraySlice<SetElement>, setNames: [String]) -> [SetOperations] {
        var groups: [SetOperations] = []
        var groupOfSet = [Int?](repeating: nil, count: setNames.count)
        for element in elements {
            let group: Int
            if let existing = groupOfSet[element.set] {
                group = existing
            } else {
                group = groups.count
                groupOfSet[element.set] = group
                groups.append(SetOperations(name: setNames[element.set]))
            }
            switch element.entry.operation {
            case .ban(let timeout): groups[group].bans.append((element.address, timeout))
            case .unban: groups[group].unbans.append(element.address)
            }
        }
        return groups
    }
}
