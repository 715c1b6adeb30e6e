/// Two network namespaces joined by a veth pair: `server` (192.0.2.1, 2001:db8::1) and
/// `peer` (192.0.2.2, 2001:db8::2), each with its loopback up. Both are deleted with it.
public final class VethPair: Sendable {
    public let server: NetworkNamespace
    public let peer: NetworkNamespace
    public static let serverV4 = "192.0.2.1", peerV4 = "192.0.2.2"
    public static let serverV6 = "2001:db8::1", peerV6 = "2001:db8::2"

    public init() throws {
        server = try NetworkNamespace("server")
        peer = try NetworkNamespace("peer")
        // Each end is created inside its namespace, so the device names never meet the
        // host's or another pair's.
        try Command.run("ip", "link", "add", "veth-server", "netns", server.name, "type", "veth",
                        "peer", "name", "veth-peer", "netns", peer.name)
        for (namespace, device, v4, v6) in [(server, "veth-server", Self.serverV4, Self.serverV6),
                                            (peer, "veth-peer", Self.peerV4, Self.peerV6)] {
            try Command.run("ip", "-n", namespace.name, "addr", "add", v4 + "/24", "dev", device)
            try Command.run("ip", "-n", namespace.name, "-6", "addr", "add", v6 + "/64", "dev", device, "nodad")
            try Command.run("ip", "-n", namespace.name, "link", "set", device, "up")
            try Command.run("ip", "-n", namespace.name, "link", "set", "lo", "up")
        }
    }
}
