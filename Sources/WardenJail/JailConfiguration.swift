#if canImport(Glibc)
import Glibc
#endif
import WardenConfig
import WardenIPC

/// The jails of a configuration directory, read as fail2ban's jail reader reads them:
/// `jail.conf`, `jail.d/*.conf`, `jail.local`, `jail.d/*.local` (later files win key by
/// key), then each enabled section converted with its filter loaded through
/// `FilterLoader`. warden's own layout keeps these files under `jails/` beside
/// `filters/`; a directory with no `jail.*` of its own is read that way.
public struct JailConfiguration: Sendable {
    /// The directory given to `load` (filters and actions are found from it).
    public var directory: String
    /// Enabled jails in section order.
    public var jails: [JailDefinition]
    /// Sections with `enabled` false; their other options are not read, as in fail2ban
    /// (a disabled jail may reference paths or filters that do not exist).
    public var disabledJails: [String]
    /// The jail files read, in reading order.
    public var files: [String]

    /// The version reported through `%(fail2ban_version)s`, the release warden follows.
    public static let compatibleFail2banVersion = "1.0.2"

    public static func load(from directory: String) throws -> JailConfiguration {
        let config = try ConfigSet.load(name: "jail", in: jailFolder(in: directory))
        // fail2ban merges these into DEFAULT before interpolating; they are only read.
        let builtins = ["fail2ban_version": compatibleFail2banVersion, "fail2ban_confpath": directory]
        var jails: [JailDefinition] = []
        var disabled: [String] = []
        for section in config.sections where section != "INCLUDES" {
            let reader = JailSectionReader(config: config, jail: section, vars: builtins)
            if try reader.bool("enabled") ?? false {
                jails.append(try reader.definition(filterDirectory: directory))
            } else {
                disabled.append(section)
            }
        }
        return JailConfiguration(directory: directory, jails: jails, disabledJails: disabled, files: config.files)
    }

    /// `directory` itself when it holds a `jail.*` file or `jail.d`, else `directory/jails`.
    static func jailFolder(in directory: String) -> String {
        let own = ["jail.conf", "jail.local", "jail.d"].contains { access(directory + "/" + $0, F_OK) == 0 }
        if !own, access(directory + "/jails", F_OK) == 0 { return directory + "/jails" }
        return directory
    }
}

/// Reads and converts one jail section's options, reporting bad values with the file and
/// line the value came from.
struct JailSectionReader {
    let config: ConfigSet
    let jail: String
    let vars: [String: String]

    /// The filter keys a jail's own value replaces, as fail2ban hands them to the filter.
    static let filterKeys = ["usedns", "prefregex", "ignoreregex", "failregex", "maxlines", "datepattern", "journalmatch"]

    func string(_ key: String) throws -> String? {
        do {
            return try config.value(section: jail, key: key, vars: vars)
        } catch var error as ConfigError {
            if error.file == nil, let raw = config.rawValue(section: jail, key: key) {
                error.file = raw.file
                error.line = raw.line
            }
            throw error
        }
    }

    func error(_ key: String, _ message: String) -> ConfigError {
        let raw = config.rawValue(section: jail, key: key)
        return ConfigError(file: raw?.file, line: raw?.line, "jail '\(jail)': \(key): \(message)")
    }

    func bool(_ key: String) throws -> Bool? {
        try string(key).map { ["1", "on", "true", "yes"].contains($0.lowercased()) }
    }

