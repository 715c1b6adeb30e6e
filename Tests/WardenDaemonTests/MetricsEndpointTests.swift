import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// `--metrics-port`: Prometheus text on 127.0.0.1 in the daemon's namespace, with the
/// per-jail counters and the ban latency histogram moving when a jail bans.
@Suite(.serialized) struct MetricsEndpointTests {
    @Test func metricsCountLinesFailuresBansAndLatencyRequiresRoot() throws {
        let harness = try DaemonHarness(ipc: "memory", bantime: 600)
        let port: UInt16 = 9464
        try harness.startDaemon("--metrics-port", "\(port)")
        defer { harness.stopDaemon() }
        func scrape() throws -> String { try harness.server.perform { try PacketProbe.httpGet("127.0.0.1", port: port) } }

        let before = try scrape()
        #expect(before.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(before.contains("# TYPE warden_bans_total counter\n"))
        #expect(before.contains("warden_bans_total{jail=\"demo\"} 0\n"))

        try harness.appendFailures(from: VethPair.peerV4, count: 3)
        try harness.waitUntil("the address is banned") { try harness.kernelElements() == [VethPair.peerV4] }
        try harness.waitUntil("the metrics show the ban") { try scrape().contains("warden_bans_total{jail=\"demo\"} 1\n") }
        let after = try scrape()
        #expect(after.contains("warden_lines_read_total{jail=\"demo\"} 3\n"), "\(after)")
        #expect(after.contains("warden_failures_total{jail=\"demo\"} 3\n"), "\(after)")
        #expect(after.contains("warden_channel_lost_total{jail=\"demo\"} 0\n"), "\(after)")
        #expect(after.contains("# TYPE warden_ban_latency_seconds histogram\n"), "\(after)")
        #expect(after.contains("warden_ban_latency_seconds_count 1\n"), "\(after)")
        #expect(after.contains("warden_ban_latency_seconds_bucket{le=\"+Inf\"} 1\n"), "\(after)")

        #expect(try harness.client("unban", "demo", VethPair.peerV4) == "1")
        try harness.waitUntil("the metrics show the unban") { try scrape().contains("warden_unbans_total{jail=\"demo\"} 1\n") }
    }
}
