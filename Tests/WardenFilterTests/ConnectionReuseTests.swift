import Testing
import WardenConfig
@testable import WardenFilter

/// Records and keys of ended connections are reused for new ones: nothing of an ended
/// connection may show in a later one.
@Suite struct ConnectionReuseTests {
    private let filter = FilterDefinition(
        name: "t", prefregex: "^c\\[<F-MLFID>\\d+</F-MLFID>\\]: <F-CONTENT>.+</F-CONTENT>$",
        failregex: [
            "^connect from <HOST>$",
            "^user <F-USER>\\w+</F-USER> <F-NOFAIL>attempt</F-NOFAIL>$",
            "^failed password for <F-USER>\\w+</F-USER>$",
            "^<F-MLFFORGET>closed</F-MLFFORGET>$",
            "^failed early$",
        ]
    )

    private func matcher(checkAll: Bool) throws -> Matcher {
        var options = MatcherOptions()
        options.checkAllRegex = checkAll
        return try Matcher(filter: filter, options: options, now: { 1_000_000 })
    }

    /// Connection 1 ends with users, matches, held-back no-fail lines and a pending
    /// failure; connection 2 starts (the matcher takes connection 1's record as its
    /// scratch) and connection 3 starts on that record. Connection 3's failures must be
    /// those of a matcher that never saw connections 1 and 2.
    @Test(arguments: [false, true])
    func aReusedRecordStartsEmpty(checkAll: Bool) throws {
        let before = [
            "c[1]: failed early", "c[1]: connect from 192.0.2.1", "c[1]: failed password for alice",
            "c[1]: user bob attempt", "c[1]: failed password for bob", "c[1]: user eve attempt", "c[1]: closed",
            "c[2]: connect from 192.0.2.2",
        ]
        let third = ["c[3]: user carl attempt", "c[3]: connect from 192.0.2.3", "c[3]: failed password for carl"]
        let reused = try matcher(checkAll: checkAll)
        for line in before { _ = reused.process(line) }
        let found = third.flatMap { reused.process($0) }
        let fresh = try matcher(checkAll: checkAll)
        let expected = third.flatMap { fresh.process($0) }
        #expect(found == expected)
        #expect(found.last?.users == ["carl"])
        #expect(found.last?.attempts == expected.last?.attempts)
        #expect(!found.isEmpty)
    }

    @Test func aSpareRecordIsHandedOutOnlyWhenNothingElseHoldsIt() {
        var cache = ConnectionCache(maxCount: 4, maxTime: 50)
        let key: [UInt8] = Array("host sshd[1]: ".utf8)
        let held = FailureRecord(groups: GroupValues(count: 1))
        key.withUnsafeBufferPointer { cache.set(ConnectionCache.Key($0), held, now: 0) }
        key.withUnsafeBufferPointer { cache.remove(ConnectionCache.Key($0)) }
        #expect(cache.takeSpareRecord() == nil)

        var identity: ObjectIdentifier?
        do {
            let record = FailureRecord(groups: GroupValues(count: 1))
            identity = ObjectIdentifier(record)
            key.withUnsafeBufferPointer { cache.set(ConnectionCache.Key($0), record, now: 0) }
        }
        key.withUnsafeBufferPointer { cache.remove(ConnectionCache.Key($0)) }
        #expect(cache.takeSpareRecord().map(ObjectIdentifier.init) == identity)
        #expect(cache.takeSpareRecord() == nil)
        // The reused key array holds the new key only.
        let other: [UInt8] = Array("h[2]: ".utf8)
        let record = FailureRecord(groups: GroupValues(count: 1))
        other.withUnsafeBufferPointer { cache.set(ConnectionCache.Key($0), record, now: 0) }
        #expect(other.withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: 1) } === record)
        #expect(key.withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: 1) } == nil)
        _ = held
    }
}
