import Foundation
@testable import WardenConfig

/// Runs fail2ban's own reader (the installed Python package) through oracle/dump_filters.py.
/// Fails, never skips, when python3 or fail2ban is missing.
enum Fail2banOracle {
    static let python = "/usr/bin/python3"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("oracle/dump_filters.py").path

    static func run(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting: the output may be larger than a pipe buffer.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let diagnostics = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConfigError("oracle failed (status \(process.terminationStatus)); is fail2ban installed for "
                              + "\(python)? \(String(decoding: diagnostics.suffix(500), as: UTF8.self))")
        }
        return data
    }

    /// What fail2ban's FilterReader produces for one filter.
    static func filter(_ name: String, in directory: String, options: [String: String] = [:]) throws -> Expected {
        let json = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        return try JSONDecoder().decode(Expected.self, from: run(["--one", directory, name, json]))
    }

    struct Expected: Decodable, Equatable {
        var error: String?
        var prefregex: String?
        var failregex: [String]?
        var ignoreregex: [String]?
        var maxlines: Int?
        var datepattern: String?
        var journalmatch: String?
        var usedns: String?

        /// Field names where `definition` differs.
        func differences(from definition: FilterDefinition) -> [String] {
            [
                ("prefregex", prefregex == definition.prefregex),
                ("failregex", failregex == definition.failregex),
                ("ignoreregex", ignoreregex == definition.ignoreregex),
                ("maxlines", maxlines == definition.maxlines),
                ("datepattern", datepattern == definition.datepattern),
                ("journalmatch", journalmatch == definition.journalmatch),
                ("usedns", usedns == definition.usedns),
            ].filter { !$0.1 }.map(\.0)
        }
    }
}

/// A scratch configuration directory, removed when the test is done.
final class TemporaryConfig {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("warden-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/filter.d", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> String {
        let full = path + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        return full
    }

    func writeBytes(_ relativePath: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + relativePath))
    }
}
