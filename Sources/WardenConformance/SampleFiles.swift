#if canImport(Glibc)
import Glibc
#endif

/// The little file-system and process access the sample runner needs.
enum SampleFiles {
    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return ferror(file) == 0 ? bytes : nil
    }

    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } == bytes.count
    }

    /// Entry names of a directory, sorted by code point.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }

    /// `path` if it is a directory.
    static func directory(_ path: String) -> String? {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? path : nil
    }

    static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func join(_ head: String, _ tail: String) -> String {
        if tail.hasPrefix("/") || head.isEmpty { return tail }
        return head.hasSuffix("/") ? head + tail : head + "/" + tail
    }

    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func baseName(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// Lines as fail2ban's FileContainer yields them: split at `\n`, trailing `\r`/`\n`
    /// removed, a last line without newline kept.
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var result = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if bytes.last == 0x0A || bytes.isEmpty { result.removeLast() }
        return result.map { line in
            var line = line
            while let last = line.last, last == 0x0D || last == 0x0A { line.removeLast() }
            return line
        }
    }

    /// Python's `str.strip()` whitespace, for blank-line detection.
    static func isPythonWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
    }

    /// Runs a program found on PATH and returns its standard output, or nil on failure.
    static func run(_ program: String, _ arguments: [String]) -> String? {
        let command = ([program] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        guard let pipe = popen(command + " 2>/dev/null", "r") else { return nil }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
            if count == 0 { break }
            output += chunk[0..<count]
        }
        return pclose(pipe) == 0 ? String(decoding: output, as: UTF8.self) : nil
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// fail2ban's `zzz-*` test filters include `common.conf` by a path relative to the
/// source tree (`../../../../config/filter.d/common.conf`), which does not exist in the
/// Debian package, so the Python runner errors on them. Like a careful runner, this
/// copies such a filter into a private temporary `filter.d` with every include that
/// does not resolve pointed at the file of the same name in the configuration's
/// `filter.d`, and loads that copy instead. Nothing else in the filter changes.
final class IncludeRepair {
    let configDirectory: String
    private var temporaryDirectory: String?

    init(configDirectory: String) {
        self.configDirectory = configDirectory
    }

    /// The path to load for the filter file at `path`: itself, or a repaired copy.
    func repaired(_ path: String) -> String {
        guard let bytes = SampleFiles.read(path) else { return path }
        let folder = SampleFiles.directoryName(path)
        var changed = false
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let equals = line.firstIndex(of: "="),
                  ["before", "after"].contains(line[..<equals].trimmingCharacters(in: " ")) else { return String(line) }
            let target = line[line.index(after: equals)...].trimmingCharacters(in: " ")
            guard !target.isEmpty, !SampleFiles.isFile(SampleFiles.join(folder, target)) else { return String(line) }
            let replacement = SampleFiles.join(SampleFiles.join(configDirectory, "filter.d"), SampleFiles.baseName(target))
            guard SampleFiles.isFile(replacement) else { return String(line) }
            changed = true
            return line[..<equals].trimmingCharacters(in: " ") + " = " + replacement
        }
        guard changed, let directory = makeTemporaryDirectory() else { return path }
        let copy = SampleFiles.join(directory, SampleFiles.baseName(path))
        return SampleFiles.write(Array(lines.joined(separator: "\n").utf8), to: copy) ? copy : path
    }

    private func makeTemporaryDirectory() -> String? {
        if let temporaryDirectory { return temporaryDirectory }
        var template = Array("/tmp/warden-samples-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else { return nil }
        let base = String(cString: created)
        let filterDirectory = base + "/filter.d"
        guard mkdir(filterDirectory, 0o700) == 0 else { return nil }
        temporaryDirectory = filterDirectory
        return filterDirectory
    }

    func cleanUp() {
        guard let temporaryDirectory else { return }
        for name in SampleFiles.list(temporaryDirectory) { unlink(SampleFiles.join(temporaryDirectory, name)) }
        rmdir(temporaryDirectory)
        rmdir(SampleFiles.directoryName(temporaryDirectory))
    }
}
