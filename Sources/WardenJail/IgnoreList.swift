#if canImport(Glibc)
import Glibc
#endif
import WardenIPC

/// The addresses a jail never bans: `ignoreip` entries (addresses, CIDR networks,
/// `a.b.c.d/255.255.255.0` netmasks, host names, `file:` lists of any of these) and,
/// with `ignoreself`, the host's own addresses.
///
/// Names and files are resolved when the list is built; `reloaded()` builds it again,
/// so a jail reload picks up changed DNS and files (fail2ban resolves names on every
/// check, which puts a DNS query on the failure path). Lookups are one trie walk.
public struct IgnoreList: Sendable {
    public let entries: [String]
    public let ignoreSelf: Bool
    private var networks = AddressPrefixSet()
    /// Entries that are not addresses and, for names, did not resolve; kept for messages.
    public private(set) var unresolved: [String] = []
    /// Non-address failure ids (fail2ban's raw ids) listed verbatim in ignoreip.
    private var literalIDs: Set<String> = []

    public init(entries: [String], ignoreSelf: Bool, resolver: (String) -> [NetworkAddress] = IgnoreList.resolve) {
        self.entries = entries
        self.ignoreSelf = ignoreSelf
        if ignoreSelf {
            for address in Self.ownAddresses() { networks.insert(address) }
        }
        for entry in entries { add(entry, resolver: resolver) }
    }

    public init(_ jail: JailDefinition) {
        self.init(entries: jail.ignoreIP, ignoreSelf: jail.ignoreSelf)
    }

    /// The same configuration read again: names re-resolved, files re-read, own
    /// addresses listed afresh.
    public func reloaded(resolver: (String) -> [NetworkAddress] = IgnoreList.resolve) -> IgnoreList {
        IgnoreList(entries: entries, ignoreSelf: ignoreSelf, resolver: resolver)
    }

    private mutating func add(_ entry: String, resolver: (String) -> [NetworkAddress]) {
        if entry.hasPrefix("file:") {
            let path = String(entry.dropFirst(5))
            guard let text = Self.readFile(path) else {
                unresolved.append(entry)
                return
            }
            for line in text.split(whereSeparator: { $0 == "\n" }) {
                let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                for word in JailSectionReader.splitWords(String(content)) where !word.hasPrefix("file:") {
                    add(word, resolver: resolver)
                }
            }
            return
        }
        if let network = Self.parseNetwork(entry) {
            networks.insert(network)
            return
        }
        let resolved = Self.looksLikeHostName(entry) ? resolver(entry) : []
        if resolved.isEmpty {
            unresolved.append(entry)
            literalIDs.insert(entry)
        }
        for address in resolved { networks.insert(address) }
    }

    /// Whether a failure with this id (and parsed address, when it is one) is ignored.
    public func contains(id: String, address: NetworkAddress?) -> Bool {
        if let address, networks.contains(address) { return true }
        return literalIDs.contains(id)
    }

    public func contains(_ address: NetworkAddress) -> Bool { networks.contains(address) }

    /// `a.b.c.d`, `a.b.c.d/len`, `a.b.c.d/m.m.m.m`, IPv6 with or without `/len`.
    static func parseNetwork(_ text: String) -> NetworkAddress? {
        if let network = NetworkAddress(text) { return network }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let host = NetworkAddress(String(parts[0])), host.family == .ipv4,
              let mask = NetworkAddress(String(parts[1])), mask.family == .ipv4 else { return nil }
        let bits = mask.bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        // Only contiguous masks name a network.
        guard bits == 0 || (~bits & (~bits &+ 1)) == 0 else { return nil }
        return NetworkAddress(family: .ipv4, bytes: host.bytes, prefixLength: UInt8(bits.nonzeroBitCount))
    }

    static func looksLikeHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
    }

    /// Addresses of `name` through the system resolver (getaddrinfo), as host networks.
    public static func resolve(_ name: String) -> [NetworkAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var result: [NetworkAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr.flatMap(Self.networkAddress), !result.contains(address) {
                result.append(address)
            }
            cursor = info.pointee.ai_next
        }
        return result
    }

    /// The addresses of every interface (getifaddrs), plus loopback, as fail2ban's
    /// `ignoreself` lists the host's own addresses.
    public static func ownAddresses() -> [NetworkAddress] {
        var result = [NetworkAddress("127.0.0.1")!, NetworkAddress("::1")!]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return result }
        defer { freeifaddrs(first) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr.flatMap(Self.networkAddress), !result.contains(address) {
                result.append(address)
            }
            cursor = entry.pointee.ifa_next
        }
        return result
    }

    static func networkAddress(_ socketAddress: UnsafeMutablePointer<sockaddr>) -> NetworkAddress? {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { NetworkAddress(family: .ipv4, bytes: Array($0)) }
            }
        case AF_INET6:
            return socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { NetworkAddress(family: .ipv6, bytes: Array($0)) }
            }
        default:
            return nil
        }
    }

    static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
