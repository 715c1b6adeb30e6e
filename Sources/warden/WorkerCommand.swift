import ArgumentParser
import Logging
import WardenDaemon
import WardenJail
import WardenStore

/// `warden worker`: ban workers as their own process, reading the jails' decision
/// channels, so the daemon that parses logs can run without CAP_NET_ADMIN.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run ban workers in this process: read decisions from the jails' channels and apply them with nftables.",
        discussion: """
            Start it before (or alongside) `warden start --external-workers`. The jails' \
            `ipc` must be file, shm or socket (memory channels do not cross processes). \
            At start the store's unexpired bans are restored in one batch.
            """
    )

    @OptionGroup var location: DaemonLocation

    @Option(name: .long, help: "Only this jail (repeatable); default: every enabled jail.")
    var jail: [String] = []

    @Option(name: .long, help: "Reader name on the channels (one per worker process).")
    var name = "worker"

    func run() throws {
        SignalLoop.block()
        let settings = try location.settings()
        let output = try LogOutput(target: settings.logTarget)
        let level = settings.logLevel
        let logger = Logger(label: "warden.worker") { label in DaemonLogHandler(label: label, output: output, level: level) }
        var jails = try JailConfiguration.load(from: settings.configDirectory).jails
        if !jail.isEmpty {
            let unknown = Set(jail).subtracting(jails.map(\.name))
            guard unknown.isEmpty else { throw ValidationError("no enabled jail named \(unknown.sorted().joined(separator: ", "))") }
            jails = jails.filter { jail.contains($0.name) }
        }
        if let memory = jails.first(where: { $0.channel.adapter == .memory }) {
            throw ValidationError("jail \(memory.name) uses ipc = memory, which only works inside the daemon")
        }
        let store = try BanStore(path: settings.databaseFile)
        let service = try BanWorkerService(jails: jails, configDirectory: settings.configDirectory, store: store, metrics: DaemonMetrics(), logger: logger, readerName: name)
        try service.start()
        logger.notice("ban worker started", metadata: ["jails": "\(jails.map(\.name).joined(separator: ","))"])
        while SignalLoop.wait() != .stop {}
        service.stop()
        logger.notice("ban worker stopped")
    }
}
