import Foundation
import Testing
import WardenIPC
@testable import WardenJail

struct IgnoreListTests {
    static func address(_ text: String) -> NetworkAddress { NetworkAddress(text)! }

    @Test func networksMatchLikePythonsIpaddress() throws {
        let entries = ["192.0.2.0/24", "10.0.0.0/255.0.0.0", "198.51.100.7", "2001:db8::/32", "::1", "172.16.5.9/12"]
        let candidates = ["192.0.2.1", "192.0.3.1", "10.200.1.1", "11.0.0.1", "198.51.100.7", "198.51.100.8",
                          "2001:db8:1::5", "2001:db9::1", "::1", "::2", "172.31.255.255", "172.32.0.0",
                          "::ffff:192.0.2.9", "::ffff:8.8.8.8", "0.0.0.0", "255.255.255.255"]
        let script = """
            import ipaddress, json, sys
            data = json.load(sys.stdin)
            nets = [ipaddress.ip_network(e, strict=False) for e in data['entries']]
            def check(text):
                a = ipaddress.ip_address(text)
                if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped: a = a.ipv4_mapped
                return any(a.version == n.version and a in n for n in nets)
            print(json.dumps([check(c) for c in data['candidates']]))
            """
        let expected = try #require(try PythonOracle.run(script, input: ["entries": entries, "candidates": candidates]) as? [Bool])
        let list = IgnoreList(entries: entries, ignoreSelf: false)
        #expect(list.unresolved.isEmpty)
        for (candidate, ignored) in zip(candidates, expected) {
            #expect(list.contains(Self.address(candidate)) == ignored, "\(candidate)")
        }
        // A whole network inside an ignored one is ignored; a wider one is not.
        #expect(list.contains(Self.address("192.0.2.128/25")))
        #expect(!list.contains(Self.address("192.0.0.0/16")))
    }

    @Test func randomAddressesAgreeWithALinearScan() {
        var generator = FailureCounterTests.SplitMix(state: 42)
        var networks: [NetworkAddress] = []
        for _ in 0..<300 {
            let bytes = (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
            networks.append(NetworkAddress(family: .ipv4, bytes: bytes, prefixLength: UInt8.random(in: 8...32, using: &generator))!)
        }
        let set = AddressPrefixSet(networks)
        func linear(_ address: NetworkAddress) -> Bool {
            networks.contains { network in
                let bits = Int(network.prefixLength)
                return (0..<bits).allSatisfy { bit in
                    (network.bytes[bit / 8] ^ address.bytes[bit / 8]) & (0x80 >> UInt8(bit % 8)) == 0
                }
            }
        }
        var hits = 0
        for index in 0..<4_000 {
            // Half near a listed network, half anywhere.
            var bytes = (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if index % 2 == 0 { bytes[0] = networks[index % networks.count].bytes[0]; bytes[1] = networks[index % networks.count].bytes[1] }
            let address = NetworkAddress(family: .ipv4, bytes: bytes)!
            let expected = linear(address)
            if expected { hits += 1 }
            #expect(set.contains(address) == expected)
        }
        #expect(hits > 20)
    }

    @Test func namesFilesSelfAndRawIDs() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("warden-ignore-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "# trusted\n203.0.113.0/24  # office\n2001:db8:beef::1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let list = IgnoreList(entries: ["localhost", "file:" + file, "some-raw-id", "no-such-host.invalid"], ignoreSelf: false)
        #expect(list.contains(Self.address("127.0.0.1")))
        #expect(list.contains(Self.address("203.0.113.77")))
        #expect(list.contains(Self.address("2001:db8:beef::1")))
        #expect(!list.contains(Self.address("203.0.114.1")))
        #expect(list.contains(id: "some-raw-id", address: nil))
        #expect(list.unresolved.contains("no-such-host.invalid"))

        // Reload re-reads the file.
        try "198.18.0.0/15\n".write(toFile: file, atomically: true, encoding: .utf8)
        let reloaded = list.reloaded()
        #expect(reloaded.contains(Self.address("198.19.1.1")))
        #expect(!reloaded.contains(Self.address("203.0.113.77")))

        let own = IgnoreList.ownAddresses()
        let withSelf = IgnoreList(entries: [], ignoreSelf: true)
        #expect(own.allSatisfy(withSelf.contains))
        #expect(withSelf.contains(Self.address("127.0.0.1")))
        #expect(!IgnoreList(entries: [], ignoreSelf: false).contains(Self.address("127.0.0.1")))
    }

    @Test func ignoreCommandExitStatusAndCache() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("warden-ignorecmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        // Ignores 192.0.2.x, counts others, fails for 0.0.0.0; every run leaves a line.
        let command = "echo <ip> >> \(log); case <ip> in 192.0.2.*) exit 0;; 0.0.0.0) exit 3;; *) exit 1;; esac"
        let uncached = IgnoreCommand(command: command, cache: nil)
        #expect(uncached.verdict(id: "192.0.2.4", now: 0) == .ignore)
        #expect(uncached.verdict(id: "198.51.100.1", now: 0) == .count)
        #expect(uncached.verdict(id: "0.0.0.0", now: 0) == .failed(status: 3))
        // A hostile id is passed as one quoted word, never run.
        #expect(uncached.verdict(id: "x; touch \(log).pwned", now: 0) == .count)
        #expect(!FileManager.default.fileExists(atPath: log + ".pwned"))

        let cached = IgnoreCommand(command: command, cache: try .init(parsing: "key=\"<ip>\", max-count=10, max-time=5m"))
        #expect(cached.cache?.maxTime == 300)
        for _ in 0..<5 { #expect(cached.verdict(id: "192.0.2.9", now: 100) == .ignore) }
        #expect(cached.verdict(id: "192.0.2.9", now: 401) == .ignore)
        let runs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(runs.filter { $0 == "192.0.2.9" }.count == 2)
    }
}
