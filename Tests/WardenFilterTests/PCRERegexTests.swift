import Foundation
import Testing
@testable import WardenFilter

@Suite struct PCRERegexTests {
    @Test func namedGroupsAndRanges() throws {
        let regex = try PCRERegex(#"from (?P<ip4>\d+\.\d+\.\d+\.\d+) port (?P<port>\d+)"#)
        #expect(regex.isJIT)
        #expect(regex.namedGroups.map(\.name) == ["ip4", "port"])
        #expect(regex.namedGroups.map(\.number) == [1, 2])
        let groups = try #require(regex.firstMatch(in: "Failed password from 192.0.2.7 port 22"))
        #expect(groups[1] == "192.0.2.7")
        #expect(groups[2] == "22")
    }

    /// `ByteSet(bitmap:)` reads words; the bitmap's layout is bit `b & 7` of byte `b >> 3`.
    @Test func byteSetFromBitmap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bitmap = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var expected = ByteSet()
            for byte in 0..<256 where bitmap[byte >> 3] & (1 << UInt8(byte & 7)) != 0 { expected.insert(UInt8(byte)) }
            #expect(bitmap.withUnsafeBufferPointer { ByteSet(bitmap: $0.baseAddress!) } == expected)
        }
    }

    /// In name order, as `String` sorts them: `FilterRegex` reads `alt_` groups in this order.
    @Test func namedGroupsInNameOrder() throws {
        let regex = try PCRERegex(#"(?P<port>\d+) (?P<alt_user_2>\w+) (?P<alt_user_10>\w+) (?P<ip4>\S+)"#)
        #expect(regex.namedGroups.map(\.name) == ["alt_user_10", "alt_user_2", "ip4", "port"])
        #expect(regex.namedGroups.map(\.name) == regex.namedGroups.map(\.name).sorted())
        #expect(regex.namedGroups.map(\.number) == [3, 2, 4, 1])
    }

    /// `span(of:)` is `range(of:)` as a `Span`, with an unset group (in an alternative
    /// not taken, or after the last set group) exactly `Span.absent`.
    @Test func rawSpansAgreeWithRanges() throws {
        let regex = try PCRERegex(#"^(?:a(x)|b(y*))(z?)(?:-(w))?$"#)
        let data = PCREMatchData(capacity: regex.captureCount + 1)
        for text in ["ax", "b", "byyz", "axz-w", "bz"] {
            var subject = Array(text.utf8)
            let outcome = subject.withUnsafeMutableBufferPointer { regex.match(UnsafeBufferPointer($0), into: data) }
            #expect(outcome == .match)
            for group in 1...regex.captureCount {
                let span = data.span(of: group)
                if let range = data.range(of: group) {
                    #expect(Int(span.start) == range.lowerBound && Int(span.end) == range.upperBound, "\(text) group \(group)")
                } else {
                    #expect(span.start == GroupValues.Span.absent.start && span.end == GroupValues.Span.absent.end, "\(text) group \(group)")
                    #expect(!span.isPresent)
                }
                let earlier = GroupValues.Span(start: 7, end: 9)
                let chosen = span.orElse(earlier)
                #expect(chosen.start == (span.isPresent ? span : earlier).start && chosen.end == (span.isPresent ? span : earlier).end)
            }
        }
    }

    @Test func compileErrorNamesTheOffset() {
        #expect(throws: PCRERegex.CompileError.self) { try PCRERegex("abc(") }
    }

    @Test func catastrophicBacktrackingHitsTheLimitInsteadOfStalling() throws {
        let regex = try PCRERegex("^(a+)+$", matchLimit: 10_000)
        var subject = Array(repeating: UInt8(ascii: "a"), count: 40) + [UInt8(ascii: "!")]
        let data = PCREMatchData(capacity: 2)
        let outcome = subject.withUnsafeMutableBufferPointer { regex.match(UnsafeBufferPointer($0), into: data) }
        #expect(outcome == .limitExceeded)
    }

    /// JIT translation happens on the first search; threads that all search a fresh
    /// regex at once must each get the same, correct answer (one of them translates,
    /// the others wait for it), for ASCII subjects (byte-mode code) and others alike.
    @Test func firstSearchesFromManyThreadsAgree() throws {
        let regex = try PCRERegex(#"for (?P<user>\S+) from (?P<ip4>[\d.]+)"#)
        let subjects = ["Failed password for root from 192.0.2.7 port 22", "Failed password for jürgen from 192.0.2.8 port 22"]
        let threads = 8
        let results = LockedResults()
        let done = DispatchGroup()
        for index in 0..<threads {
            done.enter()
            Thread {
                let subject = subjects[index % subjects.count]
                let groups = regex.firstMatch(in: subject)
                results.append(index, groups?[2])
                done.leave()
            }.start()
        }
        done.wait()
        #expect(results.values.count == threads)
        for (index, address) in results.values { #expect(address == (index % 2 == 0 ? "192.0.2.7" : "192.0.2.8")) }
        #expect(regex.isJIT)
    }

    @Test func unicodeWordClassesFollowPython() throws {
        let regex = try PCRERegex(PythonRegexTranslation.translate(#"(?iu)user (\w+)"#))
        #expect(regex.firstMatch(in: "USER jürgen")?[1] == "jürgen")
    }

    @Test(arguments: [
        (#"(?iu)abc"#, #"(?i)abc"#),
        (#"(?u)abc"#, #"abc"#),
        (#"\d{,3}"#, #"\d{0,3}"#),
        (#"[{,3}]"#, #"[{,3}]"#),
        (#"a\Z"#, #"a\z"#),
        (#"(?P<host>x)(?P=host)"#, #"(?P<host>x)(?P=host)"#),
        (#"(?:a|b)"#, #"(?:a|b)"#),
        (#"(?u:x)"#, #"(?:x)"#),
    ])
    func translation(python: String, pcre: String) {
        #expect(PythonRegexTranslation.translate(python) == pcre)
    }
}

private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(Int, String?)] = []
    var values: [(Int, String?)] { lock.withLock { stored } }
    func append(_ index: Int, _ value: String?) { lock.withLock { stored.append((index, value)) } }
}
