import Foundation
import Testing
import WardenConfig
@testable import WardenFilter

/// Hostile input never crashes the compiler or the matcher: it is either a typed error
/// or a line that is matched, missed or counted.
@Suite struct MatcherFuzzTests {
    /// A deterministic generator, so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private static func sshd() throws -> Matcher {
        let definition = try FilterLoader(configDirectory: "/etc/fail2ban").load("sshd", options: ["mode": "aggressive"])
        return try Matcher(filter: definition)
    }

    @Test func randomBytesNulAndInvalidUTF8() throws {
        let matcher = try Self.sshd()
        var random = SplitMix(state: 1)
        let seed = Array("Aug 14 11:59:59 host sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2".utf8)
        for round in 0..<3000 {
            var line: [UInt8]
            switch round % 3 {
            case 0: line = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                line = seed
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    line[Int.random(in: 0..<line.count, using: &random)] = [0x00, 0xFF, 0xC3, 0xED, 0xF4, 0x80].randomElement(using: &random)!
                }
            default: line = seed + [0xE2, 0x82] // truncated sequence at the end
            }
            let failures = line.withUnsafeBufferPointer { matcher.process($0) }
            for failure in failures { #expect(failure.id != nil) }
        }
        #expect(matcher.statistics.lines == 3000)
        #expect(matcher.statistics.repairedUTF8 > 0)
    }

    @Test func oneMegabyteLines() throws {
        let matcher = try Self.sshd()
        let filler = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        let prefix = Array("Aug 14 11:59:59 host sshd[1]: Failed password for ".utf8)
        let suffix = Array(" from 192.0.2.7 port 22 ssh2".utf8)
        for line in [filler, prefix + filler + suffix, [UInt8](repeating: 0, count: 1 << 20), [UInt8](repeating: 0xFF, count: 1 << 20)] {
            _ = line.withUnsafeBufferPointer { matcher.process($0) }
        }
        #expect(matcher.statistics.lines == 4)
    }

    @Test func multiLineFilterUnderRandomInput() throws {
        let filter = FilterDefinition(
            name: "t", failregex: ["^(?P<a>x+)<SKIPLINES>^y (?P=a) <HOST>$", "^<F-MLFID>\\d+</F-MLFID> <F-NOFAIL>n</F-NOFAIL>$"],
            maxlines: 4
        )
        let matcher = try Matcher(filter: filter)
        var random = SplitMix(state: 7)
        let alphabet = Array("xyn 0123456789.\n\u{0}".utf8) + [0xFF]
        for _ in 0..<5000 {
            let line = (0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            _ = line.withUnsafeBufferPointer { matcher.process($0) }
        }
        #expect(matcher.statistics.lines == 5000)
    }

    /// Random patterns built from regex syntax fragments and tags: each either compiles
    /// or throws a MatcherError, and compiled ones survive matching random lines.
    @Test func randomRegexes() throws {
        var random = SplitMix(state: 42)
        let fragments = ["<HOST>", "<F-USER>", "</F-USER>", "<F-ID/>", "<SKIPLINES>", "<ADDR>", "(", ")", "(?P<x>", "(?P=x)", "[", "]",
                         "a", "\\", "*", "+", "?", "{,3}", "{2}", "|", "^", "$", ".", "\\d", "\\s", "(?iu)", "(?<=a)", "\u{0}", "é", "{"]
        var compiled = 0, rejected = 0
        for _ in 0..<2000 {
            let pattern = (0..<Int.random(in: 1...12, using: &random)).map { _ in fragments.randomElement(using: &random)! }.joined()
            let filter = FilterDefinition(name: "fuzz", failregex: [pattern], ignoreregex: [pattern], maxlines: Int.random(in: 1...3, using: &random))
            do {
                let matcher = try Matcher(filter: filter)
                compiled += 1
                for _ in 0..<5 {
                    let line = (0..<Int.random(in: 0...60, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    _ = line.withUnsafeBufferPointer { matcher.process($0) }
                }
                _ = matcher.process("a 192.0.2.1 é aaa")
            } catch {
                rejected += 1
            }
        }
        #expect(compiled > 0)
        #expect(rejected > 0)
    }

    /// The repair matches Python's `bytes.decode('utf-8', 'replace')` on random input.
    @Test func utf8RepairAgreesWithPython() throws {
        var random = SplitMix(state: 99)
        let samples: [[UInt8]] = (0..<300).map { _ in
            (0..<Int.random(in: 0...24, using: &random)).map { _ in
                [UInt8.random(in: 0x80...0xFF, using: &random), UInt8.random(in: 0...0x7F, using: &random), 0xE0, 0xED, 0xF0, 0xF4, 0xA0, 0x8F]
                    .randomElement(using: &random)!
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import sys,json\nfor l in sys.stdin: print(json.dumps(bytes.fromhex(l.strip()).decode('utf-8','replace')))"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(samples.map { $0.map { String(format: "%02x", $0) }.joined() + "\n" }.joined().utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let expected = try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(String.self, from: Data($0)) }
        try #require(expected.count == samples.count)
        var repair = UTF8Repair()
        for (bytes, python) in zip(samples, expected) {
            let repaired = bytes.withUnsafeBufferPointer { line in repair.withValidUTF8(line) { fixed, _, _ in Array(fixed) } }
            #expect(String(decoding: repaired, as: UTF8.self) == python, "\(bytes)")
            #expect(repaired.withUnsafeBufferPointer { UTF8Repair.firstInvalidOffset($0) } == nil)
        }
    }
}
