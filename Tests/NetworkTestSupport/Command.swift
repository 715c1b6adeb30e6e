import Foundation

/// Runs a command (looked up on `PATH`) and waits for it; its standard error is discarded.
public enum Command {
    /// Throws unless the command exits with status 0.
    public static func run(_ arguments: String...) throws {
        let status = try status(arguments)
        guard status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) exited with \(status)") }
    }

    /// The exit status; standard output is discarded.
    public static func status(_ arguments: [String]) throws -> Int32 {
        let process = try start(arguments, output: FileHandle.nullDevice)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Standard output without surrounding white space; throws unless the status is 0.
    public static func output(_ arguments: [String]) throws -> String {
        let pipe = Pipe()
        let process = try start(arguments, output: pipe)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func start(_ arguments: [String], output: Any) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A test's own failure (a command that failed, a system call that refused), with its reason.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
