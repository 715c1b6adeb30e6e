import ArgumentParser
import CLinux
import WardenFirewall
import WardenIPC
#if canImport(Glibc)
import Glibc
#endif

/// `warden firewall-bench`: time to ban N addresses through warden's batched path
/// (`NftablesFirewall.apply`: a netlink batch for single addresses), through one such
/// transaction per ban, and the way fail2ban does it (one
/// `/bin/sh -c "nft add element …"` process per ban), inside a private network namespace.
struct FirewallBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firewall-bench",
        abstract: "Compare batched nftables bans with one nft process per ban (needs root).",
        discussion: """
            Moves itself into a new network namespace first, so the host's ruleset is never \
            touched. Each run starts from an empty ruleset. fail2ban's way uses its own table \
            layout (inet f2b-table, a set without flags) and its actionban command line.
            """
    )

    @Option(help: "Addresses banned per run.") var addresses = 5_000
    @Option(help: "Addresses for the per-ban paths (default: --addresses).") var perBanAddresses: Int?
    @Option(help: "Runs of each path; medians are reported.") var runs = 3
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard warden_unshare_network_namespace() == 0 else {
            throw ValidationError("unshare(CLONE_NEWNET) failed (errno \(errno)); run as root")
        }
        let perBan = perBanAddresses ?? addresses
        let batchTargets = Self.addresses(count: addresses)
        let perBanTargets = Self.addresses(count: perBan)
        let context = try NftablesContext()
        var batched: [Double] = [], transactionPerBan: [Double] = [], processPerBan: [Double] = []
        for _ in 0..<runs {
            batched.append(try timeBatch(batchTargets, context: context))
            transactionPerBan.append(try timeTransactionPerBan(perBanTargets, context: context))
            processPerBan.append(try timeProcessPerBan(perBanTargets, context: context))
        }
        let (hostsSingle, intervalSingle) = try singleBanLatency(existing: batchTargets, context: context)
        let rows = [("warden: one transaction (NftablesFirewall.apply)", addresses, batched),
                    ("warden, one transaction per ban", perBan, transactionPerBan),
                    ("fail2ban's way: one nft process per ban", perBan, processPerBan)]
        let batchedPerBan = median(batched) / Double(addresses)
        if json {
            let fields = rows.map { "\"\($0.0)\": {\"addresses\": \($0.1), \"median_seconds\": \(median($0.2)), \"runs\": \($0.2)}" }
            print("{" + fields.joined(separator: ", ") + ", \"ratio_process_per_ban\": \(median(processPerBan) / Double(perBan) / batchedPerBan)"
                  + ", \"single_ban_hosts_set_seconds\": \(hostsSingle), \"single_ban_interval_set_seconds\": \(intervalSingle)}")
            return
        }
        for (name, count, times) in rows {
            let seconds = median(times)
            print("\(name): \(count) bans, median \(format(seconds)) s (\(format(Double(count) / seconds)) bans/s, "
                  + "\(format(seconds / Double(count) * 1e6)) µs per ban; runs \(times.map(format).joined(separator: ", ")))")
        }
        print("one-ban batch into a set already holding \(addresses): median \(format(hostsSingle * 1e6)) µs "
              + "(warden's hosts set), \(format(intervalSingle * 1e6)) µs (an interval+timeout set)")
        print("per-ban time ratio, process per ban / batch: \(format(median(processPerBan) / Double(perBan) / batchedPerBan))x; "
              + "transaction per ban / batch: \(format(median(transactionPerBan) / Double(perBan) / batchedPerBan))x")
    }

    private static func addresses(count: Int) -> [NetworkAddress] {
        (0..<count).map { NetworkAddress("10.\($0 / 65536 % 256).\($0 / 256 % 256).\($0 % 256)")! }
    }

    private func timeBatch(_ targets: [NetworkAddress], context: NftablesContext) throws -> Double {
        try context.run("flush ruleset\n")
        let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [JailFirewallSpec(jail: "sshd")]))
        try firewall.install()
        var batch = BanBatch()
        let start = now()
        for address in targets { batch.ban(address, jail: "sshd", timeout: .seconds(600)) }
        let result = try firewall.apply(batch)
        let elapsed = now() - start
        try verify(count: try firewall.elements(jail: "sshd", family: .ipv4).count, expected: targets.count, rejected: result.rejected.count)
        return elapsed
    }

    /// Median time of a one-element ban batch into warden's hosts set already holding
    /// `existing`, then the same into an interval set holding as many (what warden's layout
    /// avoids for single addresses: nft reads every interval set's elements back first).
    private func singleBanLatency(existing: [NetworkAddress], context: NftablesContext) throws -> (Double, Double) {
        try context.run("flush ruleset\n")
        let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [JailFirewallSpec(jail: "sshd")]))
        try firewall.install()
        var fill = BanBatch()
        for address in existing { fill.ban(address, jail: "sshd", timeout: .seconds(600)) }
        _ = try firewall.apply(fill)
        let probes = (0..<101).map { NetworkAddress("11.0.\($0 / 256).\($0 % 256)")! }
        var hosts: [Double] = []
        for address in probes {
            var batch = BanBatch()
            batch.ban(address, jail: "sshd", timeout: .seconds(600))
            let start = now()
            _ = try firewall.apply(batch)
            hosts.append(now() - start)
        }
        let elements = existing.map { "\($0) timeout 600s" }.joined(separator: ", ")
        try context.run("add set inet warden ranges { type ipv4_addr; flags interval, timeout; }\nadd element inet warden ranges { \(elements) }\n")
        var interval: [Double] = []
        for address in probes {
            let start = now()
            try context.run("add element inet warden ranges { \(address) timeout 600s }\n")
            interval.append(now() - start)
        }
        return (median(hosts), median(interval))
    }

    private func timeTransactionPerBan(_ targets: [NetworkAddress], context: NftablesContext) throws -> Double {
        try context.run("flush ruleset\n")
        let firewall = try NftablesFirewall(layout: FirewallLayout(jails: [JailFirewallSpec(jail: "sshd")]))
        try firewall.install()
        let start = now()
        var rejected = 0
        for address in targets {
            var batch = BanBatch()
            batch.ban(address, jail: "sshd", timeout: .seconds(600))
            rejected += try firewall.apply(batch).rejected.count
        }
        let elapsed = now() - start
        try verify(count: try firewall.elements(jail: "sshd", family: .ipv4).count, expected: targets.count, rejected: rejected)
        return elapsed
    }

    /// fail2ban 1.0.2's nftables actionstart layout, then its actionban per address.
    private func timeProcessPerBan(_ targets: [NetworkAddress], context: NftablesContext) throws -> Double {
        try context.run("""
            flush ruleset
            add table inet f2b-table
            add chain inet f2b-table f2b-chain { type filter hook input priority -1; }
            add set inet f2b-table addr-set-sshd { type ipv4_addr; }
            add rule inet f2b-table f2b-chain tcp dport { 22 } ip saddr @addr-set-sshd reject

            """)
        let start = now()
        for address in targets {
            let status = shell("nft add element inet f2b-table addr-set-sshd { \(address) }")
            guard status == 0 else { throw ValidationError("nft exited with \(status) for \(address)") }
        }
        let elapsed = now() - start
        let listing = try context.run("list set inet f2b-table addr-set-sshd\n")
        let count = listing.split(separator: ",").count
        try verify(count: count, expected: targets.count, rejected: 0)
        return elapsed
    }

    private func verify(count: Int, expected: Int, rejected: Int) throws {
        guard count == expected, rejected == 0 else {
            throw ValidationError("expected \(expected) elements in the set, found \(count) (\(rejected) rejected)")
        }
    }

    /// `/bin/sh -c command`, as fail2ban runs action commands; returns the exit status.
    private func shell(_ command: String) -> Int32 {
        var pid: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (text: String) in strdup(text) }
        defer { arguments.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, arguments + [nil], Glibc.environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    private func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func format(_ value: Double) -> String {
        let digits = value >= 100 ? 0 : value >= 1 ? 2 : 4
        var text = String(value.rounded(toPlaces: digits))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

private extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
