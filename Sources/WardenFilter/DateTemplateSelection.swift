/// Chooses the template whose date a line carries, reproducing fail2ban's choice:
///
/// 1. Try the template that won last time first: a line-anchored one on the whole line,
///    any other only between the boundaries of last line's date (when the characters
///    around them agree), and keep its match only if it sits at the same place.
/// 2. Otherwise walk the templates in their current order. A line-anchored hit wins at
///    once; another hit wins if it is not further into the line than this template's last
///    hit and last line's date; else it is kept as a fallback and the nearest fallback
///    wins if nothing better turns up.
/// 3. The winner counts a hit and may bubble up the order, by hits per distance and
///    recency, exactly like fail2ban's `_reorderTemplate`.
///
/// Positions in this state are counted in Unicode scalars, as Python counts them, so
/// multi-byte text before a date makes the same decisions as in fail2ban.
struct DateTemplateSelection {
    struct Found {
        /// Index into the detector's template list (declaration order).
        let template: Int
        /// Bytes of the date group, which fail2ban cuts out of the line.
        let dateRange: Range<Int>
        /// fail2ban fails on this line while recording the match (an empty date at the
        /// very end of the line): it drops the line.
        let failed: Bool
    }

    private struct Slot {
        let template: Int
        let templateWeight: Double
        let anchored: Bool
        var hits = 0
        var lastUsed = 0.0
        var distance = 0x7fff_ffff
        var weight: Double { Double(hits) * templateWeight / Double(max(1, distance)) }
    }

    /// A template's match: the window it searched (to redo it) and its span in bytes.
    private struct Hit {
        let slot: Int
        let window: Range<Int>
        let start: Int
        let end: Int
    }

    private static let noCharacter: Int32 = -1  // Python's "" from an out-of-range slice
    private static let unusedTime = 300.0

    /// The templates' regexes and the groups of the last search.
    private(set) var regexes: DateTemplateSearch
    private var order: [Slot]
    private var lastPosition = (distance: 1, before: Int32(-2), at: Int32(-2))
    private var lastEnd = (position: 0x7fff_ffff, before: Int32(-2), after: Int32(-2))
    private var lastSlot = Int.max
    private var firstUnused = 0
    private var hits: [Int]
    /// The last winner is a line-anchored template that `SyslogDateReader` reads.
    private(set) var lastWinnerIsSyslog = false
    /// The template (declaration order) in `lastSlot`.
    private var lastTemplate = 0
    /// Wins of `lastSlot` through `recordSyslogRepeat` not yet added to `order` and
    /// `hits`, and the time of the latest: a repeat win writes no array (each array write
    /// checks uniqueness and bounds). `settleRepeats` adds them before anything reads those.
    private var repeats = (count: 0, lastUsed: 0.0)

    /// Hits per template, in declaration order.
    var hitsByTemplate: [Int] {
        var hits = hits
        if repeats.count > 0 { hits[lastTemplate] += repeats.count }
        return hits
    }

    init(templates: [DateTemplate]) {
        regexes = DateTemplateSearch(templates: templates)
        order = templates.indices.map {
            Slot(template: $0, templateWeight: templates[$0].weight, anchored: templates[$0].isLineAnchored)
        }
        hits = Array(repeating: 0, count: templates.count)
    }

    mutating func select(in line: UnsafeBufferPointer<UInt8>, isASCII: Bool, now: Double) -> Found? {
        settleRepeats()
        let text = ScalarText(line, isASCII: isASCII)
        var winner: Hit?
        var reserve: (hit: Hit, distance: Int)?
        var skipSlot = Int.max

        if lastSlot < order.count {
            let slot = lastSlot
            if order[slot].anchored {
                winner = search(slot, in: line, isASCII: isASCII, window: 0..<line.count)
                skipSlot = slot
            } else if let window = lastWindow(in: text) {
                winner = search(slot, in: line, isASCII: isASCII, window: window)
            } else {
                winner = search(slot, in: line, isASCII: isASCII, window: 0..<line.count)
                skipSlot = slot
            }
            if let hit = winner, order.count > 1, !order[slot].anchored {
                let distance = text.scalarIndex(ofByte: hit.start)
                let samePlace = distance == lastPosition.distance && text.scalarIndex(ofByte: hit.end) == lastEnd.position
                if !samePlace {
                    reserve = (hit, distance)
                    winner = nil
                }
            }
        }

        if winner == nil {
            var slot = 0
            while slot < order.count {
                defer { slot += 1 }
                if slot == skipSlot { continue }
                guard let hit = search(slot, in: line, isASCII: isASCII, window: 0..<line.count) else { continue }
                winner = hit
                if slot + 1 >= order.count || order[slot].anchored { break }
                let distance = text.scalarIndex(ofByte: hit.start)
                // (fail2ban also stops at distance 0 when the next template never hit; the
                // check below stops there as well, so the result is the same.)
                if distance > order[slot].distance || distance > lastPosition.distance {
                    if distance < (reserve?.distance ?? 0x7fff_ffff) { reserve = (hit, distance) }
                    winner = nil
                    continue
                }
                break
            }
            if winner == nil, let reserve {
                // Redo the reserved search: later templates reused the match data.
                winner = search(reserve.hit.slot, in: line, isASCII: isASCII, window: reserve.hit.window)
            }
        }
        guard let hit = winner else { return nil }
        return record(hit, in: text, now: now)
    }

