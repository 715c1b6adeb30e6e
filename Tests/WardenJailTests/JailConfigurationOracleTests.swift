import Foundation
import Testing
import WardenConfig
@testable import WardenJail

/// Jails parsed from Debian's /etc/fail2ban (unchanged, and a copy with a jail.local
/// enabling several jails with overrides) compared with `fail2ban-client -d`, option by
/// option for every option both have.
@Suite(.serialized)
struct JailConfigurationOracleTests {
    /// Turns `fail2ban-client -c DIR -d` output into per-jail JSON.
    static let streamScript = """
        import ast, json, subprocess, sys
        from fail2ban.server.mytime import MyTime
        directory = sys.argv[1]
        run = subprocess.run(['/usr/bin/python3', '/usr/bin/fail2ban-client', '-c', directory, '-d'],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.stderr.write(run.stderr); sys.exit(1)
        jails, order = {}, []
        seconds = ('findtime', 'bantime', 'bantime.maxtime', 'bantime.rndtime')
        for line in run.stdout.splitlines():
            command = ast.literal_eval(line)
            if command[0] == 'add':
                order.append(command[1])
                jails[command[1]] = {'backend': command[2], 'logpath': [], 'ignoreip': [], 'actions': [],
                                     'actionoptions': {}, 'failregex': [], 'ignoreregex': []}
                continue
            if command[0] not in ('set', 'multi-set') or len(command) < 4 or command[1] not in jails:
                continue
            jail, option, rest = jails[command[1]], command[2], command[3:]
            if option == 'addlogpath':
                jail['logpath'].append([rest[0], rest[1]])
            elif option == 'addignoreip':
                jail['ignoreip'].extend(rest)
            elif option == 'addaction':
                jail['actions'].append(rest[0])
            elif option == 'action':
                pairs = rest[1] if command[0] == 'multi-set' else [rest[1:3]]
                jail['actionoptions'].setdefault(rest[0], {}).update({k: v for k, v in pairs})
            elif option in ('addfailregex', 'addignoreregex'):
                jail[option[3:]].extend(rest[0] if command[0] == 'multi-set' else [rest[0]])
            elif option == 'addjournalmatch':
                jail['journalmatch'] = ' '.join(rest)
            elif option in seconds:
                jail[option] = float(MyTime.str2seconds(rest[0]))
            else:
                jail[option] = rest[0]
        print(json.dumps({'order': order, 'jails': jails}))
        """

    static func oracle(_ directory: String) throws -> (order: [String], jails: [String: [String: Any]]) {
        let result = try #require(try PythonOracle.run(streamScript, arguments: [directory]) as? [String: Any])
        return (result["order"] as? [String] ?? [], result["jails"] as? [String: [String: Any]] ?? [:])
    }

