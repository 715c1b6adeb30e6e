/// Where a detector found a date in a line and what it means.
public struct DateMatch: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        /// `epoch` holds the date.
        case parsed
        /// The template matched an empty date (`{NONE}`, optional groups): fail2ban uses the
        /// last date if it is under 60 s old, else now. `epoch` is `now`.
        case empty
        /// The date text is there but is no valid date (Feb 30, hour 25): fail2ban still
        /// cuts it out and treats the line as having no date. `epoch` is 0.
        case invalid
        /// fail2ban raises an unexpected error on this date and drops the whole line. `epoch` is 0.
        case lineError
    }

    /// Seconds since 1970 (fractional allowed); meaningful when `status` is `.parsed`.
    public var epoch: Double
    /// Byte range fail2ban cuts out of the line: the span of the template's date group.
    public var range: Range<Int>
    /// Index into `DateDetector.templateNames`.
    public var templateIndex: Int
    public var status: Status

    public init(epoch: Double, range: Range<Int>, templateIndex: Int, status: Status = .parsed) {
        self.epoch = epoch
        self.range = range
        self.templateIndex = templateIndex
        self.status = status
    }
}

/// The zone of log times that carry none: the system's local time (libc, `TZ`), or
/// fail2ban's `logtimezone` fixed offset (no daylight saving).
public enum LogTimeZone: Sendable, Equatable {
    case local
    case fixed(offsetSeconds: Int)
}

/// Finds and converts the date of log lines like fail2ban's `DateDetector`: same
/// templates, same choice among them (including its hit-driven reordering and "same
/// place as last line" shortcut), same year inference and zone handling.
///
/// One per matcher: it keeps the order state between lines and is not thread-safe.
public final class DateDetector {
    private let templates: [DateTemplate]
    // Per-line state of a single-threaded detector: no overlapping accesses, so no
    // dynamic exclusivity checks on the hot path.
    @exclusivity(unchecked) private var finder: DateFinder

    /// `datepattern` as in a filter (one template per line); nil or blank for fail2ban's defaults.
    public init(datepattern: String? = nil, timeZone: LogTimeZone = .local) throws(DateTemplateError) {
        templates = try DateTemplateCatalog.templates(forDatePattern: datepattern)
        finder = DateFinder(templates: templates, zone: timeZone)
        usesNoDate = templates.count == 1 && DateTemplateBounds.trimmed(datepattern ?? "").uppercased() == "{NONE}"
    }

    /// fail2ban's `logtimezone` values: `UTC`, `UTC+0200`, `-05:30`, `CET`, `EST-0100`...
    public static func parseTimeZone(_ logtimezone: String) throws(DateTemplateError) -> LogTimeZone {
        var bytes = Array(logtimezone.utf8)
        let offset = bytes.withUnsafeMutableBufferPointer { TimeZoneText.offsetMinutes(UnsafeBufferPointer($0)) }
        guard case .minutes(let minutes) = offset else {
            throw DateTemplateError(template: logtimezone, reason: "unknown or unsupported time zone")
        }
        return .fixed(offsetSeconds: minutes * 60)
    }

    /// Template names in declaration order (fail2ban-regex's "Date template hits").
    public var templateNames: [String] { templates.map(\.name) }
    /// Hits per template, same order as `templateNames`.
    public var templateHits: [Int] { finder.selection.hitsByTemplate }
    /// Template `index`'s regex as PCRE2 compiles it (group 1 is the date that is cut
    /// from the line), indexed as `templateNames`; for baselines that redo the search.
    /// One at a time: each is translated on the call, and a summary lists only the
    /// templates that matched.
    public func templatePattern(at index: Int) -> String { templates[index].regex.pcre2Pattern }
    /// datepattern `{NONE}`: no date is read, every line gets "now".
    public let usesNoDate: Bool

    /// The date of `line` (valid UTF-8, without its line ending), or nil if no template
    /// matches. `isASCII` tells whether the line is all ASCII, when the caller knows.
    public func findDate(in line: UnsafeBufferPointer<UInt8>, isASCII: Bool? = nil, now: Double) -> DateMatch? {
        finder.findDate(in: line, isASCII: isASCII ?? ASCIIText.isASCII(line), now: now)
    }
}
