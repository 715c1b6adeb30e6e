#if canImport(Glibc)
import Glibc
#endif

/// A private sample-log directory for runner tests, removed on deinit.
final class TemporarySamples {
    let path: String
    private let names: [String]

    init(files: [String: String]) throws {
        var template = Array("/tmp/warden-sample-test-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw Failure.cannotCreate
        }
        path = String(cString: created)
        names = Array(files.keys)
        for (name, text) in files {
            guard let file = fopen(path + "/" + name, "w") else { throw Failure.cannotCreate }
            fputs(text + "\n", file)
            fclose(file)
        }
    }

    deinit {
        for name in names { unlink(path + "/" + name) }
        rmdir(path)
    }

    enum Failure: Error { case cannotCreate }
}
