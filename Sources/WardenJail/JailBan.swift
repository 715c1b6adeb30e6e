import WardenIPC
import WardenLines

/// A jail's decision to ban, with what the store and `action.d` actions need beyond the
/// wire record: the IPC `BanDecision` (jail, address or network, ban time, decision
/// time) travels to the ban workers; the ban count, failures and matched lines go to the
/// store (for bantime.increment) and to command actions' `<bancount>`, `<failures>` and
/// `<matches>` tags.
public struct JailBan: Sendable, Equatable {
    public var decision: BanDecision
    /// When the ban starts: the last failure's time, in epoch seconds (fail2ban's timeofban).
    public var timeOfBan: Double
    /// How many times this address has been banned, this ban included.
    public var banCount: Int
    public var failures: Int
    public var matches: MatchedLines

    public var jail: String { decision.jail }
    public var address: NetworkAddress { decision.address }
    /// Seconds; negative for permanent.
    public var banTime: Int64 { decision.banTime }

    public init(jail: String, address: NetworkAddress, timeOfBan: Double, banTime: Double, banCount: Int,
                failures: Int, matches: MatchedLines) {
        let seconds = banTime < 0 ? -1 : Int64(banTime.rounded(.up))
        decision = BanDecision(jail: jail, address: address, banTime: seconds, time: Int64(timeOfBan * 1e9))
        self.timeOfBan = timeOfBan
        self.banCount = banCount
        self.failures = failures
        self.matches = matches
    }

    /// The decision for an id the counter banned: ban time from `calculator` given the
    /// address's earlier bans (from the store), and the ban count one more than those.
    public init(jail: String, address: NetworkAddress, ban: FailureCounter<String>.Ban,
                calculator: BanTimeCalculator, previousBans: Int) throws {
        self.init(jail: jail, address: address, timeOfBan: ban.time,
                  banTime: try calculator.banTime(previousBans: previousBans),
                  banCount: previousBans + 1, failures: ban.record.failures, matches: ban.record.matches)
    }

    /// Whether the ban is over at `now` (epoch seconds); permanent bans never are.
    public func hasExpired(at now: Double) -> Bool {
        banTime >= 0 && timeOfBan + Double(banTime) <= now
    }
}
