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
        let v6 = Array("2001:db8::1".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .any) }
        #expect(v6.kind == .ipv6 && v6.ipv4Value == nil)
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
