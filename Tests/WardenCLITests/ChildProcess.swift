import Foundation

/// One finished child process. Output goes through files, not pipes, so a child that
/// fills stderr while the parent reads stdout cannot deadlock either side.
struct ChildProcess {
    let status: Int32
    let standardOutput: Data
    let standardError: String

    struct LaunchFailed: Error, CustomStringConvertible {
        let command: [String]
        let reason: String
        var description: String { "cannot run \(command.joined(separator: " ")): \(reason)" }
    }

    /// Runs `command` to completion, blocking the calling thread; call it from a thread
    /// of its own, never from the cooperative pool.
    static func run(_ command: [String], scratch: URL) throws -> ChildProcess {
        let outputURL = scratch.appendingPathExtension("out")
        let errorURL = scratch.appendingPathExtension("err")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil),
              FileManager.default.createFile(atPath: errorURL.path, contents: nil),
              let output = FileHandle(forWritingAtPath: outputURL.path),
              let error = FileHandle(forWritingAtPath: errorURL.path)
        else { throw LaunchFailed(command: command, reason: "cannot create \(scratch.path).out/.err") }
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = output
        process.standardError = error
        do {
            try process.run()
        } catch {
            throw LaunchFailed(command: command, reason: "\(error)")
        }
        process.waitUntilExit()
        try output.close()
        try error.close()
        return ChildProcess(
            status: process.terminationStatus,
            standardOutput: (try? Data(contentsOf: outputURL)) ?? Data(),
            standardError: String(decoding: (try? Data(contentsOf: errorURL)) ?? Data(), as: UTF8.self)
        )
    }
}
