import CSQLite
import DynamicLibrary

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
        let library = try DynamicLibrary("libsqlite3.so.0") {
            StoreError(code: SQLITE_ERROR, message: "cannot load libsqlite3: \($0)")
        }
        open = try library.function("sqlite3_open_v2")
        close = try library.function("sqlite3_close")
        closeV2 = try library.function("sqlite3_close_v2")
        errorMessage = try library.function("sqlite3_errmsg")
        busyTimeout = try library.function("sqlite3_busy_timeout")
        exec = try library.function("sqlite3_exec")
        prepare = try library.function("sqlite3_prepare_v3")
        changes = try library.function("sqlite3_changes")
        finalize = try library.function("sqlite3_finalize")
        reset = try library.function("sqlite3_reset")
        clearBindings = try library.function("sqlite3_clear_bindings")
        bindInt64 = try library.function("sqlite3_bind_int64")
        bindDouble = try library.function("sqlite3_bind_double")
        bindText = try library.function("sqlite3_bind_text")
        bindNull = try library.function("sqlite3_bind_null")
        step = try library.function("sqlite3_step")
        columnInt64 = try library.function("sqlite3_column_int64")
        columnDouble = try library.function("sqlite3_column_double")
        columnType = try library.function("sqlite3_column_type")
        columnText = try library.function("sqlite3_column_text")
    }
}
