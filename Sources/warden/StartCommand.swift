import ArgumentParser
import Logging
import WardenDaemon
#if canImport(Glibc)
import Glibc
#endif

/// `--config DIR`, `--socket PATH`: how the daemon and its clients find each other.
struct DaemonLocation: ParsableArguments {
    @Option(name: .long, help: "Configuration directory: fail2ban's (/etc/fail2ban) or warden's own.")
    var config: String?

    @Option(name: .long, help: "Control socket (default: `socket` of DIR/warden.conf or fail2ban.conf, else /run/warden/warden.sock).")
    var socket: String?

    func settings() throws -> DaemonSettings {
        var settings = try DaemonSettings.load(configDirectory: ConfigDirectory.resolve(config))
        if let socket { settings.socketPath = socket }
        return settings
    }
}

/// `warden start`: runs the daemon.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the warden daemon on a fail2ban (or warden) configuration directory.",
        discussion: """
            Without --foreground warden detaches (a new session, output to the log target) \
            and returns once the daemon answers ping. SIGTERM/SIGINT stop it gracefully, \
            SIGHUP reloads the configuration.
            """
    )

    @OptionGroup var location: DaemonLocation

    @Flag(name: .long, help: "Stay in the foreground (for systemd and tests).")
    var foreground = false

    @Option(name: .long, help: "Store file (overrides dbfile).")
    var dbfile: String?

    @Option(name: .long, help: "PID file (overrides pidfile).")
    var pidfile: String?

    @Option(name: .long, help: "Log target: STDOUT, STDERR or a file (overrides logtarget).")
    var logtarget: String?

    @Option(name: .long, help: "Serve Prometheus metrics on 127.0.0.1:PORT (overrides metricsport).")
    var metricsPort: UInt16?

    @Flag(name: .long, help: "Run no ban workers here: `warden worker` processes apply the bans.")
    var externalWorkers = false

    func run() throws {
        var settings = try location.settings()
        if let dbfile { settings.databaseFile = dbfile }
        if let pidfile { settings.pidFile = pidfile }
        if let logtarget { settings.logTarget = logtarget }
        if let metricsPort { settings.metricsPort = metricsPort }
        guard foreground else { return try detach(settings) }

        SignalLoop.block()
        let output = try LogOutput(target: settings.logTarget)
        let level = settings.logLevel
        let logger = Logger(label: "warden") { label in DaemonLogHandler(label: label, output: output, level: level) }
        var options = Daemon.Options()
        options.localWorkers = !externalWorkers
        let daemon: Daemon
        do {
            daemon = try Daemon(settings: settings, options: options, logger: logger,
                                banNotices: BanNoticeLog(label: "warden", output: output, level: level)) { SignalLoop.requestStop() }
            try daemon.start()
        } catch {
            logger.critical("warden failed to start", metadata: ["error": "\(error)"])
            throw ExitCode(255)
        }
        while true {
            switch SignalLoop.wait() {
            case .stop:
                daemon.stop()
                return
            case .reload:
                do { try daemon.reload() } catch {
                    logger.error("reload failed; jails stay stopped until the next reload", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Re-executes `warden start --foreground ...` in a new session with stdio on
    /// /dev/null, then waits until the new daemon answers ping (or exits).
    private func detach(_ settings: DaemonSettings) throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        arguments.append("--foreground")
        if logtarget == nil, ["STDOUT", "STDERR"].contains(settings.logTarget.uppercased()) {
            arguments += ["--logtarget", "/var/log/warden.log"]
        }
        let child = try DetachedProcess.spawn(arguments)
        for _ in 0..<200 {
            if (try? ControlClient.send(ControlRequest(command: ["ping"]), to: settings.socketPath)) != nil {
                print("Server ready")
                return
            }
            if let status = child.exitStatus() {
                throw ValidationError("warden exited during start-up with status \(status); see its log")
            }
            usleep(50_000)
        }
        throw ValidationError("warden did not answer on \(settings.socketPath) within 10 s")
    }
}

/// A child process in its own session with stdio on /dev/null.
struct DetachedProcess {
    let pid: pid_t

    static func spawn(_ arguments: [String]) throws -> DetachedProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc 2.26+) sits behind _GNU_SOURCE, so Swift does not see it.
        posix_spawnattr_setflags(&attributes, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = (["/proc/self/exe"] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, environ)
        guard result == 0 else { throw ValidationError("posix_spawn: \(String(cString: strerror(result)))") }
        return DetachedProcess(pid: pid)
    }

    /// The exit status if the child has ended (non-blocking).
    func exitStatus() -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return (status >> 8) & 0xFF
    }
}
