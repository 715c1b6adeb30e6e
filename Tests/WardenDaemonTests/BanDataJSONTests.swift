import Foundation
import Testing
@testable import WardenDaemon

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
}
