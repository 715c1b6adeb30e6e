#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import WardenFilter

@Suite struct FailureIDTests {
    /// The matcher hands the jail the IPv4 value it parsed, so the jail need not parse
    /// the text again; the value must be the text's, in host order.
    @Test func ipv4FromCapturedBytesCarriesItsValue() {
        for (text, value) in [("10.1.2.3", UInt32(0x0A01_0203)), ("255.255.255.255", UInt32.max), ("0.0.0.0", 0)] {
            let id = Array(text.utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
            #expect(id.kind == .ipv4 && id.text == text)
            #expect(id.ipv4Value == value, "\(text)")
        }
    }

    @Test func noValueWhereTheTextIsNotAWholeIPv4Address() {
        let masked = Array("10.1.2.3".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4, prefixLength: 24) }
        #expect(masked.text == "10.1.2.0/24" && masked.ipv4Value == nil)
        let leadingZero = Array("10.01.2.3".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        #expect(leadingZero.kind == .invalid && leadingZero.ipv4Value == nil)
        for text in ["1.2.3.4.5", "256.1.2.3", "1.2.3", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.1000", ""] {
            let id = Array(text.utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
            #expect(id.kind == .invalid && id.ipv4Value == nil, "\(text)")
        }
        let v6 = Array("2001:db8::1".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .any) }
        #expect(v6.kind == .ipv6 && v6.ipv4Value == nil)
        // C stops reading at the NUL, but the address is not the whole text: the id is
        // the text path's, which does not print the text as written.
        let text = "10.1.2.3\u{0}4"
        let withNUL = Array(text.utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        #expect(withNUL.ipv4Value == nil)
        #expect(withNUL == FailureID.address(text, family: .ipv4))
    }

    /// The value is derived from the text: ids with and without it are the same id.
    @Test func valueTakesNoPartInEquality() {
        let parsed = Array("192.0.2.7".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        let written = FailureID(text: "192.0.2.7", kind: .ipv4)
        #expect(parsed.ipv4Value != nil && written.ipv4Value == nil)
        #expect(parsed == written)
        #expect(Set([parsed, written]).count == 1)
    }

    /// An address parsed from bytes keeps those bytes instead of a `String`: its text,
    /// its bytes, equality and hashing must be those of the same id made from text.
    @Test func addressFromBytesKeepsItsText() {
        for text in ["0.0.0.0", "9.8.7.6", "10.1.2.3", "192.168.100.200", "255.255.255.255"] {
            let parsed = Array(text.utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
            let written = FailureID(text: text, kind: .ipv4)
            #expect(parsed.text == text)
            #expect(parsed.withUTF8 { Array($0) } == Array(text.utf8))
            #expect(written.withUTF8 { Array($0) } == Array(text.utf8))
            #expect(parsed == written && written == parsed && parsed.hashValue == written.hashValue)
        }
        let first = Array("10.1.2.3".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        let second = Array("10.1.2.30".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        #expect(first != second && first != FailureID(text: "10.1.2.3", kind: .raw))
    }
}

/// The IPv6 text is written by warden, not `inet_ntop`: it must be glibc's, byte for byte.
@Suite struct IPv6TextTests {
    private func ntop(_ value: (UInt64, UInt64)) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for index in 0..<8 { raw[index] = UInt8(truncatingIfNeeded: value.0 >> UInt64(56 - 8 * index)) }
            for index in 0..<8 { raw[8 + index] = UInt8(truncatingIfNeeded: value.1 >> UInt64(56 - 8 * index)) }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func address(_ words: [UInt16]) -> (UInt64, UInt64) {
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<4 { high = high << 16 | UInt64(words[index]) }
        for index in 4..<8 { low = low << 16 | UInt64(words[index]) }
        return (high, low)
    }

    /// Every pattern of zero and non-zero words (all run placements and ties), with
    /// words of each digit count, `ffff` before a dotted quad, and random addresses.
    @Test func agreesWithInetNtop() {
        var generator = MatcherFuzzTests.SplitMix(state: 0x1F6)
        let samples: [UInt16] = [1, 0xF, 0x10, 0xAB, 0x100, 0xFFF, 0x1000, 0xBEEF, 0xFFFF]
        var checked = 0
        for pattern in 0..<256 {
            for round in 0..<12 {
                var words = (0..<8).map { index -> UInt16 in
                    guard pattern & (1 << index) != 0 else { return 0 }
                    return round < samples.count ? samples[(round + index) % samples.count] : UInt16(truncatingIfNeeded: generator.next())
                }
                if round == 11 { words[5] = 0xFFFF }
                let value = address(words)
                #expect(FailureID.formatIPv6(value) == ntop(value), "\(words)")
                checked += 1
            }
        }
        for _ in 0..<5_000 {
            let value = (generator.next(), generator.next())
            #expect(FailureID.formatIPv6(value) == ntop(value))
        }
        #expect(checked == 3_072)
    }

    /// Through the matcher's entry point: IPv6 ids from bytes are those from text.
    @Test func bytesAndTextGiveTheSameID() {
        for text in ["2001:db8::1", "::1", "::", "::ffff:192.0.2.1", "::192.0.2.1", "fe80::1:0:0:0", "2001:DB8:0:0:1::1",
                     "1:0:0:2:0:0:0:3", "2001:db8::1%eth0", "2001:db8::g", "[2001:db8::1]", "2001:db8::1/64", ""] {
            let fromBytes = Array(text.utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv6) }
            let fromText = FailureID.address(text, family: .ipv6)
            #expect(fromBytes == fromText && fromBytes.kind == fromText.kind, "\(text)")
        }
    }
}
