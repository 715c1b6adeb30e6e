import Foundation
import Testing
@testable import WardenConfig

/// Small configuration trees, each checked against an explicit expectation and against
/// fail2ban's own reader on the same files.
@Suite struct ConfigLoadingTests {
    func loadBoth(_ config: TemporaryConfig, _ name: String, options: [String: String] = [:])
        throws -> (FilterDefinition, Fail2banOracle.Expected) {
        let definition = try FilterLoader(configDirectory: config.path).load(name, options: options)
        let expected = try Fail2banOracle.filter(name, in: config.path, options: options)
        #expect(expected.differences(from: definition) == [], "fail2ban: \(expected)\nwarden: \(definition)")
        return (definition, expected)
    }

    @Test func includesGiveBeforeTreeThenFileThenAfterTree() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/base.conf", """
            [Definition]
            failregex = from-base
            ignoreregex = base-ignore
            """)
        try config.write("filter.d/base.local", """
            [Definition]
            ignoreregex = base-local-ignore
            """)
        try config.write("filter.d/tail.conf", """
            [Definition]
            ignoreregex = %(known/ignoreregex)s tail
            """)
        try config.write("filter.d/x.conf", """
            [INCLUDES]
            before = base.conf
            after = tail.conf
            [Definition]
            failregex = %(known/failregex)s x
            """)
        let (definition, _) = try loadBoth(config, "x")
        #expect(definition.failregex == ["from-base x"])
        #expect(definition.ignoreregex == ["base-local-ignore tail"])
        #expect(definition.sourceFiles.map(FileSystem.baseName) == ["base.conf", "base.local", "x.conf", "tail.conf"])
    }

    @Test func knownReachesOnlyOneOverwriteBack() throws {
        // `%(known/x)s` inside the previous value resolves to the same entry again, so a
        // chain of them fails in fail2ban too (interpolation depth).
        let config = try TemporaryConfig()
        try config.write("filter.d/x.conf", "[Definition]\nfailregex = conf\n")
        try config.write("filter.d/x.d/a.conf", "[Definition]\nfailregex = %(known/failregex)s a\n")
        try config.write("filter.d/x.d/b.conf", "[Definition]\nfailregex = %(known/failregex)s b\n")
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("x") }
        #expect(try Fail2banOracle.filter("x", in: config.path).error != nil)
    }

    @Test func dropInsAndLocalsOverrideInFail2bansOrder() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/x.conf", "[Definition]\nfailregex = conf\nignoreregex = conf\nusedns = conf\n")
        try config.write("filter.d/x.d/b.conf", "[Definition]\nfailregex = d/b.conf\nignoreregex = d/b.conf\n")
        try config.write("filter.d/x.d/a.conf", "[Definition]\nfailregex = d/a.conf\ndatepattern = d/a.conf\n")
        try config.write("filter.d/x.local", "[Definition]\nfailregex = local\nusedns = local\n")
        try config.write("filter.d/x.d/a.local", "[Definition]\nfailregex = %(known/failregex)s+d/a.local\n")
        let (definition, _) = try loadBoth(config, "x")
        #expect(definition.failregex == ["local+d/a.local"])
        #expect(definition.ignoreregex == ["d/b.conf"])
        #expect(definition.datepattern == "d/a.conf")
        #expect(definition.usedns == "local")
        #expect(definition.sourceFiles.map { $0.replacingOccurrences(of: config.path + "/filter.d/", with: "") }
                == ["x.conf", "x.d/a.conf", "x.d/b.conf", "x.local", "x.d/a.local"])
    }

    @Test func multiLineValuesKeepOneRegexPerLineAndDropBlankLines() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/x.conf", """
            [Definition]
            failregex =
                first <HOST>

