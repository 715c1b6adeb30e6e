import ArgumentParser
import WardenDaemon
import WardenStore

/// `warden import-fail2ban`: copies fail2ban's ban history, current bans and log
/// positions into the store `warden start` would open, so a host switching from
/// fail2ban keeps its bans (restored into the kernel at the next start).
struct ImportFail2banCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-fail2ban",
        abstract: "Import a fail2ban database (fail2ban.sqlite3, schema 4) into warden's store.",
        discussion: """
            The store is the one `warden start` would use with the same --config and \
            --dbfile: dbfile of warden.conf, or warden.sqlite3 beside fail2ban.conf's dbfile. \
            FAIL2BAN_DB is opened read-only.
            """
    )

    @OptionGroup var location: DaemonLocation

    @Option(name: .long, help: "Store file (overrides dbfile, as for `warden start`).")
    var dbfile: String?

    @Option(name: .long, help: "Ban time in seconds for rows fail2ban marked -2 (\"the jail's bantime\").")
    var defaultBantime: Int64 = 600

    @Argument(help: "fail2ban's database, e.g. /var/lib/fail2ban/fail2ban.sqlite3.")
    var fail2banDatabase: String

    func run() throws {
        var settings = try location.settings()
        if let dbfile { settings.databaseFile = dbfile }
        guard settings.databaseFile != fail2banDatabase else {
            throw ValidationError("the store and FAIL2BAN_DB are the same file (\(fail2banDatabase)); warden does not write into fail2ban's database")
        }
        let store = try BanStore(path: settings.databaseFile)
        let summary = try store.importFail2banDatabase(path: fail2banDatabase, defaultBanTime: defaultBantime)
        print("Imported \(fail2banDatabase) into \(settings.databaseFile): "
              + "\(summary.history) bans of history, \(summary.current) current bans, \(summary.positions) log positions")
    }
}
