#if canImport(Glibc)
import Glibc
#endif

/// A `NETLINK_NETFILTER` socket that commits `SetElementMessages` batches and waits for
/// the kernel's acknowledgement of each element message.
///
/// Like `NftablesContext`, it belongs to the network namespace of the thread that
/// creates it and is used from that thread only (the kernel tags the commit with that
/// thread's id, which `RulesetChangeMonitor` recognises as warden's own).
final class SetElementSocket {
    private let descriptor: Int32
    private var sequence: UInt32 = 1
    private var sendBufferSize = 0
    private var replies = [UInt8](repeating: 0, count: 1 << 16)

    private enum ABI {
        static let netfilter: Int32 = 12      // NETLINK_NETFILTER
        static let socketLevel: Int32 = 270   // SOL_NETLINK
        static let capAcknowledge: Int32 = 10 // NETLINK_CAP_ACK: errors quote only the header
        static let error: UInt16 = 2          // NLMSG_ERROR
        static let headerSize = 16            // nlmsghdr
    }

    init() throws(NftablesError) {
        descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), ABI.netfilter)
        guard descriptor >= 0 else { throw Self.error("socket(NETLINK_NETFILTER)", errno) }
        var one: Int32 = 1
        setsockopt(descriptor, ABI.socketLevel, ABI.capAcknowledge, &one, socklen_t(MemoryLayout<Int32>.size))
        // A lost reply must not block the ban worker for ever; the kernel answers a batch
        // within microseconds, so this bound is never reached in normal operation.
        var bound = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &bound, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// Builds a batch with `build`, sends it as one datagram and waits for every element
    /// message's acknowledgement. Throws nft-style errors: the kernel's errno text
    /// ("No such file or directory" for a missing table or set).
    func commit(_ build: (inout SetElementMessages) -> Void) throws(NftablesError) {
        var messages = SetElementMessages(firstSequence: sequence)
        build(&messages)
        messages.finish()
        sequence = messages.followingSequence
        guard !messages.elementMessageSequences.isEmpty else { return }
        try reserveSendBuffer(messages.bytes.count)
        let sent = messages.bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent == messages.bytes.count else { throw Self.error("send(nfnetlink batch)", sent < 0 ? errno : EMSGSIZE) }
        try awaitAcknowledgements(messages)
    }

    private func awaitAcknowledgements(_ messages: SetElementMessages) throws(NftablesError) {
        var pending = Set(messages.elementMessageSequences)
        var failure: Int32 = 0
        while !pending.isEmpty {
            let received = replies.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                if errno == EINTR { continue }
                throw Self.error("recv(nfnetlink acknowledgement)", errno)
            }
            var offset = 0
            while offset + ABI.headerSize <= received {
                let (length, type, replySequence) = replies.withUnsafeBytes { raw in
                    (Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)),
                     raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                     raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
                }
                guard length >= ABI.headerSize, offset + length <= received else { break }
                if type == ABI.error, offset + ABI.headerSize + 4 <= received {
                    let code = -replies.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + ABI.headerSize, as: Int32.self) }
                    // The batch as a whole was refused (no CAP_NET_ADMIN): no element reply follows.
                    if replySequence == messages.beginSequence, code != 0 { throw Self.error("nfnetlink batch", code) }
                    if pending.remove(replySequence) != nil, code != 0, failure == 0 { failure = code }
                }
                offset += (length + 3) & ~3
            }
        }
        if failure != 0 { throw Self.error("add/delete element", failure) }
    }

    private func reserveSendBuffer(_ size: Int) throws(NftablesError) {
        guard size > sendBufferSize else { return }
        // SO_SNDBUFFORCE (CAP_NET_ADMIN, which committing needs anyway) lifts the
        // wmem_max cap; the kernel doubles the value for its bookkeeping.
        var wanted = Int32(clamping: size)
        if setsockopt(descriptor, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &wanted, socklen_t(MemoryLayout<Int32>.size))
        }
        sendBufferSize = size
    }

    private static func error(_ call: String, _ code: Int32) -> NftablesError {
        NftablesError(message: "Error: \(String(cString: strerror(code)))", command: call)
    }
}
