import Foundation
import Testing
@testable import WardenDaemon

/// The `--json` answers of the control socket are read by scripts: they must parse as JSON
/// with the values the daemon put in, and keep a stable (sorted) key order.
@Suite struct ControlJSONTests {
    @Test func nestedAnswerParsesBackToTheSameValues() throws {
        let answer: ControlJSON = [
            "jail": "ssh\"d\\\n",
            "filter": ["currently_failed": 2, "file_list": ControlJSON(["/var/log/auth.log", "übel ✓"])],
            "uptime": .number(12.5),
            "empty": [],
        ]
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any])
        #expect(parsed["jail"] as? String == "ssh\"d\\\n")
        let filter = try #require(parsed["filter"] as? [String: Any])
        #expect(filter["currently_failed"] as? Int == 2)
        #expect(filter["file_list"] as? [String] == ["/var/log/auth.log", "übel ✓"])
        #expect(parsed["uptime"] as? Double == 12.5)
        #expect((parsed["empty"] as? [Any])?.isEmpty == true)
    }

    @Test func keysAreSortedAndOutputIsCompact() {
        let answer: ControlJSON = ["unbanned": 3, "jail": "sshd", "address": .array([])]
        #expect(answer.text == #"{"address":[],"jail":"sshd","unbanned":3}"#)
        #expect(ControlJSON.number(.infinity).text == "null")
    }
}
