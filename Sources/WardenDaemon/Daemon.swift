#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WardenIPC
import WardenJail
import WardenStore

/// warden's daemon: the jails of a configuration directory wired from their logs to the
/// firewall, the control socket and the metrics endpoint.
///
/// `start()` brings everything up in dependency order (store, ban workers with the restore,
/// jails, control socket); `reload()` rebuilds the jails and workers from the re-read
/// configuration while the store, the socket and the kernel's bans stay (`reload(jail:)`
/// one jail only); `stop()` takes
/// everything down in reverse order. Signals are the caller's (see `SignalLoop`).
public final class Daemon: Sendable {
    public struct Options: Sendable {
        /// Run ban workers in this process; false when `warden worker` runs them.
        public var localWorkers = true
        public init() {}
    }

    public let settings: DaemonSettings
    public let metrics = DaemonMetrics()
    private let options: Options
    private let logger: Logger
    private let banNotices: BanNoticeLog
    private let store: BanStore
    private let running = Mutex<Running?>(nil)
    /// Serialises start, reload and stop (SIGHUP and `warden reload` may race).
    private let lifecycle = Mutex<Void>(())
    private let control = Mutex<ControlServer?>(nil)
    private let metricsServer = Mutex<MetricsServer?>(nil)
    private let startTime = wallClock()
    /// Called when a client asks the daemon to stop (the signal loop wakes up).
    private let onStopRequest: @Sendable () -> Void

    private struct Running: Sendable {
        var jails: [JailPipeline]
        var workers: BanWorkerService?
    }

    /// - Parameter banNotices: where the jails log `Ban <address>` (the logger's output, in chunks).
    public init(settings: DaemonSettings, options: Options = Options(), logger: Logger, banNotices: BanNoticeLog,
                onStopRequest: @escaping @Sendable () -> Void) throws {
        self.settings = settings
        self.options = options
        self.logger = logger
        self.banNotices = banNotices
        self.onStopRequest = onStopRequest
        try Self.makeDirectory(forFile: settings.databaseFile)
        store = try BanStore(path: settings.databaseFile)
    }

    /// Starts workers (restore), jails, the control socket and metrics.
    public func start() throws {
        try lifecycle.withLock { _ in
            let started = try startJails()
            running.withLock { $0 = started }
            let server = try ControlServer(path: settings.socketPath)
            try server.start { [self] request in handle(request) }
            control.withLock { $0 = server }
            if let port = settings.metricsPort {
                let exporter = try MetricsServer(port: port)
                try exporter.start { [metrics] in metrics.render() }
                metricsServer.withLock { $0 = exporter }
            }
            try writePidFile()
            logger.notice("warden started", metadata: [
                "config": "\(settings.configDirectory)", "jails": "\(started.jails.map(\.definition.name).joined(separator: ","))",
                "socket": "\(settings.socketPath)", "dbfile": "\(settings.databaseFile)"])
        }
    }

    /// `warden reload` (and SIGHUP): re-reads the configuration and restarts every jail
    /// and the workers. Bans stay in the kernel and the store, positions make the jails
    /// continue where they stopped; a jail no longer configured is stopped and its bans
    /// removed (store, kernel set, and its shell actions' `actionflush` or `actionunban`),
    /// as fail2ban-client's reload does.
    public func reload() throws {
        try lifecycle.withLock { _ in
            let configuration = try JailConfiguration.load(from: settings.configDirectory)
            let previous = running.withLock { running in defer { running = nil }; return running }
            let kept = Set(configuration.jails.map(\.name))
            let removed = (previous?.jails ?? []).map(\.definition).filter { !kept.contains($0.name) }
            previous?.workers?.liftShellActions(of: removed)
            if let previous { stopJails(previous) }
            try removeJails(removed, keeping: configuration.jails)
            let started = try startJails(configuration.jails)
            running.withLock { $0 = started }
            logger.notice("configuration reloaded", metadata: ["jails": "\(started.jails.map(\.definition.name).joined(separator: ","))"])
        }
    }

    /// `warden reload JAIL`: re-reads the configuration and restarts that jail only (and
    /// the ban workers, whose table carries every jail); the other jails keep running with
    /// their failure counts. A jail gone from the configuration is stopped and its bans
    /// removed; a jail new in it is started.
    public func reload(jail name: String) throws {
        try lifecycle.withLock { _ in
            let configuration = try JailConfiguration.load(from: settings.configDirectory)
            guard let previous = running.withLock({ $0 }) else { throw DaemonError.refused("warden is not running its jails") }
            let old = previous.jails.first { $0.definition.name == name }
            let replacement = configuration.jails.first { $0.name == name }
            guard old != nil || replacement != nil else { throw DaemonError.refused("NOK: ('\(name)',) — no such jail") }
            var others = previous.jails.filter { $0.definition.name != name }
            if replacement == nil, let old { previous.workers?.liftShellActions(of: [old.definition]) }
            previous.workers?.stop()
            old?.stop()
            if replacement == nil, let old { try removeJails([old.definition], keeping: others.map(\.definition)) }
            let workers = try startWorkers(others.map(\.definition) + (replacement.map { [$0] } ?? []))
            if let replacement {
                do {
                    others.append(try startJail(replacement))
                } catch {
                    logger.error("jail failed to start on reload", metadata: ["jail": "\(name)", "error": "\(error)"])
                    running.withLock { $0 = Running(jails: others, workers: workers) }
                    throw error
                }
            }
            running.withLock { $0 = Running(jails: others, workers: workers) }
            logger.notice("jail reloaded", metadata: ["jail": "\(name)", "configured": "\(replacement != nil)"])
        }
    }

