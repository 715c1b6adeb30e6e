/// Finds the files that make up one fail2ban configuration name, in reading order.
///
/// For a name X: `X.conf`, sorted `X.d/*.conf`, `X.local`, sorted `X.d/*.local`. Each of
/// those (and each file it includes) is then expanded by its `[INCLUDES]`: the
/// `before` files' trees, the file itself, the `after` files' trees, where every
/// included file also brings its own `.local`.
struct ConfigFileList {
    static let includesSection = "INCLUDES"
    /// fail2ban stops cycles only along one include chain; deep non-cyclic chains end in
    /// Python's recursion limit. A fixed depth gives a clear error instead.
    static let maximumIncludeDepth = 32

    private let fileSystem = FileSystem()

    /// The existing files for `name` under `directory`, in reading order.
    func files(named name: String, in directory: String) -> [String] {
        let base = FileSystem.join(directory, name)
        let dropIn = base + ".d"
        let candidates = [base + ".conf"] + fileSystem.sortedFiles(in: dropIn, suffix: ".conf")
            + [base + ".local"] + fileSystem.sortedFiles(in: dropIn, suffix: ".local")
        return candidates.filter(fileSystem.isFile)
    }

    /// What `files(named:in:)` looks for, for messages.
    static func searchDescription(named name: String, in directory: String) -> String {
        let base = FileSystem.join(directory, name)
        return "\(base).conf, \(base).d/*.conf, \(base).local, \(base).d/*.local"
    }

    /// The given files with their `.local` companions and include trees, in reading order.
    /// Files that cannot be read are left out, as fail2ban does.
    func expandIncludes(of files: [String], reader: (String) throws -> IniDocument?) throws -> [String] {
        try expand(files, chain: [], reader: reader)
    }

    private func expand(_ files: [String], chain: [String],
                        reader: (String) throws -> IniDocument?) throws -> [String] {
        try withLocals(files).flatMap { try tree(of: $0, chain: chain, reader: reader) }
    }

    private func withLocals(_ files: [String]) -> [String] {
        files.flatMap { file -> [String] in
            let local = FileSystem.removingExtension(file) + ".local"
            return !files.contains(local) && fileSystem.isFile(local) ? [file, local] : [file]
        }
    }

    private func tree(of file: String, chain: [String],
                      reader: (String) throws -> IniDocument?) throws -> [String] {
        guard chain.count < Self.maximumIncludeDepth else {
            throw ConfigError(file: file, "includes nested deeper than \(Self.maximumIncludeDepth) files: "
                              + chain.joined(separator: " -> "))
        }
        guard let document = try reader(file) else { return [] }
        // Like fail2ban, an include is skipped only when it is one of the files that led
        // here; the same file may still be read twice along different branches.
        let ancestors = Set(chain.map(FileSystem.normalized))
        let directory = FileSystem.directoryName(file)
        // `before`/`after` are read as fail2ban reads them: interpolated within the one
        // file, with that file's DEFAULT section as fallback. One merge serves both.
        let includes = document.sections.contains(Self.includesSection) ? ConfigSet(documents: [document]) : nil
        func included(_ option: String) throws -> [String] {
            guard let value = try includes?.value(section: Self.includesSection, key: option) else { return [] }
            var result: [String] = []
            for entry in value.split(separator: "\n") {
                let target = FileSystem.join(directory, String(entry))
                if ancestors.contains(FileSystem.normalized(target)) { continue }
                result += try expand([target], chain: chain + [file], reader: reader)
            }
            return result
        }
        return try included("before") + [file] + included("after")
    }
}
