/// A detector's per-line work: choose the template (`DateTemplateSelection`), then turn
/// its date into Unix time. The detector keeps one and mutates it in place, so the
/// regexes and match data reached from here are borrowed, not retained, on every line.
struct DateFinder {
    private(set) var selection: DateTemplateSelection
    private let zone: LogTimeZone
    private var clock = LocalTimeConverter()

    init(templates: [DateTemplate], zone: LogTimeZone) {
        selection = DateTemplateSelection(templates: templates)
        self.zone = zone
    }

    /// `DateDetector.findDate`, with the line's ASCII-ness known.
    mutating func findDate(in line: UnsafeBufferPointer<UInt8>, isASCII: Bool, now: Double) -> DateMatch? {
        guard let found = selection.select(in: line, isASCII: isASCII, now: now),
              let template = selection.regexes.compiled(found.template) else { return nil }
        var result = DateMatch(epoch: 0, range: found.dateRange, templateIndex: found.template, status: .lineError)
        if found.failed { return result }
        if found.dateRange.isEmpty {
            result.status = .empty
            result.epoch = now
            return result
        }
        let match = selection.regexes.data, zone = zone
        let conversion: DateConversion
        if let fields = selection.regexes.syslogFields {
            conversion = DateFieldParser(line: line, match: match).finish(
                year: nil, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute, second: fields.second,
                weekday: nil, julian: nil, weekOfYear: nil, weekStartsMonday: false,
                offsetSeconds: nil, zone: zone, now: now, clock: &clock)
        } else {
            conversion = template._withUnsafeGuaranteedRef {
                Self.convert($0.value, line: line, match: match, zone: zone, now: now, clock: &clock)
            }
        }
        switch conversion {
        case .time(let epoch):
            result.epoch = epoch
            result.status = .parsed
        case .invalid:
            result.status = .invalid
        case .lineError:
            result.status = .lineError
        }
        return result
    }

    private static func convert(_ value: borrowing DateTemplate.Value, line: UnsafeBufferPointer<UInt8>, match: PCREMatchData,
                                zone: LogTimeZone, now: Double, clock: inout LocalTimeConverter) -> DateConversion {
        switch value {
        case .fields(let reading):
            let parser = DateFieldParser(line: line, match: match)
            if let plan = reading.plan, let time = parser.convert(plan, zone: zone, now: now, clock: &clock) { return time }
            return parser.convert(reading.groups, zone: zone, now: now, clock: &clock)
        case .epoch(let group, let long):
            guard let range = match.range(of: group) else { return .invalid }
            return DateNumbers.epoch(UnsafeBufferPointer(rebasing: line[range]), long: long)
        case .tai64n:
            guard let range = match.range(of: 1) else { return .invalid }
            return DateNumbers.tai64n(UnsafeBufferPointer(rebasing: line[range]))
        }
    }
}
