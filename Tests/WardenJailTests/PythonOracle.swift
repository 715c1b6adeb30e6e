import Foundation

/// Runs Debian's python3 with the fail2ban package as the reference implementation.
/// The script reads JSON on stdin and prints JSON on stdout.
enum PythonOracle {
    static let python = "/usr/bin/python3"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ script: String, input: Any = [String: String](), arguments: [String] = []) throws -> Any {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let payload = try JSONSerialization.data(withJSONObject: input)
        // Write and read concurrently so a large answer cannot fill the pipe and stall.
        let writer = Thread {
            stdin.fileHandleForWriting.write(payload)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: output, options: [.fragmentsAllowed])
    }
}
