import WardenConfig

/// One of fail2ban's `action.d` actions that is not served natively (sendmail, cloudflare,
/// route, …): its shell commands with the action's static tags already filled in, and the
/// per-ban tags (`<ip>`, `<failures>`, …) left for `command(_:for:)`.
public struct ShellAction: Sendable {
    public enum Phase: String, Sendable, CaseIterable {
        case start = "actionstart", stop = "actionstop", ban = "actionban", unban = "actionunban",
             check = "actioncheck", flush = "actionflush"
    }

    public var name: String
    /// Commands per phase; a phase the action leaves empty is absent.
    public private(set) var commands: [Phase: String]

    /// Reads `action.d/<reference.name>` (with its `.local` and `.d` overrides) from a
    /// fail2ban configuration directory. `[Init]` values, then the reference's options
    /// (`sendmail[dest=root@example.org]`), then `jailValues` (the jail's `name`, `port`,
    /// `protocol`, … as fail2ban passes them) fill the static tags.
    public init(reference: FilterReference, jailValues: [String: String], configDirectory: String) throws {
        let config = try ConfigSet.load(name: "action.d/" + reference.name, in: configDirectory)
        var values: [String: String] = ["actname": reference.name]
        for key in config.keys(in: "Init") {
            values[key] = try config.value(section: "Init", key: key)
        }
        for (key, value) in jailValues { values[key.lowercased()] = value }
        for option in reference.options { values[option.key.lowercased()] = option.value }
        var definition: [String: String] = [:]
        for key in config.keys(in: "Definition") {
            definition[key] = try config.value(section: "Definition", key: key, vars: values)
        }
        let statics = definition.merging(values) { _, initValue in initValue }
        var commands: [Phase: String] = [:]
        for phase in Phase.allCases {
            guard let raw = definition[phase.rawValue] else { continue }
            let expanded = try ShellTags.expandStatic(raw, values: statics, option: phase.rawValue)
            if !expanded.trimmed.isEmpty { commands[phase] = expanded }
        }
        self.init(name: reference.name, commands: commands)
    }

    public init(name: String, commands: [Phase: String]) {
        self.name = name
        self.commands = commands
    }

    /// The phase's command with the per-ban tags replaced by shell-escaped values, or nil
    /// when the action has no command for the phase.
    public func command(_ phase: Phase, for ticket: [String: String] = [:]) -> String? {
        commands[phase].map { ShellTags.substituteDynamic($0, values: ticket) }
    }
}

/// The tags of one ban, named as fail2ban's `Actions.ActionInfo` names them.
public struct BanTicket: Sendable {
    public var ip: String
    public var jail: String
    public var failures: Int
    /// Seconds since the Unix epoch of the ban.
    public var time: Double
    public var banTime: Int64
    public var banCount: Int
    /// The ban's matched lines (at most the jail's `maxmatches`).
    public var matches: [String]
    public var restored: Bool
    /// The filter's captured groups by fail2ban's option name (`user`, `fid`, `fport`, any
    /// `F-*` name lowercased): `<F-USER>` reads `user`, `<F-ID>` `fid`, `<F-PORT>` `fport`.
    public var fields: [String: String]
    /// Every recorded ban of the address merged, in this jail (`<ipjailmatches>`,
    /// `<ipjailfailures>`) and over all jails (`<ipmatches>`, `<ipfailures>`); nil falls
    /// back to this ban's own, as fail2ban does without a database.
    public var jailMerged: (matches: [String], failures: Int)?
    public var allMerged: (matches: [String], failures: Int)?

    public init(ip: String, jail: String, failures: Int = 0, time: Double, banTime: Int64,
                banCount: Int = 1, matches: [String] = [], restored: Bool = false, fields: [String: String] = [:]) {
        self.ip = ip
        self.jail = jail
        self.failures = failures
        self.time = time
        self.banTime = banTime
        self.banCount = banCount
        self.matches = matches
        self.restored = restored
        self.fields = fields
    }

    public var tags: [String: String] {
        var tags: [String: String] = [:]
        for (name, value) in fields { tags["F-" + name.uppercased()] = value }
        if let fid = fields["fid"] { tags["F-ID"] = fid }
        if let port = fields["fport"] { tags["F-PORT"] = port }
        tags["ip"] = ip
        tags["family"] = ip.contains(":") ? "inet6" : "inet4"
        tags["fid"] = fields["fid"] ?? ip
        tags["failures"] = String(failures)
        tags["time"] = String(time)
        tags["bantime"] = String(banTime)
        tags["bancount"] = String(banCount)
        tags["matches"] = matches.joined(separator: "\n")
        tags["ipjailmatches"] = (jailMerged?.matches ?? matches).joined(separator: "\n")
        tags["ipmatches"] = (allMerged?.matches ?? matches).joined(separator: "\n")
        tags["ipjailfailures"] = String(jailMerged?.failures ?? failures)
        tags["ipfailures"] = String(allMerged?.failures ?? failures)
        tags["restored"] = restored ? "1" : "0"
        tags["ip-rev"] = Self.reversed(ip)
        return tags
    }

