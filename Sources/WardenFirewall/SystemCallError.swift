#if canImport(Glibc)
import Glibc
#endif
import WardenThreads

/// A failed system call and its errno.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Starts `body` on its own thread; a refusal reads like the module's other failed calls.
func startWorkerThread(_ body: @escaping @Sendable () -> Void) throws(SystemCallError) -> DedicatedThread {
    do {
        return try DedicatedThread(body)
    } catch {
        throw SystemCallError(call: "pthread_create", errno: error.errno)
    }
}
