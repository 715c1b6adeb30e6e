import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// Privilege separation: `warden start --external-workers` parses logs and publishes
/// decisions but never touches nftables; a separate `warden worker` process reads the
/// jail's channel and applies the bans.
@Suite(.serialized) struct ExternalWorkerTests {
    @Test(arguments: ["file", "shm", "socket"])
    func banIsAppliedByAWardenWorkerProcessRequiresRoot(ipc: String) throws {
        let harness = try DaemonHarness(ipc: ipc, bantime: 600)
        try harness.startDaemon("--external-workers")
        // The daemon alone installs nothing: no table until the worker runs.
        #expect(throws: TestFailure.self) {
            try harness.server.output("nft", "list", "table", "inet", "warden")
        }
        try harness.startWorker()
        #expect(try harness.peerCanConnect(), "before its ban the peer connects")
        try harness.appendFailures(from: VethPair.peerV4, count: 3)
        try harness.waitUntil("the worker banned the peer") { try harness.kernelElements().contains(VethPair.peerV4) }
        #expect(!(try harness.peerCanConnect()))
        #expect(try harness.storedBans() == [VethPair.peerV4])
        // With the worker stopped, a new decision waits in the channel (file, shm) or is
        // refused by a channel without readers (socket); the daemon's ban is in the store
        // either way, and a restarted worker's restore puts it into the kernel.
        #expect(harness.stopWorker() == 0)
        try harness.appendFailures(from: "198.51.100.9", count: 3)
        try harness.waitUntil("the daemon stored the second ban") { try harness.storedBans().contains("198.51.100.9") }
        #expect(!(try harness.kernelElements().contains("198.51.100.9")))
        try harness.startWorker()
        try harness.waitUntil("the restarted worker applied the second ban") { try harness.kernelElements().contains("198.51.100.9") }
        #expect(try harness.kernelElements().sorted() == ["192.0.2.2", "198.51.100.9"])
        #expect(harness.stopWorker() == 0)
        #expect(try harness.client("stop") == "Shutdown successful")
    }
}