    private mutating func record(_ hit: Hit, in text: ScalarText, now: Double) -> Found {
        let distance = text.scalarIndex(ofByte: hit.start), end = text.scalarIndex(ofByte: hit.end)
        order[hit.slot].hits += 1
        order[hit.slot].lastUsed = now
        order[hit.slot].distance = distance
        let templateIndex = order[hit.slot].template
        hits[templateIndex] += 1
        if firstUnused == hit.slot { firstUnused += 1 }
        let dateRange = regexes.data.range(of: 1) ?? hit.start..<hit.start

        // fail2ban remembers the characters around the date; a date that starts at the very
        // end of the line makes that fail, and fail2ban drops the line.
        guard hit.start < text.bytes.count else {
            return Found(template: templateIndex, dateRange: dateRange, failed: true)
        }
        lastPosition = (distance, text.scalar(before: hit.start), text.scalar(at: hit.start))
        // Python's line[end-1] wraps to the last character when the match is empty at 0.
        let beforeEnd = hit.end == 0 ? text.scalar(before: text.bytes.count) : text.scalar(before: hit.end)
        lastEnd = (end, beforeEnd, text.scalar(at: hit.end))
        var slot = hit.slot
        if slot != 0 && slot != lastSlot { slot = reorder(slot) }
        lastSlot = slot
        lastTemplate = templateIndex
        lastWinnerIsSyslog = order[slot].anchored && regexes.isSyslogTemplate(templateIndex)
        return Found(template: templateIndex, dateRange: dateRange, failed: false)
    }

    /// `record` for the commonest line of a syslog file: the last winner, a line-anchored
    /// template (`lastWinnerIsSyslog`), matched again from the line start. `record` would
    /// count the hit, set its time and leave the rest as it is: the distance stays 0
    /// (the template's match starts at byte 0), no reordering (the winner is `lastSlot`),
    /// and the characters around the date and its end are only read while the last winner
    /// is not line-anchored (the window of `lastWindow`), and the `record` that makes such
    /// a template the last winner sets them. Returns the template.
    mutating func recordSyslogRepeat(now: Double) -> Int {
        repeats.count += 1
        repeats.lastUsed = now
        return lastTemplate
    }

    /// Adds the pending repeat wins as `record` would have, one by one.
    private mutating func settleRepeats() {
        guard repeats.count > 0 else { return }
        order[lastSlot].hits += repeats.count
        order[lastSlot].lastUsed = repeats.lastUsed
        order[lastSlot].distance = 0
        hits[lastTemplate] += repeats.count
        if firstUnused == lastSlot { firstUnused += 1 }
        repeats.count = 0
    }

    /// The byte window of last line's date in this line, if the characters around it agree.
    private func lastWindow(in text: ScalarText) -> Range<Int>? {
        let start = lastPosition.distance, end = lastEnd.position
        let startByte = text.byteOffset(ofScalar: start), endByte = text.byteOffset(ofScalar: end)
        let beginsAlike = text.character(beforeScalar: start, byte: startByte) == lastPosition.before ||
            (text.character(at: startByte) == lastPosition.at && !ScalarText.isAlphanumeric(lastPosition.at))
        let endsAlike = text.character(at: endByte) == lastEnd.after ||
            (text.character(beforeScalar: end, byte: endByte) == lastEnd.before && !ScalarText.isAlphanumeric(lastEnd.before))
        guard beginsAlike && endsAlike else { return nil }
        let lower = startByte ?? text.bytes.count, upper = endByte ?? text.bytes.count
        return lower..<max(lower, upper)
    }

