import Synchronization

/// A date template's regex, translated to PCRE2 and JIT-compiled at most once, and only
/// when a detector first tries the template.
///
/// fail2ban's 31 default templates cost ~23 M instructions to compile and JIT, while a
/// log usually needs one or two of them; user templates are compiled at once instead
/// (`DateTemplate` checks them when it is built, so a bad datepattern is an init error).
/// Shared by every detector using the template, on any thread: the result is kept under
/// a lock, and each detector copies it into its own `DateTemplateSearch`, so the lock is
/// taken once per template and detector, never per line.
final class DateTemplateRegex: Sendable {
    /// What matching needs: the code and how the groups become a time. A class that
    /// lives as long as its template once made, so detectors refer to it unretained.
    final class Compiled: Sendable {
        let regex: PCRERegex
        let value: DateTemplate.Value
        /// The regex is the syslog template `SyslogDateReader` reads by hand.
        let isSyslogTemplate: Bool

        init(regex: PCRERegex, value: DateTemplate.Value, isSyslogTemplate: Bool) {
            self.regex = regex
            self.value = value
            self.isSyslogTemplate = isSyslogTemplate
        }
    }

    /// How a template's match becomes a time, before the group numbers are known.
    enum Reading: Sendable {
        case fields
        case epoch(group: Int, long: Bool)
        case tai64n
    }

    /// The Python-dialect regex (fail2ban's text, boundaries applied).
    let pythonRegex: String
    /// `pythonRegex` in PCRE2's dialect: the pattern that is compiled.
    var pcre2Pattern: String { PythonRegexTranslation.translate(pythonRegex) }
    private let reading: Reading
    /// Names the template in errors.
    private let source: String
    private let result = Mutex<Result<Compiled, DateTemplateError>?>(nil)

    init(pythonRegex: String, reading: Reading, source: String) {
        self.pythonRegex = pythonRegex
        self.reading = reading
        self.source = source
    }

    /// The compiled regex, compiling it on the first call.
    func compiled() -> Result<Compiled, DateTemplateError> {
        result.withLock { stored in
            if let stored { return stored }
            let made = compile()
            stored = made
            return made
        }
    }

    private func compile() -> Result<Compiled, DateTemplateError> {
        let regex: PCRERegex, pattern = pcre2Pattern
        do {
            regex = try PCRERegex(pattern)
        } catch {
            return .failure(DateTemplateError(template: source, reason: error.description))
        }
        guard regex.captureCount >= 1 else {
            return .failure(DateTemplateError(template: source, reason: "the regex has no group for the date"))
        }
        let value: DateTemplate.Value
        switch reading {
        case .fields: value = .fields(DateFieldReading(DateField.groups(in: regex)))
        case .epoch(let group, let long): value = .epoch(group: group, long: long)
        case .tai64n: value = .tai64n
        }
        return .success(Compiled(regex: regex, value: value, isSyslogTemplate: pattern == SyslogDateReader.pattern))
    }
}
