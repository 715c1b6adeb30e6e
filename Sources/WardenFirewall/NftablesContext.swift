import CLinux
import CNftables
#if canImport(Glibc)
import Glibc
#endif

/// A failed libnftables command: nft's own message (with its caret marks) and the
/// command text that was sent.
public struct NftablesError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var command: String

    public var description: String {
        let shown = command.count > 400 ? String(command.prefix(400)) + "…" : command
        return "nft: \(message.trimmingTrailingNewlines)\n  command: \(shown)"
    }

    /// nft reports a missing table, chain or set as ENOENT ("No such file or directory").
    var namesMissingObject: Bool { message.contains("No such file or directory") }
}

/// The owner of one `nft_ctx`: output and errors are buffered, and every `run` sends its
/// text as one transaction (`nft_run_cmd_from_buffer` commits all commands or none).
///
/// Not Sendable: libnftables contexts are not thread-safe, and the netlink socket it opens
/// belongs to the network namespace of the thread that first runs a command. Create it,
/// use it and drop it on one thread.
public final class NftablesContext {
    private let handle: OpaquePointer
    private let plainFlags: UInt32

    public init() throws(NftablesError) {
        guard let handle = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw NftablesError(message: "nft_ctx_new failed", command: "")
        }
        self.handle = handle
        nft_ctx_buffer_output(handle)
        nft_ctx_buffer_error(handle)
        plainFlags = nft_ctx_output_get_flags(handle)
        OwnNftablesCommitters.register(warden_thread_id())
    }

    deinit { nft_ctx_free(handle) }

    /// Runs `commands` (newline-separated nft commands) as one transaction and returns
    /// what nft printed (listings). `terse` leaves set elements out of listings (`nft -t`),
    /// for cheap checks of what exists.
    @discardableResult
    public func run(_ commands: String, terse: Bool = false) throws(NftablesError) -> String {
        nft_ctx_output_set_flags(handle, terse ? plainFlags | UInt32(NFT_CTX_OUTPUT_TERSE) : plainFlags)
        let status = nft_run_cmd_from_buffer(handle, commands)
        let output = String(cString: nft_ctx_get_output_buffer(handle))
        let error = String(cString: nft_ctx_get_error_buffer(handle))
        guard status == 0 else {
            throw NftablesError(message: error.isEmpty ? "command failed (status \(status))" : error, command: commands)
        }
        return output
    }
}

extension String {
    var trimmingTrailingNewlines: Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)].isNewline { end = index(before: end) }
        return self[..<end]
    }
}
