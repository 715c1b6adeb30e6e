import ArgumentParser

@main
struct Warden: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "A fail2ban-compatible intrusion prevention engine.",
        subcommands: [RegexCommand.self, TestSamplesCommand.self, IpcBenchCommand.self, IpcBenchWorkerCommand.self, TailCommand.self, FirewallBenchCommand.self, StartCommand.self, WorkerCommand.self, PingCommand.self, StatusCommand.self, BanCommand.self, UnbanCommand.self, BannedCommand.self, ReloadCommand.self, StopCommand.self, ImportFail2banCommand.self]
    )
}
