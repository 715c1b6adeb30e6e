import Testing
import WardenConfig
@testable import WardenFilter

@Suite struct RegexTagTests {
    /// Every tag form fail2ban knows, expanded by fail2ban itself and by RegexTags.
    @Test func expansionsMatchFail2ban() throws {
        let regexes = [
            "from <HOST> port", "<ADDR>", "<IP4> and <IP6>", "<DNS>", "<SUBNET>", "<ADDR>/<CIDR>",
            "id=<F-ID/> port=<F-PORT/>", "<F-IP4/> <F-IP6/> <F-DNS/>", "<F-ADDR/> <F-CIDR/> <F-SUBNET/>",
            "user <F-USER>\\S+</F-USER> ok", "<F-ID>\\w+</F-ID>", "<F-PORT>\\d+</F-PORT>",
            "<F-MLFID>\\d+</F-MLFID> <F-NOFAIL>x</F-NOFAIL> <F-MLFFORGET>y</F-MLFFORGET> <F-MLFGAINED>z</F-MLFGAINED>",
            "^<F-CONTENT>.+</F-CONTENT>$", "a<SKIPLINES>b<SKIPLINES>c", "</F-USER> never opened", "<F-USER/> kept",
            "<unknown> <F-lower>x</F-lower> <F-A_B-C>v</F-A_B-C>", "<<HOST>>", "<F-ALT_USER1>u</F-ALT_USER1>",
        ]
        for usedns in ["warn", "no"] {
            let expected = try Fail2banFilterOracle.expand(regexes, usedns: usedns)
            for (regex, fail2ban) in zip(regexes, expected) {
                #expect(RegexTags.expand(regex, useDNS: usedns != "no") == fail2ban, "\(regex) with usedns=\(usedns)")
            }
        }
    }

    @Test func failregexWithoutIDIsRejectedNamingIt() {
        let filter = FilterDefinition(name: "t", failregex: ["^ok$", "^no id here (\\d+)$"])
        #expect {
            _ = try Matcher(filter: filter)
        } throws: { error in
            guard case .regex(let regexError) = error as? MatcherError else { return false }
            return regexError.kind == .noFailureID && regexError.regex == "^ok$" && regexError.index == 0
                && regexError.description.contains("^ok$")
        }
    }

    @Test func prefregexIDGroupSatisfiesTheCheck() throws {
        let filter = FilterDefinition(name: "t", prefregex: "^<HOST> <F-CONTENT>.+</F-CONTENT>$", failregex: ["^failed$"])
        let matcher = try Matcher(filter: filter)
        #expect(matcher.failRegexes.count == 1)
    }

    @Test func compileAndEmptyErrorsAreTyped() {
        for (regex, expectedKind) in [("^<HOST> (unclosed", "compile"), ("   ", "empty")] {
            #expect {
                _ = try Matcher(filter: FilterDefinition(name: "t", failregex: [regex]))
            } throws: { error in
                guard case .regex(let regexError) = error as? MatcherError, regexError.regex == regex else { return false }
                switch regexError.kind {
                case .compile: return expectedKind == "compile"
                case .empty: return expectedKind == "empty"
                case .noFailureID: return false
                }
            }
        }
        #expect(throws: MatcherError.self) { _ = try Matcher(filter: FilterDefinition(name: "t", failregex: ["<HOST>"], maxlines: 0)) }
    }

    @Test func multilineFlagOnlyWithMaxlines() throws {
        let single = try Matcher(filter: FilterDefinition(name: "t", failregex: ["^b <HOST>$"], maxlines: 1))
        let multi = try Matcher(filter: FilterDefinition(name: "t", failregex: ["^b <HOST>$"], maxlines: 2))
        _ = single.process("a 192.0.2.1")
        _ = multi.process("a 192.0.2.1")
        #expect(single.process("b 192.0.2.2").count == 1)
        #expect(multi.process("b 192.0.2.2").first?.id?.text == "192.0.2.2")
    }
}

@Suite struct MatcherOracleTests {
    @Test func addressesAndSpecialGroups() throws {
        let filter = FilterDefinition(name: "t", failregex: [
            "^auth fail from <HOST>(?: user <F-USER>\\S+</F-USER>)?$",
            "^net <SUBNET>$",
            "^session <F-ID/> from <ADDR>$",
            "^alt (?:u=<F-ALT_USER>\\S+</F-ALT_USER>|v=<F-USER>\\S+</F-USER>) <HOST>$",
            "^only <F-ID>\\S+</F-ID>$",
        ])
        try Fail2banFilterOracle.expectAgreement(filter, lines: [
            "auth fail from 192.0.2.1 user root",
            "auth fail from 2001:DB8:0:0::1",
            "auth fail from ::ffff:192.0.2.9",
            "auth fail from [2001:db8::7]",
            "auth fail from 192.030.0.6",
            "auth fail from example.com",
            "net 192.0.2.77/24",
            "net 2001:db8::1/64",
            "session abc123 from 192.0.2.3",
            "alt u=bob 192.0.2.4",
            "alt v=eve 192.0.2.5",
            "only token-42",
            "nothing here",
        ])
    }

