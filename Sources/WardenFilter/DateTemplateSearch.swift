/// One detector's view of its templates' regexes: each is fetched (and, for a default
/// template, compiled) the first time the detector tries it, then used without a lock.
/// Owns the match data, which grows when a newly fetched regex has more groups.
///
/// Not thread-safe, like the detector that owns it.
final class DateTemplateSearch {
    private let templates: [DateTemplate]
    // Read on every line by a single-threaded detector: no overlapping accesses, so no
    // dynamic exclusivity checks.
    @exclusivity(unchecked) private var compiled: [DateTemplateRegex.Compiled?]
    /// The groups of the last successful search.
    @exclusivity(unchecked) private(set) var data = PCREMatchData(capacity: 1)

    init(templates: [DateTemplate]) {
        self.templates = templates
        compiled = Array(repeating: nil, count: templates.count)
    }

    /// Searches `subject` from byte `start` with template `index`'s regex; a match leaves
    /// its groups in `data`. A default template whose regex fails to compile (the tests
    /// compile them all) never matches.
    @inline(__always)
    func match(_ index: Int, _ subject: UnsafeBufferPointer<UInt8>, from start: Int, isASCII: Bool) -> Bool {
        guard let regex = compiled[index]?.regex ?? fetch(index)?.regex else { return false }
        return regex.match(subject, from: start, isASCII: isASCII, into: data) == .match
    }

    /// Template `index`'s regex and reading, once it has been tried.
    func compiled(_ index: Int) -> DateTemplateRegex.Compiled? { compiled[index] }

    private func fetch(_ index: Int) -> DateTemplateRegex.Compiled? {
        guard case .success(let made) = templates[index].regex.compiled() else { return nil }
        compiled[index] = made
        if made.regex.captureCount + 1 > data.capacity { data = PCREMatchData(capacity: made.regex.captureCount + 1) }
        return made
    }
}
