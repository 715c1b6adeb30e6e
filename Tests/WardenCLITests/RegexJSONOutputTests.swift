import Foundation
import Testing

/// `warden regex --json` writes each failure's object from pre-escaped keys and raw group
/// bytes; its text must stay exactly fail2ban-regex's: key order (line, id, time, regex,
/// groups by name, users), escapes in group values, integral and fractional times, a
/// connection's users sorted, and no `users` for a failure outside a connection's users.
@Suite struct RegexJSONOutputTests {
    static let filter = #"""
        [Definition]
        prefregex = ^\s*<F-MLFID>conn \d+:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$
        failregex = ^fail from <HOST>(?: user (?P<user>\S+))?(?: note <F-NOTE>.*</F-NOTE>)?$
        datepattern = ^EPOCH

        """#

    static let log: [UInt8] = Array((
        "1700000000 conn 1: fail from 192.0.2.1 user alice\n"
        + "1700000001.250 conn 1: fail from 192.0.2.1 user bob note say \"hi\"\\there\tnow\n"
        + "# comment\n"
        + "1700000002 conn 2: fail from 198.51.100.7\n"
        + "1700000003 conn 3: nothing here\n"
        + "1700000004 conn 4: fail from 2001:db8::1 user été note \u{1}\n"
    ).utf8)

    static let expected = [
        #"{"line": 1, "id": "192.0.2.1", "time": 1700000000.0, "regex": 0, "ip4": "192.0.2.1", "mlfid": "conn 1:", "user": "alice", "users": ["alice"]}"#,
        #"{"line": 2, "id": "192.0.2.1", "time": 1700000001.25, "regex": 0, "ip4": "192.0.2.1", "mlfid": "conn 1:", "note": "say \"hi\"\\there\tnow", "user": "bob", "users": ["alice", "bob"]}"#,
        #"{"line": 4, "id": "198.51.100.7", "time": 1700000002.0, "regex": 0, "ip4": "198.51.100.7", "mlfid": "conn 2:"}"#,
        #"{"line": 6, "id": "2001:db8::1", "time": 1700000004.0, "regex": 0, "ip6": "2001:db8::1", "mlfid": "conn 4:", "note": "\u0001", "user": "été", "users": ["été"]}"#,
    ]

    /// Writes `filter` and `log` into `work`; their paths.
    static func writeInputs(_ log: [UInt8], in work: URL) throws -> (filter: String, log: String) {
        let filterPath = work.appendingPathComponent("test.conf").path
        let logPath = work.appendingPathComponent("test.log").path
        try filter.write(toFile: filterPath, atomically: true, encoding: .utf8)
        try Data(log).write(to: URL(fileURLWithPath: logPath))
        return (filterPath, logPath)
    }

    /// The output lines of `warden regex --json --raw` on `log` with `filter`.
    static func regexJSONLines(_ log: [UInt8], label: String) throws -> [Substring] {
        let warden = try UnseenLogDifferentialTests.wardenBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("warden-json-\(label)-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let (filterPath, logPath) = try writeInputs(log, in: work)

        let run = try ChildProcess.run([warden, "regex", "--json", "--raw", logPath, filterPath], scratch: work.appendingPathComponent("run"))
        #expect(run.status == 0, "\(run.standardError)")
        return String(decoding: run.standardOutput, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    @Test func failureObjectsAreExactlyFail2banRegexRows() throws {
        let lines = try Self.regexJSONLines(Self.log, label: "rows")
        #expect(Array(lines.prefix(Self.expected.count)) == Self.expected.map { Substring($0) })
        #expect(lines.dropFirst(Self.expected.count).first?.hasPrefix(#"{"summary": "#) == true)
    }

    /// The writer checks room once per run of tokens, against a bound: objects whose
    /// values take more room than is left (the buffer writes out what it holds), or more
    /// than the whole buffer (it grows), must come out whole and in order.
    @Test func objectsLongerThanTheBufferComeOutWhole() throws {
        var log = "", expected: [String] = []
        for number in 1...60 {
            // Every third note is escaped to more than the buffer holds (6 bytes of room
            // per byte); the others fill it within a few objects.
            let note = String(repeating: number % 3 == 0 ? "q\"" : "n", count: number % 3 == 0 ? 12_000 : 3_000 + number)
            let escaped = note.replacingOccurrences(of: "\"", with: "\\\"")
            log += "\(1_700_000_000 + number) conn \(number): fail from 192.0.2.\(number) note \(note)\n"
            expected.append(#"{"line": \#(number), "id": "192.0.2.\#(number)", "time": \#(1_700_000_000 + number).0, "regex": 0, "ip4": "192.0.2.\#(number)", "mlfid": "conn \#(number):", "note": "\#(escaped)"}"#)
        }
        let lines = try Self.regexJSONLines(Array(log.utf8), label: "long")
        #expect(lines.count == expected.count + 2)
        for (line, want) in zip(lines, expected) where line != want {
            Issue.record("object differs: \(line.prefix(120))... (\(line.count) bytes, \(want.count) expected)")
        }
        #expect(lines.dropFirst(expected.count).first?.hasPrefix(#"{"summary": "#) == true)
    }
}
