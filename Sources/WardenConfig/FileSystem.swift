import Glibc

/// The file access and path arithmetic the loader needs, with Python's `os.path` rules
/// so that include paths resolve exactly as fail2ban resolves them.
struct FileSystem {
    func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file, or nil when it cannot be opened or read.
    func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        // Not zero-filled first: that cost more than reading a filter file does.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = Glibc.read(descriptor, chunk.baseAddress, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }

    /// Regular files in `directory` whose names end in `suffix`, not hidden (as glob's
    /// `*` skips dot files), sorted by code point like Python's `sorted`.
    func sortedFiles(in directory: String, suffix: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix("."), name.hasSuffix(suffix), name.count > 0 { names.append(name) }
        }
        return names.map { Self.join(directory, $0) }
            .filter(isFile)
            .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// `os.path.join` for two parts.
    static func join(_ head: String, _ tail: String) -> String {
        if tail.hasPrefix("/") || head.isEmpty { return tail }
        return head.hasSuffix("/") ? head + tail : head + "/" + tail
    }

    /// `os.path.dirname`.
    /// Works on UTF-8 bytes: `/` is ASCII, so the cut falls on a scalar boundary.
    static func directoryName(_ path: String) -> String {
        let bytes = path.utf8
        let slash = UInt8(ascii: "/")
        guard let last = bytes.lastIndex(of: slash) else { return "" }
        let head = path[...last]
        // A head of slashes only is kept whole; otherwise trailing slashes go.
        guard let end = head.utf8.lastIndex(where: { $0 != slash }) else { return String(head) }
        return String(path[...end])
    }

    static func baseName(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// `os.path.splitext(path)[0]`.
    static func removingExtension(_ path: String) -> String {
        let base = baseName(path)
        guard let dot = base.lastIndex(of: "."), base[..<dot].contains(where: { $0 != "." }) else { return path }
        return String(path.dropLast(base.distance(from: dot, to: base.endIndex)))
    }

    /// Lexical `os.path.normpath`, used to recognise the same file under two spellings.
    /// Split on `/` bytes, as Python splits on the code point.
    static func normalized(_ path: String) -> String {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let bytes = Array(path.utf8)
        let absolute = bytes.first == slash
        func isParent(_ part: ArraySlice<UInt8>) -> Bool { part.count == 2 && part.allSatisfy { $0 == dot } }
        var parts: [ArraySlice<UInt8>] = []
        for part in bytes.split(separator: slash) where !(part.count == 1 && part.first == dot) {
            if isParent(part), let last = parts.last, !isParent(last) {
                parts.removeLast()
            } else if isParent(part), absolute {
                continue
            } else {
                parts.append(part)
            }
        }
        var output: [UInt8] = absolute ? [slash] : []
        for (index, part) in parts.enumerated() {
            if index > 0 { output.append(slash) }
            output += part
        }
        return output.isEmpty ? "." : String(decoding: output, as: UTF8.self)
    }
}