    private mutating func search(_ slot: Int, in line: UnsafeBufferPointer<UInt8>, isASCII: Bool, window: Range<Int>) -> Hit? {
        let subject = UnsafeBufferPointer(rebasing: line[0..<window.upperBound])
        guard regexes.match(order[slot].template, subject, from: window.lowerBound, isASCII: isASCII),
              let span = regexes.data.range(of: 0) else { return nil }
        return Hit(slot: slot, window: window, start: span.lowerBound, end: span.upperBound)
    }

    /// Moves a template that just won towards the front (fail2ban's `_reorderTemplate`).
    private mutating func reorder(_ slot: Int) -> Int {
        let moving = order[slot]
        let untime = moving.lastUsed - Self.unusedTime
        var target = firstUnused < slot ? firstUnused : slot / 2
        func movable(to position: Int) -> Bool {
            moving.weight > order[position].weight || untime > order[position].lastUsed
        }
        if !movable(to: target) {
            if target == slot - 1 { return slot }
            target = slot - 1
            if !movable(to: target) { return slot }
        }
        order.remove(at: slot)
        order.insert(moving, at: target)
        while firstUnused < order.count && order[firstUnused].hits > 0 { firstUnused += 1 }
        return target
    }
}

/// A UTF-8 line seen through Python's character indices.
struct ScalarText {
    let bytes: UnsafeBufferPointer<UInt8>
    /// All ASCII: scalar indices are byte offsets, no counting needed.
    let isASCII: Bool

    init(_ bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool = false) {
        self.bytes = bytes
        self.isASCII = isASCII
    }

    @inline(__always) private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }

    // The three lookups below run on every line that has a date; inlined, their ASCII
    // cases cost a few instructions instead of a call each.
    @inline(__always)
    func scalarIndex(ofByte offset: Int) -> Int {
        let end = min(offset, bytes.count)
        if isASCII { return end }
        var continuations = 0
        for index in 0..<end where bytes[index] & 0xC0 == 0x80 { continuations += 1 }
        return end - continuations
    }

    /// Byte offset of scalar `index`, or nil when the line has fewer scalars.
    func byteOffset(ofScalar index: Int) -> Int? {
        if isASCII { return index <= bytes.count ? index : nil }
        var seen = 0
        var offset = 0
        while offset < bytes.count {
            if !Self.isContinuation(bytes[offset]) {
                if seen == index { return offset }
                seen += 1
            }
            offset += 1
        }
        return seen == index ? bytes.count : nil
    }

    /// Python's `line[i:i+1]`, given scalar i's byte offset (nil: past the end).
    func character(at byte: Int?) -> Int32 {
        guard let byte else { return -1 }
        return scalar(at: byte)
    }

    /// Python's `line[i-1:i]`, given scalar i's byte offset (nil: past the end).
    func character(beforeScalar index: Int, byte: Int?) -> Int32 {
        guard index >= 1, let byte else { return -1 }
        return scalar(before: byte)
    }

    /// The scalar starting at `offset`, or -1 at the end.
    @inline(__always)
    func scalar(at offset: Int) -> Int32 {
        guard offset >= 0, offset < bytes.count else { return -1 }
        let lead = bytes[offset]
        if lead < 0x80 { return Int32(lead) }
        var value = Int32(lead & (lead >= 0xF0 ? 0x07 : lead >= 0xE0 ? 0x0F : 0x1F))
        var index = offset + 1
        while index < bytes.count && Self.isContinuation(bytes[index]) && index < offset + 4 {
            value = value << 6 | Int32(bytes[index] & 0x3F)
            index += 1
        }
        return value
    }

    /// The scalar ending at `offset`, or -1 at the start.
    @inline(__always)
    func scalar(before offset: Int) -> Int32 {
        guard offset > 0, offset <= bytes.count else { return -1 }
        if isASCII { return Int32(bytes[offset - 1]) }
        var start = offset - 1
        while start > 0 && Self.isContinuation(bytes[start]) && offset - start < 4 { start -= 1 }
        return scalar(at: start)
    }

    /// Python's `str.isalnum()` for one character.
    static func isAlphanumeric(_ scalar: Int32) -> Bool {
        if scalar < 0 { return false }
        if scalar < 0x80 {
            let byte = UInt8(scalar)
            return (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
        }
        guard let value = Unicode.Scalar(UInt32(scalar)) else { return false }
        return value.properties.isAlphabetic || value.properties.numericType != nil
    }
}
