import WardenConfig
import WardenIPC

/// One enabled jail as its configuration describes it: every option of a fail2ban 1.0
/// jail section, converted to typed values, plus warden's `ipc` channel selection.
public struct JailDefinition: Sendable {
    public var name: String
    /// The `filter` line as written after interpolation (`sshd[mode=normal]`), nil for `filter =`.
    public var filterReference: FilterReference?
    /// The filter with the jail's overrides applied (usedns, prefregex, failregex,
    /// ignoreregex, maxlines, datepattern, journalmatch, and `logtype` from the backend).
    public var filter: FilterDefinition?
    public var logPaths: [LogPathEntry]
    public var logEncoding: String
    /// `auto`, `pyinotify`, `polling`, `systemd[...]`, ... as written.
    public var backend: String
    public var journalMatch: String?
    public var maxRetry: Int
    /// Matched lines kept per tracked address (fail2ban's `maxmatches`, default maxretry).
    public var maxMatches: Int
    /// Seconds.
    public var findTime: Double
    /// Seconds; -1 (or any negative value) means permanent.
    public var banTime: Double
    public var banTimeIncrement: BanTimeIncrement
    /// `ignoreip` entries in order: addresses, networks, host names and `file:` paths.
    public var ignoreIP: [String]
    public var ignoreSelf: Bool
    /// The command line with `<ip>`-style tags, nil when empty.
    public var ignoreCommand: String?
    /// `ignorecache` as written (`key="<ip>", max-count=100, max-time=5m`), nil when unset.
    public var ignoreCache: String?
    /// `yes`, `warn`, `no` or `raw`.
    public var useDNS: String
    public var actions: [ActionReference]
    public var port: String?
    public var `protocol`: String?
    public var chain: String?
    public var logTimeZone: String?
    /// The channel between the matcher and the ban workers (`ipc`, `ipc.*` keys).
    public var channel: ChannelConfiguration

    public var isPermanentBan: Bool { banTime < 0 }
}

/// `bantime.*`: how repeated offenders get longer bans.
public struct BanTimeIncrement: Sendable, Equatable {
    public var enabled: Bool
    /// `bantime.factor` as written (a Python expression, default `1`).
    public var factor: String
    /// `bantime.formula`, nil for fail2ban's default `ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor`.
    public var formula: String?
    /// `bantime.multipliers` (`1 2 4 8 16 32 64`); when set it replaces the formula.
    public var multipliers: [Int]
    /// Seconds, nil when unset.
    public var maxTime: Double?
    /// Seconds of random extra time, nil when unset.
    public var randomTime: Double?
    /// Count bans of the address in every jail, not only this one.
    public var overallJails: Bool

    public init(enabled: Bool = false, factor: String = "1", formula: String? = nil, multipliers: [Int] = [],
                maxTime: Double? = nil, randomTime: Double? = nil, overallJails: Bool = false) {
        self.enabled = enabled
        self.factor = factor
        self.formula = formula
        self.multipliers = multipliers
        self.maxTime = maxTime
        self.randomTime = randomTime
        self.overallJails = overallJails
    }
}

/// One line of `logpath`: a path or glob, optionally followed by ` tail` or ` head`
/// (where a newly seen file starts being read), and the files the glob matched at load.
public struct LogPathEntry: Sendable, Equatable {
    public enum Start: String, Sendable { case head, tail }

    public var pattern: String
    public var start: Start
    /// Existing files matching `pattern` when the configuration was read (dangling
    /// symlinks excluded, as fail2ban does).
    public var files: [String]

    public init(pattern: String, start: Start, files: [String]) {
        self.pattern = pattern
        self.start = start
        self.files = files
    }
}

/// One action of a jail's `action` list: `nftables[port="ssh", protocol="tcp"]`.
public struct ActionReference: Sendable, Equatable {
    public var name: String
    public var options: [(key: String, value: String)]

    public init(name: String, options: [(key: String, value: String)] = []) {
        self.name = name
        self.options = options
    }

    public func option(_ key: String) -> String? {
        options.last { $0.key == key }?.value
    }

    public static func == (lhs: ActionReference, rhs: ActionReference) -> Bool {
        lhs.name == rhs.name && lhs.options.elementsEqual(rhs.options) { $0 == $1 }
    }

    /// Splits an `action` value into references the way fail2ban's `splitWithOptions`
    /// does: whitespace (usually new lines) separates actions, except inside `[...]`
    /// and quoted option values.
    public static func parseList(_ text: String) throws -> [ActionReference] {
        try splitList(text).map { item in
            let parsed = try FilterReference(parsing: item)
            return ActionReference(name: parsed.name, options: parsed.options)
        }
    }

    static func splitList(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var items: [String] = []
        var index = 0
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" }
        while index < scalars.count {
            while index < scalars.count, isSpace(scalars[index]) { index += 1 }
            guard index < scalars.count else { break }
            let start = index
            while index < scalars.count, !isSpace(scalars[index]), scalars[index] != "[" { index += 1 }
            // Options may follow the name after spaces: `name [a=1]` is one action.
            var look = index
            while look < scalars.count, isSpace(scalars[look]) { look += 1 }
            if look < scalars.count, scalars[look] == "[", index > start {
                index = look
                var quote: Unicode.Scalar?
                var depthClosed = false
                while index < scalars.count {
                    let scalar = scalars[index]
                    index += 1
                    if let open = quote {
                        if scalar == open { quote = nil }
                        continue
                    }
                    if scalar == "\"" || scalar == "'" {
                        // Quotes only open a value directly after `=`.
                        if index >= 2, scalars[index - 2] == "=" { quote = scalar }
                        continue
                    }
                    if scalar == "]" {
                        // `][` (with optional spaces) continues with another option group.
                        var next = index
                        while next < scalars.count, isSpace(scalars[next]) { next += 1 }
                        if next < scalars.count, scalars[next] == "[" {
                            index = next + 1
                            continue
                        }
                        depthClosed = true
                        break
                    }
                }
                if !depthClosed {
                    // Unbalanced: fail2ban falls back to whitespace-separated words.
                    index = start
                    while index < scalars.count, !isSpace(scalars[index]) { index += 1 }
                }
            } else {
                while index < scalars.count, !isSpace(scalars[index]) { index += 1 }
            }
            items.append(String(String.UnicodeScalarView(scalars[start..<index])))
        }
        return items
    }
}