    func int(_ key: String) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text.trimmingSpaces) else { throw error(key, "expected an integer, got '\(text)'") }
        return value
    }

    func seconds(_ key: String) throws -> Double? {
        guard let text = try string(key), !text.trimmingSpaces.isEmpty else { return nil }
        do {
            return try TimeString.seconds(text)
        } catch {
            throw self.error(key, "not a time: \(error)")
        }
    }

    func nonEmpty(_ key: String) throws -> String? {
        guard let text = try string(key), !text.trimmingSpaces.isEmpty else { return nil }
        return text
    }

    func definition(filterDirectory: String) throws -> JailDefinition {
        let backend = try string("backend") ?? "auto"
        let maxRetry = try int("maxretry") ?? 5
        let filterReference = try nonEmpty("filter").map { text in
            do { return try FilterReference(parsing: text) } catch { throw self.error("filter", "\(error)") }
        }
        let filter = try filterReference.map { try loadFilter($0, backend: backend, directory: filterDirectory) }
        let increment = try banTimeIncrement()
        let actionsText = try string("action") ?? ""
        let actions: [ActionReference]
        do { actions = try ActionReference.parseList(actionsText) } catch { throw self.error("action", "\(error)") }
        return JailDefinition(
            name: jail,
            filterReference: filterReference,
            filter: filter,
            logPaths: backend.hasPrefix("systemd") ? [] : try logPaths(),
            logEncoding: try string("logencoding") ?? "auto",
            backend: backend,
            journalMatch: filter?.journalmatch,
            maxRetry: maxRetry,
            maxMatches: try int("maxmatches") ?? maxRetry,
            findTime: try seconds("findtime") ?? 600,
            banTime: try seconds("bantime") ?? 600,
            banTimeIncrement: increment,
            ignoreIP: Self.splitWords(try string("ignoreip") ?? ""),
            ignoreSelf: try bool("ignoreself") ?? true,
            ignoreCommand: try nonEmpty("ignorecommand"),
            ignoreCache: try nonEmpty("ignorecache"),
            useDNS: try string("usedns") ?? "warn",
            actions: actions,
            port: try string("port"),
            protocol: try string("protocol"),
            chain: try string("chain"),
            logTimeZone: try nonEmpty("logtimezone"),
            channel: try channel()
        )
    }

    /// Loads the filter with the jail's replacements and the backend's `logtype`.
    private func loadFilter(_ reference: FilterReference, backend: String, directory: String) throws -> FilterDefinition {
        var options: [String: String] = [:]
        for key in Self.filterKeys {
            if let value = try string(key) { options[key] = value }
        }
        if !reference.options.contains(where: { $0.key == "logtype" }) {
            options["logtype"] = backend.hasPrefix("systemd") ? "journal" : "file"
        }
        let text = try string("filter") ?? reference.name
        do {
            return try FilterLoader(configDirectory: directory).load(text, options: options)
        } catch let error as ConfigError where error.file != nil {
            throw ConfigError(file: error.file, line: error.line, "jail '\(jail)': \(error.message)")
        } catch {
            throw self.error("filter", "\(error)")
        }
    }

    private func banTimeIncrement() throws -> BanTimeIncrement {
        var increment = BanTimeIncrement()
        increment.enabled = try bool("bantime.increment") ?? false
        if let factor = try nonEmpty("bantime.factor") {
            do { _ = try PythonExpression(factor) } catch { throw self.error("bantime.factor", "\(error)") }
            increment.factor = factor
        }
        if let formula = try nonEmpty("bantime.formula") {
            do { _ = try PythonExpression(formula) } catch { throw self.error("bantime.formula", "\(error)") }
            increment.formula = formula
        }
        if let multipliers = try nonEmpty("bantime.multipliers") {
            increment.multipliers = try multipliers.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map {
                guard let value = Int($0) else { throw self.error("bantime.multipliers", "'\($0)' is not an integer") }
                return value
            }
        }
        increment.maxTime = try seconds("bantime.maxtime")
        increment.randomTime = try seconds("bantime.rndtime")
        increment.overallJails = try bool("bantime.overalljails") ?? false
        return increment
    }

    /// One entry per line: `path`, `path tail`, `path head`; globs expanded now.
    private func logPaths() throws -> [LogPathEntry] {
        guard let text = try string("logpath") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingSpaces
            guard !trimmed.isEmpty else { return nil }
            var pattern = trimmed
            var start = LogPathEntry.Start.head
            // fail2ban splits at the last space: `path tail`.
            if let space = trimmed.lastIndex(of: " ") {
                pattern = String(trimmed[..<space]).trimmingSpaces
                start = trimmed[trimmed.index(after: space)...].lowercased() == "tail" ? .tail : .head
            }
            return LogPathEntry(pattern: pattern, start: start, files: Self.glob(pattern))
        }
    }

    /// Existing files matching `pattern`, sorted; dangling symlinks left out.
    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        var files: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            guard let path = result.gl_pathv[index].map({ String(cString: $0) }) else { continue }
            var info = stat()
            if stat(path, &info) == 0 { files.append(path) }
        }
        return files
    }

    /// fail2ban's `splitwords`: split on spaces, commas and new lines, drop empties.
    static func splitWords(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" }).map(String.init)
    }

    /// The `ipc` and `ipc.*` keys of the section (and DEFAULT) as a channel configuration.
    private func channel() throws -> ChannelConfiguration {
        var options: [String: String] = [:]
        for key in config.keys(in: "DEFAULT") + config.keys(in: jail) where key == "ipc" || key.hasPrefix("ipc.") {
            options[key] = try string(key)
        }
        do {
            return try ChannelConfiguration(jailOptions: options, jail: jail)
        } catch {
            let key = options.keys.sorted().first { config.rawValue(section: jail, key: $0) != nil } ?? "ipc"
            throw self.error(key, "\(error)")
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