            # a comment line inside the value
                second <HOST> ; inline comment
                third;not-a-comment
            maxlines = 3
            ignoreregex:  colon-delimited
            """)
        let (definition, _) = try loadBoth(config, "x")
        #expect(definition.failregex == ["first <HOST>", "second <HOST>", "third;not-a-comment"])
        #expect(definition.maxlines == 3)
        #expect(definition.ignoreregex == ["colon-delimited"])
    }

    @Test func tagsResolveInnermostFirstAndUnknownTagsStay() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/x.conf", """
            [Init]
            mode = normal
            [Definition]
            mdre-normal = normal-re
            mdre-aggressive = <mdre-normal>|aggressive-re
            failregex = ^<mdre-<mode>> from <HOST> as <F-USER>\\S+</F-USER>$
                        <other/value>
            [other]
            value = from-other %%d
            """)
        let (normal, _) = try loadBoth(config, "x")
        #expect(normal.failregex == ["^normal-re from <HOST> as <F-USER>\\S+</F-USER>$", "from-other %d"])
        let (aggressive, _) = try loadBoth(config, "x",
                                           options: ["mode": "aggressive"])
        #expect(aggressive.failregex.first == "^normal-re|aggressive-re from <HOST> as <F-USER>\\S+</F-USER>$")
        let viaReference = try FilterLoader(configDirectory: config.path).load("x[mode=aggressive]")
        #expect(viaReference.failregex == aggressive.failregex)
        #expect(viaReference.name == "x")
    }

    @Test func nameSectionAndDefaultForms() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/x.conf", """
            [DEFAULT]
            shared = from-default
            [Definition]
            shared = from-definition
            failregex = %(__name__)s %(shared)s %(default/shared)s %(other/key)s
            [other]
            key = other-key
            """)
        let (definition, _) = try loadBoth(config, "x")
        #expect(definition.failregex == ["Definition from-definition from-default other-key"])
    }

    @Test func interpolationErrorsNameFileAndLine() throws {
        let config = try TemporaryConfig()
        let path = try config.write("filter.d/x.conf", "[Definition]\n\nfailregex = %(missing)s\n")
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("x") }
        do {
            _ = try FilterLoader(configDirectory: config.path).load("x")
        } catch let error as ConfigError {
            #expect(error.file == path)
            #expect(error.line == 3)
            #expect(error.message.contains("missing"))
        }
        #expect(try Fail2banOracle.filter("x", in: config.path).error != nil)

        try config.write("filter.d/self.conf", "[Definition]\nfailregex = %(failregex)s\n")
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("self") }
        #expect(try Fail2banOracle.filter("self", in: config.path).error != nil)

        try config.write("filter.d/percent.conf", "[Definition]\nfailregex = 100%\n")
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("percent") }
        #expect(try Fail2banOracle.filter("percent", in: config.path).error != nil)

        try config.write("filter.d/tagloop.conf", "[Definition]\na = <b>\nb = <a>\nfailregex = <a>\n")
        #expect(throws: ConfigError.self) { try FilterLoader(configDirectory: config.path).load("tagloop") }
        #expect(try Fail2banOracle.filter("tagloop", in: config.path).error != nil)
    }

    @Test(arguments: [
        ("key = value\n[Definition]\n", 1, "outside any section"),
        ("[Definition]\nfailregex = a\nno delimiter here\n", 3, "expected `key = value`"),
        ("[Definition]\na = 1\n[Init]\n[Definition]\n", 4, "already appears"),
        ("[Definition]\nfailregex = a\n  \nFailRegex = b\n", 4, "already set"),
        ("[Definition]\n = value\n", 2, "without a name"),
    ])
    func parseErrorsNameFileAndLine(text: String, line: Int, message: String) throws {
        let config = try TemporaryConfig()
        let path = try config.write("filter.d/x.conf", text)
        do {
            _ = try FilterLoader(configDirectory: config.path).load("x")
            Issue.record("expected a ConfigError")
        } catch let error as ConfigError {
            #expect(error.file == path)
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error)")
            #expect(error.description.hasPrefix("\(path):\(line): "))
        }
        // fail2ban refuses the same files.
        #expect(try Fail2banOracle.filter("x", in: config.path).error != nil)
    }

    @Test func invalidUTF8IsAnErrorWithItsLine() throws {
        let config = try TemporaryConfig()
        try config.writeBytes("filter.d/x.conf", Array("[Definition]\nfailregex = a\n".utf8) + [0xFF, 0x0A])
        #expect(throws: ConfigError(file: config.path + "/filter.d/x.conf", line: 3, "invalid UTF-8")) {
            try FilterLoader(configDirectory: config.path).load("x")
        }
    }

    @Test func missingFilterNamesWhatWasSearched() throws {
        let config = try TemporaryConfig()
        do {
            _ = try FilterLoader(configDirectory: config.path).load("nope")
            Issue.record("expected a ConfigError")
        } catch let error as ConfigError {
            #expect(error.message.contains("filter.d/nope.conf"))
            #expect(error.message.contains("filter.d/nope.local"))
        }
    }

    @Test func includeCyclesEndAsFail2bansDo() throws {
        let config = try TemporaryConfig()
        try config.write("filter.d/a.conf", "[INCLUDES]\nafter = b.conf\n[Definition]\nfailregex = a\n")
        try config.write("filter.d/b.conf", "[INCLUDES]\nafter = a.conf\n[Definition]\nfailregex = %(known/failregex)s b\n")
        let (definition, _) = try loadBoth(config, "a")
        #expect(definition.failregex == ["a b"])
        #expect(definition.sourceFiles.map(FileSystem.baseName) == ["a.conf", "b.conf"])
    }

    @Test func filePathsAndWardenLayout() throws {
        let stock = try FilterLoader(configDirectory: "/etc/fail2ban").load("sshd[mode=aggressive]")
        let byPath = try FilterLoader(configDirectory: "/nonexistent")
            .load("/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]")
        #expect(byPath == stock)
        let byFileName = try FilterLoader(configDirectory: "/etc/fail2ban").load("sshd.conf[mode=aggressive]")
        #expect(byFileName.failregex == stock.failregex)

        let config = try TemporaryConfig()
        try config.write("filters/mine.conf", "[Definition]\nfailregex = mine <HOST>\n")
        try FileManager.default.removeItem(atPath: config.path + "/filter.d")
        #expect(try FilterLoader(configDirectory: config.path).load("mine").failregex == ["mine <HOST>"])
        let foreign = try config.write("elsewhere/one.conf", "[Definition]\nfailregex = one <HOST>\n")
        #expect(try FilterLoader(configDirectory: config.path).load(foreign).failregex == ["one <HOST>"])
    }

    @Test func configSetReportsSources() throws {
        let config = try TemporaryConfig()
        let conf = try config.write("jail.conf", "[DEFAULT]\nbantime = 10m\n[sshd]\nenabled = false\nport = ssh\n")
        let local = try config.write("jail.local", "[sshd]\n\nenabled = true\n")
        let set = try ConfigSet.load(name: "jail", in: config.path)
        #expect(set.sections == ["sshd"])
        #expect(try set.value(section: "sshd", key: "enabled") == "true")
        #expect(try set.value(section: "sshd", key: "known/enabled") == "false")
        #expect(try set.value(section: "sshd", key: "bantime") == "10m")
        #expect(set.rawValue(section: "sshd", key: "enabled") == ConfigValue(text: "true", file: local, line: 3))
        #expect(set.rawValue(section: "sshd", key: "Port") == ConfigValue(text: "ssh", file: conf, line: 5))
        #expect(try set.value(section: "nosuch", key: "port") == nil)
        #expect(set.files == [conf, local])
    }
}