    /// `capture` reads a group's raw offsets: unset groups (before and after set ones,
    /// and past the last set group), empty ones and ones ending the line must give the
    /// values fail2ban gives, and an unset failregex group still drops the prefregex's.
    @Test func unsetEmptyAndTrailingGroups() throws {
        let filter = FilterDefinition(name: "t", failregex: [
            "^fail from <HOST>(?: user <F-USER>\\S*</F-USER>)?(?: note <F-NOTE>.*</F-NOTE>)?$",
        ])
        let lines = [
            "fail from 192.0.2.1",
            "fail from 192.0.2.2 user ",
            "fail from 192.0.2.3 user bob note ",
            "fail from 192.0.2.4 note tail text",
            "fail from 192.0.2.5 user eve note x",
        ]
        try Fail2banFilterOracle.expectAgreement(filter, lines: lines)
        var prefixed = filter
        prefixed.prefregex = "^(?:u=<F-USER>\\S+</F-USER> )?<F-CONTENT>.+</F-CONTENT>$"
        try Fail2banFilterOracle.expectAgreement(prefixed, lines: lines.map { "u=alice " + $0 } + lines)
    }

    @Test func checkAllRegexReportsEveryHit() throws {
        let filter = FilterDefinition(name: "t", failregex: ["from <HOST>", "^fail from <ADDR>$"])
        try Fail2banFilterOracle.expectAgreement(filter, lines: ["fail from 192.0.2.1", "x from 192.0.2.2"], checkAll: true)
        try Fail2banFilterOracle.expectAgreement(filter, lines: ["fail from 192.0.2.1", "x from 192.0.2.2"], checkAll: false)
    }

    @Test func prefregexContentAndIgnoreregexOrder() throws {
        let few = FilterDefinition(
            name: "t", prefregex: "^svc\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$",
            failregex: ["^bad login from <HOST>$", "^bad key from <HOST>$", "^bad user <F-USER>\\w+</F-USER> from <HOST>$", "^denied <HOST>$"],
            ignoreregex: ["from 192\\.0\\.2\\.250"]
        )
        let many = FilterDefinition(name: "t", failregex: few.failregex, ignoreregex: ["192\\.0\\.2\\.250", "^bad key", "nope"])
        let lines = [
            "svc[1]: bad login from 192.0.2.1", "svc[1]: bad login from 192.0.2.250", "svc[2]: bad user root from 192.0.2.2",
            "other[1]: bad login from 192.0.2.3", "bad key from 192.0.2.4", "svc[3]: denied 192.0.2.250",
        ]
        try Fail2banFilterOracle.expectAgreement(few, lines: lines)
        try Fail2banFilterOracle.expectAgreement(few, lines: lines, checkAll: true)
        try Fail2banFilterOracle.expectAgreement(many, lines: lines + ["bad login from 192.0.2.5"])
    }

    @Test func multiLineBufferAndSkipLines() throws {
        let filter = FilterDefinition(
            name: "t",
            failregex: ["^conn (?P<c>\\d+) start$<SKIPLINES>^conn (?P=c) from <HOST>$<SKIPLINES>^conn (?P=c) failed$"],
            ignoreregex: [], maxlines: 5
        )
        try Fail2banFilterOracle.expectAgreement(filter, lines: [
            "conn 1 start", "noise", "conn 2 start", "conn 1 from 192.0.2.1", "conn 2 from 192.0.2.2",
            "conn 1 failed", "conn 2 failed", "conn 3 start", "a", "b", "c", "d", "conn 3 from 192.0.2.3", "conn 3 failed",
        ])
    }

