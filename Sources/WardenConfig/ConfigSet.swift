/// A fail2ban configuration as read from one name's files (`jail`, `filter.d/sshd`, ...),
/// merged the way fail2ban merges them: later files win key by key, and every value a
/// later file overwrites stays readable as `%(known/key)s`.
///
/// Values are stored raw; `value(section:key:)` interpolates `%(name)s` on read.
public struct ConfigSet: Sendable {
    static let knownPrefix = "KNOWN/"

    var defaults = OrderedTable<ConfigValue>()
    /// All sections including the `KNOWN/<name>` ones holding overwritten values.
    var table = OrderedTable<OrderedTable<ConfigValue>>()
    /// The files that were read, in reading order (a file may appear twice when two
    /// branches of the include tree both include it, as in fail2ban).
    public private(set) var files: [String] = []

    /// Reads `<directory>/<name>.conf`, `.d/*.conf`, `.local`, `.d/*.local` and their includes.
    public static func load(name: String, in directory: String) throws -> ConfigSet {
        let files = ConfigFileList().files(named: name, in: directory)
        guard !files.isEmpty else {
            throw ConfigError(file: FileSystem.join(directory, name), "no configuration found: searched "
                              + ConfigFileList.searchDescription(named: name, in: directory))
        }
        return try load(expanding: files)
    }

    /// Reads the given files (each with its `.local` and includes), as fail2ban-regex
    /// reads a filter file that is not inside a `filter.d` folder.
    public static func load(files: [String]) throws -> ConfigSet {
        let read = try load(expanding: files)
        guard !read.files.isEmpty else {
            throw ConfigError(file: files.first, "no readable configuration file among \(files)")
        }
        return read
    }

    private static func load(expanding files: [String]) throws -> ConfigSet {
        var cache: [String: IniDocument] = [:]
        let fileSystem = FileSystem()
        func document(_ path: String) throws -> IniDocument? {
            if let cached = cache[path] { return cached }
            guard let bytes = fileSystem.contents(of: path) else { return nil }
            let parsed = try IniParser(path: path).parse(bytes)
            cache[path] = parsed
            return parsed
        }
        let ordered = try ConfigFileList().expandIncludes(of: files, reader: document)
        return try ConfigSet(documents: ordered.compactMap(document))
    }

    init(documents: [IniDocument]) {
        for document in documents { merge(document) }
    }

    private mutating func merge(_ document: IniDocument) {
        files.append(document.path)
        defaults.update(with: document.defaults)
        for (name, section) in document.sections.entries {
            let (target, incoming) = Self.applyingCondition(name: name, section: section)
            var overwritten = OrderedTable<ConfigValue>()
            if let existing = table[target] {
                for key in existing.keys where incoming.contains(key) { overwritten[key] = existing[key] }
            } else {
                table[target] = incoming
                continue
            }
            // Changed in place: the section read out above is no longer held, so neither
            // table is copied.
            table.modify(Self.knownPrefix + target, default: OrderedTable()) { $0.update(with: overwritten) }
            table.modify(target, default: OrderedTable()) { $0.update(with: incoming) }
        }
    }

    /// `[Definition?family=inet6]` merges into `[Definition]` with keys suffixed by the
    /// condition (`key?family=inet6`), as fail2ban does for conditional sections.
    private static func applyingCondition(name: String, section: OrderedTable<ConfigValue>)
        -> (String, OrderedTable<ConfigValue>) {
        let scalars = name.unicodeScalars
        guard let mark = scalars.firstIndex(of: "?"), mark > scalars.startIndex,
              scalars.index(after: mark) < scalars.endIndex,
              scalars[..<mark].allSatisfy(PythonText.isWord) else { return (name, section) }
        let condition = String(scalars[mark...])
        var renamed = OrderedTable<ConfigValue>()
        for (key, value) in section.entries { renamed[key + condition] = value }
        return (String(scalars[..<mark]), renamed)
    }

    // MARK: Reading

    /// Section names in first-read order, without DEFAULT and the internal `KNOWN/` ones.
    public var sections: [String] {
        table.keys.filter { !$0.hasPrefix(Self.knownPrefix) }
    }

    public func hasSection(_ section: String) -> Bool { table.contains(section) }

    /// The section's own keys (not DEFAULT's), in first-read order.
    public func keys(in section: String) -> [String] {
        section == IniDocument.defaultSection ? defaults.keys : table[section]?.keys ?? []
    }

    /// The uninterpolated value with its source: the section's own key, else DEFAULT's.
    public func rawValue(section: String, key: String) -> ConfigValue? {
        let key = key.lowercased()
        return table[section]?[key] ?? defaults[key]
    }

    /// The interpolated value, nil when the section or key does not exist.
    ///
    /// `key` may be `sec/opt` (`known/opt`, `default/opt`), read as fail2ban's `get_ex`
    /// does. `vars` take precedence over the section, as configparser's `vars` do.
    public func value(section: String, key: String, vars: [String: String] = [:]) throws -> String? {
        if let (sectionPart, option) = Self.splitSectionOption(key) {
            let lowered = sectionPart.lowercased()
            let candidates = lowered == "known" ? [Self.knownPrefix + section, section]
                : [lowered == "default" ? IniDocument.defaultSection : sectionPart]
            for candidate in candidates {
                if let found = try plainValue(section: candidate, key: option, vars: [:]) { return found }
            }
        }
        return try plainValue(section: section, key: key, vars: vars)
    }

    /// configparser's `get`: vars, then the section, then DEFAULT, then interpolation.
    func plainValue(section: String, key: String, vars: [String: String]) throws -> String? {
        guard let scope = LookupScope(config: self, section: section, vars: vars),
              let raw = scope.raw(key.lowercased()) else { return nil }
        return try Interpolation(config: self).resolve(raw, option: key.lowercased(), scope: scope)
    }

    /// fail2ban's `^([\w\-]+)/([^\s>]+)$` for section-qualified option names.
    static func splitSectionOption(_ key: String) -> (String, String)? {
        let scalars = key.unicodeScalars
        guard let slash = scalars.firstIndex(of: "/"), slash > scalars.startIndex else { return nil }
        let section = scalars[..<slash]
        let option = scalars[scalars.index(after: slash)...]
        guard !option.isEmpty,
              section.allSatisfy({ PythonText.isWord($0) || $0 == "-" }),
              option.allSatisfy({ !PythonText.isSpace($0) && $0 != ">" }) else { return nil }
        return (String(section), String(option))
    }
}

/// The chained mapping configparser interpolates against: caller vars, the section's own
/// keys, DEFAULT.
struct LookupScope {
    let section: String
    var vars: [String: ConfigValue]
    let own: OrderedTable<ConfigValue>
    let defaults: OrderedTable<ConfigValue>

    /// nil when the section does not exist (DEFAULT always exists).
    init?(config: ConfigSet, section: String, vars: [String: String]) {
        if let own = config.table[section] {
            self.own = own
        } else if section == IniDocument.defaultSection {
            self.own = OrderedTable()
        } else {
            return nil
        }
        self.section = section
        self.defaults = config.defaults
        self.vars = Dictionary(vars.map { ($0.key.lowercased(), ConfigValue(text: $0.value, file: nil, line: 0)) },
                               uniquingKeysWith: { _, last in last })
    }

    func raw(_ key: String) -> ConfigValue? {
        vars[key] ?? own[key] ?? defaults[key]
    }

    func contains(_ key: String) -> Bool { raw(key) != nil }
}
