// SQLite's API (sqlite3.h), for WardenStore: declarations only. The module links nothing;
// `SQLiteLibrary` opens libsqlite3 when the store opens its first connection, so commands
// that never touch the store start without it.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }
