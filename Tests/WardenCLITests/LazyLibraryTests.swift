import Foundation
import Testing

/// The `warden` binary does not link libnftables or libsqlite3 (it opens them when the
/// firewall or the store first needs them), so that `warden regex` and the client commands
/// start without mapping them (docs/footprint.md). With both libraries made unloadable in
/// a private mount namespace, `warden regex` must still run, and the store and firewall
/// commands must fail with the loader's reason instead of the binary not starting.
@Suite struct LazyLibraryTests {
    /// Where the dynamic loader finds `soname` (`ldconfig -p`).
    static func libraryPath(_ soname: String, scratch: URL) throws -> String {
        let listing = try ChildProcess.run(["/sbin/ldconfig", "-p"], scratch: scratch)
        let line = String(decoding: listing.standardOutput, as: UTF8.self).split(separator: "\n")
            .first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(soname + " ") }
        return try #require(line?.components(separatedBy: " => ").last, "\(soname) is not in the loader's cache")
    }

    /// Runs `command` with /dev/null mounted over both libraries, in a mount namespace of
    /// its own so the host keeps them.
    static func runWithoutLibraries(_ command: [String], scratch: URL) throws -> ChildProcess {
        let hidden = try ["libnftables.so.1", "libsqlite3.so.0"].map { try libraryPath($0, scratch: scratch) }
        let script = hidden.map { "mount --bind /dev/null \($0) && " }.joined() + #"exec "$@""#
        return try ChildProcess.run(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh"] + command,
                                    scratch: scratch)
    }

    @Test(.enabled(if: getuid() == 0)) func regexRunsAndStoreAndFirewallExplainWithoutTheLibrariesRequiresRoot() throws {
        let warden = try UnseenLogDifferentialTests.wardenBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("warden-lazy-libraries-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let (filter, log) = try RegexJSONOutputTests.writeInputs(RegexJSONOutputTests.log, in: work)
        let scratch = work.appendingPathComponent("run")

        let regex = try Self.runWithoutLibraries([warden, "regex", "--json", "--raw", log, filter], scratch: scratch)
        #expect(regex.status == 0, "\(regex.standardError)")
        let lines = String(decoding: regex.standardOutput, as: UTF8.self).split(separator: "\n")
        #expect(lines.prefix(RegexJSONOutputTests.expected.count).map(String.init) == RegexJSONOutputTests.expected)

        let store = try Self.runWithoutLibraries(
            [warden, "import-fail2ban", "--config", work.path, "--dbfile", work.appendingPathComponent("warden.sqlite3").path,
             work.appendingPathComponent("fail2ban.sqlite3").path],
            scratch: scratch)
        #expect(store.status != 0)
        #expect(store.standardError.contains("cannot load libsqlite3: "), "\(store.standardError)")

        let firewall = try Self.runWithoutLibraries([warden, "firewall-bench", "--addresses", "10", "--runs", "1"], scratch: scratch)
        #expect(firewall.status != 0)
        #expect(firewall.standardError.contains("cannot load libnftables: "), "\(firewall.standardError)")
    }
}
