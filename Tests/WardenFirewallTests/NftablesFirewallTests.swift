import CLinux
import Dispatch
import Glibc
import NetworkTestSupport
import Testing
import WardenFirewall
import WardenIPC

/// The firewall against the real kernel, each test in its own named network namespace.
@Suite struct NftablesFirewallTests {
    static func sshd(ipv6Prefix: UInt8 = 128) throws -> JailFirewallSpec {
        try JailFirewallSpec(jail: "sshd", port: "ssh", protocol: "tcp", ipv6Prefix: ipv6Prefix)
    }

    static func address(_ text: String) -> NetworkAddress { NetworkAddress(text)! }

    @Test func installsTheLayoutRequiresRoot() throws {
        let namespace = try NetworkNamespace("layout")
        let listing = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            try firewall.install()  // idempotent
            return try NftablesContext().run("list table inet warden\n")
        }
        #expect(listing.contains("set sshd-v4"), "\(listing)")
        #expect(listing.contains("type ipv6_addr"))
        #expect(listing.contains("set sshd-v4-net"))
        #expect(listing.contains("flags interval,timeout"))
        #expect(listing.contains("hook input priority filter - 1"))
        #expect(listing.contains("hook forward priority filter - 1"))
        #expect(listing.contains("tcp dport 22 ip saddr @sshd-v4 reject"))
        #expect(listing.contains("tcp dport 22 ip6 saddr @sshd-v6 reject"))
        #expect(listing.components(separatedBy: "jump jail-sshd").count == 3, "one jump per hook, not duplicated by a re-install")
    }

    @Test func bansFiveThousandAddressesInOneTransactionRequiresRoot() throws {
        let namespace = try NetworkNamespace("batch")
        let (result, elements) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            var batch = BanBatch()
            for index in 0..<5_000 {
                batch.ban(Self.address("10.\(index / 65536).\(index / 256 % 256).\(index % 256)"), jail: "sshd", timeout: .seconds(600))
            }
            let result = try firewall.apply(batch)
            return (result, try firewall.elements(jail: "sshd", family: .ipv4))
        }
        #expect(result.transactions == 1)
        #expect(result.applied == 5_000 && result.rejected.isEmpty)
        #expect(elements.count == 5_000)
        #expect(Set(elements).contains("10.0.19.135"))
    }

    /// Single addresses take the pre-built netlink batch (no libnftables): timeouts,
    /// permanent bans, IPv6 hosts and unbans must come out as libnftables would write them.
    @Test func hostBansThroughTheNetlinkBatchRequiresRoot() throws {
        let namespace = try NetworkNamespace("hosts")
        let (result, v4, v6) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            var first = BanBatch()
            first.ban(Self.address("192.0.2.1"), jail: "sshd", timeout: .seconds(600))
            first.ban(Self.address("192.0.2.2"), jail: "sshd", timeout: .permanent)
            first.ban(Self.address("192.0.2.3"), jail: "sshd", timeout: .seconds(600))
            first.ban(Self.address("2001:db8::7"), jail: "sshd", timeout: .seconds(3600))
            _ = try firewall.apply(first)
            var second = BanBatch()
            second.unban(Self.address("192.0.2.3"), jail: "sshd")
            second.unban(Self.address("192.0.2.99"), jail: "sshd")  // never banned
            let result = try firewall.apply(second)
            let context = try NftablesContext()
            return (result, try context.run("list set inet warden sshd-v4\n"), try context.run("list set inet warden sshd-v6\n"))
        }
        #expect(result.transactions == 1 && result.rejected.isEmpty)
        #expect(v4.contains("192.0.2.1 timeout 10m expires"), "\(v4)")
        #expect(v4.contains("192.0.2.2,") || v4.contains("192.0.2.2 }") || v4.contains("192.0.2.2\n"), "permanent: no timeout: \(v4)")
        #expect(!v4.contains("192.0.2.3") && !v4.contains("192.0.2.99"), "\(v4)")
        #expect(v6.contains("2001:db8::7 timeout 1h expires"), "\(v6)")
    }

    @Test func aMissingTableIsLayoutMissingOnTheNetlinkPathRequiresRoot() throws {
        let namespace = try NetworkNamespace("hostsgone")
        let missing = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            try NftablesContext().run("delete table inet warden\n")
            var batch = BanBatch()
            batch.ban(Self.address("192.0.2.1"), jail: "sshd", timeout: .seconds(600))
            do {
                _ = try firewall.apply(batch)
                return false
            } catch let error as FirewallError {
                if case .layoutMissing = error { return true }
                return false
            }
        }
        #expect(missing)
    }

    @Test func bansNetworksAndIPv6PrefixesRequiresRoot() throws {
        let namespace = try NetworkNamespace("cidr")
        let (v4, v6, permanent, rejected) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd(ipv6Prefix: 64)]))
            try firewall.install()
            var batch = BanBatch()
            batch.ban(Self.address("198.51.100.0/24"), jail: "sshd", timeout: .seconds(600))
            batch.ban(Self.address("203.0.113.77/28"), jail: "sshd", timeout: .permanent)  // host bits cleared
            batch.ban(Self.address("2001:db8:1:2::5"), jail: "sshd", timeout: .seconds(600))
            batch.ban(Self.address("2001:db8:1:2::6"), jail: "sshd", timeout: .seconds(600))  // same /64
            let rejected = try firewall.apply(batch).rejected.count
            let listing = try NftablesContext().run("list set inet warden sshd-v4-net\n")
            return (try firewall.elements(jail: "sshd", family: .ipv4), try firewall.elements(jail: "sshd", family: .ipv6), listing, rejected)
        }
        #expect(rejected == 0)
        #expect(v4.sorted() == ["198.51.100.0/24", "203.0.113.64/28"])
        #expect(v6 == ["2001:db8:1:2::/64"])
        #expect(permanent.contains("203.0.113.64/28\n") || permanent.contains("203.0.113.64/28 }") || permanent.contains("203.0.113.64/28,"),
                "a permanent ban has no timeout: \(permanent)")
    }

    @Test func theKernelExpiresBansAndUnbanningAnExpiredBanDoesNotFailTheBatchRequiresRoot() throws {
        let namespace = try NetworkNamespace("expiry")
        let (expired, result, remaining) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            var first = BanBatch()
            first.ban(Self.address("192.0.2.10"), jail: "sshd", timeout: .seconds(1))
            first.ban(Self.address("192.0.2.11"), jail: "sshd", timeout: .seconds(600))
            _ = try firewall.apply(first)
            let expired = try eventually { try !firewall.elements(jail: "sshd", family: .ipv4).contains("192.0.2.10") }
            var second = BanBatch()
            second.unban(Self.address("192.0.2.10"), jail: "sshd")  // the kernel already removed it
            second.unban(Self.address("192.0.2.11"), jail: "sshd")
            second.unban(Self.address("192.0.2.99"), jail: "sshd")  // never banned
            second.ban(Self.address("192.0.2.12"), jail: "sshd", timeout: .seconds(600))
            let result = try firewall.apply(second)
            return (expired, result, try firewall.elements(jail: "sshd", family: .ipv4))
        }
        #expect(expired, "a 1 s ban left the kernel set")
        #expect(result.rejected.isEmpty && result.transactions == 1, "\(result.rejected.map(\.message))")
        #expect(remaining == ["192.0.2.12"])
    }

    @Test func overlappingElementsAreIsolatedAndTheRestIsAppliedRequiresRoot() throws {
        let namespace = try NetworkNamespace("overlap")
        let (result, elements) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            var first = BanBatch()
            first.ban(Self.address("198.51.100.0/24"), jail: "sshd", timeout: .seconds(600))
            _ = try firewall.apply(first)
            var second = BanBatch()
            for index in 1...20 { second.ban(Self.address("192.0.2.\(index)"), jail: "sshd", timeout: .seconds(600)) }
            second.ban(Self.address("198.51.100.0/25"), jail: "sshd", timeout: .seconds(600))
            second.ban(Self.address("192.0.2.77"), jail: "nojail", timeout: .seconds(600))
            return (try firewall.apply(second), try firewall.elements(jail: "sshd", family: .ipv4))
        }
        #expect(result.applied == 20)
        #expect(result.rejected.map(\.entry.address.description).sorted() == ["192.0.2.77", "198.51.100.0/25"])
        #expect(result.rejected.contains { $0.message.contains("overlap") })
        #expect(elements.count == 21)
    }

    /// The last operation on a jail's element wins within a batch, jail by jail: the same
    /// address in two jails is two elements.
    @Test func theLastOperationOnAnElementOfABatchWinsRequiresRoot() throws {
        let namespace = try NetworkNamespace("coalesce")
        let (result, sshd, web, sshdV6) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd(), JailFirewallSpec(jail: "web")]))
            try firewall.install()
            var batch = BanBatch()
            batch.ban(Self.address("192.0.2.1"), jail: "sshd", timeout: .seconds(600))
            batch.ban(Self.address("192.0.2.1"), jail: "web", timeout: .seconds(600))
            batch.unban(Self.address("192.0.2.1"), jail: "sshd")
            batch.unban(Self.address("192.0.2.2"), jail: "web")
            batch.ban(Self.address("192.0.2.2"), jail: "web", timeout: .permanent)
            batch.ban(Self.address("2001:db8::1"), jail: "sshd", timeout: .seconds(60))
            batch.ban(Self.address("2001:db8::1"), jail: "sshd", timeout: .seconds(3600))
            let result = try firewall.apply(batch)
            return (result, try firewall.elements(jail: "sshd", family: .ipv4), try firewall.elements(jail: "web", family: .ipv4),
                    try NftablesContext().run("list set inet warden sshd-v6\n"))
        }
        #expect(result.transactions == 1 && result.rejected.isEmpty && result.applied == 7)
        #expect(sshd.isEmpty, "banned, then unbanned: \(sshd)")
        #expect(web.sorted() == ["192.0.2.1", "192.0.2.2"], "unbanned, then banned: \(web)")
        #expect(sshdV6.contains("2001:db8::1 timeout 1h expires"), "the later timeout: \(sshdV6)")
    }

    @Test func aMissingTableIsReportedAsSuchRequiresRoot() throws {
        let namespace = try NetworkNamespace("missing")
        let error = try namespace.perform { () -> FirewallError? in
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            var batch = BanBatch()
            batch.ban(Self.address("192.0.2.1"), jail: "sshd", timeout: .seconds(60))
            do { _ = try firewall.apply(batch); return nil } catch { return error as? FirewallError }
        }
        guard case .layoutMissing = error else { Issue.record("expected layoutMissing, got \(String(describing: error))"); return }
    }

    @Test func flushRulesetIsNoticedAndReconciledRequiresRoot() throws {
        let namespace = try NetworkNamespace("reconcile")
        let (noticed, report, elements, v6) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            let now = FirewallReconciler.currentTime()
            let active = [ActiveBan(jail: "sshd", address: Self.address("192.0.2.1"), expiry: now + 600),
                          ActiveBan(jail: "sshd", address: Self.address("198.51.100.0/24"), expiry: nil),
                          ActiveBan(jail: "sshd", address: Self.address("2001:db8::7"), expiry: now + 600),
                          ActiveBan(jail: "sshd", address: Self.address("192.0.2.2"), expiry: now - 1)]
            var batch = BanBatch()
            for ban in active.prefix(3) { batch.ban(ban.address, jail: ban.jail, timeout: ban.expiry == nil ? .permanent : .seconds(600)) }
            _ = try firewall.apply(batch)

            let changed = DispatchSemaphore(value: 0)
            let monitor = try RulesetChangeMonitor { changed.signal() }
            defer { monitor.stop() }
            try namespace.exec("nft", "flush", "ruleset")
            let noticed = changed.wait(timeout: .now() + 30) == .success
            let report = try FirewallReconciler(firewall: firewall).reconcile(activeBans: active)
            return (noticed, report, try firewall.elements(jail: "sshd", family: .ipv4), try firewall.elements(jail: "sshd", family: .ipv6))
        }
        #expect(noticed, "the monitor woke up for a flush made by another process")
        #expect(report.layoutWasMissing)
        #expect(report.restoredBans == 3, "the expired ban is not restored")
        #expect(elements.sorted() == ["192.0.2.1", "198.51.100.0/24"])
        #expect(v6 == ["2001:db8::7"])
    }

    @Test func wardensOwnChangesDoNotWakeTheMonitorRequiresRoot() throws {
        let namespace = try NetworkNamespace("own")
        let (first, second) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            let changed = DispatchSemaphore(value: 0)
            let monitor = try RulesetChangeMonitor { changed.signal() }
            defer { monitor.stop() }
            try firewall.install()
            var batch = BanBatch()
            batch.ban(Self.address("192.0.2.1"), jail: "sshd", timeout: .seconds(60))
            _ = try firewall.apply(batch)
            // Events arrive in commit order: had warden's own commits woken the monitor,
            // a second wake-up would follow the one for this foreign change.
            try namespace.exec("nft", "add", "table", "inet", "other")
            let first = changed.wait(timeout: .now() + 30) == .success
            let second = changed.wait(timeout: .now() + 2) == .success
            return (first, second)
        }
        #expect(first)
        #expect(!second)
    }

    /// The nftables group carries a notification per set element. The monitor's socket
    /// lets only NEWGEN through: 20,000 elements left unread neither overrun it (which the
    /// monitor counts as a foreign change, starting a reconcile in the middle of a burst)
    /// nor leave anything but one NEWGEN per committed batch.
    @Test func theMonitorSocketHoldsOnlyBatchCommitsRequiresRoot() throws {
        let namespace = try NetworkNamespace("burst")
        let (commits, overrun) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            let socket = warden_nftables_events_open()
            try #require(socket >= 0, "socket(NETLINK_NETFILTER): errno \(errno)")
            defer { close(socket) }
            for round in 0..<4 {
                var batch = BanBatch()
                for index in 0..<5000 {
                    batch.ban(Self.address("10.\(round).\(index / 250).\(index % 250 + 1)"), jail: "sshd", timeout: .seconds(600))
                }
                _ = try firewall.apply(batch)
            }
            var committers = [Int32](repeating: 0, count: 64)
            var commits = 0, overrun = false
            while true {
                let count = warden_nftables_events_receive(socket, &committers, Int32(committers.count))
                if count < 0 {
                    if errno == ENOBUFS { overrun = true; continue }
                    break
                }
                commits += Int(count)
            }
            return (commits, overrun)
        }
        #expect(!overrun)
        #expect(commits == 4)
    }

    @Test func aFlushedSetIsRefilledRequiresRoot() throws {
        let namespace = try NetworkNamespace("refill")
        let (missing, elements) = try namespace.perform {
            let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [try Self.sshd()]))
            try firewall.install()
            let active = [ActiveBan(jail: "sshd", address: Self.address("192.0.2.1"), expiry: FirewallReconciler.currentTime() + 600)]
            try namespace.exec("nft", "flush", "set", "inet", "warden", "sshd-v4")
            let report = try FirewallReconciler(firewall: firewall).reconcile(activeBans: active)
            return (report.layoutWasMissing, try firewall.elements(jail: "sshd", family: .ipv4))
        }
        #expect(!missing)
        #expect(elements == ["192.0.2.1"])
    }
}
