/// Why a filter regex could not be used. Every case names the regex as configured.
public struct FilterRegexError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Nothing but whitespace after tag expansion.
        case empty
        /// PCRE2 rejected the translated pattern.
        case compile(message: String, offset: Int)
        /// A failregex with none of `fid`, `ip4`, `ip6`, `dns`, `mlfid` (nor its prefregex).
        case noFailureID
    }

    public enum Role: String, Sendable, Equatable {
        case prefregex, failregex, ignoreregex
    }

    public let kind: Kind
    public let role: Role
    /// Position in the filter's list (0 for the prefregex).
    public let index: Int
    /// The regex as configured, tags unexpanded.
    public let regex: String

    public var description: String {
        switch kind {
        case .empty: return "\(role.rawValue) #\(index) is empty: '\(regex)'"
        case .compile(let message, let offset):
            return "\(role.rawValue) #\(index) does not compile (\(message) at offset \(offset) after tag expansion): '\(regex)'"
        case .noFailureID:
            return "\(role.rawValue) #\(index) has no failure-id group (<HOST>, <ADDR>, <F-ID>, ...): '\(regex)'"
        }
    }
}

/// One compiled filter regex: tags expanded, translated to PCRE2, and the numbers of
/// the groups the matcher reads resolved once, so matching never looks names up.
public final class FilterRegex: @unchecked Sendable {
    /// Numbers of the groups with a meaning to fail2ban; nil when the regex lacks one.
    struct SpecialGroups {
        var fid, ip4, ip6, dns, cidr, user, mlfid, nofail, mlfforget, mlfgained, content: Int?
        /// `skiplines0`, `skiplines1`, ... in order.
        var skipLines: [Int] = []

        init(_ groups: [NamedGroup]) {
            for group in groups {
                let number = group.number
                switch group.name {
                case "fid": fid = number
                case "ip4": ip4 = number
                case "ip6": ip6 = number
                case "dns": dns = number
                case "cidr": cidr = number
                case "user": user = number
                case "mlfid": mlfid = number
                case "nofail": nofail = number
                case "mlfforget": mlfforget = number
                case "mlfgained": mlfgained = number
                case "content": content = number
                default: break
                }
            }
            while true {
                let name = "skiplines\(skipLines.count)"
                guard let group = groups.first(where: { $0.name == name }) else { break }
                skipLines.append(group.number)
            }
        }

        var hasFailureID: Bool { fid != nil || ip4 != nil || ip6 != nil || dns != nil || mlfid != nil }
    }

    /// A struct for the reason `NamedGroup` is one.
    struct AlternateGroup {
        let number: Int
        let target: String
    }

    /// The regex as configured.
    public let source: String
    /// After tag expansion, in Python syntax (what fail2ban compiles).
    public let expanded: String
    let compiled: PCRERegex
    /// Named groups in number order, for building a failure's group map.
    let namedGroups: [NamedGroup]
    /// `alt_NAME[_N]` groups and the name they fill in when it is unset, in name order
    /// (the first one set wins).
    let alternateGroups: [AlternateGroup]
    let special: SpecialGroups
    /// Bytes every match must contain; checked with memmem before running PCRE2.
    let requiredLiteral: [UInt8]?
    /// The bytes every match starts with, where PCRE2 anchors the pattern at the
    /// subject start (not in multi-line mode, where `^` matches after any newline).
    let anchoredPrefix: [UInt8]?

    init(_ source: String, role: FilterRegexError.Role, index: Int, useDNS: Bool, multiline: Bool) throws(FilterRegexError) {
        self.source = source
        expanded = RegexTags.expand(source, useDNS: useDNS)
        guard expanded.contains(where: { !$0.isWhitespace }) else {
            throw FilterRegexError(kind: .empty, role: role, index: index, regex: source)
        }
        let translated = PythonRegexTranslation.translate(expanded)
        do {
            compiled = try PCRERegex(translated, options: multiline ? .multiline : [])
        } catch {
            throw FilterRegexError(kind: .compile(message: error.message, offset: error.offset), role: role, index: index, regex: source)
        }
        namedGroups = compiled.namedGroups.sorted { $0.number < $1.number }
        // PCRE2's name table is in name order already (names are ASCII, so bytewise
        // order is `String`'s).
        alternateGroups = compiled.namedGroups.compactMap { group in
            guard let target = FilterRegex.alternateTarget(group.name) else { return nil }
            return AlternateGroup(number: group.number, target: target)
        }
        special = SpecialGroups(compiled.namedGroups)
        let literals = RequiredLiteral.scan(translated)
        requiredLiteral = literals.required
        anchoredPrefix = compiled.anchoredFirstBytes == nil ? nil : literals.anchoredPrefix
    }

    /// `alt_user_1` fills in `user`; names map like custom tags (`alt_id` -> `fid`).
    private static func alternateTarget(_ name: String) -> String? {
        guard name.hasPrefix("alt_"), name.count > 4 else { return nil }
        var base = Substring(name.dropFirst(4))
        if let underscore = base.lastIndex(of: "_"), base[base.index(after: underscore)...].allSatisfy(\.isNumber),
           base.index(after: underscore) < base.endIndex {
            base = base[..<underscore]
        }
        return RegexTags.groupName(forCustomTag: String(base))
    }
}
