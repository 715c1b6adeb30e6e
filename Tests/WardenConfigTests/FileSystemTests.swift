import Testing
@testable import WardenConfig

@Suite struct FileSystemTests {
    /// Expected values are Python's `os.path.normpath` (POSIX) for the same text.
    @Test(arguments: [
        ("/etc/fail2ban/filter.d/../filter.d/./common.conf", "/etc/fail2ban/filter.d/common.conf"),
        ("a/../..", ".."),
        ("../a", "../a"),
        ("/..", "/"),
        ("", "."),
        ("a//b/", "a/b"),
        ("./", "."),
        ("/", "/"),
        ("é/./ü/..", "é"),
    ])
    func normalized(path: String, expected: String) {
        #expect(FileSystem.normalized(path) == expected)
    }
}
