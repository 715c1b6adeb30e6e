import Glibc
import Testing
@testable import WardenIPC

@Suite struct MessageTests {
    @Test func framesRoundTripInOrder() throws {
        var bytes: [UInt8] = []
        try Array("first line".utf8).withUnsafeBytes { try MessageFrame.append(type: .logLine, payload: $0, to: &bytes) }
        let decision = BanDecision(jail: "sshd", address: NetworkAddress("192.0.2.7")!, banTime: 600, time: 1_700_000_000_123_456_789)
        try decision.encoded().withUnsafeBytes { try MessageFrame.append(type: .ban, payload: $0, to: &bytes) }
        try [UInt8]().withUnsafeBytes { try MessageFrame.append(type: .logLine, payload: $0, to: &bytes) }

        try bytes.withUnsafeBytes { raw in
            var frames = FrameIterator(raw)
            let first = try #require(try frames.next())
            #expect(first.type == .logLine)
            #expect(String(decoding: first.payload, as: UTF8.self) == "first line")
            let second = try #require(try frames.next())
            #expect(second.type == .ban)
            #expect(try BanDecision(decoding: second.payload) == decision)
            let third = try #require(try frames.next())
            #expect(third.payload.isEmpty)
            #expect(try frames.next() == nil)
            #expect(try FrameIterator.wholeFrames(in: raw).count == 3)
        }
    }

    @Test func decisionsCarryNetworksAndIPv6() throws {
        for text in ["2001:db8::1", "2001:db8::/32", "198.51.100.0/24", "0.0.0.0/0"] {
            let address = try #require(NetworkAddress(text))
            #expect(address.description == text)
            let decision = BanDecision(jail: "nginx-äöü", address: address, banTime: -1, time: 0)
            let decoded = try decision.encoded().withUnsafeBytes { try BanDecision(decoding: $0) }
            #expect(decoded == decision)
            // Built from its bytes, the same address is equal and hashes alike.
            let rebuilt = try #require(NetworkAddress(family: address.family, bytes: address.bytes, prefixLength: address.prefixLength))
            #expect(rebuilt == address && Set([rebuilt, address]).count == 1)
            #expect(address.bytes.count == (address.family == .ipv4 ? 4 : 16))
        }
        #expect(NetworkAddress("192.0.2.1") != NetworkAddress("192.0.2.1/24"))
        #expect(NetworkAddress("192.0.2.1/33") == nil)
        #expect(NetworkAddress("not an address") == nil)
        #expect(NetworkAddress("::1/129") == nil)
    }

