import Foundation
import Testing
@testable import WardenDaemon
import WardenConfig
import WardenFilter

/// The store's `data` column is read back as JSON (by warden and by fail2ban's tools):
/// lines with quotes, backslashes, control characters and non-ASCII text round-trip.
@Suite struct BanDataJSONTests {
    @Test func encodedMatchesParseBackToTheSameLines() throws {
        let matches = [#"sshd[1]: Failed password for "ro\ot" from 192.0.2.1"#, "tab\there\u{1}\r", "übel ✓", ""]
        let encoded = BanDataJSON.encode(matches: matches, failures: 7)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
        #expect(parsed["matches"] as? [String] == matches)
        #expect(parsed["failures"] as? Int == 7)
        #expect(BanDataJSON.encode(matches: [], failures: 3) == #"{"matches": [], "failures": 3}"#)
    }

    /// A ban's captured groups go into its data from the matcher's bytes: every group
    /// that took part, by name, escaped, and never a second "matches" or "failures".
    @Test func groupsOfTheFailureAreWrittenAfterTheCount() throws {
        let filter = FilterDefinition(
            name: "t", failregex: [#"^user (?P<user>\S+) from <HOST>(?: port (?P<fport>\d+))?(?: (?P<failures>x))? "<F-NOTE>[^"]*</F-NOTE>"$"#])
        let matcher = try Matcher(filter: filter)
        let failure = try #require(matcher.process(#"user r"o\ot from 192.0.2.9 x "tab\#there ✓""#).first)
        let encoded = BanDataJSON.encode(matches: ["m"], failures: 2, groupsOf: failure)
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
}
