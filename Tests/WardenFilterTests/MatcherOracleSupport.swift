import Foundation
import Testing
import WardenConfig
@testable import WardenFilter

/// Runs fail2ban 1.0.2's own Filter (python3) on a hand-made filter and lines, with the
/// settings of its sample runner (raw hosts, time checks off), and reports what it found
/// per line: the oracle the matcher tests compare against.
enum Fail2banFilterOracle {
    struct Found: Equatable, CustomStringConvertible {
        var regex: Int
        var id: String?
        var attempts: Int
        var noFail: Bool
        var users: [String]?
        var user: String?
        var description: String { "#\(regex) \(id ?? "pending") x\(attempts)\(noFail ? " nofail" : "") users=\(users ?? []) user=\(user ?? "-")" }
    }

    private static let script = #"""
import sys, json
sys.path.insert(0, '/usr/lib/python3/dist-packages')
from fail2ban.server.filter import Filter
from fail2ban.server.failregex import Regex, RegexException
from fail2ban.server.mytime import MyTime
spec = json.load(sys.stdin)
if spec.get('expand') is not None:
    print(json.dumps([Regex._resolveHostTag(r, useDns=spec.get('usedns', 'warn')) for r in spec['expand']]))
    sys.exit(0)
MyTime.setTime(spec['now'])
f = Filter(None)
f.returnRawHost = True
f.checkAllRegex = spec['checkAll']
f.checkFindTime = False
f.setMaxLines(spec['maxlines'])
if spec.get('prefregex'): f.prefRegex = spec['prefregex']
for r in spec['failregex']: f.addFailRegex(r)
for r in spec['ignoreregex']: f.addIgnoreRegex(r)
f.setDatePattern(spec.get('datepattern') or '{NONE}')
out = []
for line in spec['lines']:
    res = []
    for (idx, fid, t, fail) in f.processLine(line):
        users = fail.get('users')
        res.append({'regex': idx, 'id': None if fid is None else str(fid), 'attempts': len(fail.get('matches', [])),
                    'nofail': bool(fail.get('nofail')), 'users': sorted(users) if users is not None else None,
                    'user': fail.get('user')})
    out.append(res)
print(json.dumps(out))
"""#

    static func python(_ input: [String: Any]) throws -> Any {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "fail2ban oracle failed; is the fail2ban package installed?")
        return try JSONSerialization.jsonObject(with: data)
    }

    /// fail2ban's expansion of regex tags.
    static func expand(_ regexes: [String], usedns: String = "warn") throws -> [String] {
        try #require(try python(["expand": regexes, "usedns": usedns]) as? [String])
    }

    static func run(_ filter: FilterDefinition, lines: [String], checkAll: Bool, now: Double) throws -> [[Found]] {
        let output = try python([
            "now": now, "checkAll": checkAll, "maxlines": filter.maxlines,
            "prefregex": filter.prefregex ?? "", "failregex": filter.failregex, "ignoreregex": filter.ignoreregex,
            "datepattern": filter.datepattern ?? "", "lines": lines,
        ])
        let perLine = try #require(output as? [[[String: Any]]])
        return perLine.map { results in
            results.map { result in
                Found(regex: result["regex"] as? Int ?? -1, id: result["id"] as? String,
                      attempts: result["attempts"] as? Int ?? -1, noFail: result["nofail"] as? Bool ?? false,
                      users: result["users"] as? [String], user: result["user"] as? String)
            }
        }
    }

    /// The matcher's results in the oracle's shape, with the same settings.
    static func matcher(_ filter: FilterDefinition, lines: [String], checkAll: Bool, now: Double) throws -> [[Found]] {
        var options = MatcherOptions()
        options.returnRawHost = true
        options.checkAllRegex = checkAll
        options.checkFindTime = false
        let matcher = try Matcher(filter: filter, options: options, now: { now })
        return lines.map { line in
            matcher.process(line).map { failure in
                Found(regex: failure.regexIndex, id: failure.id?.text, attempts: failure.attempts,
                      noFail: failure.isNoFail, users: failure.users, user: failure.groups["user"])
            }
        }
    }

    /// Asserts the matcher and fail2ban agree on every line.
    static func expectAgreement(_ filter: FilterDefinition, lines: [String], checkAll: Bool = false,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let now = 1_124_013_600.0
        let expected = try run(filter, lines: lines, checkAll: checkAll, now: now)
        let actual = try matcher(filter, lines: lines, checkAll: checkAll, now: now)
        #expect(expected.count == lines.count, sourceLocation: sourceLocation)
        for (index, line) in lines.enumerated() where index < expected.count {
            #expect(actual[index] == expected[index], "line \(index): \(line)", sourceLocation: sourceLocation)
        }
    }
}