    @Test func malformedFramesAreTypedErrors() throws {
        func firstError(_ bytes: [UInt8]) -> MessageFormatError? {
            bytes.withUnsafeBytes { raw in
                var frames = FrameIterator(raw)
                do {
                    while try frames.next() != nil {}
                    return nil
                } catch { return error as? MessageFormatError }
            }
        }
        #expect(firstError([1, 1, 0]) == .truncatedHeader(available: 3))
        #expect(firstError([9, 1, 0, 0, 0, 0, 0, 0]) == .unsupportedVersion(9))
        #expect(firstError([1, 77, 0, 0, 0, 0, 0, 0]) == .unknownType(77))
        #expect(firstError([1, 1, 0, 0, 5, 0, 0, 0, 65]) == .truncatedPayload(declared: 5, available: 1))
        #expect(firstError([1, 1, 0, 0, 255, 255, 255, 255]) == .payloadTooLarge(Int(UInt32.max)))
        // Random garbage never crashes: it decodes or fails with a typed error.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let garbage = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = firstError(garbage)
            _ = garbage.withUnsafeBytes { try? BanDecision(decoding: $0) }
        }
    }

    @Test func decisionRecordsAreBoundsChecked() throws {
        let valid = try BanDecision(jail: "sshd", address: NetworkAddress("192.0.2.1")!, banTime: 60, time: 1).encoded()
        var wrongLength = valid
        wrongLength[2] = 200
        var badFamily = valid
        badFamily[0] = 5
        var badPrefix = valid
        badPrefix[1] = 40
        for record in [Array(valid.prefix(20)), wrongLength, badFamily, badPrefix] {
            #expect(throws: MessageFormatError.self) { try record.withUnsafeBytes { try BanDecision(decoding: $0) } }
        }
        #expect(throws: MessageFormatError.self) {
            try BanDecision(jail: "", address: NetworkAddress("192.0.2.1")!, banTime: 0, time: 0).encoded()
        }
    }

    @Test func configurationParsesJailOptions() throws {
        let parsed = try ChannelConfiguration(
            jailOptions: ["ipc": "socket", "ipc.path": "/run/w/ssh", "ipc.readers": "3", "ipc.policy": "drop",
                          "ipc.mode": "0660", "ipc.group": "0", "ipc.allow": "uid:0, uid:65534 gid:root"],
            jail: "sshd")
        #expect(parsed.adapter == .socket)
        #expect(parsed.path == "/run/w/ssh")
        #expect(parsed.readers == 3)
        #expect(parsed.policy == .drop)
        #expect(parsed.mode == 0o660)
        #expect(parsed.group == 0)
        #expect(parsed.allowedUIDs == [0, 65534])
        #expect(parsed.allowedGIDs == [0])
        let defaults = try ChannelConfiguration(jailOptions: [:], jail: "sshd")
        #expect(defaults.adapter == .memory && defaults.policy == .backpressure && defaults.mode == 0o600)
        #expect(try ChannelConfiguration(jailOptions: ["ipc": "shm", "ipc.overwrite": "true"], jail: "j").policy == .overwrite)
        for bad in [["ipc": "pipe"], ["ipc.policy": "maybe"], ["ipc.mode": "999"], ["ipc.readers": "0"],
                    ["ipc.allow": "someone"], ["ipc.policy": "drop", "ipc.overwrite": "yes"]] {
            #expect(throws: ChannelError.self) { try ChannelConfiguration(jailOptions: bad, jail: "j") }
        }
    }

    /// The byte-level IPv4 parser (`IPv4Text`, which `NetworkAddress` uses) accepts exactly what glibc's
    /// `inet_pton(AF_INET, ...)` accepts, with the same octets, on random short strings
    /// of digits and dots (and a few other bytes) and on the edge cases.
    @Test func ipv4ParserAgreesWithInetPton() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array("0123456789....1925x: ".utf8)
        var cases = ["0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", ".1.2.3.4",
                     "1.2.3.4.", "", "1.2.3.04", "192.0.2.1", "00.1.2.3", "1.2.3.4 "]
        for _ in 0..<200_000 {
            let length = Int(next() % 17)
            cases.append(String(decoding: (0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var accepted = 0
        for text in cases {
            var reference: [UInt8] = [0, 0, 0, 0]
            let valid = inet_pton(AF_INET, text, &reference) == 1
            let parsed = NetworkAddress(text).flatMap { $0.family == .ipv4 ? $0.bytes : nil }
            #expect(parsed == (valid ? reference : nil), "\(text)")
            if valid { accepted += 1 }
        }
        #expect(accepted > 100)
    }

    /// IPv4 addresses are written as inet_ntop writes them.
    @Test func ipv4TextMatchesInetNtop() throws {
        var state: UInt32 = 12345
        for _ in 0..<20_000 {
            state = state &* 1_103_515_245 &+ 12345
            let octets = withUnsafeBytes(of: state.bigEndian) { Array($0) }
            var reference = [CChar](repeating: 0, count: 16)
            _ = octets.withUnsafeBytes { inet_ntop(AF_INET, $0.baseAddress, &reference, 16) }
            let address = try #require(NetworkAddress(family: .ipv4, bytes: octets))
            let text = String(decoding: reference.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(address.description == text)
        }
        #expect(NetworkAddress("10.0.0.0/8")?.description == "10.0.0.0/8")
    }
}
