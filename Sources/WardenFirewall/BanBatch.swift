import WardenIPC

/// How long a ban lasts in the kernel set.
public enum BanTimeout: Hashable, Sendable {
    case seconds(Int64)
    /// fail2ban's `bantime = -1`: an element without a timeout.
    case permanent

    /// fail2ban's convention: a negative ban time means permanent.
    public init(banTime: Int64) {
        self = banTime < 0 ? .permanent : .seconds(max(1, banTime))
    }
}

/// Bans and unbans to apply together, in one libnftables transaction.
///
/// Operations on the same jail and element coalesce: the last one recorded wins, so a
/// ban followed by an unban of the same address in one batch leaves it unbanned.
public struct BanBatch: Sendable {
    public enum Operation: Hashable, Sendable {
        case ban(BanTimeout)
        case unban
    }

    public struct Entry: Hashable, Sendable {
        public var jail: String
        public var address: NetworkAddress
        public var operation: Operation
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public mutating func ban(_ address: NetworkAddress, jail: String, timeout: BanTimeout) {
        entries.append(Entry(jail: jail, address: address, operation: .ban(timeout)))
    }

    public mutating func unban(_ address: NetworkAddress, jail: String) {
        entries.append(Entry(jail: jail, address: address, operation: .unban))
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
}

/// What happened to a batch: elements that were refused (a network overlapping a network
/// already banned in the jail: interval sets refuse overlaps; a jail the layout does not
/// know) are reported one by one with nft's message, and everything else
/// was applied.
public struct BanBatchResult: Sendable {
    public struct Rejection: Sendable {
        public var entry: BanBatch.Entry
        public var message: String
    }

    public var applied: Int
    public var rejected: [Rejection]
    /// Transactions it took: 1 unless a rejected element forced the batch to be split.
    public var transactions: Int
}

extension NetworkAddress {
    /// The network containing this address with `prefix` bits (never widened), host bits
    /// cleared, as nft requires for interval elements.
    func masked(toPrefix prefix: UInt8) -> NetworkAddress {
        let length = min(prefix, prefixLength)
        var bytes = self.bytes
        for index in bytes.indices {
            let bitsKept = max(0, min(8, Int(length) - index * 8))
            bytes[index] &= bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsKept))
        }
        return NetworkAddress(family: family, bytes: bytes, prefixLength: length)!
    }
}
