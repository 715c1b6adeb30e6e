import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// The libsqlite3 functions the store calls, looked up with dlopen when the first
/// connection opens: `warden regex` and the client commands start without libsqlite3
/// (docs/footprint.md). CSQLite provides the declarations only.
struct SQLiteLibrary: @unchecked Sendable {  // C function pointers into a library that is never unloaded
    typealias DatabaseHandle = OpaquePointer
    typealias StatementHandle = OpaquePointer
    typealias Text = UnsafePointer<CChar>?

    let open: @convention(c) (Text, UnsafeMutablePointer<DatabaseHandle?>?, Int32, Text) -> Int32
    let close: @convention(c) (DatabaseHandle?) -> Int32
    let closeV2: @convention(c) (DatabaseHandle?) -> Int32
    let errorMessage: @convention(c) (DatabaseHandle?) -> Text
    let busyTimeout: @convention(c) (DatabaseHandle?, Int32) -> Int32
    let exec: @convention(c) (DatabaseHandle?, Text, sqlite3_callback?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
    let prepare: @convention(c) (DatabaseHandle?, Text, Int32, UInt32, UnsafeMutablePointer<StatementHandle?>?, UnsafeMutablePointer<Text>?) -> Int32
    let changes: @convention(c) (DatabaseHandle?) -> Int32
    let finalize: @convention(c) (StatementHandle?) -> Int32
    let reset: @convention(c) (StatementHandle?) -> Int32
    let clearBindings: @convention(c) (StatementHandle?) -> Int32
    let bindInt64: @convention(c) (StatementHandle?, Int32, Int64) -> Int32
    let bindDouble: @convention(c) (StatementHandle?, Int32, Double) -> Int32
    let bindText: @convention(c) (StatementHandle?, Int32, Text, Int32, sqlite3_destructor_type?) -> Int32
    let bindNull: @convention(c) (StatementHandle?, Int32) -> Int32
    let step: @convention(c) (StatementHandle?) -> Int32
    let columnInt64: @convention(c) (StatementHandle?, Int32) -> Int64
    let columnDouble: @convention(c) (StatementHandle?, Int32) -> Double
    let columnType: @convention(c) (StatementHandle?, Int32) -> Int32
    let columnText: @convention(c) (StatementHandle?, Int32) -> UnsafePointer<UInt8>?

    /// Loaded once per process; the error says why when libsqlite3 is missing.
    static let shared = Result<SQLiteLibrary, StoreError> { () throws(StoreError) in try SQLiteLibrary() }

    private init() throws(StoreError) {
        guard let library = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL) else {
            throw StoreError(code: SQLITE_ERROR, message: "cannot load libsqlite3: \(String(cString: dlerror()))")
        }
        func function<T>(_ name: String) throws(StoreError) -> T {
            guard let address = dlsym(library, name) else {
                throw StoreError(code: SQLITE_ERROR, message: "cannot load libsqlite3: \(name) not found in libsqlite3.so.0")
            }
            return unsafeBitCast(address, to: T.self)
        }
        open = try function("sqlite3_open_v2")
        close = try function("sqlite3_close")
        closeV2 = try function("sqlite3_close_v2")
        errorMessage = try function("sqlite3_errmsg")
        busyTimeout = try function("sqlite3_busy_timeout")
        exec = try function("sqlite3_exec")
        prepare = try function("sqlite3_prepare_v3")
        changes = try function("sqlite3_changes")
        finalize = try function("sqlite3_finalize")
        reset = try function("sqlite3_reset")
        clearBindings = try function("sqlite3_clear_bindings")
        bindInt64 = try function("sqlite3_bind_int64")
        bindDouble = try function("sqlite3_bind_double")
        bindText = try function("sqlite3_bind_text")
        bindNull = try function("sqlite3_bind_null")
        step = try function("sqlite3_step")
        columnInt64 = try function("sqlite3_column_int64")
        columnDouble = try function("sqlite3_column_double")
        columnType = try function("sqlite3_column_type")
        columnText = try function("sqlite3_column_text")
    }
}
