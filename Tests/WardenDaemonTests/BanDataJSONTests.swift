import Foundation
import Testing
@testable import WardenDaemon
import WardenConfig
import WardenFilter
import WardenLines

/// The store's `data` column is read back as JSON (by warden and by fail2ban's tools):
/// lines with quotes, backslashes, control characters and non-ASCII text round-trip.
@Suite struct BanDataJSONTests {
    /// The data appended after another ban's, as in a chunk's buffer.
    static func encode(matches: [String], failures: Int, groupsOf failure: Failure? = nil, matcher: Matcher? = nil) -> String {
        var bytes: [UInt8] = Array("left by the previous ban".utf8)
        let start = bytes.count
        if let failure, let matcher {
            BanDataJSON.append(matches: MatchedLines(matches), failures: failures, groupsOf: failure,
                               keys: BanDataJSON.groupKeys(matcher), to: &bytes)
        } else {
            BanDataJSON.append(matches: MatchedLines(matches), failures: failures, to: &bytes)
        }
        return String(decoding: bytes[start...], as: UTF8.self)
    }

    /// The data as warden wrote it before the bytes went straight into the store row: a
    /// `String` per ban, the groups taken from the failure's dictionary in name order.
    /// Escaped here character by character, independently of `JSONText`.
    static func reference(matches: [String], failures: Int, groups: [String: String]) -> String {
        func quoted(_ text: String) -> String {
            var result = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\n": result += "\\n"
                case "\r": result += "\\r"
                case "\t": result += "\\t"
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
                default: result.unicodeScalars.append(scalar)
                }
            }
            return result + "\""
        }
        let fields = groups.keys.filter { $0 != "matches" && $0 != "failures" }.sorted()
            .map { ", \(quoted($0)): \(quoted(groups[$0]!))" }
        return #"{"matches": ["# + matches.map(quoted).joined(separator: ", ") + #"], "failures": "#
            + String(failures) + fields.joined() + "}"
    }

    @Test func encodedMatchesParseBackToTheSameLines() throws {
        let matches = [#"sshd[1]: Failed password for "ro\ot" from 192.0.2.1"#, "tab\there\u{1}\r", "übel ✓", ""]
        let encoded = Self.encode(matches: matches, failures: 7)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
        #expect(parsed["matches"] as? [String] == matches)
        #expect(parsed["failures"] as? Int == 7)
        #expect(Self.encode(matches: [], failures: 3) == #"{"matches": [], "failures": 3}"#)
    }

    /// A ban's captured groups go into its data from the matcher's bytes: every group
    /// that took part, by name, escaped, and never a second "matches" or "failures".
    @Test func groupsOfTheFailureAreWrittenAfterTheCount() throws {
        let filter = FilterDefinition(
            name: "t", failregex: [#"^user (?P<user>\S+) from <HOST>(?: port (?P<fport>\d+))?(?: (?P<failures>x))? "<F-NOTE>[^"]*</F-NOTE>"$"#])
        let matcher = try Matcher(filter: filter)
        let failure = try #require(matcher.process(#"user r"o\ot from 192.0.2.9 x "tab\#there ✓""#).first)
        let encoded = Self.encode(matches: ["m"], failures: 2, groupsOf: failure, matcher: matcher)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
        #expect(parsed["user"] as? String == #"r"o\ot"#)
        #expect(parsed["ip4"] as? String == "192.0.2.9")
        #expect(parsed["note"] as? String == "tab\there ✓")
        #expect(parsed["fport"] == nil)
        #expect(parsed["failures"] as? Int == 2)
        #expect(parsed["matches"] as? [String] == ["m"])
        // Name order, as fail2ban's sorted dict keys would give.
        let keys = failure.groups.keys.filter { $0 != "failures" }.sorted()
        let positions = keys.map { encoded.range(of: "\"\($0)\": ")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    /// Byte for byte the text of the encoder before: escapes, non-ASCII, empty lines and
    /// values, no lines, a captured "failures" and "matches", no failure at all.
    @Test func sameTextAsTheStringEncoder() throws {
        let filter = FilterDefinition(
            name: "t", failregex: [#"^u=(?P<user>[^ ]*) (?P<matches>m?) <HOST>(?: (?P<failures>f))? "<F-NOTE>[^"]*</F-NOTE>"$"#])
        let matcher = try Matcher(filter: filter)
        let lines = [#"u=r"o\ot\#u{7f}ü m 192.0.2.9 f "tab\#there ✓ \#u{1b}[0m""#, #"u=  192.0.2.10 """#]
        let matchSets = [[], [""], [#"a "quoted" \ line"#, "ctl \u{0}\u{1f}\n\r\t end", "日本語 ✓ é", String(repeating: "long ", count: 40)]]
        for line in lines {
            let failure = try #require(matcher.process(line).first)
            for matches in matchSets {
                for failures in [0, 3, 1234567] {
                    #expect(Self.encode(matches: matches, failures: failures, groupsOf: failure, matcher: matcher)
                            == Self.reference(matches: matches, failures: failures, groups: failure.groups))
                    #expect(Self.encode(matches: matches, failures: failures)
                            == Self.reference(matches: matches, failures: failures, groups: [:]))
                }
            }
        }
    }
}
