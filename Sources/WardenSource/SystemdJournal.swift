import CSystemd
import DynamicLibrary

/// The libsystemd journal functions warden calls, looked up with dlopen when a jail first
/// reads the journal. libsystemd and the libraries it pulls in (gcrypt, gpg-error, zstd, lz4,
/// lzma, cap) are mapped only then: a daemon whose jails read files, and every client
/// command, start without them (docs/footprint.md). CSystemd provides the declarations only.
struct SystemdJournal: @unchecked Sendable {  // C function pointers into a library that is never unloaded
    typealias Handle = OpaquePointer
    typealias HandleOut = UnsafeMutablePointer<Handle?>?

    let open: @convention(c) (HandleOut, Int32) -> Int32
    let openDirectory: @convention(c) (HandleOut, UnsafePointer<CChar>?, Int32) -> Int32
    let openFiles: @convention(c) (HandleOut, UnsafeMutablePointer<UnsafePointer<CChar>?>?, Int32) -> Int32
    let close: @convention(c) (Handle?) -> Void
    let getFD: @convention(c) (Handle?) -> Int32
    let process: @convention(c) (Handle?) -> Int32
    let getTimeout: @convention(c) (Handle?, UnsafeMutablePointer<UInt64>?) -> Int32
    let addMatch: @convention(c) (Handle?, UnsafeRawPointer?, Int) -> Int32
    let addDisjunction: @convention(c) (Handle?) -> Int32
    let seekHead: @convention(c) (Handle?) -> Int32
    let seekTail: @convention(c) (Handle?) -> Int32
    let seekRealtime: @convention(c) (Handle?, UInt64) -> Int32
    let seekCursor: @convention(c) (Handle?, UnsafePointer<CChar>?) -> Int32
    let testCursor: @convention(c) (Handle?, UnsafePointer<CChar>?) -> Int32
    let getCursor: @convention(c) (Handle?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
    let next: @convention(c) (Handle?) -> Int32
    let previous: @convention(c) (Handle?) -> Int32
    let getData: @convention(c) (Handle?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeRawPointer?>?, UnsafeMutablePointer<Int>?) -> Int32
    let getRealtime: @convention(c) (Handle?, UnsafeMutablePointer<UInt64>?) -> Int32
    let getMonotonic: @convention(c) (Handle?, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<sd_id128_t>?) -> Int32

    /// Loaded once per process; the error says why when libsystemd is missing.
    static let shared = Result<SystemdJournal, JournalError> { () throws(JournalError) in try SystemdJournal() }

    private init() throws(JournalError) {
        let library = try DynamicLibrary("libsystemd.so.0") { JournalError.library($0) }
        open = try library.function("sd_journal_open")
        openDirectory = try library.function("sd_journal_open_directory")
        openFiles = try library.function("sd_journal_open_files")
        close = try library.function("sd_journal_close")
        getFD = try library.function("sd_journal_get_fd")
        process = try library.function("sd_journal_process")
        getTimeout = try library.function("sd_journal_get_timeout")
        addMatch = try library.function("sd_journal_add_match")
        addDisjunction = try library.function("sd_journal_add_disjunction")
        seekHead = try library.function("sd_journal_seek_head")
        seekTail = try library.function("sd_journal_seek_tail")
        seekRealtime = try library.function("sd_journal_seek_realtime_usec")
        seekCursor = try library.function("sd_journal_seek_cursor")
        testCursor = try library.function("sd_journal_test_cursor")
        getCursor = try library.function("sd_journal_get_cursor")
        next = try library.function("sd_journal_next")
        previous = try library.function("sd_journal_previous")
        getData = try library.function("sd_journal_get_data")
        getRealtime = try library.function("sd_journal_get_realtime_usec")
        getMonotonic = try library.function("sd_journal_get_monotonic_usec")
    }
}
