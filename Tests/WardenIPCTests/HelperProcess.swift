import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process whose stdout the test reads line by line (a pipe, so a test can wait for
/// "ready" or a progress count) and which it may SIGKILL at any point.
final class HelperProcess {
    struct LaunchFailed: Error, CustomStringConvertible {
        let command: [String]
        let reason: String
        var description: String { "cannot run \(command.joined(separator: " ")): \(reason)" }
    }

    let pid: pid_t
    let command: [String]
    private let output: UnsafeMutablePointer<FILE>
    private var status: Int32?

    init(_ command: [String]) throws {
        self.command = command
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw LaunchFailed(command: command, reason: "pipe: errno \(errno)") }
        // Children spawned concurrently by other tests must not inherit this pipe, or its
        // output would not end when this child does (dup2 clears the flag on stdout).
        _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, command[0], &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw LaunchFailed(command: command, reason: String(cString: strerror(spawned)))
        }
        pid = child
        output = fdopen(pipeEnds[0], "r")
    }

    deinit {
        if status == nil { kill(pid, SIGKILL); _ = wait() }
        fclose(output)
    }

    /// The next line of output without its newline; nil at end of output.
    func readLine() -> String? {
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        guard getline(&line, &capacity, output) > 0, let line else { return nil }
        let text = String(cString: line)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// Reads lines until one satisfies `match`; nil if the output ends first.
    func readLine(until match: (String) -> Bool) -> String? {
        while let line = readLine() {
            if match(line) { return line }
        }
        return nil
    }

    /// Every remaining line of output.
    func remainingLines() -> [String] {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        return lines
    }

    func killNow() { kill(pid, SIGKILL) }

    /// Waits for the child: its exit status, or 128 + the signal that ended it.
    @discardableResult
    func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        let result = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = result
        return result
    }
}

/// Paths of the package the tests run from, and the programs they start.
enum TestPrograms {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `warden` executable SwiftPM builds next to the test binary (`swift test` builds
    /// every product), or `$WARDEN_BINARY`.
    static func warden() throws -> String {
        if let path = ProcessInfo.processInfo.environment["WARDEN_BINARY"] { return path }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("warden").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw HelperProcess.LaunchFailed(command: [candidate], reason: "warden is not built next to the test binary; run `swift build` or set WARDEN_BINARY")
        }
        return candidate
    }

    /// Compiles `Tests/WardenIPCTests/CProgram/<program>.c` (with the C client when asked)
    /// with gcc into `directory`; returns the executable's path.
    static func compileC(_ program: String, withClient: Bool, into directory: String) throws -> String {
        let output = directory + "/" + program
        let client = packageRoot.appendingPathComponent("Sources/CWardenClient").path
        var command = ["/usr/bin/gcc", "-std=gnu11", "-O2", "-Wall", "-Werror", "-o", output,
                       packageRoot.appendingPathComponent("Tests/WardenIPCTests/CProgram/\(program).c").path]
        if withClient { command += ["-I", client + "/include", client + "/warden_client.c"] }
        let compiler = try HelperProcess(command)
        let diagnostics = compiler.remainingLines()
        guard compiler.wait() == 0 else { throw HelperProcess.LaunchFailed(command: command, reason: diagnostics.joined(separator: "\n")) }
        return output
    }

    /// The uid and gid of `nobody`, for children that drop privileges.
    static var nobody: uid_t { getpwnam("nobody")?.pointee.pw_uid ?? 65534 }
}
