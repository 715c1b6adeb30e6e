#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// fail2ban's `ignorecommand`: a shell command run for a failure's address, with
/// `<ip>`, `<fid>` and `<F-NAME>` tags replaced by shell-quoted values; exit status 0
/// means "ignore this address", 1 means "do not", anything else is an error (the
/// failure is then counted, as fail2ban does).
///
/// With `ignorecache` (`key="<ip>", max-count=100, max-time=5m`) answers are cached per
/// key for max-time seconds, at most max-count keys, like fail2ban's ignore cache;
/// without it every failure runs the command, as in fail2ban.
///
/// The command blocks the caller for as long as it runs: call it from the jail's
/// matcher thread, never from the cooperative pool.
public final class IgnoreCommand: Sendable {
    public struct Cache: Sendable, Equatable {
        public var key: String
        public var maxCount: Int
        public var maxTime: Double

        /// Parses `key="<ip>", max-count=100, max-time=5m` (fail2ban's defaults when a
        /// part is missing: key `<ip>`, 100 entries, 300 s).
        public init(parsing text: String) throws {
            let options = try ActionReference.parseList("cache[\(text)]").first?.options ?? []
            key = options.last { $0.key == "key" }?.value ?? "<ip>"
            maxCount = Int(options.last { $0.key == "max-count" }?.value ?? "100") ?? 100
            maxTime = try options.last { $0.key == "max-time" }.map { try TimeString.seconds($0.value) } ?? 300
        }
    }

    public enum Verdict: Sendable, Equatable {
        case ignore
        case count
        /// The command could not run or exited with neither 0 nor 1.
        case failed(status: Int32)
    }

    public let command: String
    public let cache: Cache?
    private let cached = Mutex<[String: (verdict: Verdict, expires: Double)]>([:])

    public init(command: String, cache: Cache?) {
        self.command = command
        self.cache = cache
    }

    /// Runs (or answers from the cache) for a failure of `id` with its named groups.
    /// `now` is epoch seconds, for cache expiry.
    public func verdict(id: String, tags: [String: String] = [:], now: Double) -> Verdict {
        var values = tags
        values["ip"] = values["ip"] ?? id
        values["fid"] = values["fid"] ?? id
        let cacheKey = cache.map { Self.substitute($0.key, values, quoting: false) }
        if let cacheKey, let hit = cached.withLock({ $0[cacheKey] }), hit.expires > now {
            return hit.verdict
        }
        let verdict = run(Self.substitute(command, values, quoting: true))
        if let cacheKey, let cache {
            cached.withLock { entries in
                if entries.count >= cache.maxCount {
                    entries = entries.filter { $0.value.expires > now }
                    if entries.count >= cache.maxCount, let oldest = entries.min(by: { $0.value.expires < $1.value.expires }) {
                        entries[oldest.key] = nil
                    }
                }
                entries[cacheKey] = (verdict, now + cache.maxTime)
            }
        }
        return verdict
    }

    /// Replaces `<name>` tags whose name is in `values`; others are left as written.
    static func substitute(_ template: String, _ values: [String: String], quoting: Bool) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "<") {
            output += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">") else { break }
            let name = String(rest[rest.index(after: open)..<close])
            if let value = values[name] ?? values[name.lowercased()] {
                output += quoting ? shellQuoted(value) : value
            } else {
                output += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        return output
    }

    /// Single-quoted for /bin/sh unless the value is made of safe characters only.
    static func shellQuoted(_ value: String) -> String {
        let safe = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x3A) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
                || byte == 0x2E || byte == 0x2D || byte == 0x5F || byte == 0x2F || byte == 0x40
        }
        if safe && !value.isEmpty { return value }
        return "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func run(_ line: String) -> Verdict {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", line]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard status == 0 else { return .failed(status: -status) }
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 {
            if errno != EINTR { return .failed(status: -errno) }
        }
        // WIFEXITED / WEXITSTATUS are macros.
        guard exit & 0x7F == 0 else { return .failed(status: -(exit & 0x7F)) }
        switch (exit >> 8) & 0xFF {
        case 0: return .ignore
        case 1: return .count
        case let other: return .failed(status: other)
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