    /// A connection-id filter like sshd's: nofail lines, pending failures before the host
    /// is known, users accumulated per connection, mlfgained and mlfforget.
    @Test func connectionCacheFollowsFail2ban() throws {
        let filter = FilterDefinition(
            name: "t", prefregex: "^c\\[<F-MLFID>\\d+</F-MLFID>\\]: <F-CONTENT>.+</F-CONTENT>$",
            failregex: [
                "^connect from <HOST>$",
                "^user <F-USER>\\w+</F-USER> <F-NOFAIL>attempt</F-NOFAIL>$",
                "^failed password for <F-USER>\\w+</F-USER>$",
                "^accepted <F-MLFGAINED>key</F-MLFGAINED> for <F-USER>\\w+</F-USER>$",
                "^<F-MLFFORGET>closed</F-MLFFORGET>$",
                "^failed early$",
            ]
        )
        let lines = [
            "c[1]: failed early", "c[1]: connect from 192.0.2.1", "c[1]: failed password for root",
            "c[1]: failed password for admin", "c[1]: closed",
            "c[2]: connect from 192.0.2.2", "c[2]: user bob attempt", "c[2]: accepted key for bob", "c[2]: failed password for bob",
            "c[2]: closed", "c[2]: failed password for bob",
            "c[3]: user amy attempt", "c[3]: connect from 2001:db8::3", "c[3]: user amy attempt", "c[3]: user joe attempt",
        ]
        try Fail2banFilterOracle.expectAgreement(filter, lines: lines)
        try Fail2banFilterOracle.expectAgreement(filter, lines: lines, checkAll: true)
    }

    @Test func invalidUTF8IsReplacedLikePython() throws {
        let filter = FilterDefinition(name: "t", failregex: ["^bad (?P<user>.+) from <HOST>$"])
        let matcher = try Matcher(filter: filter, options: { var o = MatcherOptions(); o.returnRawHost = true; o.checkFindTime = false; return o }())
        let line: [UInt8] = Array("bad ".utf8) + [0xC3, 0x28, 0xFF, 0xE2, 0x82] + Array(" from 192.0.2.1".utf8)
        let found = line.withUnsafeBufferPointer { matcher.process($0) }
        #expect(found.first?.groups["user"] == String(decoding: [0xC3, 0x28, 0xFF, 0xE2, 0x82] as [UInt8], as: UTF8.self))
        #expect(found.first?.groups["user"] == "\u{FFFD}(\u{FFFD}\u{FFFD}")
        #expect(matcher.statistics.repairedUTF8 == 1)
    }
}

@Suite struct MatcherTimeRuleTests {
    private func matcher(inOperation: Bool, now: Double) throws -> Matcher {
        let filter = FilterDefinition(name: "t", failregex: ["fail from <HOST>"], datepattern: "^%Y-%m-%d %H:%M:%S")
        var options = MatcherOptions()
        options.timeZone = .fixed(offsetSeconds: 0)
        options.findTime = 600
        let matcher = try Matcher(filter: filter, options: options, now: { now })
        matcher.inOperation = inOperation
        return matcher
    }

    @Test func initialReadDropsOldLinesAndUndatedOnes() throws {
        let now = 1_124_013_600.0 // 2005-08-14 10:00:00 UTC
        let matcher = try matcher(inOperation: false, now: now)
        #expect(matcher.process("2005-08-14 09:00:00 fail from 192.0.2.1").isEmpty)
        #expect(matcher.statistics.tooOld == 1)
        #expect(matcher.process("2005-08-14 09:55:00 fail from 192.0.2.2").first?.time == now - 300)
        // No date: the last date is over 60 s old, so the line is not counted in the initial read.
        #expect(matcher.process("fail from 192.0.2.3").isEmpty)
    }

    @Test func operationClampsOddDatesToNow() throws {
        let now = 1_124_013_600.0
        let matcher = try matcher(inOperation: true, now: now)
        #expect(matcher.process("2005-08-14 09:00:00 fail from 192.0.2.1").first?.time == now)
        #expect(matcher.process("2005-08-14 09:59:30 fail from 192.0.2.2").first?.time == now - 30)
        // Reuses the last date (30 s old) for an undated line.
        #expect(matcher.process("fail from 192.0.2.3").first?.time == now - 30)
        #expect(matcher.process("2005-08-14 10:05:00 fail from 192.0.2.4").first?.time == now)
    }
}

@Suite struct RequiredLiteralTests {
    @Test(arguments: [
        ("^Failed password for \\S+ from ", "Failed password for "),
        ("^[a-z\\-]{3,15}\\(\\S*,x\\): unknown user", ",x): unknown user"),
        ("abc|defgh", nil),
        ("(?i)Failed password", nil),
        ("^x(?:a|b)yz\\.w", "yz.w"),
        ("colou?r spelled", "r spelled"),
        ("a+bcd", "bcd"),
        ("\\x41BCD", nil),
        ("^abcd\\1", nil),
    ] as [(String, String?)])
    func extraction(pattern: String, literal: String?) {
        #expect(RequiredLiteral.scan(pattern).required.map { String(decoding: $0, as: UTF8.self) } == literal)
    }
}