    /// Whether `command` uses a tag that needs the merged ban history (a store query).
    public static func needsMergedBans(_ command: String) -> Bool {
        ["<ipmatches>", "<ipjailmatches>", "<ipfailures>", "<ipjailfailures>"].contains { command.contains($0) }
    }

    /// `<ip-rev>`: the address's reverse-DNS name stem (`4.3.2.1.` for 1.2.3.4).
    private static func reversed(_ ip: String) -> String {
        guard !ip.contains(":") else { return "" }
        return ip.split(separator: ".").reversed().joined(separator: ".") + "."
    }
}

/// fail2ban's `<tag>` substitution for actions.
enum ShellTags {
    static let maximumPasses = 25

    /// Replaces `<tag>` by `values[tag]` (unescaped: these come from the configuration),
    /// innermost first so `<_nft_for_proto-<type>-iter>` resolves, and leaves unknown tags.
    static func expandStatic(_ text: String, values: [String: String], option: String) throws -> String {
        var text = text
        var passes = 0
        var searchFrom = 0
        while let tag = innermostTag(in: text, from: searchFrom) {
            guard let replacement = values[tag.name] else {
                searchFrom = tag.end
                continue
            }
            passes += 1
            if passes > maximumPasses * 64 || tag.name == option {
                throw ConfigError("action option '\(option)': tag <\(tag.name)> refers to itself or does not converge")
            }
            var scalars = Array(text.unicodeScalars)
            scalars.replaceSubrange(tag.start..<tag.end, with: replacement.unicodeScalars)
            text = String(String.UnicodeScalarView(scalars))
            searchFrom = 0
        }
        return text
    }

    /// Replaces the per-ban tags with shell-escaped values; other tags stay, except a
    /// capture tag (`<F-NAME>`, upper case) the ban does not have, which becomes empty as
    /// in fail2ban.
    static func substituteDynamic(_ text: String, values: [String: String]) -> String {
        var scalars = Array(text.unicodeScalars)
        var index = 0
        var output = String.UnicodeScalarView()
        while index < scalars.count {
            if scalars[index] == "<", let tag = innermostTag(in: scalars, from: index), tag.start == index,
               let value = values[tag.name] ?? (isCaptureTag(tag.name) ? "" : nil) {
                output.append(contentsOf: escape(value).unicodeScalars)
                index = tag.end
            } else {
                output.append(scalars[index])
                index += 1
            }
        }
        scalars.removeAll()
        return String(output)
    }

    /// fail2ban's `<F-([A-Z0-9_\-]+)>`.
    static func isCaptureTag(_ name: String) -> Bool {
        name.hasPrefix("F-") && name.count > 2
            && name.unicodeScalars.dropFirst(2).allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    /// A value made safe for a POSIX shell the way fail2ban makes it: every character that
    /// is special to the shell gets a backslash, and a newline becomes a quoted newline.
    /// The result reads as the original value unquoted and inside double quotes (where a
    /// backslash before `$`, `` ` ``, `"` and `\` is removed); inside single quotes the
    /// backslashes would stay, as in fail2ban.
    static func escape(_ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": escaped += "'\n'"
            case "\r": escaped += "'\r'"
            case "\\", "#", "&", ";", "`", "|", "*", "?", "~", "<", ">", "^", "(", ")", "[", "]", "{", "}",
                 "$", "'", "\"":
                escaped += "\\" + String(scalar)
            default:
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// The first tag `<name>` at or after `from` whose name holds no `<`, `>` or space (so
    /// the innermost of nested tags), as scalar offsets.
    static func innermostTag(in text: String, from: Int) -> (name: String, start: Int, end: Int)? {
        innermostTag(in: Array(text.unicodeScalars), from: from)
    }

    static func innermostTag(in scalars: [Unicode.Scalar], from: Int) -> (name: String, start: Int, end: Int)? {
        var open: Int?
        var index = from
        while index < scalars.count {
            switch scalars[index] {
            case "<": open = index
            case ">":
                if let start = open, start + 1 < index {
                    return (String(String.UnicodeScalarView(scalars[(start + 1)..<index])), start, index + 1)
                }
                open = nil
            case " ", "\t", "\n": open = nil
            default: break
            }
            index += 1
        }
        return nil
    }
}
