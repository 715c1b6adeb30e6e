#if canImport(Glibc)
import Glibc
#endif

/// Where warden's own configuration (`filters/`, `jails/`) lives when `--config` is not
/// given: `$WARDEN_CONFIG`, then `/etc/warden`, then `share/warden` beside the installed
/// binary, then the source checkout the binary was built from (for development).
enum ConfigDirectory {
    static func resolve(_ explicit: String?) -> String {
        if let explicit { return explicit }
        if let fromEnvironment = getenv("WARDEN_CONFIG").map({ String(cString: $0) }), !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        var candidates = ["/etc/warden"]
        if let executable = executableDirectory() { candidates.append(executable + "/../share/warden") }
        candidates.append(sourceCheckout)
        return candidates.first { isDirectory($0 + "/filters") } ?? sourceCheckout
    }

    /// `<checkout>/Sources/warden/ConfigDirectory.swift` → `<checkout>`.
    private static let sourceCheckout: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    private static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