    public func stop() {
        lifecycle.withLock { _ in
            control.withLock { $0?.stop(); $0 = nil }
            metricsServer.withLock { $0?.stop(); $0 = nil }
            if let previous = running.withLock({ running in defer { running = nil }; return running }) {
                stopJails(previous)
            }
            unlink(settings.pidFile)
            logger.notice("warden stopped")
        }
    }

    private func startJails(_ definitions: [JailDefinition]? = nil) throws -> Running {
        let definitions = try definitions ?? JailConfiguration.load(from: settings.configDirectory).jails
        _ = try? store.purge(age: settings.databasePurgeAge, now: wallClock())
        let workers = try startWorkers(definitions)
        var jails: [JailPipeline] = []
        do {
            for definition in definitions { jails.append(try startJail(definition)) }
        } catch {
            for jail in jails { jail.stop() }
            workers?.stop()
            throw error
        }
        return Running(jails: jails, workers: workers)
    }

    /// The in-process ban workers for these jails (restore included); nil with external workers.
    private func startWorkers(_ definitions: [JailDefinition]) throws -> BanWorkerService? {
        guard options.localWorkers else { return nil }
        let service = try BanWorkerService(jails: definitions, configDirectory: settings.configDirectory, store: store,
                                           metrics: metrics, logger: logger, readerName: "daemon")
        try service.start()
        return service
    }

    private func startJail(_ definition: JailDefinition) throws -> JailPipeline {
        let positions = Self.parentDirectory(of: settings.databaseFile) + "/positions"
        try Self.makeDirectory(forFile: positions + "/x")
        let jail = try JailPipeline(definition: definition, store: store, metrics: metrics,
                                    localWorkers: options.localWorkers, logger: logger, banNotices: banNotices)
        try jail.start(positionDirectory: positions)
        return jail
    }

    /// Jails removed from the configuration: their bans leave the store and, with
    /// in-process workers, their chain and sets leave the kernel (external workers drop
    /// them when they reload the configuration).
    private func removeJails(_ definitions: [JailDefinition], keeping: [JailDefinition]) throws {
        for definition in definitions {
            let removed = try store.remove(jail: definition.name)
            logger.notice("jail removed from the configuration; its bans are lifted", metadata: [
                "jail": "\(definition.name)", "bans": "\(removed)"])
        }
        if options.localWorkers, !definitions.isEmpty { try BanWorkerService.removeFirewall(of: definitions, keeping: keeping) }
    }

    private func stopJails(_ running: Running) {
        for jail in running.jails { jail.stop() }
        running.workers?.stop()
    }

    private func writePidFile() throws {
        try Self.makeDirectory(forFile: settings.pidFile)
        let text = "\(getpid())\n"
        let descriptor = open(settings.pidFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DaemonError.system(call: "open", path: settings.pidFile, errno: errno) }
        defer { close(descriptor) }
        _ = text.withCString { write(descriptor, $0, strlen($0)) }
    }

    // MARK: - Control commands

    private func handle(_ request: ControlRequest) -> ControlResponse {
        let words = request.command
        guard let command = words.first else { return .error("empty command") }
        let arguments = Array(words.dropFirst())
        do {
            switch command {
            case "ping":
                return ControlResponse(text: "Server replied: pong", json: (["reply": "pong"] as ControlJSON).text)
            case "status": return try status(jail: arguments.first)
            case "ban": return try ban(arguments)
            case "unban": return try unban(arguments)
            case "banned": return try banned(arguments)
            case "reload":
                if let name = arguments.first { try reload(jail: name) } else { try reload() }
                return ControlResponse(text: "OK", json: (["reply": "OK"] as ControlJSON).text)
            case "stop":
                onStopRequest()
                return ControlResponse(text: "Shutdown successful", json: (["reply": "Shutdown successful"] as ControlJSON).text)
            default:
                return .error("unknown command '\(command)'")
            }
        } catch {
            return .error("\(error)")
        }
    }

    private func jail(named name: String) throws -> JailPipeline {
        guard let found = running.withLock({ $0?.jails.first { $0.definition.name == name } }) else {
            throw DaemonError.refused("NOK: ('\(name)',) — no such jail")
        }
        return found
    }

