import Foundation
import Testing
@testable import WardenSource

@Suite("LogSourceSelection")
struct LogSourceSelectionTests {
    @Test func autoFallsBackToTheJournalOnlyWhenNoLogFileExists() throws {
        let directory = TemporaryDirectory()
        let missing = directory.file("auth.log")
        #expect(LogSourceSelection.select(backend: "auto", paths: [missing], journalAvailable: true) == .journal)
        #expect(LogSourceSelection.select(backend: "auto", paths: [missing], journalAvailable: false) == .files(.auto))
        _ = FileManager.default.createFile(atPath: directory.file("secure"), contents: Data())
        #expect(LogSourceSelection.select(backend: "auto", paths: [missing, directory.file("sec*")], journalAvailable: true) == .files(.auto))
    }

    @Test func explicitBackendsAreKept() {
        #expect(LogSourceSelection.select(backend: "systemd", paths: [], journalAvailable: false) == .journal)
        #expect(LogSourceSelection.select(backend: "pyinotify", paths: ["/nonexistent/x.log"], journalAvailable: true) == .files(.inotify))
        #expect(LogSourceSelection.select(backend: "polling", paths: ["/nonexistent/x.log"], journalAvailable: true) == .files(.polling))
        #expect(LogSourceSelection.select(backend: "gamin2", paths: [], journalAvailable: true) == nil)
    }
}
