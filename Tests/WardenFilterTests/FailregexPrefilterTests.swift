import Testing
@testable import WardenFilter

/// The prefilter's candidates against a plain reading of its rules (first byte, the
/// literal start of an anchored pattern, the required literal by `ByteSearch`), and
/// against PCRE2 itself: a regex that matches a subject is always a candidate.
@Suite struct FailregexPrefilterTests {
    /// Patterns whose literal starts are short, long (past the 16 bytes compared), hold
    /// the required literal or not, share first bytes, or have none to compare.
    static let sources = [
        #"^Failed (?:password|publickey) for (?P<user>\S+) from (?P<ip4>\S+)"#,
        #"^Failed publickey for invalid user (?P<user>\S+) from (?P<ip4>\S+)"#,
        #"^User (?P<user>\S+) from (?P<ip4>\S+) not allowed because not listed in AllowUsers"#,
        #"^User (?P<user>\S+) from (?P<ip4>\S+) not allowed because listed in DenyUsers"#,
        #"^Use(?P<fid>\S+) abcdefghijklmnopq"#,
        #"^Users? here (?P<fid>\S+)"#,
        #"^Received disconnect from (?P<ip4>\S+)(?: port \d+)?:\s*11:"#,
        #"^[aA]uthentication failure for (?P<user>.*) from (?P<ip4>\S+)"#,
        #"^abc\.de\[f\]gh (?P<fid>\S+)"#,
        #"^(?P<nofail>Connection from) (?P<ip4>\S+)"#,
        #"^x{2}yzw (?P<fid>\S+)"#,
        #"client (?P<ip4>\S+) denied"#,
        #"^ab|cd (?P<fid>\S+)"#,
    ]

    /// Fragments subjects are made of: pieces of every pattern's literals, cut at
    /// random, and filler.
    static let fragments = [
        "Failed ", "password", "publickey", " for ", "invalid user ", "bob", " from ", "192.0.2.1",
        "User ", "Users", "Use", " not allowed because ", "not listed in AllowUsers", "listed in DenyUsers",
        " abcdefghijklmnop", "q", " here ", "Received disconnect", " port 22", ":", " 11:", "uthentication failure",
        "authentication", "Authentication", "abc.de[f]gh ", "abc.de", "Connection from", "Connection", "xxyzw ",
        "xyzw ", "client ", " denied", "ab", "cd ", " ", "\n", "é",
    ]

    @Test func candidatesFollowTheRulesAndKeepEveryMatch() throws {
        let regexes = try Self.sources.enumerated().map { index, source in
            try FilterRegex(source, role: .failregex, index: index, useDNS: false, multiline: false)
        }
        let prefilter = FailregexPrefilter(regexes)
        let data = PCREMatchData(capacity: 16)
        var random = SystemRandomNumberGenerator()
        var matches = 0
        for round in 0..<20_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                let fragment = Self.fragments.randomElement(using: &random)!
                // Sometimes only part of a fragment: a prefix or literal cut short.
                text += Bool.random(using: &random) ? fragment : String(fragment.prefix(Int.random(in: 0...fragment.count, using: &random)))
            }
            var bytes = Array(text.utf8)
            if round % 2 == 0 { bytes.append(0x0A) }  // the matcher's subjects end in a newline
            let start = round % 5 == 0 ? Int.random(in: 0...regexes.count, using: &random) : 0
            bytes.withUnsafeBufferPointer { subject in
                prefilter.select(subject, from: start)
                var selected: [Int] = []
                var next = start
                while let index = prefilter.nextCandidate(from: next) {
                    selected.append(index)
                    next = index + 1
                }
                let expected = regexes.indices.filter { $0 >= start && Self.passesRules(regexes[$0], subject) }
                #expect(selected == expected, "subject \(String(decoding: subject, as: UTF8.self).debugDescription) from \(start)")
                for index in start..<regexes.count where regexes[index].compiled.match(subject, into: data) == .match {
                    matches += 1
                    #expect(selected.contains(index), "regex \(index) matches \(String(decoding: subject, as: UTF8.self).debugDescription)")
                }
            }
        }
        // The fragments are there to make matches: a generator that made none tests nothing.
        #expect(matches > 500)
    }

    /// The prefilter's rules read plainly: a byte-by-byte prefix of at most 16 bytes and
    /// a search for the whole literal, whether or not the prefix holds it. An empty
    /// subject (which the matcher never has: its subjects end in a newline) rules
    /// nothing out.
    private static func passesRules(_ regex: FilterRegex, _ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !subject.isEmpty else { return true }
        if let first = regex.compiled.anchoredFirstBytes, let byte = subject.first, !first.contains(byte) { return false }
        if let prefix = regex.anchoredPrefix, !subject.starts(with: prefix.prefix(16)) {
            return false
        }
        guard let literal = regex.requiredLiteral else { return true }
        return ByteSearch.contains(subject, literal)
    }

    @Test(arguments: [
        (#"^Failed password for \S+ from "#, "Failed password for "),
        (#"^colou?r"#, "colo"),
        (#"^abc\.d\]e+f"#, "abc.d]e"),
        (#"^ab{2}c"#, nil),
        (#"^abc\d"#, "abc"),
        (#"^abc|def"#, nil),
        (#"^abc(?:x|y)"#, "abc"),
        (#"(?i)^abcdef"#, nil),
        (#"^(?i)abcdef"#, nil),
        (#"abcdef"#, nil),
        (#"^ab"#, nil),
        (#"^abcé"#, "abc"),
        (#"^abcd\1"#, "abcd"),
        (#"^abcd\x41|e"#, nil),
    ] as [(String, String?)])
    func anchoredPrefix(pattern: String, prefix: String?) {
        #expect(RequiredLiteral.scan(pattern).anchoredPrefix.map { String(decoding: $0, as: UTF8.self) } == prefix)
    }
}
