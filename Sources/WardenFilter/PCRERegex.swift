import CPCRE2
import Synchronization

/// A compiled PCRE2 pattern, JIT-translated on its first search.
///
/// One instance is shared by every thread (the one-time translation is synchronised,
/// see `MachineCode`); each thread brings its own `PCREMatchData` for the results.
public final class PCRERegex: @unchecked Sendable {
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// `^` and `$` match at every line of a multi-line buffer.
        public static let multiline = Options(rawValue: PCRE2_MULTILINE)
        public static let caseless = Options(rawValue: PCRE2_CASELESS)
    }

    public struct CompileError: Error, CustomStringConvertible, Sendable {
        public let pattern: String
        /// Byte offset in `pattern` where PCRE2 gave up.
        public let offset: Int
        public let message: String
        public var description: String { "\(message) at offset \(offset) in regex: \(pattern)" }
    }

    /// What a match attempt ended with. `limitExceeded` is kept apart from `noMatch`
    /// so callers can count catastrophic patterns instead of hiding them.
    public enum Outcome: Equatable, Sendable {
        case match
        case noMatch
        case limitExceeded
        case error(Int32)
    }

    /// Bounds a single match so a catastrophic backtracking regex fails fast
    /// (fail2ban has no limit; see GHSA-33wh-ccjc-p397).
    public static let defaultMatchLimit: UInt32 = 1_000_000
    public static let defaultDepthLimit: UInt32 = 10_000

    public let pattern: String
    /// Number of capturing groups; group 0 is the whole match and not counted.
    public let captureCount: Int
    /// Named groups and their numbers, in the order of PCRE2's name table: by name,
    /// bytewise. A list, not a dictionary: a pattern has a handful of names and its
    /// readers go through them once, which costs less than hashing them.
    public let namedGroups: [NamedGroup]
    /// For a pattern PCRE2 anchors at the subject start: the bytes a match can begin
    /// with. A subject starting with another byte cannot match (checked before calling
    /// PCRE2, which costs more than the lookup even when it fails at once).
    let anchoredFirstBytes: ByteSet?

    /// The pattern compiled with UTF and UCP; compiled in `init`, so a bad pattern is
    /// reported when the filter loads.
    private let unicode: MachineCode
    /// The same pattern compiled without UTF and UCP, used for all-ASCII subjects; nil
    /// unless the pattern text is ASCII (byte mode would read `ä?` as a required lead
    /// byte and an optional second one). For ASCII subjects the two agree: UCP's `\w`,
    /// `\d`, `\s`, `\b` and caseless folding differ from the ASCII tables only above
    /// U+007F, and offsets are bytes either way. The JIT code for bytes skips UTF
    /// decoding and property lookups (about a third of the prefregex's cost on syslog
    /// lines).
    private let bytes: MachineCode?
    private let matchContext: OpaquePointer

    /// Whether matches run as JIT code (translating the pattern now if it has not run yet).
    public var isJIT: Bool { unicode.isJIT }

    public init(
        _ pattern: String,
        options: Options = [],
        matchLimit: UInt32 = PCRERegex.defaultMatchLimit,
        depthLimit: UInt32 = PCRERegex.defaultDepthLimit
    ) throws(CompileError) {
        self.pattern = pattern
        let patternBytes = Array(pattern.utf8)
        var errorCode: Int32 = 0
        var errorOffset = 0
        guard let compiled = PCRERegex.compile(patternBytes, PCRE2_UTF | PCRE2_UCP | options.rawValue, &errorCode, &errorOffset) else {
            throw CompileError(pattern: pattern, offset: errorOffset, message: PCRERegex.message(for: errorCode))
        }
        unicode = MachineCode(compiled: compiled)
        let patternIsASCII = patternBytes.withUnsafeBufferPointer { ASCIIText.isASCII($0) }
        bytes = patternIsASCII ? MachineCode(compileOnFirstUse: {
            var code: Int32 = 0
            var offset = 0
            return PCRERegex.compile(patternBytes, options.rawValue, &code, &offset)
        }) : nil

        matchContext = pcre2_match_context_create_8(nil)
        pcre2_set_match_limit_8(matchContext, matchLimit)
        pcre2_set_depth_limit_8(matchContext, depthLimit)

        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
        namedGroups = PCRERegex.readNameTable(compiled)
        anchoredFirstBytes = PCRERegex.readAnchoredFirstBytes(compiled)
    }

    private static func compile(_ pattern: [UInt8], _ flags: UInt32, _ errorCode: inout Int32, _ errorOffset: inout Int) -> OpaquePointer? {
        let compileContext = pcre2_compile_context_create_8(nil)
        defer { pcre2_compile_context_free_8(compileContext) }
        pcre2_set_newline_8(compileContext, UInt32(PCRE2_NEWLINE_LF))
        return pcre2_compile_8(pattern, pattern.count, flags, &errorCode, &errorOffset, compileContext)
    }

    private static func readAnchoredFirstBytes(_ code: OpaquePointer) -> ByteSet? {
        var allOptions: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_ALLOPTIONS), &allOptions)
        guard allOptions & PCRE2_ANCHORED != 0 else { return nil }
        var type: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTCODETYPE), &type)
        if type == 1 {
            var unit: UInt32 = 0
            pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTCODEUNIT), &unit)
            var set = ByteSet()
            set.insert(UInt8(truncatingIfNeeded: unit))
            // PCRE2 does not say whether the unit is caseless, and under UCP an ASCII
            // letter can fold to a multi-byte character (k, K, KELVIN SIGN): allow both
            // ASCII cases and every non-ASCII lead byte.
            let letter = UInt8(truncatingIfNeeded: unit) | 0x20
            if unit >= 0x80 || (letter >= UInt8(ascii: "a") && letter <= UInt8(ascii: "z")) {
                set.insert(letter)
                set.insert(letter & ~0x20)
                set.insertNonASCII()
            }
            return set
        }
        var bitmap: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTBITMAP), &bitmap)
        return bitmap.map(ByteSet.init(bitmap:))
    }

    deinit { pcre2_match_context_free_8(matchContext) }

    /// Searches `subject` from byte offset `start`, leaving the groups in `data`.
    ///
    /// The subject must be valid UTF-8: the JIT path skips PCRE2's own UTF check,
    /// so callers repair invalid bytes first (see `UTF8Repair`). `isASCII` says whether
    /// it is all ASCII, when the caller knows; nil checks.
    @inline(__always)
    public func match(
        _ subject: UnsafeBufferPointer<UInt8>,
        from start: Int = 0,
        anchored: Bool = false,
        isASCII: Bool? = nil,
        into data: PCREMatchData
    ) -> Outcome {
        guard let base = subject.baseAddress else {
            // An empty buffer may have no address; PCRE2 still wants a pointer.
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) {
                match(UnsafeBufferPointer(start: $0, count: 0), from: start, anchored: anchored, isASCII: true, into: data)
            }
        }
        let rc: Int32
        if !anchored, let code = jitCode(forASCII: bytes != nil && (isASCII ?? ASCIIText.isASCII(subject))) {
            rc = pcre2_jit_match_8(code, base, subject.count, start, 0, data.pointer, matchContext)
        } else {
            // The interpreter: for anchored searches (JIT code cannot be anchored at
            // match time) and where JIT translation failed.
            let flags: UInt32 = anchored ? PCRE2_ANCHORED : 0
            rc = pcre2_match_8(unicode.code!, base, subject.count, start, flags | PCRE2_NO_UTF_CHECK, data.pointer, matchContext)
        }
        if rc >= 0 { return .match }
        switch rc {
        case PCRE2_ERROR_NOMATCH, PCRE2_ERROR_PARTIAL: return .noMatch
        case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
            return .limitExceeded
        default: return .error(rc)
        }
    }

    /// The JIT code to run: the byte-mode code for an ASCII subject when it has some,
    /// else the Unicode code; nil when neither is translated. Optional chaining reads
    /// `bytes` without the retain and release that binding it cost on every search.
    @inline(__always)
    private func jitCode(forASCII ascii: Bool) -> OpaquePointer? {
        if ascii, let code = bytes?.jitCode { return code }
        return unicode.jitCode
    }

    /// Convenience for tests and cold paths: matches a Swift string.
    public func firstMatch(in text: String) -> [Int: String]? {
        let data = PCREMatchData(capacity: captureCount + 1)
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            let subject = UnsafeBufferPointer(buffer)
            guard match(subject, into: data) == .match else { return nil }
            var groups: [Int: String] = [:]
            for group in 0...captureCount {
                if let range = data.range(of: group) {
                    groups[group] = String(decoding: subject[range], as: UTF8.self)
                }
            }
            return groups
        }
    }

    static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
        guard length > 0 else { return "PCRE2 error \(errorCode)" }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }

    private static func readNameTable(_ code: OpaquePointer) -> [NamedGroup] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table, count > 0 else { return [] }
        var names: [NamedGroup] = []
        names.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            // Each entry: a big-endian 16-bit group number, then the NUL-terminated name.
            let entry = table + index * Int(entrySize)
            names.append(NamedGroup(name: String(cString: entry + 2), number: Int(entry[0]) << 8 | Int(entry[1])))
        }
        return names
    }
}

