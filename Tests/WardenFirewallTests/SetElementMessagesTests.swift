import Testing
@testable import WardenFirewall
import WardenIPC

/// The nfnetlink batch as bytes: framing the kernel checks before it looks at elements.
@Suite struct SetElementMessagesTests {
    /// (length, type, flags, sequence) of each message, read back from the bytes.
    typealias Header = (length: Int, type: UInt16, flags: UInt16, sequence: UInt32)

    static func headers(_ bytes: [UInt8]) -> [Header] {
        var headers: [Header] = []
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset + 16 <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                headers.append((length: length, type: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                                flags: raw.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self),
                                sequence: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
                offset += max(16, (length + 3) & ~3)
            }
        }
        return headers
    }

    @Test func aBatchIsBeginElementMessagesEndWithConsecutiveSequences() {
        var messages = SetElementMessages(firstSequence: 7)
        messages.append(.add, table: "warden", set: "sshd-v4", elements: [
            Self.element("192.0.2.1", timeout: 600_000), Self.element("192.0.2.2", timeout: nil)])
        messages.append(.delete, table: "warden", set: "sshd-v4", elements: [Self.element("192.0.2.3", timeout: nil)])
        messages.append(.add, table: "warden", set: "sshd-v6", elements: [])  // nothing: no message
        messages.finish()
        let headers = Self.headers(messages.bytes)
        #expect(headers.map(\.type) == [0x10, 10 << 8 | 12, 10 << 8 | 14, 0x11])
        #expect(headers.map(\.sequence) == [7, 8, 9, 10])
        #expect(messages.elementMessageSequences == [8, 9] && messages.beginSequence == 7 && messages.followingSequence == 11)
        #expect(headers[1].flags == 0x1 | 0x4 | 0x400, "request, ack, create")
        #expect(headers[2].flags == 0x1 | 0x4, "a delete is not a create")
        #expect(headers.reduce(0) { $0 + $1.length } == messages.bytes.count, "lengths cover the batch exactly")
        #expect(headers.allSatisfy { $0.length % 4 == 0 })
    }

    @Test func anElementCarriesItsKeyAndItsTimeoutInMillisecondsBigEndian() {
        var messages = SetElementMessages(firstSequence: 1)
        messages.append(.add, table: "t", set: "s", elements: [Self.element("198.51.100.9", timeout: 0x0102_0304)])
        let bytes = messages.bytes
        // NFTA_DATA_VALUE (length 8, type 1) holding the key.
        #expect(bytes.windows(of: [8, 0, 1, 0, 198, 51, 100, 9]))
        // NFTA_SET_ELEM_TIMEOUT (length 12, type 4), a big-endian UInt64.
        #expect(bytes.windows(of: [12, 0, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4]))
    }
}

extension SetElementMessagesTests {
    @Test func aLongElementListIsSplitIntoMessagesThatFitSixteenBitLengths() {
        var messages = SetElementMessages(firstSequence: 1)
        let elements = (0..<2_500).map { index in
            let key = NetworkAddress(family: .ipv6, bytes: [UInt8](repeating: UInt8(index % 256), count: 16))!
            return SetElementMessages.Element(key: key, timeoutMilliseconds: 600_000)
        }
        messages.append(.add, table: "warden", set: "sshd-v6", elements: elements)
        messages.finish()
        let headers = Self.headers(messages.bytes)
        #expect(headers.count == 2 + 3, "2,500 elements in messages of at most 1,024")
        #expect(messages.elementMessageSequences.count == 3)
        #expect(headers.allSatisfy { $0.length < 65_536 })
    }
}

extension Array where Element == UInt8 {
    fileprivate func windows(of pattern: [UInt8]) -> Bool {
        guard count >= pattern.count else { return false }
        return (0...(count - pattern.count)).contains { self[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}

/// Whole batches byte for byte, recorded from the builder that nested attributes by copying
/// (whose output the kernel tests in NftablesFirewallTests accept): IPv4 and IPv6 keys with
/// and without a timeout, an unban's add and delete, and element lists split at 1,024.
extension SetElementMessagesTests {
    static func element(_ text: String, timeout: UInt64?) -> SetElementMessages.Element {
        .init(key: NetworkAddress(text)!, timeoutMilliseconds: timeout)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// FNV-1a, 64 bits: a stand-in for batches too long to spell out.
    static func digest(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    @Test func aShortBatchIsByteForByteTheRecordedOne() {
        var messages = SetElementMessages(firstSequence: 41)
        messages.append(.add, table: "warden", set: "sshd-v4", elements: [
            Self.element("192.0.2.1", timeout: 600_000), Self.element("192.0.2.2", timeout: nil)])
        messages.append(.add, table: "warden", set: "sshd-v6", elements: [
            Self.element("2001:db8::7", timeout: 3_600_000), Self.element("2001:db8::8", timeout: nil)])
        messages.append(.add, table: "warden", set: "sshd-v6", elements: [Self.element("2001:db8::9", timeout: 1000)])
        messages.append(.delete, table: "warden", set: "sshd-v6", elements: [Self.element("2001:db8::9", timeout: nil)])
        messages.finish()
        // One message a line: nlmsghdr and nfgenmsg, then the table, the set and the element list.
        let recorded = [
            "140000001000010029000000000000000000000a",
            "5c0000000c0a05042a00000000000000010000000b00010077617264656e00000c000200737368642d7634"
                + "00300003801c0001800c00018008000100c00002010c00040000000000000927c0100001800c00018008000100c0000202",
            "740000000c0a05042b00000000000000010000000b00010077617264656e00000c000200737368642d7636"
                + "004800038028000180180001801400010020010db80000000000000000000000070c000400000000000036ee80"
                + "1c000180180001801400010020010db8000000000000000000000008",
            "580000000c0a05042c00000000000000010000000b00010077617264656e00000c000200737368642d7636"
                + "002c00038028000180180001801400010020010db80000000000000000000000090c00040000000000000003e8",
            "4c0000000e0a05002d00000000000000010000000b00010077617264656e00000c000200737368642d7636"
                + "00200003801c000180180001801400010020010db8000000000000000000000009",
            "14000000110001002e000000000000000000000a",
        ]
        #expect(Self.hex(messages.bytes) == recorded.joined())
    }

    @Test func aLongBatchIsByteForByteTheRecordedOne() {
        var messages = SetElementMessages(firstSequence: 1)
        messages.append(.add, table: "warden", set: "sshd-v4", elements: (0..<2_500).map { index in
            Self.element("10.0.\(index / 256).\(index % 256)", timeout: index % 3 == 0 ? nil : UInt64(index) * 1000)
        })
        messages.append(.add, table: "warden", set: "sshd-v6", elements: (0..<1_500).map { index in
            Self.element("2001:db8::\(String(index, radix: 16))", timeout: index % 2 == 0 ? nil : 600_000)
        })
        messages.append(.delete, table: "warden", set: "sshd-v6", elements: (0..<1_100).map { index in
            Self.element("2001:db8::\(String(index, radix: 16))", timeout: nil)
        })
        messages.finish()
        #expect(messages.bytes.count == 142_168)
        #expect(Self.digest(messages.bytes) == 14_560_292_380_272_295_775)
    }
}
