import Testing
@testable import WardenFilter

/// The translation writes into a buffer sized from the input; these are the inputs at
/// the edges of that size: nothing at all, and output that grows at every `{,`.
@Suite struct PythonRegexTranslationTests {
    @Test(arguments: [
        ("", ""),
        ("{,1}{,2}{,3}", "{0,1}{0,2}{0,3}"),
        (String(repeating: "{,9}", count: 40), String(repeating: "{0,9}", count: 40)),
        ("{,}{,", "{,}{,"),
        ("é{,2}ü\\Z", "é{0,2}ü\\z"),
        ("(?u)", ""),
    ])
    func edges(python: String, pcre: String) {
        #expect(PythonRegexTranslation.translate(python) == pcre)
    }
}
