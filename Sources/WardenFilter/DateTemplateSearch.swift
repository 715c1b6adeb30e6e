/// One detector's view of its templates' regexes: each is fetched (and, for a default
/// template, compiled) the first time the detector tries it, then used without a lock.
/// Owns the match data, which grows when a newly fetched regex has more groups.
///
/// A struct inside the detector's per-line state, so the match data it holds is borrowed
/// rather than retained on every line. Not thread-safe, like the detector that owns it.
struct DateTemplateSearch {
    private let templates: [DateTemplate]
    /// The fetched regexes, unretained: each template keeps its compiled regex for the
    /// process (`DateTemplateRegex` stores it) and `templates` keeps the templates, while
    /// a counted reference cost a retain/release pair per line.
    private var fetched: [Unmanaged<DateTemplateRegex.Compiled>?]
    /// The groups of the last successful search.
    private(set) var data = PCREMatchData(capacity: 1)
    /// The fields of the last successful search when `SyslogDateReader` made it.
    private(set) var syslogFields: SyslogDateReader.Fields?

    init(templates: [DateTemplate]) {
        self.templates = templates
        fetched = Array(repeating: nil, count: templates.count)
    }

    /// Searches `subject` from byte `start` with template `index`'s regex; a match leaves
    /// its groups in `data`. A default template whose regex fails to compile (the tests
    /// compile them all) never matches.
    @inline(__always)
    mutating func match(_ index: Int, _ subject: UnsafeBufferPointer<UInt8>, from start: Int, isASCII: Bool) -> Bool {
        guard let compiled = fetched[index] ?? fetch(index) else { return false }
        let data = self.data
        return compiled._withUnsafeGuaranteedRef { compiled in
            if isASCII && start == 0 && compiled.isSyslogTemplate, let fields = SyslogDateReader.read(subject, into: data) {
                syslogFields = fields
                return true
            }
            syslogFields = nil
            return compiled.regex.match(subject, from: start, isASCII: isASCII, into: data) == .match
        }
    }

    /// Template `index` has been tried and is the one `SyslogDateReader` reads.
    func isSyslogTemplate(_ index: Int) -> Bool {
        fetched[index]?._withUnsafeGuaranteedRef { $0.isSyslogTemplate } ?? false
    }

    /// Template `index`'s regex and reading, once it has been tried; valid while this search lives.
    func compiled(_ index: Int) -> Unmanaged<DateTemplateRegex.Compiled>? { fetched[index] }

    private mutating func fetch(_ index: Int) -> Unmanaged<DateTemplateRegex.Compiled>? {
        guard case .success(let made) = templates[index].regex.compiled() else { return nil }
        fetched[index] = Unmanaged.passUnretained(made)
        if made.regex.captureCount + 1 > data.capacity { data = PCREMatchData(capacity: made.regex.captureCount + 1) }
        return fetched[index]
    }
}
