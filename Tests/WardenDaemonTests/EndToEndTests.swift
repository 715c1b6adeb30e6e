import Foundation
import Glibc
import NetworkTestSupport
import Testing

/// The daemon from log line to dropped packet, in private network namespaces with real
/// nftables: one test per channel adapter between the matcher and the ban worker.
@Suite(.serialized) struct EndToEndTests {
    @Test(arguments: ["memory", "file", "shm", "socket"])
    func failuresBanThePeerUntilTheKernelExpiresItRequiresRoot(ipc: String) throws {
        let harness = try DaemonHarness(ipc: ipc, bantime: 4)
        try harness.startDaemon()
        #expect(try harness.peerCanConnect())
        try harness.appendFailures(from: VethPair.peerV4, count: 2)
        try harness.appendFailures(from: "198.51.100.9", count: 3)
        try harness.waitUntil("198.51.100.9 is in the kernel set") { try harness.kernelSet().contains("198.51.100.9") }
        // Two failures are below maxretry: the peer still passes.
        #expect(!(try harness.kernelSet().contains(VethPair.peerV4)))
        #expect(try harness.peerCanConnect())
        try harness.appendFailures(from: VethPair.peerV4, count: 1)
        try harness.waitUntil("the peer is in the kernel set") { try harness.kernelSet().contains(VethPair.peerV4) }
        #expect(!(try harness.peerCanConnect()))
        let status = try harness.client("status", "demo")
        #expect(status.contains("Currently banned:\t2"))
        #expect(status.contains("Total failed:\t6"))
        // The kernel expires the ban (set timeout); the peer passes again.
        try harness.waitUntil("the kernel expired the ban") { !(try harness.kernelSet().contains(VethPair.peerV4)) }
        #expect(try harness.peerCanConnect())
        #expect(try harness.client("stop") == "Shutdown successful")
        harness.process?.waitUntilExit()
        #expect(harness.process?.terminationStatus == 0)
    }
}