/// A named group and its number. A struct rather than a labelled tuple: the runtime
/// builds the metadata of an array of tuples from a mangled name the first time, at
/// a higher cost (with `FilterRegex.AlternateGroup`, 26 k instructions of start-up
/// on the stock sshd filter).
public struct NamedGroup: Sendable {
    public let name: String
    public let number: Int
}

/// One compiled form of a pattern, JIT-translated on its first search.
///
/// Translation is deferred because JIT code is most of a filter's memory (about 0.5 MB
/// for the stock sshd filter, twice that with byte-mode code) and of its start-up
/// time, while most failregexes of a jail never reach PCRE2 (the prefilter rejects
/// them) and a log in one encoding never needs the other form. The state is read
/// with one acquiring load per search; the first searcher translates under a lock
/// while the others wait for it, so no thread matches with code being translated.
private final class MachineCode: @unchecked Sendable {
    private enum State: UInt8 {
        case untranslated, jit, interpreted, unavailable
    }

    private let state = Atomic<UInt8>(State.untranslated.rawValue)
    private let translation = Mutex<Void>(())
    private let make: (() -> OpaquePointer?)?
    /// The compiled pattern; nil until made, and nil if it could not be compiled.
    private(set) var code: OpaquePointer?

    init(compiled: OpaquePointer) {
        code = compiled
        make = nil
    }

