import Testing
@testable import WardenJail
import WardenLines

/// Failure counting against fail2ban's FailManager fed the same sequences.
struct FailureCounterTests {
    /// A deterministic generator so a failing sequence can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Event {
        var id: String
        var time: Double
        /// A cleanup (purge) at `time` instead of a failure.
        var purge: Bool
    }

    static func sequence(seed: UInt64, length: Int) -> [Event] {
        var random = SplitMix(state: seed)
        var time = 1_700_000_000.0
        var events: [Event] = []
        for index in 0..<length {
            // Mostly forward, sometimes a burst, sometimes a long gap, sometimes a late line.
            switch Int.random(in: 0..<10, using: &random) {
            case 0: time += Double(Int.random(in: 300...1500, using: &random))
            case 1: break
            default: time += Double(Int.random(in: 1...120, using: &random)) + 0.25
            }
            let late = Int.random(in: 0..<12, using: &random) == 0
            let eventTime = late ? time - Double(Int.random(in: 1...900, using: &random)) : time
            let purge = index % 37 == 36
            events.append(Event(id: "10.0.0.\(Int.random(in: 1...6, using: &random))", time: eventTime, purge: purge))
        }
        return events
    }

    struct Outcome: Equatable, CustomStringConvertible {
        var index: Int
        var id: String
        var time: Double
        var retry: Int
        var failures: Int
        var matches: [String]
        var description: String { "#\(index) \(id) at \(time) retry \(retry) failures \(failures) matches \(matches)" }
    }

    static let oracleScript = """
        import json, sys
        from fail2ban.server.failmanager import FailManager, FailManagerEmpty
        from fail2ban.server.ticket import FailTicket
        out = []
        for run in json.load(sys.stdin):
            manager = FailManager()
            manager.setMaxRetry(run['maxretry'])
            manager.setMaxTime(run['findtime'])
            manager.maxMatches = run['maxmatches']
            bans = []
            for index, (fid, time, purge) in enumerate(run['events']):
                if purge:
                    manager.cleanup(time)
                    continue
                attempts = manager.addFailure(FailTicket(fid, time, matches=['line %d' % index]))
                if attempts >= manager.getMaxRetry():
                    try:
                        ticket = manager.toBan(fid)
                    except FailManagerEmpty:
                        continue
                    bans.append([index, str(fid), float(ticket.getTime()), ticket.getRetry(), ticket.getAttempt(), ticket.getMatches()])
            out.append({'bans': bans, 'left': sorted([str(fid), t.getRetry()] for fid, t in manager._FailManager__failList.items())})
        print(json.dumps(out))
        """

    @Test(arguments: [(3, 600.0, 3), (5, 600.0, 5), (2, 120.0, 0), (6, 3600.0, 2), (4, 300.0, 10)])
    func banDecisionsMatchFail2bansFailManager(maxRetry: Int, findTime: Double, maxMatches: Int) throws {
        let runs = (1...8).map { seed in Self.sequence(seed: UInt64(seed) * 7919 + UInt64(maxRetry), length: 400) }
        let input: [[String: Any]] = runs.map { events in
            ["maxretry": maxRetry, "findtime": findTime, "maxmatches": maxMatches,
             "events": events.map { [$0.id, $0.time, $0.purge] as [Any] }]
        }
        let expected = try #require(try PythonOracle.run(Self.oracleScript, input: input) as? [[String: Any]])
        var totalBans = 0
        for (events, oracle) in zip(runs, expected) {
            var counter = FailureCounter<String>(.init(maxRetry: maxRetry, findTime: findTime, maxMatches: maxMatches))
            var ours: [Outcome] = []
            for (index, event) in events.enumerated() {
                if event.purge {
                    counter.purge(now: event.time)
                } else if let ban = counter.add(id: event.id, time: event.time, matches: MatchedLines(["line \(index)"])) {
                    ours.append(Outcome(index: index, id: ban.id, time: ban.time, retry: ban.record.retry,
                                        failures: ban.record.failures, matches: ban.record.matches.strings))
                }
            }
            let theirs = (oracle["bans"] as? [[Any]] ?? []).map { row in
                Outcome(index: row[0] as! Int, id: row[1] as! String, time: Self.double(row[2]),
                        retry: row[3] as! Int, failures: row[4] as! Int, matches: row[5] as! [String])
            }
            #expect(ours == theirs)
            totalBans += theirs.count
            let left = (oracle["left"] as? [[Any]] ?? []).map { "\($0[0]):\($0[1])" }
            let ourLeft = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
                .compactMap { id in counter.record(for: id).map { "\(id):\($0.retry)" } }
            #expect(ourLeft == left)
        }
        // The sequences must exercise banning at all, or the comparison proves nothing.
        #expect(totalBans > 20)
    }

    static func double(_ value: Any) -> Double {
        if let value = value as? Double { return value }
        return Double(value as! Int)
    }

    @Test func retryIsRescaledNotSlid() {
        var counter = FailureCounter<String>(.init(maxRetry: 3, findTime: 600))
        #expect(counter.add(id: "a", time: 0) == nil)
        #expect(counter.add(id: "a", time: 500) == nil)
        // A sliding window would hold one failure here (at 500); fail2ban rescales
        // retry 2 over 1000 s to round(2 / 1000 * 600) = 1, then adds this one.
        #expect(counter.add(id: "a", time: 1000) == nil)
        #expect(counter.record(for: "a")?.retry == 2)
        #expect(counter.record(for: "a")?.firstTime == 400)
        let ban = counter.add(id: "a", time: 1001)
        #expect(ban?.time == 1001)
        #expect(ban?.record.failures == 4)
        #expect(counter.count == 0)
    }

    @Test func trackedIDsAreBoundedAndEvictionsCounted() {
        var counter = FailureCounter<Int>(.init(maxRetry: 100, findTime: 600, maxTrackedIDs: 64))
        for id in 0..<1000 { counter.add(id: id, time: Double(id)) }
        #expect(counter.count <= 64)
        #expect(counter.evictions == 1000 - counter.count)
        // The newest ids survive; the oldest were evicted first.
        #expect(counter.record(for: 999) != nil)
        #expect(counter.record(for: 0) == nil)
    }

    @Test func purgeDropsIDsWhoseLastFailureIsFindTimeOld() {
        var counter = FailureCounter<String>(.init(maxRetry: 5, findTime: 600))
        counter.add(id: "old", time: 100)
        counter.add(id: "new", time: 650)
        counter.purge(now: 700)
        #expect(counter.record(for: "old") == nil)
        #expect(counter.record(for: "new") != nil)
    }
}
