import CNftables
import DynamicLibrary

/// The libnftables functions warden calls, looked up with dlopen when the first
/// `NftablesContext` is created. libnftables and the libraries it pulls in (libmnl,
/// libnftnl, libxtables, libjansson, libgmp) are mapped only then: `warden regex` and the
/// client commands start without them (docs/footprint.md). CNftables provides the
/// declarations only.
struct NftablesLibrary: @unchecked Sendable {  // C function pointers into a library that is never unloaded
    typealias Context = OpaquePointer

    let newContext: @convention(c) (UInt32) -> Context?
    let freeContext: @convention(c) (Context?) -> Void
    let bufferOutput: @convention(c) (Context?) -> Int32
    let bufferError: @convention(c) (Context?) -> Int32
    let outputBuffer: @convention(c) (Context?) -> UnsafePointer<CChar>?
    let errorBuffer: @convention(c) (Context?) -> UnsafePointer<CChar>?
    let outputFlags: @convention(c) (Context?) -> UInt32
    let setOutputFlags: @convention(c) (Context?, UInt32) -> Void
    let runCommands: @convention(c) (Context?, UnsafePointer<CChar>?) -> Int32

    /// Loaded once per process; the error says why when libnftables is missing.
    static let shared = Result<NftablesLibrary, NftablesError> { () throws(NftablesError) in try NftablesLibrary() }

    private init() throws(NftablesError) {
        let library = try DynamicLibrary("libnftables.so.1") {
            NftablesError(message: "cannot load libnftables: \($0)", command: "")
        }
        newContext = try library.function("nft_ctx_new")
        freeContext = try library.function("nft_ctx_free")
        bufferOutput = try library.function("nft_ctx_buffer_output")
        bufferError = try library.function("nft_ctx_buffer_error")
        outputBuffer = try library.function("nft_ctx_get_output_buffer")
        errorBuffer = try library.function("nft_ctx_get_error_buffer")
        outputFlags = try library.function("nft_ctx_output_get_flags")
        setOutputFlags = try library.function("nft_ctx_output_set_flags")
        runCommands = try library.function("nft_run_cmd_from_buffer")
    }
}
