import CSystemd
#if canImport(Glibc)
import Glibc
#endif

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
        guard let library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL) else {
            throw JournalError.library(String(cString: dlerror()))
        }
        func function<T>(_ name: String) throws(JournalError) -> T {
            guard let address = dlsym(library, name) else { throw JournalError.library("\(name) not found in libsystemd.so.0") }
            return unsafeBitCast(address, to: T.self)
        }
        open = try function("sd_journal_open")
        openDirectory = try function("sd_journal_open_directory")
        openFiles = try function("sd_journal_open_files")
        close = try function("sd_journal_close")
        getFD = try function("sd_journal_get_fd")
        process = try function("sd_journal_process")
        getTimeout = try function("sd_journal_get_timeout")
        addMatch = try function("sd_journal_add_match")
        addDisjunction = try function("sd_journal_add_disjunction")
        seekHead = try function("sd_journal_seek_head")
        seekTail = try function("sd_journal_seek_tail")
        seekRealtime = try function("sd_journal_seek_realtime_usec")
        seekCursor = try function("sd_journal_seek_cursor")
        testCursor = try function("sd_journal_test_cursor")
        getCursor = try function("sd_journal_get_cursor")
        next = try function("sd_journal_next")
        previous = try function("sd_journal_previous")
        getData = try function("sd_journal_get_data")
        getRealtime = try function("sd_journal_get_realtime_usec")
        getMonotonic = try function("sd_journal_get_monotonic_usec")
    }
}