    private func status(jail name: String?) throws -> ControlResponse {
        let jails = running.withLock { $0?.jails ?? [] }
        guard let name else {
            let names = jails.map(\.definition.name)
            let text = "Status\n|- Number of jail:\t\(names.count)\n`- Jail list:\t\(names.joined(separator: ", "))"
            return ControlResponse(text: text, json: (["jails": ControlJSON(names), "uptime": .number(wallClock() - startTime)] as ControlJSON).text)
        }
        let jail = try jail(named: name)
        let banned = try store.restoreBans(now: wallClock()).filter { $0.jail == name }.map(\.address)
        let metrics = jail.metrics
        let failed = metrics.currentlyFailed.load(ordering: .relaxed)
        let totalFailed = metrics.failures.load(ordering: .relaxed)
        let totalBanned = metrics.bans.load(ordering: .relaxed)
        let text = """
            Status for the jail: \(name)
            |- Filter
            |  |- Currently failed:\t\(failed)
            |  |- Total failed:\t\(totalFailed)
            |  `- File list:\t\(jail.files.joined(separator: " "))
            `- Actions
               |- Currently banned:\t\(banned.count)
               |- Total banned:\t\(totalBanned)
               `- Banned IP list:\t\(banned.joined(separator: " "))
            """
        let json: ControlJSON = [
            "jail": .string(name),
            "filter": ["currently_failed": .integer(failed), "total_failed": .integer(totalFailed), "file_list": ControlJSON(jail.files)],
            "actions": ["currently_banned": .integer(banned.count), "total_banned": .integer(totalBanned), "banned_ip_list": ControlJSON(banned)],
        ]
        return ControlResponse(text: text, json: json.text)
    }

    private func addresses(_ words: [String]) throws -> [NetworkAddress] {
        try words.map { word in
            guard let address = NetworkAddress(word) else { throw DaemonError.refused("'\(word)' is not an IP address or network") }
            return address
        }
    }

    private func ban(_ arguments: [String]) throws -> ControlResponse {
        guard arguments.count >= 2 else { return .error("usage: ban JAIL ADDR...") }
        let jail = try jail(named: arguments[0])
        let targets = try addresses(Array(arguments.dropFirst()))
        let current = Set(try store.restoreBans(now: wallClock()).filter { $0.jail == arguments[0] }.map(\.address))
        let fresh = targets.filter { !current.contains($0.description) }
        _ = try jail.ban(targets)
        return ControlResponse(text: "\(fresh.count)", json: (["jail": .string(arguments[0]), "banned": .integer(fresh.count)] as ControlJSON).text)
    }

    private func unban(_ arguments: [String]) throws -> ControlResponse {
        if arguments.first == "--all" {
            let jails = running.withLock { $0?.jails ?? [] }
            let selected = arguments.count > 1 ? try [jail(named: arguments[1])] : jails
            let removed = try selected.reduce(0) { $0 + (try $1.unban(nil)) }
            return ControlResponse(text: "\(removed)", json: (["unbanned": .integer(removed)] as ControlJSON).text)
        }
        guard arguments.count >= 2 else { return .error("usage: unban JAIL ADDR... | unban --all [JAIL]") }
        let jail = try jail(named: arguments[0])
        let removed = try jail.unban(try addresses(Array(arguments.dropFirst())))
        return ControlResponse(text: "\(removed)", json: (["jail": .string(arguments[0]), "unbanned": .integer(removed)] as ControlJSON).text)
    }

    private func banned(_ arguments: [String]) throws -> ControlResponse {
        let bans = try store.restoreBans(now: wallClock())
        if let address = arguments.first {
            let jails = bans.filter { $0.address == address }.map(\.jail)
            return ControlResponse(text: "[" + jails.map { "'\($0)'" }.joined(separator: ", ") + "]",
                                   json: (["address": .string(address), "jails": ControlJSON(jails)] as ControlJSON).text)
        }
        var byJail: [(String, [String])] = []
        for ban in bans {
            if let index = byJail.firstIndex(where: { $0.0 == ban.jail }) { byJail[index].1.append(ban.address) } else { byJail.append((ban.jail, [ban.address])) }
        }
        let text = "[" + byJail.map { jail, addresses in
            "{'\(jail)': [" + addresses.map { "'\($0)'" }.joined(separator: ", ") + "]}"
        }.joined(separator: ", ") + "]"
        let json = ControlJSON.array(byJail.map { jail, addresses in [jail: ControlJSON(addresses)] }).text
        return ControlResponse(text: text, json: json)
    }

    // MARK: - Files

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func makeDirectory(forFile path: String) throws {
        var components = ""
        for part in parentDirectory(of: path).split(separator: "/") {
            components += "/" + part
            if mkdir(components, 0o755) != 0 && errno != EEXIST {
                throw DaemonError.system(call: "mkdir", path: components, errno: errno)
            }
        }
    }
}