    /// `make` compiles the pattern on the first search (nil if it cannot be).
    init(compileOnFirstUse make: @escaping () -> OpaquePointer?) {
        self.make = make
    }

    deinit {
        if let code { pcre2_code_free_8(code) }
    }

    /// The code to pass to `pcre2_jit_match`, or nil when it has no JIT translation.
    var jitCode: OpaquePointer? {
        @inline(__always) get {
            let current = state.load(ordering: .acquiring)
            if current == State.jit.rawValue { return code }
            if current != State.untranslated.rawValue { return nil }
            return translate() == .jit ? code : nil
        }
    }

    var isJIT: Bool { jitCode != nil }

    private func translate() -> State {
        translation.withLock { _ in
            if let settled = State(rawValue: state.load(ordering: .acquiring)), settled != .untranslated { return settled }
            if code == nil { code = make?() }
            let settled: State
            if let code { settled = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) == 0 ? .jit : .interpreted } else { settled = .unavailable }
            state.store(settled.rawValue, ordering: .releasing)
            return settled
        }
    }
}

/// Scratch space for one thread's match results (the ovector).
public final class PCREMatchData {
    fileprivate let pointer: OpaquePointer
    private let ovector: UnsafeMutablePointer<Int>
    public let capacity: Int

    /// `capacity` is the number of groups to record, including group 0.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        pointer = pcre2_match_data_create_8(UInt32(self.capacity), nil)
        ovector = pcre2_get_ovector_pointer_8(pointer)
    }

    deinit { pcre2_match_data_free_8(pointer) }

    /// The byte range of `group` in the subject, or nil if the group did not take part.
    @inline(__always)
    public func range(of group: Int) -> Range<Int>? {
        guard group < capacity else { return nil }
        let start = ovector[2 * group]
        let end = ovector[2 * group + 1]
        // PCRE2_UNSET is ~0, which reads as -1 through a signed Int.
        guard start >= 0, end >= start else { return nil }
        return start..<end
    }

    /// The span of `group` (below `capacity`) as the ovector holds it: an unset group's
    /// offsets are PCRE2_UNSET (all ones), whose low halves make `Span.absent` exactly,
    /// so a reader needs neither `range(of:)`'s checks nor its optional. Offsets are
    /// those of one log line, below 2^31.
    @inline(__always)
    func span(of group: Int) -> GroupValues.Span {
        assert(group < capacity)
        return GroupValues.Span(start: Int32(truncatingIfNeeded: ovector[2 &* group]), end: Int32(truncatingIfNeeded: ovector[2 &* group &+ 1]))
    }

    /// Sets `group`'s span (nil: did not take part) as a match would, for a reader that
    /// stands in for a regex (`SyslogDateReader`).
    @inline(__always)
    func record(_ group: Int, _ range: Range<Int>?) {
        guard group < capacity else { return }
        ovector[2 * group] = range?.lowerBound ?? -1
        ovector[2 * group + 1] = range?.upperBound ?? -1
    }
}

/// A set of byte values, for first-byte prefilters.
struct ByteSet: Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    static var all: ByteSet {
        var set = ByteSet()
        set.words = (~0, ~0, ~0, ~0)
        return set
    }

    /// The bytes whose bits are set in a 32-byte bitmap, bit `b & 7` of byte `b >> 3`
    /// (PCRE2's first-code-unit bitmap): read a word at a time, since its bit order is
    /// this set's on a little-endian load.
    init(bitmap: UnsafePointer<UInt8>) {
        let raw = UnsafeRawPointer(bitmap)
        func word(_ index: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)) }
        words = (word(0), word(1), word(2), word(3))
    }

    /// Adds 0x80 ... 0xFF.
    mutating func insertNonASCII() {
        words.2 = ~0
        words.3 = ~0
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        let word: UInt64
        switch byte >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word >> UInt64(byte & 63) & 1 != 0
    }

    static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
        lhs.words == rhs.words
    }
}
