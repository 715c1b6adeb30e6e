/// Stage 2 of fail2ban's interpolation: `<tag>` references between a filter's (or
/// action's) options, resolved as fail2ban's `substituteRecursiveTags` does.
///
/// Options are visited in order and rewritten in place, so later options see earlier
/// results. A tag is looked up among the options, then through `fallback` (fail2ban reads
/// any other `[Definition]` option there). Inner tags are replaced first because a
/// replacement is searched again from where it was inserted: `<mdre-<mode>>` becomes
/// `<mdre-aggressive>`, then that tag's value. Unknown tags (`<HOST>`) stay as they are.
struct TagSubstitution {
    /// fail2ban's limit on replacing the same tag within one option.
    static let maximumReplacements = 25

    /// Options that must not be rewritten nor substituted into others.
    var ignored: Set<String> = []
    var fallback: (String) throws -> String? = { _ in nil }

    func apply(to options: OrderedTable<String>) throws -> OrderedTable<String> {
        var options = options
        var finished: Set<String> = []
        var pendingCounts: [String: [String: Int]] = [:]
        var repeatPass = true
        while repeatPass {
            repeatPass = false
            for name in options.keys where !ignored.contains(name) && !finished.contains(name) {
                guard let original = options[name] else { continue }
                var counts = pendingCounts[name] ?? [:]
                let value = try substitute(in: original, of: name, options: options, counts: &counts)
                if value != original {
                    // A replacement that brought in new tags needs another pass.
                    if Self.firstTag(in: value, from: value.startIndex) != nil {
                        pendingCounts[name] = counts
                        repeatPass = true
                    }
                    options[name] = value
                }
                if !value.utf8.contains(UInt8(ascii: "<")) { finished.insert(name) }
            }
        }
        return options
    }

    private func substitute(in original: String, of name: String, options: OrderedTable<String>,
                            counts: inout [String: Int]) throws -> String {
        var value = original
        var searchFrom = value.unicodeScalars.startIndex
        while let tag = Self.firstTag(in: value, from: searchFrom) {
            let tagName = String(value.unicodeScalars[tag.name])
            if ignored.contains(tagName) {
                searchFrom = tag.end
                continue
            }
            if tagName == name || counts[tagName, default: 1] > Self.maximumReplacements {
                throw ConfigError("option '\(name)' refers to itself through <\(tagName)> "
                                  + "(or a tag is replaced more than \(Self.maximumReplacements) times)")
            }
            guard let replacement = try options[tagName] ?? fallback(tagName) else {
                searchFrom = tag.end
                continue
            }
            // fail2ban searches again from where the tag started. The text before it holds no
            // `<tagName>` (the leftmost search would have found it), so the replacement leaves
            // it as it is and the same byte offset still points there.
            let offset = value.utf8.distance(from: value.utf8.startIndex, to: tag.start)
            value = Self.replacingAll("<\(tagName)>", with: replacement, in: value)
            counts[tagName, default: 0] += 1
            searchFrom = value.utf8.index(value.utf8.startIndex, offsetBy: offset)
        }
        return value
    }

    /// fail2ban's `<([^ <>]+)>`: the first tag at or after `start`. Scans UTF-8 bytes:
    /// `<`, `>` and space are ASCII, so the positions found are scalar boundaries, and
    /// the bytes of other scalars never equal them.
    static func firstTag(in value: String, from start: String.Index)
        -> (start: String.Index, name: Range<String.Index>, end: String.Index)? {
        let bytes = value.utf8
        var open: String.Index?
        var index = start
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "<"):
                open = index
            case UInt8(ascii: ">"):
                if let opening = open, bytes.index(after: opening) < index {
                    return (opening, bytes.index(after: opening)..<index, bytes.index(after: index))
                }
                open = nil
            case UInt8(ascii: " "):
                open = nil
            default:
                break
            }
            index = bytes.index(after: index)
        }
        return nil
    }

    /// Python's `str.replace`: every non-overlapping occurrence, left to right. Works on
    /// UTF-8 bytes: in well-formed UTF-8 a needle's bytes can only match at a scalar
    /// boundary, so this finds what a scalar-by-scalar search finds. `target` is a
    /// `<tag>`, never empty.
    static func replacingAll(_ target: String, with replacement: String, in value: String) -> String {
        let needle = Array(target.utf8)
        let haystack = Array(value.utf8)
        guard let first = needle.first, haystack.count >= needle.count else { return value }
        var output: [UInt8] = []
        var copied = 0
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) {
                output.append(contentsOf: haystack[copied..<index])
                output.append(contentsOf: replacement.utf8)
                index += needle.count
                copied = index
            } else {
                index += 1
            }
        }
        guard copied > 0 else { return value }
        output.append(contentsOf: haystack[copied...])
        return String(decoding: output, as: UTF8.self)
    }
}
