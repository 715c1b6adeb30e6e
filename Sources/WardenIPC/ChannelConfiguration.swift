#if canImport(Glibc)
import Glibc
#endif

/// Which adapter a channel uses and how, parsed from a jail's `ipc*` options.
///
///     ipc          = memory | file | shm | socket     (default memory)
///     ipc.path     = file: the spool file; socket: a directory holding one socket per
///                    reader; shm: the segment name prefix; memory: an in-process name
///     ipc.readers  = readers a shm ring keeps cursors for (default 1)
///     ipc.policy   = backpressure | overwrite | drop  (default backpressure)
///     ipc.overwrite= true  (same as ipc.policy = overwrite)
///     ipc.capacity = ring bytes per writer (shm, memory), default 4 MiB
///     ipc.rotate   = spool size that triggers rotation (file), default 64 MiB
///     ipc.mode     = octal mode of created sockets, segments and spools (0600 or 0660...)
///     ipc.group    = group name or gid the created objects belong to
///     ipc.allow    = peers allowed to connect: "uid:0 uid:1000 gid:adm" (names or numbers);
///                    the process's own uid and root are always allowed
public struct ChannelConfiguration: Equatable, Sendable {
    public enum Adapter: String, Sendable, CaseIterable { case memory, file, shm, socket }

    public enum Policy: String, Sendable, CaseIterable {
        /// A writer waits for the slowest live reader; nothing is lost.
        case backpressure
        /// A writer never waits; it overwrites the oldest messages and each reader counts what it missed.
        case overwrite
        /// A writer never waits; messages for a reader without room are dropped and counted for that reader.
        case drop
    }

    /// Bytes a writer batches before it flushes on its own; also the largest batch a reader receives.
    public static let batchSize = 64 * 1024
    /// Smallest buffer a `ChannelReader.read(into:)` accepts: one full batch.
    public static let minimumReadBufferSize = batchSize

    public var adapter: Adapter
    public var path: String
    public var readers: Int
    public var policy: Policy
    public var capacity: Int
    public var rotateBytes: Int
    public var mode: mode_t
    public var group: gid_t?
    public var allowedUIDs: Set<uid_t>
    public var allowedGIDs: Set<gid_t>

    public init(
        adapter: Adapter = .memory, path: String, readers: Int = 1, policy: Policy = .backpressure,
        capacity: Int = 4 << 20, rotateBytes: Int = 64 << 20, mode: mode_t = 0o600, group: gid_t? = nil,
        allowedUIDs: Set<uid_t> = [], allowedGIDs: Set<gid_t> = []
    ) {
        self.adapter = adapter
        self.path = path
        self.readers = readers
        self.policy = policy
        self.capacity = capacity
        self.rotateBytes = rotateBytes
        self.mode = mode
        self.group = group
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
    }

    /// Parses the `ipc*` keys of a jail section; other keys are ignored. Without `ipc.path`
    /// the path defaults to `/run/warden/<jail>.<adapter>` (the jail name for memory).
    public init(jailOptions options: [String: String], jail: String) throws {
        func value(_ key: String) -> String? {
            options[key].map(ChannelConfiguration.trimmed)
        }
        func invalid(_ key: String, _ reason: String) -> ChannelError {
            .invalidOption(name: key, value: options[key] ?? "", reason: reason)
        }
        func positive(_ key: String, default fallback: Int) throws -> Int {
            guard let text = value(key) else { return fallback }
            guard let number = Int(text), number > 0 else { throw invalid(key, "expected a positive integer") }
            return number
        }

        let adapterName = value("ipc") ?? "memory"
        guard let adapter = Adapter(rawValue: adapterName) else {
            throw invalid("ipc", "expected one of memory, file, shm, socket")
        }
        var policy = Policy.backpressure
        if let text = value("ipc.policy") {
            guard let parsed = Policy(rawValue: text) else { throw invalid("ipc.policy", "expected backpressure, overwrite or drop") }
            policy = parsed
        }
        if let text = value("ipc.overwrite") {
            switch text.lowercased() {
            case "true", "yes", "on", "1":
                guard value("ipc.policy") == nil || policy == .overwrite else {
                    throw invalid("ipc.overwrite", "contradicts ipc.policy = \(policy.rawValue)")
                }
                policy = .overwrite
            case "false", "no", "off", "0": break
            default: throw invalid("ipc.overwrite", "expected true or false")
            }
        }
        var mode: mode_t = 0o600
        if let text = value("ipc.mode") {
            guard let parsed = mode_t(text, radix: 8), parsed <= 0o777 else { throw invalid("ipc.mode", "expected an octal mode such as 0600") }
            mode = parsed
        }
        var group: gid_t?
        if let text = value("ipc.group") {
            guard let gid = ChannelConfiguration.groupID(text) else { throw invalid("ipc.group", "no such group") }
            group = gid
        }
        var uids = Set<uid_t>()
        var gids = Set<gid_t>()
        if let text = value("ipc.allow") {
            for entry in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }) {
                if entry.hasPrefix("uid:"), let uid = ChannelConfiguration.userID(String(entry.dropFirst(4))) {
                    uids.insert(uid)
                } else if entry.hasPrefix("gid:"), let gid = ChannelConfiguration.groupID(String(entry.dropFirst(4))) {
                    gids.insert(gid)
                } else {
                    throw invalid("ipc.allow", "entry '\(entry)' is not uid:<user> or gid:<group> naming an existing one")
                }
            }
        }
        self.init(
            adapter: adapter,
            path: value("ipc.path") ?? (adapter == .memory ? jail : "/run/warden/\(jail).\(adapter.rawValue)"),
            readers: try positive("ipc.readers", default: 1), policy: policy,
            capacity: try positive("ipc.capacity", default: 4 << 20),
            rotateBytes: try positive("ipc.rotate", default: 64 << 20),
            mode: mode, group: group, allowedUIDs: uids, allowedGIDs: gids)
    }

    /// Whether a peer with these credentials may connect: root, our own uid, or an allowed uid or gid.
    public func allows(uid: uid_t, gid: gid_t) -> Bool {
        uid == 0 || uid == geteuid() || allowedUIDs.contains(uid) || allowedGIDs.contains(gid)
    }

    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    static func userID(_ text: String) -> uid_t? {
        if let number = uid_t(text) { return number }
        guard let entry = getpwnam(text) else { return nil }
        return entry.pointee.pw_uid
    }

    static func groupID(_ text: String) -> gid_t? {
        if let number = gid_t(text) { return number }
        guard let entry = getgrnam(text) else { return nil }
        return entry.pointee.gr_gid
    }
}
