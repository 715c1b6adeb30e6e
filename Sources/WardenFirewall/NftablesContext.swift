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
        // Failures before any command (libnftables not loadable, no context) have none to show.
        guard !command.isEmpty else { return "nft: \(message.trimmingTrailingNewlines)" }
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
    private let nft: NftablesLibrary
    private let handle: OpaquePointer
    private let plainFlags: UInt32

    /// Throws when libnftables cannot be loaded (the error has the loader's reason) or
    /// gives no context.
    public init() throws(NftablesError) {
        let nft = try NftablesLibrary.shared.get()
        guard let handle = nft.newContext(UInt32(NFT_CTX_DEFAULT)) else {
            throw NftablesError(message: "nft_ctx_new failed", command: "")
        }
        self.nft = nft
        self.handle = handle
        _ = nft.bufferOutput(handle)
        _ = nft.bufferError(handle)
        plainFlags = nft.outputFlags(handle)
        OwnNftablesCommitters.register(warden_thread_id())
    }

    deinit { nft.freeContext(handle) }

    /// Runs `commands` (newline-separated nft commands) as one transaction and returns
    /// what nft printed (listings). `terse` leaves set elements out of listings (`nft -t`),
    /// for cheap checks of what exists.
    @discardableResult
    public func run(_ commands: String, terse: Bool = false) throws(NftablesError) -> String {
        nft.setOutputFlags(handle, terse ? plainFlags | UInt32(NFT_CTX_OUTPUT_TERSE) : plainFlags)
        let status = nft.runCommands(handle, commands)
        let output = nft.outputBuffer(handle).map { String(cString: $0) } ?? ""
        let error = nft.errorBuffer(handle).map { String(cString: $0) } ?? ""
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
