import Testing
@testable import WardenFilter

/// The byte accessors `warden regex --json` reads a failure through.
@Suite struct FailureAccessTests {
    private func failure(id: FailureID?, users: [[UInt8]]?) -> Failure {
        let names = GroupNames(["user"])
        return Failure(id: id, address: nil, time: nil, regexIndex: 0, attempts: 1, isNoFail: false, lineNumber: nil,
                       groupNames: names, groupValues: GroupValues(count: names.names.count), matched: nil, userBytes: users)
    }

    private func users(of failure: Failure) -> [String]? {
        var found: [String] = []
        let hasUsers = failure.forEachUser { found.append(String(decoding: $0, as: UTF8.self)) }
        return hasUsers ? found : nil
    }

    @Test func usersInSortedOrderAsBytes() {
        #expect(users(of: failure(id: nil, users: nil)) == nil)
        #expect(users(of: failure(id: nil, users: [])) == [])
        #expect(users(of: failure(id: nil, users: [Array("root".utf8)])) == ["root"])
        let several = failure(id: nil, users: [Array("root".utf8), Array("admin".utf8), Array("git".utf8)])
        #expect(users(of: several) == ["admin", "git", "root"])
        #expect(several.users == ["admin", "git", "root"])
    }

    @Test func idTextAsBytes() {
        let parsed = Array("192.0.2.7".utf8).withUnsafeBufferPointer { FailureID.address(bytes: $0, family: .ipv4) }
        for (id, text) in [(parsed, "192.0.2.7"), (FailureID(text: "sess-1", kind: .raw), "sess-1")] {
            var written: [UInt8] = []
            let found = failure(id: id, users: nil)
            found.withIDText { written = Array($0) }
            #expect(written == Array(text.utf8) && !found.isPending)
        }
        let pending = failure(id: nil, users: nil)
        var written: [UInt8]?
        pending.withIDText { written = Array($0) }
        #expect(written == [] && pending.isPending)
    }
}
