import Glibc
import NetworkTestSupport
import Testing
import WardenFirewall
import WardenIPC

/// Real packets over a veth pair between two private namespaces: the firewall runs in the
/// server namespace, probes are sent from the peer.
@Suite struct PacketFilteringTests {
    static let tcpPort: UInt16 = 8080
    static let udpPort: UInt16 = 5353

    @Test func bannedPeerIsRejectedDroppedAndPassesAgainRequiresRoot() throws {
        let pair = try VethPair()
        let peer = pair.peer
        let report = try pair.server.perform { () -> [String: String] in
            var seen: [String: String] = [:]
            let listeners = [try PacketProbe.bound(VethPair.serverV4, port: Self.tcpPort, type: Int32(SOCK_STREAM.rawValue)),
                             try PacketProbe.bound(VethPair.serverV6, port: Self.tcpPort, type: Int32(SOCK_STREAM.rawValue))]
            let udp = try PacketProbe.bound("0.0.0.0", port: Self.udpPort, type: Int32(SOCK_DGRAM.rawValue))
            defer { (listeners + [udp]).forEach { close($0) } }
            func tcp(_ address: String) throws -> String {
                "\(try peer.perform { PacketProbe.tcpConnect(address, port: Self.tcpPort) })"
            }
            func udpPasses() throws -> String {
                try peer.perform { PacketProbe.udpSend(VethPair.serverV4, port: Self.udpPort) }
                return PacketProbe.udpReceived(udp) ? "received" : "lost"
            }
            func ping() throws -> String {
                try peer.perform { PacketProbe.ping(VethPair.serverV4) } ? "reply" : "none"
            }

            seen["before tcp"] = try tcp(VethPair.serverV4)
            let multiport = try JailFirewallSpec(jail: "web", port: "\(Self.tcpPort)", protocol: "tcp", blocktype: "reject")
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [multiport]))
            try firewall.install()
            var ban = BanBatch()
            ban.ban(NetworkAddress(VethPair.peerV4)!, jail: "web", timeout: .seconds(600))
            ban.ban(NetworkAddress(VethPair.peerV6)!, jail: "web", timeout: .seconds(600))
            _ = try firewall.apply(ban)
            seen["multiport reject tcp"] = try tcp(VethPair.serverV4)
            seen["multiport reject tcp6"] = try tcp(VethPair.serverV6)
            seen["multiport other port udp"] = try udpPasses()
            seen["multiport ping"] = try ping()

            try firewall.install(jail: try JailFirewallSpec(jail: "web", type: "allports", protocol: "all", blocktype: "drop"))
            seen["allports drop tcp"] = try tcp(VethPair.serverV4)
            seen["allports drop udp"] = try udpPasses()
            seen["allports drop ping"] = try ping()

            var unban = BanBatch()
            unban.unban(NetworkAddress(VethPair.peerV4)!, jail: "web")
            _ = try firewall.apply(unban)
            seen["after unban tcp"] = try tcp(VethPair.serverV4)
            seen["after unban udp"] = try udpPasses()
            seen["after unban ping"] = try ping()

            var short = BanBatch()
            short.ban(NetworkAddress(VethPair.peerV4)!, jail: "web", timeout: .seconds(2))
            _ = try firewall.apply(short)
            seen["short ban tcp"] = try tcp(VethPair.serverV4)
            seen["after expiry tcp"] = try eventually { try tcp(VethPair.serverV4) == "connected" } ? "connected" : "still blocked"
            return seen
        }
        #expect(report["before tcp"] == "connected")
        #expect(report["multiport reject tcp"] == "refused", "reject answers with ICMP port unreachable")
        #expect(report["multiport reject tcp6"] == "refused")
        #expect(report["multiport other port udp"] == "received", "ports outside the jail's list pass")
        #expect(report["multiport ping"] == "reply")
        #expect(report["allports drop tcp"] == "timedOut")
        #expect(report["allports drop udp"] == "lost")
        #expect(report["allports drop ping"] == "none")
        #expect(report["after unban tcp"] == "connected")
        #expect(report["after unban udp"] == "received")
        #expect(report["after unban ping"] == "reply")
        #expect(report["short ban tcp"] == "timedOut")
        #expect(report["after expiry tcp"] == "connected")
    }
}
