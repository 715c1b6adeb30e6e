/// fail2ban's regex tags (`<HOST>`, `<F-USER>...</F-USER>`, `<SKIPLINES>`, ...) and
/// their expansion into named groups, done before the pattern reaches PCRE2.
///
/// The expansions are fail2ban 1.0.2's, so group names (`ip4`, `ip6`, `dns`, `fid`,
/// `cidr`, `fport`, `skiplinesN`, lower-cased `F-*` names) are the ones its filters and
/// actions rely on.
public enum RegexTags {
    static let ipv4 = #"(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})"#
    static let ipv6 = #"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))"#
    static let dns = #"(?P<dns>[\w\-.^_]*\w)"#
    static let cidr = #"(?P<cidr>\d+)"#
    static let address = #"\[?(?:"# + ipv4 + "|" + ipv6 + #")\]?"#
    static let host = "(?:" + address + "|" + dns + ")"
    static let subnet = #"\[?(?:"# + ipv4 + "|" + ipv6 + ")(?:/" + cidr + #")?\]?"#

    /// Tags with a fixed expansion, in both spellings fail2ban accepts.
    static let fixed: [String: String] = [
        "IP4": ipv4, "F-IP4/": ipv4,
        "IP6": ipv6, "F-IP6/": ipv6,
        "ADDR": address, "F-ADDR/": address,
        "CIDR": cidr, "F-CIDR/": cidr,
        "SUBNET": subnet, "F-SUBNET/": subnet,
        "DNS": dns, "F-DNS/": dns,
        "F-ID/": #"(?P<fid>\S+)"#,
        "F-PORT/": #"(?P<fport>\w+)"#,
    ]

    /// `<HOST>` as fail2ban expands it alone, e.g. for lint checks on expanded patterns.
    public static func hostExpansion(useDNS: Bool = true) -> String { useDNS ? host : address }

    /// Expands every tag in `regex`. Unknown tags, and closing tags that were never
    /// opened, stay as written (fail2ban keeps them, and PCRE2 then reads them literally).
    /// `useDNS` is false for `usedns = no`, where `<HOST>` means an address only.
    public static func expand(_ regex: String, useDNS: Bool) -> String {
        let source = Array(regex.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(source.count + 256)
        // An array: a regex opens a few custom tags, too few for a set's hashing to pay.
        var openCustomTags: [String] = []
        var skipLinesCount = 0
        var index = 0
        while index < source.count {
            // Text up to the next `<` is copied in one go.
            let open = source[index...].firstIndex(of: UInt8(ascii: "<")) ?? source.count
            if open > index {
                output.append(contentsOf: source[index..<open])
                index = open
                continue
            }
            guard let end = tagEnd(source, from: index) else {
                output.append(source[index])
                index += 1
                continue
            }
            let nameBytes = source[(index + 1)..<(end - 1)]
            let tag = source[index..<end]
            index = end
            // Checked first, on the bytes: no fixed tag has the custom tags' form.
            if let custom = customTag(nameBytes) {
                if custom.closing {
                    if openCustomTags.contains(custom.name) { output.append(UInt8(ascii: ")")) } else { output += tag }
                } else {
                    openCustomTags.append(custom.name)
                    output.append(contentsOf: "(?P<\(groupName(forCustomTag: custom.name))>".utf8)
                }
                continue
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if name == "HOST" {
                output.append(contentsOf: (useDNS ? host : address).utf8)
            } else if name == "SKIPLINES" {
                output.append(contentsOf: #"\n(?P<skiplines\#(skipLinesCount)>(?:(?:.*\n)*?))"#.utf8)
                skipLinesCount += 1
            } else if let expansion = fixed[name] {
                output.append(contentsOf: expansion.utf8)
            } else {
                output += tag
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The group a custom `F-NAME` tag captures into: lower-cased, with fail2ban's two
    /// aliases (`F-ID` is `fid`, `F-PORT` is `fport`).
    static func groupName(forCustomTag name: String) -> String {
        let lower = name.lowercased()
        switch lower {
        case "id": return "fid"
        case "port": return "fport"
        default: return lower
        }
    }

    /// Parses `F-NAME` or `/F-NAME` (NAME in `[A-Z0-9_-]+`), fail2ban's custom tags.
    private static func customTag(_ name: ArraySlice<UInt8>) -> (name: String, closing: Bool)? {
        var body = name
        let closing = body.first == UInt8(ascii: "/")
        if closing { body = body.dropFirst() }
        guard body.starts(with: "F-".utf8) else { return nil }
        let tagName = body.dropFirst(2)
        guard !tagName.isEmpty, tagName.allSatisfy({ byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }) else { return nil }
        return (String(decoding: tagName, as: UTF8.self), closing)
    }

    /// End (one past `>`) of a tag `</?[\w-]+/?>` starting at `start`, as fail2ban's tag
    /// scanner finds it; nil if no tag starts there. Non-ASCII bytes count as word
    /// characters (Python's `\w` is Unicode-aware).
    private static func tagEnd(_ source: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        if index < source.count, source[index] == UInt8(ascii: "/") { index += 1 }
        let nameStart = index
        while index < source.count, isTagNameByte(source[index]) { index += 1 }
        guard index > nameStart else { return nil }
        if index < source.count, source[index] == UInt8(ascii: "/") { index += 1 }
        guard index < source.count, source[index] == UInt8(ascii: ">") else { return nil }
        return index + 1
    }

    @inline(__always)
    private static func isTagNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-") || byte >= 0x80
    }
}
