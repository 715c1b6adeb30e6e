import Testing
@testable import WardenFilter

/// The connection cache against a plain model of fail2ban's `Utils.Cache`: a list of
/// (key, value, expiry) in insertion order, scanned on every operation.
@Suite struct ConnectionCacheTests {
    private struct Model {
        var items: [(key: [UInt8], record: FailureRecord, expiry: Double)] = []
        let maxCount: Int, maxTime: Double

        mutating func get(_ key: [UInt8], now: Double) -> FailureRecord? {
            guard let index = items.firstIndex(where: { $0.key == key }) else { return nil }
            if items[index].expiry > now { return items[index].record }
            items.remove(at: index)
            return nil
        }

        mutating func set(_ key: [UInt8], _ record: FailureRecord, now: Double) {
            if let index = items.firstIndex(where: { $0.key == key }) {
                items[index].record = record
                items[index].expiry = now + maxTime
                return
            }
            if items.count >= maxCount {
                while !items.isEmpty {
                    let oldest = items.removeFirst()
                    if oldest.expiry > now, items.count < maxCount { break }
                }
            }
            items.append((key, record, now + maxTime))
        }

        mutating func remove(_ key: [UInt8]) { items.removeAll { $0.key == key } }
    }

    @Test(arguments: [1, 7, 100])
    func agreesWithAListModelOverRandomOperations(maxCount: Int) {
        var generator = MatcherFuzzTests.SplitMix(state: UInt64(maxCount))
        var cache = ConnectionCache(maxCount: maxCount, maxTime: 50)
        var model = Model(maxCount: maxCount, maxTime: 50)
        // Few distinct keys, so hits, updates, removals and evictions all happen; some
        // keys share a prefix and one is empty.
        let keys: [[UInt8]] = (0..<(3 * maxCount + 5)).map { Array("host sshd[\($0)]: ".utf8) } + [[]]
        var now = 0.0
        for _ in 0..<20_000 {
            now += Double(generator.next() % 3)
            let key = keys[Int(generator.next() % UInt64(keys.count))]
            switch generator.next() % 4 {
            case 0, 1:
                let record = FailureRecord(groups: GroupValues(count: 1))
                key.withUnsafeBufferPointer { cache.set(ConnectionCache.Key($0), record, now: now) }
                model.set(key, record, now: now)
            case 2:
                let found = key.withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: now) }
                let expected = model.get(key, now: now)
                #expect(found === expected)
            default:
                key.withUnsafeBufferPointer { cache.remove(ConnectionCache.Key($0)) }
                model.remove(key)
            }
        }
        for key in keys {
            let found = key.withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: now) }
            #expect(found === model.get(key, now: now))
        }
    }

    /// Keys are hashed and compared a word at a time: keys of every length up to 40,
    /// each next to keys that differ from it in one byte at each position, find their
    /// own records only.
    @Test func keysDifferingInOneByteAtAnyPositionStayApart() {
        for length in 0...40 {
            var cache = ConnectionCache(maxCount: 100, maxTime: 50)
            let base = [UInt8]((0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) })
            var keys = [base]
            for position in 0..<length {
                var key = base
                key[position] ^= 0x01
                keys.append(key)
            }
            let records = keys.map { _ in FailureRecord(groups: GroupValues(count: 1)) }
            for (key, record) in zip(keys, records) { key.withUnsafeBufferPointer { cache.set(ConnectionCache.Key($0), record, now: 0) } }
            for (key, record) in zip(keys, records) {
                #expect(key.withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: 1) } === record, "length \(length), key \(key)")
            }
            // A longer key sharing the whole of `base` is another key.
            #expect((base + [0]).withUnsafeBufferPointer { cache.get(ConnectionCache.Key($0), now: 1) } == nil)
        }
    }
}
