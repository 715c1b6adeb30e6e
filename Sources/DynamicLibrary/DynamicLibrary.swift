#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened with dlopen and never closed, so that the C function pointers
/// looked up in it stay valid for the process: how warden reaches libsystemd, libnftables
/// and libsqlite3 only when a jail, the firewall or the store first needs them
/// (docs/footprint.md). `Failure` is the caller's error type, made from a message: the
/// loader's reason, or which function is missing.
public struct DynamicLibrary<Failure: Error> {
    private let soname: String
    private let handle: UnsafeMutableRawPointer
    private let failure: (String) -> Failure

    public init(_ soname: String, failure: @escaping (String) -> Failure) throws(Failure) {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else { throw failure(String(cString: dlerror())) }
        self.soname = soname
        self.handle = handle
        self.failure = failure
    }

    /// The function `name`, as the `@convention(c)` type `T` the caller declares.
    public func function<T>(_ name: String) throws(Failure) -> T {
        guard let address = dlsym(handle, name) else { throw failure("\(name) not found in \(soname)") }
        return unsafeBitCast(address, to: T.self)
    }
}
