import WardenIPC

/// Errors of the firewall as a whole (single elements are reported in `BanBatchResult`).
public enum FirewallError: Error, Sendable, CustomStringConvertible {
    /// warden's table, a set or a chain is gone (deleted or flushed behind warden's
    /// back): install the layout again (`FirewallReconciler` does) and retry.
    case layoutMissing(NftablesError)
    case nftables(NftablesError)

    public var description: String {
        switch self {
        case .layoutMissing(let error): return "warden's nftables layout is missing: \(error)"
        case .nftables(let error): return error.description
        }
    }
}

/// warden's nftables table, driven through one libnftables context, and a netlink
/// socket of its own for batches of single addresses (the hosts sets).
///
/// Not Sendable, like its context: one thread (a ban worker) owns it.
public final class NftablesFirewall {
    public private(set) var layout: FirewallLayout
    private let context: NftablesContext
    /// Commits batches that only touch hosts sets without libnftables: no command text to
    /// parse and no cache to fetch from the kernel first (a one-ban batch costs a fraction
    /// of libnftables' time). nil if the socket could not be opened.
    private let elementSocket: SetElementSocket?

    public init(layout: FirewallLayout) throws(NftablesError) {
        self.layout = layout
        self.context = try NftablesContext()
        elementSocket = try? SetElementSocket()
    }

    /// Creates the table, sets and chains that are missing and rewrites every rule, in
    /// one transaction. Existing set elements (bans) are kept.
    public func install() throws(NftablesError) {
        try context.run(layout.installCommands())
    }

    /// Adds a jail, or replaces its rules, keeping its bans.
    public func install(jail: JailFirewallSpec) throws(NftablesError) {
        var updated = layout
        updated.add(jail)
        try context.run(updated.installCommands())
        layout = updated
    }

    /// Removes a jail's chain, rules, sets and bans.
    public func remove(jail name: String) throws(NftablesError) {
        guard let jail = layout.spec(forJail: name) else { return }
        try context.run(layout.removalCommands(for: jail))
        layout.remove(jail: name)
    }

    /// Deletes warden's whole table (and every ban in it) in one command; fail2ban's stop
    /// removes bans one by one (#1588: 1,069 s for 5,000).
    public func removeTable() throws(NftablesError) {
        try context.run("delete table \(layout.qualifiedTable)\n")
    }

    /// Applies every ban and unban in one transaction.
    ///
    /// An unban is written as `add element … timeout 1s` followed by `delete element` in
    /// the same transaction: nft 1.0.6 has no `destroy`, and `delete` of an element the
    /// kernel already expired fails the whole transaction with ENOENT, while `add` of an
    /// existing element is accepted. If nft still refuses the batch because of some
    /// elements (overlapping intervals), the batch is split in halves until the refused
    /// elements are isolated; the rest is applied.
    public func apply(_ batch: BanBatch) throws(FirewallError) -> BanBatchResult {
        let resolved = ResolvedBatch(batch, layout: layout)
        var rejected = resolved.unknownJail.map {
            BanBatchResult.Rejection(entry: $0, message: "jail '\($0.jail)' is not in the firewall layout")
        }
        var transactions = 0
        if !resolved.elements.isEmpty {
            do {
                try commit(resolved.elements[...], setNames: resolved.setNames)
                transactions = 1
            } catch {
                if error.namesMissingObject { throw .layoutMissing(error) }
                // Without CAP_NET_ADMIN every half would fail the same way.
                if error.message.contains("Operation not permitted") { throw .nftables(error) }
                transactions = 1
                rejected += isolateRejected(resolved.elements[...], setNames: resolved.setNames, transactions: &transactions)
            }
        }
        return BanBatchResult(applied: batch.count - rejected.count, rejected: rejected, transactions: transactions)
    }

    private func isolateRejected(_ elements: ArraySlice<SetElement>, setNames: [String],
                                 transactions: inout Int) -> [BanBatchResult.Rejection] {
        let middle = elements.startIndex + elements.count / 2
        var rejected: [BanBatchResult.Rejection] = []
        for half in [elements[..<middle], elements[middle...]] where !half.isEmpty {
            transactions += 1
            do {
                try commit(half, setNames: setNames)
            } catch {
                if half.count == 1 {
                    rejected.append(.init(entry: half.first!.entry, message: String(error.message.trimmingTrailingNewlines)))
                } else {
                    rejected += isolateRejected(half, setNames: setNames, transactions: &transactions)
                }
            }
        }
        return rejected
    }

    /// Commits the elements as one transaction: through the element socket when every one
    /// is a single address, else (networks go to interval sets, which nft reads back for
    /// overlap checks) as libnftables command text.
    private func commit(_ elements: ArraySlice<SetElement>, setNames: [String]) throws(NftablesError) {
        let operations = SetOperations.grouping(elements, setNames: setNames)
        if let elementSocket, elements.allSatisfy(\.address.isHost) {
            do {
                try elementSocket.commit { messages in encode(operations, into: &messages) }
                return
            } catch {
                // A missing table or set, or no permission, is the same for libnftables.
                // Anything else is retried there, whose messages name the refused element.
                if error.namesMissingObject || error.message.contains("Operation not permitted") { throw error }
            }
        }
        try context.run(commands(for: operations))
    }

    /// The netlink form of `commands(for:)`.
    private func encode(_ operations: [SetOperations], into messages: inout SetElementMessages) {
        for set in operations {
            messages.append(.add, table: layout.table, set: set.name, elements: set.bans.map { ban in
                switch ban.timeout {
                case .permanent: .init(key: ban.address, timeoutMilliseconds: nil)
                case .seconds(let seconds): .init(key: ban.address, timeoutMilliseconds: UInt64(seconds) * 1000)
                }
            })
            if !set.unbans.isEmpty {
                messages.append(.add, table: layout.table, set: set.name, elements: set.unbans.map { .init(key: $0, timeoutMilliseconds: 1000) })
                messages.append(.delete, table: layout.table, set: set.name, elements: set.unbans.map { .init(key: $0, timeoutMilliseconds: nil) })
            }
        }
    }

    /// Per set, one `add element` for the bans and an `add`/`delete element` pair for the
    /// unbans.
    private func commands(for operations: [SetOperations]) -> String {
        let table = layout.qualifiedTable
        var text = ""
        for set in operations {
            if !set.bans.isEmpty {
                let bans = set.bans.map { ban in
                    switch ban.timeout {
                    case .permanent: ban.address.description
                    case .seconds(let seconds): "\(ban.address) timeout \(seconds)s"
                    }
                }
                text += "add element \(table) \(set.name) { \(bans.joined(separator: ", ")) }\n"
            }
            if !set.unbans.isEmpty {
                text += "add element \(table) \(set.name) { \(set.unbans.map { "\($0) timeout 1s" }.joined(separator: ", ")) }\n"
                text += "delete element \(table) \(set.name) { \(set.unbans.map(\.description).joined(separator: ", ")) }\n"
            }
        }
        return text
    }

    /// The elements of a jail's sets for one family (addresses, then networks) as nft
    /// prints them (`192.0.2.1`, `198.51.100.0/24`).
    public func elements(jail name: String, family: AddressFamily) throws(NftablesError) -> [String] {
        guard let jail = layout.spec(forJail: name) else { return [] }
        var elements: [String] = []
        for set in jail.sets where set.family == family {
            elements += Self.elements(inListing: try context.run("list set \(layout.qualifiedTable) \(set.name)\n"))
        }
        return elements
    }

    /// Parses `elements = { a timeout 10m expires 9m59s, b, … }` out of a set listing.
    static func elements(inListing listing: String) -> [String] {
        let bytes = Array(listing.utf8)
        let marker = Array("elements = {".utf8)
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: marker) }) else { return [] }
        let body = bytes[(start + marker.count)...].prefix { $0 != UInt8(ascii: "}") }
        var elements: [String] = []
        for item in body.split(separator: UInt8(ascii: ",")) {
            let words = item.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") })
            if let first = words.first { elements.append(String(decoding: first, as: UTF8.self)) }
        }
        return elements
    }

    /// Names of the sets and chains warden's table holds now (empty when the table is
    /// gone), from a listing without elements.
    func presentObjects() throws(NftablesError) -> Set<String>? {
        let listing: String
        do {
            listing = try context.run("list table \(layout.qualifiedTable)\n", terse: true)
        } catch {
            if error.namesMissingObject { return nil }
            throw error
        }
        var names: Set<String> = []
        for line in listing.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "set" || words[0] == "chain" { names.insert(words[0] + " " + words[1]) }
        }
        return names
    }
}
