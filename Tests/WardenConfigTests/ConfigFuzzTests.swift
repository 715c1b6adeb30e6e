import Foundation
import Testing
@testable import WardenConfig

/// Random and mutated configuration text must either load or throw ConfigError; any
/// crash (trap, out-of-range index, runaway recursion) fails the run.
@Suite struct ConfigFuzzTests {
    /// Deterministic, so a failure reproduces.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Characters that matter to the dialect, so mutations hit its edge cases.
    static let syntax = Array("[]%()<>=:;#/\\\"', \t\n\r?sknown/default/__name__INCLUDES before after\u{A0}é".utf8)

    static func mutate(_ bytes: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...8, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes.insert(syntax.randomElement(using: &random) ?? 0x25, at: position)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2: bytes = Array(bytes.prefix(position))
            case 3:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
                if position < end { bytes.removeSubrange(position..<end) }
            case 4:
                let end = min(bytes.count, position + Int.random(in: 1...80, using: &random))
                if position < end { bytes.insert(contentsOf: bytes[position..<end], at: position) }
            default:
                bytes.insert(contentsOf: Array(["%(", "[Definition", "<a<b>", "%(known/", "\n  ", "]"]
                    .randomElement(using: &random)?.utf8 ?? "%(".utf8), at: position)
            }
        }
        return bytes
    }

    func expectLoadsOrConfigError(_ body: () throws -> Void) {
        do {
            try body()
        } catch is ConfigError {
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
        }
    }

    @Test func randomBytesParseOrThrowConfigError() {
        var random = SplitMix64(state: 1)
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<300, using: &random)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &random) ? (Self.syntax.randomElement(using: &random) ?? 0)
                    : UInt8.random(in: 0...255, using: &random)
            }
            expectLoadsOrConfigError { _ = try IniParser(path: "fuzz.conf").parse(bytes) }
        }
    }

    @Test func mutatedStockFiltersLoadOrThrowConfigError() throws {
        let stock = "/etc/fail2ban/filter.d"
        let names = try FileManager.default.contentsOfDirectory(atPath: stock).filter { $0.hasSuffix(".conf") }.sorted()
        try #require(names.count >= 89)
        let config = try TemporaryConfig()
        // The stock shared includes, so mutated filters still reach their include trees.
        for shared in ["common.conf", "apache-common.conf", "exim-common.conf", "groupoffice.conf"]
            where FileManager.default.fileExists(atPath: stock + "/" + shared) {
            try config.writeBytes("filter.d/" + shared, Array(try Data(contentsOf: URL(fileURLWithPath: stock + "/" + shared))))
        }
        let loader = FilterLoader(configDirectory: config.path)
        var random = SplitMix64(state: 2)
        var loaded = 0
        for name in names {
            let original = Array(try Data(contentsOf: URL(fileURLWithPath: stock + "/" + name)))
            for round in 0..<12 {
                try config.writeBytes("filter.d/fuzz.conf", Self.mutate(original, using: &random))
                let options = round % 3 == 0 ? ["mode": "aggressive", "logtype": "journal"] : [:]
                expectLoadsOrConfigError {
                    _ = try loader.load("fuzz", options: options)
                    loaded += 1
                }
            }
        }
        // Most mutations leave a loadable filter; the test must exercise the whole path.
        #expect(loaded > names.count)
    }

    @Test(arguments: [
        "[Definition]\nfailregex = %(\n",
        "[Definition]\nfailregex = %(a\n",
        "[Definition]\nfailregex = %(a)\n",
        "[Definition]\nfailregex = %(a)x\n",
        "[Definition]\nfailregex = %(known/)s\n",
        "[Definition]\nfailregex = %(/x)s %(known/x/y)s\n",
        "[Definition\nfailregex = a\n",
        "[[Definition]\nfailregex = a\n",
        "[Definition]]\nfailregex = <<<>>> <a <b> <>\n",
        "[Definition]\nfailregex = <failregex>\n",
        "[Definition]\na = <b><b>\nb = <c><c>\nc = <d><d>\nd = x\nfailregex = <a>\n",
        "[Definition?x]\nfailregex = a\n[Definition]\nfailregex?x = b\n",
        "[INCLUDES]\nbefore = \n\n/\n..\n.\nfuzz.conf\n[Definition]\nfailregex = a\n",
        "\u{FEFF}[Definition]\r\nfailregex = a\r  b\r\n",
        "[Definition]\nmaxlines = 0\nfailregex = a\n",
        "[Definition]\nmaxlines = <nope>\nfailregex = a\n",
    ])
    func edgeCasesLoadOrThrowConfigError(text: String) throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/fuzz.conf", text)
        expectLoadsOrConfigError { _ = try FilterLoader(configDirectory: config.path).load("fuzz") }
    }

    @Test func deepAndCyclicIncludesEndWithAnError() throws {
        let config = try TemporaryConfig()
        for level in 0..<100 {
            try config.write("filter.d/deep\(level).conf", "[INCLUDES]\nbefore = deep\(level + 1).conf\n[Definition]\nfailregex = \(level)\n")
        }
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("deep0") }

        // The same file under ever longer spellings: fail2ban recurses until Python's limit.
        try config.write("filter.d/spelled.conf", "[INCLUDES]\nbefore = ../filter.d/spelled.conf\n[Definition]\nfailregex = a\n")
        let spelled = try FilterLoader(configDirectory: config.path).load("spelled")
        #expect(spelled.failregex == ["a"])

        try config.write("filter.d/self.conf", "[INCLUDES]\nafter = self.conf\n[Definition]\nfailregex = a\n")
        let selfIncluded = try FilterLoader(configDirectory: config.path).load("self")
        // As in fail2ban, the file is read once more from inside itself, then the chain stops.
        #expect(selfIncluded.sourceFiles.count == 2)
        #expect(try Fail2banOracle.filter("self", in: config.path).failregex == selfIncluded.failregex)
    }

    @Test func randomReferencesParseOrThrowConfigError() {
        var random = SplitMix64(state: 3)
        let alphabet = Array("ab=,[]\"' .-_\n\t")
        for _ in 0..<3000 {
            let text = String((0..<Int.random(in: 0..<24, using: &random)).map { _ in
                alphabet.randomElement(using: &random) ?? "a"
            })
            expectLoadsOrConfigError { _ = try FilterReference(parsing: text) }
        }
    }
}
