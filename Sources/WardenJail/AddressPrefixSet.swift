import WardenIPC

/// A set of IPv4 and IPv6 networks answering "is this address inside any of them" in at
/// most 32 or 128 steps: a binary trie over the address bits, stored in one array per
/// family so that a lookup touches no allocator and no reference counts.
public struct AddressPrefixSet: Sendable {
    /// children[0], children[1] (0 = none), and whether a network ends here.
    private struct Node: Sendable {
        var zero: Int32 = 0
        var one: Int32 = 0
        var terminal = false
    }

    private var v4: [Node] = [Node()]
    private var v6: [Node] = [Node()]
    public private(set) var count = 0

    public init() {}

    public init(_ networks: [NetworkAddress]) {
        for network in networks { insert(network) }
    }

    public mutating func insert(_ network: NetworkAddress) {
        count += 1
        if network.family == .ipv4 {
            Self.insert(network.bytes, prefix: Int(network.prefixLength), into: &v4)
        } else {
            Self.insert(network.bytes, prefix: Int(network.prefixLength), into: &v6)
        }
    }

    private static func insert(_ bytes: [UInt8], prefix: Int, into nodes: inout [Node]) {
        var current = 0
        for bit in 0..<prefix {
            if nodes[current].terminal { return }
            let isOne = bytes[bit >> 3] & (0x80 >> UInt8(bit & 7)) != 0
            var next = Int(isOne ? nodes[current].one : nodes[current].zero)
            if next == 0 {
                nodes.append(Node())
                next = nodes.count - 1
                if isOne { nodes[current].one = Int32(next) } else { nodes[current].zero = Int32(next) }
            }
            current = next
        }
        nodes[current].terminal = true
    }

    /// Whether `address` (a host or a network) lies inside one of the networks.
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4.
    public func contains(_ address: NetworkAddress) -> Bool {
        address.withBytes { bytes in
            if address.family == .ipv4 {
                return Self.contains(bytes, prefix: Int(address.prefixLength), in: v4)
            }
            if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF, address.prefixLength >= 96 {
                return Self.contains(UnsafeRawBufferPointer(rebasing: bytes[12...]), prefix: Int(address.prefixLength) - 96, in: v4)
            }
            return Self.contains(bytes, prefix: Int(address.prefixLength), in: v6)
        }
    }

    private static func contains(_ bytes: UnsafeRawBufferPointer, prefix: Int, in nodes: [Node]) -> Bool {
        var current = 0
        for bit in 0..<prefix {
            if nodes[current].terminal { return true }
            let isOne = bytes[bit >> 3] & (0x80 >> UInt8(bit & 7)) != 0
            let next = Int(isOne ? nodes[current].one : nodes[current].zero)
            if next == 0 { return false }
            current = next
        }
        return nodes[current].terminal
    }
}
