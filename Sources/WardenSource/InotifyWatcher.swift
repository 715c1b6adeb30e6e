#if canImport(Glibc)
import Glibc
#endif
import CLinux
import WardenThreads

/// Turns inotify events into `LogFileSet` changes. The directories of all patterns are
/// watched for names appearing and disappearing; each open file is watched for writes
/// through its descriptor (`/proc/self/fd/N`), so the watch follows the file across
/// renames and deletes exactly like the descriptor does.
final class InotifyWatcher: FileWatchRegistry {
    let descriptor: Int32
    private let fileSet: LogFileSet
    private var directories: [Int32: String] = [:]
    private var files: [Int32: TailedFile] = [:]
    private var logsOfFiles: [Int32: String] = [:]
    private static let bufferSize = 256 * 1024
    private let buffer = UnsafeMutableRawPointer.allocate(byteCount: InotifyWatcher.bufferSize, alignment: 8)
    private let diagnostics: @Sendable (String) -> Void

    init(fileSet: LogFileSet, diagnostics: @escaping @Sendable (String) -> Void) throws {
        descriptor = warden_inotify_init()
        guard descriptor >= 0 else { throw LogSourceError.system(call: "inotify_init1", reason: systemErrorText()) }
        self.fileSet = fileSet
        self.diagnostics = diagnostics
        fileSet.registry = self
    }

    deinit {
        buffer.deallocate()
        close(descriptor)
    }

    /// Watches the pattern directories; call before the file set opens its files, so no
    /// name change between the two is missed.
    func watchDirectories() {
        let mask = InotifyMask.create | InotifyMask.movedTo | InotifyMask.movedFrom | InotifyMask.delete | InotifyMask.onlyDirectory
        for directory in Set(fileSet.patterns.map(\.directory)) {
            let watch = warden_inotify_add_watch(descriptor, directory, mask)
            if watch < 0 {
                diagnostics("warning: cannot watch directory \(directory): \(systemErrorText()); its files are not followed")
            } else {
                directories[watch] = directory
            }
        }
    }

    func watch(_ file: TailedFile) {
        let watch = warden_inotify_add_watch(descriptor, "/proc/self/fd/\(file.descriptor)", InotifyMask.modify)
        guard watch >= 0 else {
            diagnostics("warning: cannot watch \(file.path): \(systemErrorText())")
            return
        }
        file.watch = watch
        files[watch] = file
    }

    func unwatch(_ file: TailedFile) {
        guard file.watch >= 0 else { return }
        warden_inotify_rm_watch(descriptor, file.watch)
        files[file.watch] = nil
        file.watch = -1
    }

    /// Reads all queued events and applies them: names first, in order, then one pump per
    /// log that had writes.
    ///
    /// Event handlers never trust a `stat` of the log's name to tell which file an event
    /// was about: by the time an event is read the name may already point at a file
    /// several rotations later. Renames are resolved by the new name's identity, and a
    /// log's new current file is opened only after the queue is empty, followed by one
    /// more look at the queue, so every rename that happened before that open is known
    /// (and its file queued for draining) before the current file's lines are delivered.
    func handleEvents() {
        var modified: Set<String> = []
        var overflowed = false
        repeat {
            overflowed = readQueuedEvents(into: &modified) || overflowed
        } while !overflowed && fileSet.openMissingCurrentFiles(among: modified)
        if overflowed {
            fileSet.statistics.overflowsCounter.wrappingAdd(1, ordering: .releasing)
            fileSet.rescan()
            return
        }
        for path in modified { if let log = fileSet.logs[path] { fileSet.pump(log) } }
    }

    /// Applies events until the queue is empty; true when the queue overflowed.
    private func readQueuedEvents(into modified: inout Set<String>) -> Bool {
        var movedFrom: [UInt32: String] = [:]
        var overflowed = false
        var lookedForMovedTo = false
        while true {
            let count = read(descriptor, buffer, Self.bufferSize)
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                // struct inotify_event: wd, mask, cookie, len, then len bytes of name.
                let event = buffer + offset
                let watch = event.loadUnaligned(as: Int32.self)
                let mask = event.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                let cookie = event.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                let nameLength = Int(event.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                if mask & InotifyMask.overflow != 0 { overflowed = true }
                if let directory = directories[watch], nameLength > 0 {
                    let name = String(cString: (event + 16).assumingMemoryBound(to: CChar.self))
                    let path = directory == "/" ? "/" + name : directory + "/" + name
                    modified.insert(path)
                    if mask & InotifyMask.movedFrom != 0 {
                        movedFrom[cookie] = path
                    } else if mask & InotifyMask.delete != 0 {
                        fileSet.pathVanished(path)
                    } else if mask & InotifyMask.movedTo != 0 {
                        if let oldPath = movedFrom.removeValue(forKey: cookie) {
                            fileSet.renamed(from: oldPath, to: path)
                            modified.insert(oldPath)
                        }
                        // A file renamed over a log's name replaces its current file.
                        fileSet.pathAppeared(path)
                    }
                    // IN_CREATE: the file is opened by openMissingCurrentFiles once the
                    // queue is empty, not here (see handleEvents).
                } else if let file = files[watch] {
                    if mask & InotifyMask.ignored != 0 { files[watch] = nil } else { modified.insert(file.path) }
                }
                offset += 16 + nameLength
            }
            // Room left for the largest event (16 bytes + NAME_MAX + NUL) means the kernel
            // had nothing more queued: the queue was empty, without another read to see it.
            // Except for a rename caught between its two events: the kernel queues
            // IN_MOVED_FROM and IN_MOVED_TO one after the other, and a read can land in
            // between. Read once more before calling an unpaired rename a move out of the
            // watched directories, or a file renamed before warden opened it is lost.
            if count < Self.bufferSize - 16 - 256 {
                guard !movedFrom.isEmpty, !lookedForMovedTo else { break }
                lookedForMovedTo = true
            }
        }
        // Moved out of the watched directories: only the name is gone.
        for path in movedFrom.values { fileSet.pathVanished(path) }
        return overflowed
    }
}

/// Starts `body` on its own thread; a refusal reads like the module's other failed calls.
func startDedicatedThread(_ body: @escaping @Sendable () -> Void) throws(LogSourceError) -> DedicatedThread {
    do {
        return try DedicatedThread(body)
    } catch {
        throw .system(call: "pthread_create", reason: systemErrorText(error.errno))
    }
}

public enum LogSourceError: Error, CustomStringConvertible {
    case system(call: String, reason: String)

    public var description: String {
        switch self {
        case .system(let call, let reason): "\(call) failed: \(reason)"
        }
    }
}

/// inotify event bits (linux/inotify.h; a stable kernel ABI).
enum InotifyMask {
    static let modify: UInt32 = 0x0000_0002
    static let movedFrom: UInt32 = 0x0000_0040
    static let movedTo: UInt32 = 0x0000_0080
    static let create: UInt32 = 0x0000_0100
    static let delete: UInt32 = 0x0000_0200
    static let overflow: UInt32 = 0x0000_4000
    static let ignored: UInt32 = 0x0000_8000
    static let onlyDirectory: UInt32 = 0x0100_0000
}
