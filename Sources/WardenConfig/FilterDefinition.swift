/// A filter as the matcher needs it: the seven keys fail2ban hands from a filter (and a
/// jail's overrides) to its matcher, after `%(name)s` interpolation and `<tag>`
/// substitution. Regex tags such as `<HOST>` are still in the strings; WardenFilter
/// expands them when it compiles the regexes.
public struct FilterDefinition: Sendable, Equatable {
    /// The filter's name as referenced, e.g. `sshd` for `sshd[mode=aggressive]`.
    public var name: String
    public var prefregex: String?
    /// One regex per line of the multi-line value, blank lines dropped.
    public var failregex: [String]
    public var ignoreregex: [String]
    public var maxlines: Int
    /// One date template per line, or nil for the default templates.
    public var datepattern: String?
    public var journalmatch: String?
    /// `yes`, `warn`, `no` or `raw`, as fail2ban's usedns.
    public var usedns: String?
    /// Files that were read, in order; for messages and `warden regex`'s summary.
    public var sourceFiles: [String]

    public init(
        name: String,
        prefregex: String? = nil,
        failregex: [String] = [],
        ignoreregex: [String] = [],
        maxlines: Int = 1,
        datepattern: String? = nil,
        journalmatch: String? = nil,
        usedns: String? = nil,
        sourceFiles: [String] = []
    ) {
        self.name = name
        self.prefregex = prefregex
        self.failregex = failregex
        self.ignoreregex = ignoreregex
        self.maxlines = maxlines
        self.datepattern = datepattern
        self.journalmatch = journalmatch
        self.usedns = usedns
        self.sourceFiles = sourceFiles
    }
}
