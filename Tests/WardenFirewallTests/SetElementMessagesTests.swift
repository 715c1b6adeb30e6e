import Testing
@testable import WardenFirewall

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
            .init(key: [192, 0, 2, 1], timeoutMilliseconds: 600_000), .init(key: [192, 0, 2, 2], timeoutMilliseconds: nil)])
        messages.append(.delete, table: "warden", set: "sshd-v4", elements: [.init(key: [192, 0, 2, 3], timeoutMilliseconds: nil)])
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
        messages.append(.add, table: "t", set: "s", elements: [.init(key: [198, 51, 100, 9], timeoutMilliseconds: 0x0102_0304)])
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
            SetElementMessages.Element(key: [UInt8](repeating: UInt8(index % 256), count: 16), timeoutMilliseconds: 600_000)
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
