/// Loads a fail2ban filter and produces the values fail2ban's filter reader hands to its
/// server: `[Definition]` read with the caller's options taking precedence, `[Init]`
/// options (also as `known/<name>`), `%(name)s` interpolation, `<tag>` substitution, and
/// the conversion of `maxlines` and of the multi-line regex lists.
public struct FilterLoader: Sendable {
    public let configDirectory: String

    /// `configDirectory` is a fail2ban directory (with `filter.d/`), warden's layout (with
    /// `filters/`), or a `filter.d` folder itself.
    public init(configDirectory: String) {
        self.configDirectory = configDirectory
    }

    /// Loads `reference`: a filter name (`sshd`), or a path to a filter file, either
    /// optionally followed by `[key=value, ...]`. `options` are overrides from the caller,
    /// applied like the bracketed ones (which win over them): they replace `[Init]` values
    /// and the `[Definition]` keys of the same name, and `%(key)s` in `[Definition]` sees them.
    public func load(_ reference: String, options: [String: String] = [:]) throws -> FilterDefinition {
        let parsed = try FilterReference(parsing: reference)
        var initOptions = OrderedTable<String>()
        for key in options.keys.sorted() { initOptions[key] = options[key] }
        for (key, value) in parsed.options { initOptions[key] = value }
        let (config, name) = try read(parsed.name)
        let values = try FilterOptions(config: config, initOptions: initOptions).combined()
        return try FilterDefinition(name: name, values: values, sourceFiles: config.files)
    }

    /// The merged configuration for a filter name or path, and the filter's short name.
    private func read(_ nameOrPath: String) throws -> (ConfigSet, String) {
        let fileSystem = FileSystem()
        if !nameOrPath.contains("/"), nameOrPath.hasSuffix(".conf") || nameOrPath.hasSuffix(".local") {
            // `sshd.conf` names the filter `sshd`, as in fail2ban-regex.
            return try read(FileSystem.removingExtension(nameOrPath))
        }
        if nameOrPath.contains("/") {
            let path = nameOrPath.hasPrefix("/") || fileSystem.isFile(nameOrPath)
                ? nameOrPath : FileSystem.join(configDirectory, nameOrPath)
            let name = FileSystem.removingExtension(FileSystem.baseName(path))
            let folder = FileSystem.directoryName(path)
            // Inside a filter folder the full .conf/.d/.local algorithm applies, as in
            // fail2ban-regex; a file elsewhere is read alone with its .local and includes.
            if Self.filterFolders.contains(FileSystem.baseName(folder)) {
                return (try ConfigSet.load(name: name, in: folder), name)
            }
            return (try ConfigSet.load(files: [path]), name)
        }
        let folders = filterFolders()
        for folder in folders where !ConfigFileList().files(named: nameOrPath, in: folder).isEmpty {
            return (try ConfigSet.load(name: nameOrPath, in: folder), nameOrPath)
        }
        throw ConfigError(file: configDirectory, "filter '\(nameOrPath)' not found: searched "
                          + folders.map { ConfigFileList.searchDescription(named: nameOrPath, in: $0) }
                              .joined(separator: "; "))
    }

    private static let filterFolders = ["filter.d", "filters"]

    private func filterFolders() -> [String] {
        if Self.filterFolders.contains(FileSystem.baseName(FileSystem.normalized(configDirectory))) {
            return [configDirectory]
        }
        let fileSystem = FileSystem()
        let present = Self.filterFolders.map { FileSystem.join(configDirectory, $0) }.filter(fileSystem.isDirectory)
        return present.isEmpty ? [FileSystem.join(configDirectory, "filter.d")] : present
    }
}

/// The option gathering of fail2ban's `DefinitionInitConfigReader` for a filter.
struct FilterOptions {
    /// The `[Definition]` keys that reach the matcher, in fail2ban's order.
    static let definitionKeys = ["usedns", "prefregex", "ignoreregex", "failregex", "maxlines",
                                 "datepattern", "journalmatch"]

    let config: ConfigSet
    var initOptions: OrderedTable<String>

    /// All options after `%(x)s` interpolation and `<tag>` substitution.
    func combined() throws -> OrderedTable<String> {
        // Caller options are `vars` for reading [Definition]; a key given by the caller is
        // not read from the file at all.
        let vars = Dictionary(initOptions.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        var combined = OrderedTable<String>()
        if config.hasSection("Definition") {
            for key in Self.definitionKeys where !initOptions.contains(key) {
                if let value = try config.plainValue(section: "Definition", key: key, vars: vars) {
                    combined[key] = value
                }
            }
        }
        var initOptions = initOptions
        for key in config.keys(in: "Init") {
            var value: String?
            if !key.hasPrefix("known/") {
                value = try config.plainValue(section: "Init", key: key, vars: [:])
                initOptions["known/" + key] = value
            }
            if !initOptions.contains(key) {
                initOptions[key] = try value ?? config.plainValue(section: "Init", key: key, vars: [:])
            }
        }
        combined.update(with: initOptions)
        var cache: [String: String?] = [:]
        var substitution = TagSubstitution()
        // Conditional keys (`opt?family=inet6`) and the options they qualify are left alone.
        for key in combined.keys {
            if let mark = key.firstIndex(of: "?"), key[..<mark].unicodeScalars.allSatisfy(PythonText.isWord),
               mark > key.startIndex, key.index(after: mark) < key.endIndex {
                substitution.ignored.insert(String(key[..<mark]))
            }
        }
        let config = self.config
        substitution.fallback = { tag in
            if let cached = cache[tag] { return cached }
            let value = try config.value(section: "Definition", key: tag, vars: vars)
            cache[tag] = value
            return value
        }
        return try substitution.apply(to: combined)
    }
}

extension FilterDefinition {
    /// Converts combined filter options as fail2ban's filter reader converts them for the
    /// server: `maxlines` as an integer (ignored when not one, leaving the default 1; below 1
    /// an error, as fail2ban's server rejects it), and
    /// `failregex`/`ignoreregex` one per line with empty lines dropped.
    init(name: String, values: OrderedTable<String>, sourceFiles: [String]) throws {
        func lines(_ key: String) -> [String] {
            // Split by bytes: `\n` is ASCII, so every piece is whole UTF-8. An array splits
            // at a fraction of the cost of the String.UTF8View's generic indices.
            values[key].map { Array($0.utf8).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) } }
                ?? []
        }
        let maxlines = values["maxlines"].flatMap(PythonText.parseInt) ?? 1
        // fail2ban's server refuses such a jail when the value is set.
        guard maxlines > 0 else {
            throw ConfigError("filter '\(name)': maxlines must be greater than zero, got \(maxlines)")
        }
        self.init(
            name: name,
            prefregex: values["prefregex"],
            failregex: lines("failregex"),
            ignoreregex: lines("ignoreregex"),
            maxlines: maxlines,
            datepattern: values["datepattern"],
            journalmatch: values["journalmatch"],
            usedns: values["usedns"],
            sourceFiles: sourceFiles
        )
    }
}
