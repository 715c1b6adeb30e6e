#if canImport(Glibc)
import Glibc
#endif
import Logging
import WardenConfig
import WardenJail

/// The daemon's own settings: fail2ban's `[Definition]` keys of `fail2ban.conf`/`.local`
/// (`socket`, `pidfile`, `dbfile`, `dbpurgeage`, `logtarget`, `loglevel`), or of
/// `warden.conf`/`.local` when the directory has one, plus warden's `metricsport`.
public struct DaemonSettings: Sendable, Equatable {
    public var configDirectory: String
    public var socketPath: String
    public var pidFile: String
    /// warden's own SQLite store (never fail2ban's database file; see `load`).
    public var databaseFile: String
    public var databasePurgeAge: Double
    public var logTarget: String
    public var logLevel: Logger.Level
    /// TCP port for Prometheus metrics on 127.0.0.1; nil disables the endpoint.
    public var metricsPort: UInt16?

    public static let defaultSocket = "/run/warden/warden.sock"
    public static let defaultPidFile = "/run/warden/warden.pid"
    public static let defaultDatabase = "/var/lib/warden/warden.sqlite3"

    /// Reads `<directory>/warden.conf` (with `.local`, `.d`) when it exists, else
    /// `fail2ban.conf`; with neither, the defaults.
    ///
    /// fail2ban's `dbfile` names a database in fail2ban's own schema, which warden must not
    /// write into (fail2ban could run again from the same directory). warden keeps its store
    /// as `warden.sqlite3` in the same folder; `warden.conf` can name any file.
    public static func load(configDirectory directory: String) throws -> DaemonSettings {
        var settings = DaemonSettings(
            configDirectory: directory, socketPath: defaultSocket, pidFile: defaultPidFile,
            databaseFile: defaultDatabase, databasePurgeAge: 86400, logTarget: "STDERR", logLevel: .info,
            metricsPort: nil)
        let ownFile = access(directory + "/warden.conf", F_OK) == 0 || access(directory + "/warden.local", F_OK) == 0
        let fail2banFile = access(directory + "/fail2ban.conf", F_OK) == 0 || access(directory + "/fail2ban.local", F_OK) == 0
        guard ownFile || fail2banFile else { return settings }
        let set = try ConfigSet.load(name: ownFile ? "warden" : "fail2ban", in: directory)
        func value(_ key: String) throws -> String? {
            try set.value(section: "Definition", key: key).map(trimmed).flatMap { $0.isEmpty ? nil : $0 }
        }
        if let socket = try value("socket") { settings.socketPath = socket }
        if let pid = try value("pidfile") { settings.pidFile = pid }
        if let database = try value("dbfile") {
            if ownFile {
                settings.databaseFile = database
            } else if database.lowercased() != ":memory:" {
                settings.databaseFile = parentDirectory(of: database) + "/warden.sqlite3"
            }
        }
        if let age = try value("dbpurgeage") {
            do {
                settings.databasePurgeAge = try TimeString.seconds(age)
            } catch {
                throw ConfigError(file: set.files.last, "dbpurgeage = \(age): \(error)")
            }
        }
        if let target = try value("logtarget") { settings.logTarget = target }
        if let level = try value("loglevel") {
            guard let parsed = logLevel(fail2banName: level) else {
                throw ConfigError(file: set.files.last, "loglevel = \(level) is not one of CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, TRACEDEBUG, HEAVYDEBUG")
            }
            settings.logLevel = parsed
        }
        if let port = try value("metricsport") {
            guard let number = UInt16(port), number > 0 else {
                throw ConfigError(file: set.files.last, "metricsport = \(port) is not a TCP port")
            }
            settings.metricsPort = number
        }
        return settings
    }

    /// fail2ban's level names (and numbers) mapped onto swift-log's levels.
    static func logLevel(fail2banName name: String) -> Logger.Level? {
        switch name.uppercased() {
        case "CRITICAL", "50": return .critical
        case "ERROR", "40": return .error
        case "WARNING", "WARN", "30": return .warning
        case "NOTICE", "25": return .notice
        case "INFO", "20": return .info
        case "DEBUG", "10": return .debug
        case "TRACEDEBUG", "HEAVYDEBUG", "7", "5": return .trace
        default: return nil
        }
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
