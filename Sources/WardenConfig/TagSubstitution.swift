import Glibc

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
        // The counts of options left for another pass, by name.
        var pendingNames: [String] = []
        var pendingCounts: [ReplacementCounts] = []
        var repeatPass = true
        while repeatPass {
            repeatPass = false
            for name in options.keys where !ignored.contains(name) && !finished.contains(name) {
                guard let original = options[name] else { continue }
                let pending = pendingNames.firstIndex(of: name)
                var counts = pending.map { pendingCounts[$0] } ?? ReplacementCounts()
                guard let bytes = try substitute(in: original, of: name, options: options, counts: &counts) else {
                    // Nothing was replaced: every tag left is ignored or unknown, and stays so
                    // (the option names are fixed and `fallback` answers the same), so a later
                    // pass would change nothing either.
                    finished.insert(name)
                    continue
                }
                let value = String(decoding: bytes, as: UTF8.self)
                if value != original {
                    // A replacement that brought in new tags needs another pass.
                    if Self.firstTag(in: bytes, from: 0) != nil {
                        if let pending { pendingCounts[pending] = counts } else {
                            pendingNames.append(name)
                            pendingCounts.append(counts)
                        }
                        repeatPass = true
                    }
                    options[name] = value
                }
                if !bytes.contains(UInt8(ascii: "<")) { finished.insert(name) }
            }
        }
        return options
    }

    /// The option's UTF-8 after substitution, nil when no tag was replaced.
    private func substitute(in original: String, of name: String, options: OrderedTable<String>,
                            counts: inout ReplacementCounts) throws -> [UInt8]? {
        var value = Array(original.utf8)
        var replaced = false
        var searchFrom = 0
        while let tag = Self.firstTag(in: value, from: searchFrom) {
            let tagName = String(decoding: value[tag.name], as: UTF8.self)
            if !ignored.isEmpty && ignored.contains(tagName) {
                searchFrom = tag.end
                continue
            }
            // Looked up before the checks below: an option's own name and a tag already
            // replaced are always found, so an unknown tag skips two hash lookups.
            guard let replacement = try options[tagName] ?? fallback(tagName) else {
                searchFrom = tag.end
                continue
            }
            if tagName == name || counts.count(of: tagName) ?? 1 > Self.maximumReplacements {
                throw ConfigError("option '\(name)' refers to itself through <\(tagName)> "
                                  + "(or a tag is replaced more than \(Self.maximumReplacements) times)")
            }
            // fail2ban searches again from where the tag started. The text before it holds no
            // `<tagName>` (the leftmost search would have found it), so the replacement leaves
            // it as it is and the same offset still points there.
            value = Self.replacingAll(value[tag.start..<tag.end], with: replacement, in: value)
            replaced = true
            counts.increment(tagName)
            searchFrom = tag.start
        }
        return replaced ? value : nil
    }

    /// fail2ban's `<([^ <>]+)>`: the first tag at or after `start`, in UTF-8 bytes: `<`,
    /// `>` and space are ASCII, so the positions found are scalar boundaries, and the
    /// bytes of other scalars never equal them.
    static func firstTag(in bytes: [UInt8], from start: Int) -> (start: Int, name: Range<Int>, end: Int)? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var index = start
            // memchr to each `<`: most of an expanded failregex is text between tags, and
            // a byte loop over it paid for every option that names a tag.
            while index < buffer.count, let found = memchr(base + index, Int32(UInt8(ascii: "<")), buffer.count - index) {
                var open = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
                index = open + 1
                scan: while index < buffer.count {
                    switch buffer[index] {
                    case UInt8(ascii: "<"):
                        open = index
                    case UInt8(ascii: ">"):
                        if open + 1 < index { return (open, open + 1..<index, index + 1) }
                        break scan
                    case UInt8(ascii: " "):
                        break scan
                    default:
                        break
                    }
                    index += 1
                }
                index += 1
            }
            return nil
        }
    }

    /// Python's `str.replace`: every non-overlapping occurrence, left to right. Works on
    /// UTF-8 bytes: in well-formed UTF-8 a needle's bytes can only match at a scalar
    /// boundary, so this finds what a scalar-by-scalar search finds. `needle` is a
    /// `<tag>`, never empty. Candidates are found with memchr and checked with memcmp: a
    /// byte loop paid for every `<` of the many named groups in an expanded failregex.
    static func replacingAll(_ needle: ArraySlice<UInt8>, with replacement: String,
                             in haystack: [UInt8]) -> [UInt8] {
        haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let hayStart = hay.baseAddress, let pinStart = pin.baseAddress, !pin.isEmpty else { return haystack }
                var output: [UInt8] = []
                var copied = 0
                var from = 0
                while from + pin.count <= hay.count,
                      let found = memchr(hayStart + from, Int32(pin[0]), hay.count - pin.count + 1 - from) {
                    let offset = hayStart.distance(to: UnsafeRawPointer(found))
                    guard memcmp(found, pinStart, pin.count) == 0 else {
                        from = offset + 1
                        continue
                    }
                    if output.isEmpty { output.reserveCapacity(hay.count + replacement.utf8.count) }
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: hay[copied..<offset]))
                    output.append(contentsOf: replacement.utf8)
                    copied = offset + pin.count
                    from = copied
                }
                guard copied > 0 else { return haystack }
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: hay[copied...]))
                return output
            }
        }
    }
}

/// How often each tag was replaced in one option, in two arrays searched in order: an
/// option names a few tags, too few for hashing to pay, and a dictionary type of its own
/// is one more the runtime builds on first use.
private struct ReplacementCounts {
    private var tags: [String] = []
    private var numbers: [Int] = []

    func count(of tag: String) -> Int? {
        tags.firstIndex(of: tag).map { numbers[$0] }
    }

    mutating func increment(_ tag: String) {
        if let index = tags.firstIndex(of: tag) {
            numbers[index] += 1
        } else {
            tags.append(tag)
            numbers.append(1)
        }
    }
}
