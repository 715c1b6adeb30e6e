import Testing
@testable import WardenFirewall

/// Rule rendering and option parsing, without a kernel.
@Suite struct FirewallLayoutTests {
    @Test func multiportRulesFollowFail2bansPortSyntax() throws {
        let spec = try JailFirewallSpec(jail: "web", type: "multiport", port: "http,https, 1000:2000", protocol: "tcp")
        let rules = FirewallLayout().rules(for: spec)
        #expect(rules == ["tcp dport { 80, 443, 1000-2000 } ip saddr @web-v4 reject",
                          "tcp dport { 80, 443, 1000-2000 } ip saddr @web-v4-net reject",
                          "tcp dport { 80, 443, 1000-2000 } ip6 saddr @web-v6 reject",
                          "tcp dport { 80, 443, 1000-2000 } ip6 saddr @web-v6-net reject"])
    }

    @Test func multiportWritesOneRulePerProtocolAndFamily() throws {
        let spec = try JailFirewallSpec(jail: "dns", port: "53", protocol: "tcp,udp", blocktype: "drop")
        #expect(FirewallLayout().rules(for: spec).prefix(4) == ["tcp dport { 53 } ip saddr @dns-v4 drop", "udp dport { 53 } ip saddr @dns-v4 drop",
                                                                "tcp dport { 53 } ip saddr @dns-v4-net drop", "udp dport { 53 } ip saddr @dns-v4-net drop"])
        #expect(FirewallLayout().rules(for: spec).count == 8)
    }

    @Test func allportsMatchesTheProtocolOnlyAndAllMatchesEverything() throws {
        let tcp = try JailFirewallSpec(jail: "a", type: "allports", protocol: "tcp")
        #expect(FirewallLayout().rules(for: tcp).first == "meta l4proto { tcp } ip saddr @a-v4 reject")
        let all = try JailFirewallSpec(jail: "a", type: "allports", protocol: "all")
        #expect(FirewallLayout().rules(for: all).first == "ip saddr @a-v4 reject")
        let allWithPorts = try JailFirewallSpec(jail: "a", port: "ssh", protocol: "all")
        #expect(FirewallLayout().rules(for: allWithPorts).first == "meta l4proto { tcp, udp, sctp, dccp } th dport { 22 } ip saddr @a-v4 reject")
    }

    @Test func icmpBlocktypesAreRenderedForEachFamily() throws {
        let spec = try JailFirewallSpec(jail: "a", type: "allports", blocktype: "reject with icmp type host-unreachable")
        let rules = FirewallLayout().rules(for: spec)
        #expect(rules[0].hasSuffix("ip saddr @a-v4 reject with icmp type host-unreachable"))
        #expect(rules[2].hasSuffix("ip6 saddr @a-v6 reject with icmpv6 type addr-unreachable"))
    }

    @Test func badOptionsAreTypedErrors() {
        #expect(throws: FirewallSpecError.self) { try JailFirewallSpec(jail: "a", port: "no-such-service-x") }
        #expect(throws: FirewallSpecError.self) { try JailFirewallSpec(jail: "a", port: "2000:1000") }
        #expect(throws: FirewallSpecError.self) { try JailFirewallSpec(jail: "a", protocol: "tcpp") }
        #expect(throws: FirewallSpecError.self) { try JailFirewallSpec(jail: "a", blocktype: "reject with icmp type nonsense") }
        #expect(throws: FirewallSpecError.self) { try JailFirewallSpec(jail: "a", type: "custom") }
    }

    @Test func jailNamesMapToDistinctNftIdentifiers() {
        #expect(NftablesName.identifier(forJail: "nginx-http-auth") == "nginx-http-auth")
        let spaced = NftablesName.identifier(forJail: "my jail")
        let underscored = NftablesName.identifier(forJail: "my_jail")
        #expect(spaced.hasPrefix("my_jail-") && spaced.count == "my_jail-".count + 8)
        #expect(underscored == "my_jail")
        #expect(spaced != NftablesName.identifier(forJail: "my;jail"))
        #expect(NftablesName.identifier(forJail: "0day").hasPrefix("j_0day-"))
        #expect(NftablesName.identifier(forJail: String(repeating: "x", count: 100)).count == 48 + 9)
    }

    @Test func installCommandsHookInputAndForwardWithTheConfiguredPriority() {
        let layout = FirewallLayout(priority: -5, jails: [JailFirewallSpec(jail: "sshd"),
                                                          JailFirewallSpec(jail: "local", hooks: [.input])])
        let text = layout.installCommands()
        #expect(text.contains("add chain inet warden input { type filter hook input priority -5; policy accept; }"))
        #expect(text.contains("add chain inet warden forward { type filter hook forward priority -5; policy accept; }"))
        #expect(text.contains("add rule inet warden forward jump jail-sshd"))
        #expect(!text.contains("add rule inet warden forward jump jail-local"))
        #expect(text.contains("add set inet warden sshd-v6 { type ipv6_addr; flags timeout; }"))
        #expect(text.contains("add set inet warden sshd-v6-net { type ipv6_addr; flags interval, timeout; }"))
    }

    @Test func setListingsParseIntoElements() {
        let listing = """
        table inet warden {
        \tset s {
        \t\ttype ipv4_addr
        \t\tflags interval,timeout
        \t\telements = { 192.0.2.1 timeout 10m expires 9m59s, 198.51.100.0/24,
        \t\t\t     203.0.113.5 timeout 1s expires 500ms }
        \t}
        }
        """
        #expect(NftablesFirewall.elements(inListing: listing) == ["192.0.2.1", "198.51.100.0/24", "203.0.113.5"])
    }
}
