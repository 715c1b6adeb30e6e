import Foundation
import Testing
import WardenJail
import WardenSource
@testable import WardenDaemon

/// Which reader a jail gets from its `backend` and `logpath` (no root, no daemon).
@Suite struct JailLogSourceTests {
    /// Loads a one-jail configuration with the given `backend` and `logpath` lines.
    private func source(backend: String, logpath: String, journalAvailable: Bool = true) throws -> JailLogSource {
        let directory = NSTemporaryDirectory() + "warden-source-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/filter.d", withIntermediateDirectories: true)
        try "[Definition]\nfailregex = from <HOST>$\njournalmatch = _COMM=demo\n"
            .write(toFile: directory + "/filter.d/demo.conf", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory + "/exists.log", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/a.journal", contents: nil)
        let jail = "[demo]\nenabled = true\nfilter = demo\nbackend = \(backend)\nlogpath = \(logpath)\n"
        try jail.replacingOccurrences(of: "DIR", with: directory).write(toFile: directory + "/jail.conf", atomically: true, encoding: .utf8)
        let definition = try #require(try JailConfiguration.load(from: directory).jails.first)
        let source = try JailLogSource(definition: definition, journalAvailable: journalAvailable)
        if case .journal(.files(let files)) = source {
            // Paths are the temporary directory's; report them relative to it.
            return .journal(.files(files.map { $0.replacingOccurrences(of: directory, with: "DIR") }))
        }
        return source
    }

    @Test func autoReadsTheJournalOnlyWhenNoLogFileExistsAndAJournalDoes() throws {
        #expect(try source(backend: "auto", logpath: "DIR/missing.log") == .journal(.system))
        #expect(try source(backend: "auto", logpath: "DIR/missing.log", journalAvailable: false) == .files(.auto))
        #expect(try source(backend: "auto", logpath: "DIR/exists.log") == .files(.auto))
        #expect(try source(backend: "polling", logpath: "DIR/missing.log") == .files(.polling))
    }

    @Test func systemdOptionsSelectTheJournalFiles() throws {
        #expect(try source(backend: "systemd", logpath: "DIR/exists.log") == .journal(.system))
        #expect(try source(backend: "systemd[journalpath=/var/log/other]", logpath: "") == .journal(.directory("/var/log/other")))
        #expect(try source(backend: "systemd[journalfiles=\"DIR/*.journal DIR/none.journal\"]", logpath: "") == .journal(.files(["DIR/a.journal"])))
    }

    @Test func unknownBackendsAndMissingJournalFilesAreConfigurationErrors() throws {
        #expect(throws: DaemonError.self) { try source(backend: "gamin2", logpath: "DIR/exists.log") }
        #expect(throws: DaemonError.self) { try source(backend: "systemd[journalfiles=DIR/none.journal]", logpath: "") }
    }
}
