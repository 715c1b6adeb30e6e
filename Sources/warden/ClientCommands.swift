import ArgumentParser
import WardenDaemon
#if canImport(Glibc)
import Glibc
#endif

// The control-socket clients. Each sends one request to the daemon found through
// `--config DIR` (the same resolution as `warden start`) or `--socket`, prints the answer
// as fail2ban-client would (or the JSON document with --json) and exits with the
// daemon's status (0, or 255 for an error as fail2ban-client).

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @OptionGroup var location: DaemonLocation

    @Flag(name: .long, help: "Print the answer as JSON.")
    var json = false

    func send(_ command: [String]) throws {
        let path = try location.settings().socketPath
        let response: ControlResponse
        do {
            response = try ControlClient.send(ControlRequest(command: command), to: path)
        } catch {
            var standardError = StandardError()
            print("ERROR  Failed to access socket path: \(path). Is warden running? (\(error))", to: &standardError)
            throw ExitCode(255)
        }
        print(json ? response.json : response.text)
        if response.status != 0 { throw ExitCode(response.status) }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "Check that the daemon answers.")
    @OptionGroup var client: ClientOptions
    func run() throws { try client.send(["ping"]) }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "List the jails, or show one jail's failures and bans.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "A jail name.") var jail: String?
    func run() throws { try client.send(["status"] + (jail.map { [$0] } ?? [])) }
}

struct BanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ban", abstract: "Ban addresses (or CIDR networks) in a jail; prints how many were new.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The jail.") var jail: String
    @Argument(help: "Addresses or networks.") var addresses: [String]
    func validate() throws { if addresses.isEmpty { throw ValidationError("give at least one address") } }
    func run() throws { try client.send(["ban", jail] + addresses) }
}

struct UnbanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unban", abstract: "Unban addresses of a jail, or everything with --all [JAIL].")
    @OptionGroup var client: ClientOptions
    @Flag(name: .long, help: "Unban every address (of JAIL, or of all jails).") var all = false
    @Argument(help: "JAIL ADDR..., or with --all an optional JAIL.") var words: [String] = []
    func validate() throws {
        if !all && words.count < 2 { throw ValidationError("give a jail and at least one address, or --all") }
        if all && words.count > 1 { throw ValidationError("--all takes at most a jail name") }
    }
    func run() throws { try client.send(all ? ["unban", "--all"] + words : ["unban"] + words) }
}

struct BannedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "banned", abstract: "List banned addresses per jail, or the jails banning ADDR.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "An address.") var address: String?
    func run() throws { try client.send(["banned"] + (address.map { [$0] } ?? [])) }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Re-read the configuration and restart the jails, or only JAIL (bans stay; a jail no longer configured is stopped and its bans lifted).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Reload only this jail; the others keep running with their failure counts.") var jail: String?
    func run() throws { try client.send(["reload"] + (jail.map { [$0] } ?? [])) }
}

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the daemon (bans stay in the kernel until they expire).")
    @OptionGroup var client: ClientOptions
    func run() throws { try client.send(["stop"]) }
}