    static func compare(_ configuration: JailConfiguration, with oracle: (order: [String], jails: [String: [String: Any]])) {
        #expect(configuration.jails.map(\.name) == oracle.order)
        for jail in configuration.jails {
            guard let theirs = oracle.jails[jail.name] else { continue }
            let context = Comment(rawValue: "jail \(jail.name)")
            func number(_ key: String) -> Double? {
                (theirs[key] as? Double) ?? (theirs[key] as? Int).map(Double.init) ?? (theirs[key] as? String).flatMap(Double.init)
            }
            /// fail2ban sends converted booleans, or the text when conversion was skipped.
            func flag(_ key: String) -> Bool? {
                if let text = theirs[key] as? String { return ["1", "on", "true", "yes"].contains(text.lowercased()) }
                return theirs[key] as? Bool
            }
            #expect(jail.backend == theirs["backend"] as? String, context)
            #expect(Double(jail.maxRetry) == number("maxretry"), context)
            #expect(Double(jail.maxMatches) == number("maxmatches"), context)
            #expect(jail.findTime == number("findtime"), context)
            #expect(jail.banTime == number("bantime"), context)
            #expect(jail.ignoreIP == theirs["ignoreip"] as? [String], context)
            #expect(jail.logEncoding == theirs["logencoding"] as? String, context)
            #expect((jail.ignoreCommand ?? "") == (theirs["ignorecommand"] as? String ?? ""), context)
            if let ignoreSelf = flag("ignoreself") { #expect(jail.ignoreSelf == ignoreSelf, context) }
            #expect(jail.logTimeZone == theirs["logtimezone"] as? String, context)
            if let useDNS = theirs["usedns"] as? String { #expect(jail.filter?.usedns ?? jail.useDNS == useDNS, context) }
            if let maxlines = number("maxlines") { #expect(Double(jail.filter?.maxlines ?? 1) == maxlines, context) }
            #expect(jail.filter?.datepattern == theirs["datepattern"] as? String, context)
            #expect(jail.journalMatch == theirs["journalmatch"] as? String, context)
            #expect(jail.filter?.prefregex == theirs["prefregex"] as? String, context)
            #expect(jail.filter?.failregex ?? [] == theirs["failregex"] as? [String], context)
            #expect(jail.filter?.ignoreregex ?? [] == theirs["ignoreregex"] as? [String], context)
            let ourPaths = jail.logPaths.flatMap { entry in entry.files.map { [$0, entry.start.rawValue] } }
            // Python's glob lists in directory order; warden sorts.
            #expect(ourPaths.map { $0.joined(separator: " ") }.sorted()
                    == (theirs["logpath"] as? [[String]] ?? []).map { $0.joined(separator: " ") }.sorted(), context)
            // Increment options reach the server only when set.
            let increment = jail.banTimeIncrement
            if let enabled = flag("bantime.increment") {
                #expect(increment.enabled == enabled, context)
            } else {
                #expect(!increment.enabled, context)
            }
            if let factor = theirs["bantime.factor"] as? String { #expect(increment.factor == factor, context) }
            #expect(increment.formula == theirs["bantime.formula"] as? String, context)
            if let multipliers = theirs["bantime.multipliers"] as? String {
                #expect(increment.multipliers.map(String.init).joined(separator: " ") == multipliers, context)
            }
            #expect(increment.maxTime == number("bantime.maxtime"), context)
            #expect(increment.randomTime == number("bantime.rndtime"), context)
            if let overall = flag("bantime.overalljails") { #expect(increment.overallJails == overall, context) }
            // Actions: the names, and each option we pass matches what fail2ban resolved.
            #expect(jail.actions.map(\.name) == theirs["actions"] as? [String], context)
            let actionOptions = theirs["actionoptions"] as? [String: [String: Any]] ?? [:]
            for action in jail.actions {
                let resolved = actionOptions[action.name] ?? [:]
                for (key, value) in action.options where ["port", "protocol", "chain", "name"].contains(key) {
                    #expect(resolved[key] as? String == value, "\(context) action \(action.name) \(key)")
                }
            }
        }
    }

    static func temporaryCopy(of source: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warden-jail-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: source, toPath: directory)
        return directory
    }

    @Test func stockDebianConfigurationMatchesFail2banClient() throws {
        let configuration = try JailConfiguration.load(from: "/etc/fail2ban")
        #expect(configuration.jails.map(\.name) == ["sshd"])
        #expect(configuration.disabledJails.count > 80)
        Self.compare(configuration, with: try Self.oracle("/etc/fail2ban"))
    }

    @Test func localOverridesMatchFail2banClient() throws {
        let directory = try Self.temporaryCopy(of: "/etc/fail2ban")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs + "/nginx", withIntermediateDirectories: true)
        for file in ["auth.log", "nginx/error.log", "nginx/other.log", "fail2ban.log", "mail.log"] {
            _ = FileManager.default.createFile(atPath: logs + "/" + file, contents: Data())
        }
        let local = """
            [DEFAULT]
            ignoreip = 127.0.0.1/8 ::1 192.0.2.0/24, 2001:db8::/32
                       localhost
            bantime.increment = true
            bantime.factor = 2
            bantime.maxtime = 5w
            bantime.rndtime = 10m
            ipc = shm
            ipc.readers = 2

            [sshd]
            enabled = true
            mode = aggressive
            maxretry = 3
            findtime = 1d12h
            bantime = 1.5h
            port = 2222
            logpath = \(logs)/auth.log
            backend = polling
            ignoreself = false

            [nginx-http-auth]
            enabled = true
            logpath = \(logs)/nginx/*.log tail
            banaction = nftables-multiport
            bantime = -1
            usedns = no
            maxmatches = 2

            [recidive]
            enabled = true
            logpath = \(logs)/fail2ban.log
            bantime = 1year-6mo
            banaction = %(banaction_allports)s
            bantime.overalljails = true
            logtimezone = UTC

            [postfix-sasl]
            enabled = true
            backend = systemd
            ignorecommand = /bin/true <ip>
            bantime.multipliers = 1 2 4 8
            action = %(action_mw)s

            [dropbear]
            enabled = true
            logpath = \(logs)/auth.log
                      \(logs)/missing.log
            bantime.formula = ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)
            maxlines = 2
            """
        try local.write(toFile: directory + "/jail.local", atomically: true, encoding: .utf8)
        let configuration = try JailConfiguration.load(from: directory)
        #expect(Set(configuration.jails.map(\.name)) == ["sshd", "nginx-http-auth", "recidive", "postfix-sasl", "dropbear"])
        let sshd = try #require(configuration.jails.first { $0.name == "sshd" })
        #expect(sshd.findTime == 129_600)
        #expect(sshd.banTime == 5400)
        #expect(sshd.channel.adapter == .shm)
        #expect(sshd.channel.readers == 2)
        #expect(sshd.actions.first?.option("port") == "2222")
        #expect(sshd.filterReference?.options.first { $0.key == "mode" }?.value == "aggressive")
        let postfix = try #require(configuration.jails.first { $0.name == "postfix-sasl" })
        #expect(postfix.actions.count == 2)
        #expect(postfix.logPaths.isEmpty)
        #expect(postfix.filter?.journalmatch != nil)
        Self.compare(configuration, with: try Self.oracle(directory))
    }

    @Test func wardensOwnJailsLoadFromTheRepository() throws {
        let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let configuration = try JailConfiguration.load(from: repository)
        #expect(configuration.files.first?.hasSuffix("jails/jail.conf") == true)
        let sshd = try #require(configuration.jails.first { $0.name == "sshd" })
        #expect(sshd.backend == "systemd")
        #expect(sshd.filter?.failregex.isEmpty == false)
        #expect(sshd.channel.adapter == .memory)
        #expect(sshd.ignoreIP == ["127.0.0.1/8", "::1"])
    }

    @Test func badValuesNameTheirFileAndLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warden-jail-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/filter.d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[Definition]\nfailregex = ^fail <HOST>$\n".write(toFile: directory + "/filter.d/demo.conf", atomically: true, encoding: .utf8)
        func load(_ jail: String) throws -> JailConfiguration {
            try "[demo]\nenabled = true\n\(jail)\nfilter = demo\n".write(toFile: directory + "/jail.conf", atomically: true, encoding: .utf8)
            return try JailConfiguration.load(from: directory)
        }
        #expect(try load("maxretry = 2").jails.first?.filter?.failregex == ["^fail <HOST>$"])
        for (line, key) in [("maxretry = many", "maxretry"), ("bantime = 10 parsecs", "bantime"),
                            ("bantime.formula = ban.Time *", "bantime.formula"), ("ipc = carrier-pigeon", "ipc"),
                            ("action = broken[port=\"x\"", "action")] {
            do {
                _ = try load(line)
                Issue.record("\(line) was accepted")
            } catch let error as ConfigError {
                #expect(error.file == directory + "/jail.conf", "\(line)")
                #expect(error.line == 3, "\(line)")
                #expect(error.message.contains(key), "\(line): \(error.message)")
            }
        }
    }

    @Test func actionListsSplitLikeFail2ban() throws {
        let text = """
            nftables[port="http,https", protocol="tcp", chain="input"]
            sendmail-whois[name=x, dest="a@b"] cloudflare
            abuseipdb[abuseipdb_apikey='k,]ey'][category=18]
            """
        let script = """
            import json, sys
            from fail2ban.helpers import splitWithOptions, extractOptions
            print(json.dumps([[n, sorted(o.items())] for n, o in (extractOptions(a.strip()) for a in splitWithOptions(json.load(sys.stdin)[0]))]))
            """
        let expected = try #require(try PythonOracle.run(script, input: [text]) as? [[Any]])
        let ours = try ActionReference.parseList(text)
        #expect(ours.map(\.name) == expected.map { $0[0] as? String ?? "" })
        for (action, theirs) in zip(ours, expected) {
            let pairs = (theirs[1] as? [[String]] ?? []).map { "\($0[0])=\($0[1])" }
            #expect(action.options.map { "\($0.key)=\($0.value)" }.sorted() == pairs)
        }
    }
}
