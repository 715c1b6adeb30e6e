import Foundation
import Testing
@testable import WardenConfig

/// `name[options]` parsing, compared with fail2ban's `extractOptions` on the same text.
@Suite struct FilterReferenceTests {
    static let references = [
        "sshd",
        "sshd[mode=aggressive]",
        "sshd[mode=aggressive, foo=\"a, b\"]",
        "x[a='single ] quoted', b=2]",
        "x[a=1][b=2]",
        "x[a=1] [b=2]  ",
        "x[a=1, a=2, b=3]",
        "x[ a = 1 , b=\" spaced \" ]",
        "x[a=\"unterminated, b=2]",
        "x[a=1,]",
        "x[]",
        "x[a=\"q\" junk]",
        "x[a=1] tail",
        "x[a=1,,b=2]",
        "[a=1]",
        "x[noequals]",
        "x[a.b-c_d=1]",
        "x[a=1]\n",
        "x[a=[1]]",
        "path/to/file.conf[mode=ddos]",
    ]

    @Test func agreesWithFail2bansExtractOptions() throws {
        let json = String(decoding: try JSONEncoder().encode(Self.references), as: UTF8.self)
        let data = try Fail2banOracle.run(["--references", json])
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        try #require(expected.count == Self.references.count)
        for (text, oracle) in zip(Self.references, expected) {
            let parsed = Result { try FilterReference(parsing: text) }
            switch parsed {
            case .success(let reference):
                #expect(oracle["error"] == nil, "\(text.debugDescription): fail2ban refused it: \(oracle)")
                #expect(reference.name == oracle["name"] as? String, "\(text.debugDescription)")
                let options = (oracle["options"] as? [[String]]) ?? []
                #expect(reference.options.map { [$0.key, $0.value] } == options, "\(text.debugDescription)")
            case .failure(let error):
                #expect(oracle["error"] != nil, "\(text.debugDescription): warden refused it (\(error)), fail2ban: \(oracle)")
                #expect(error is ConfigError)
            }
        }
    }

    @Test func quotedValuesKeepSeparators() throws {
        let reference = try FilterReference(parsing: "sshd[mode=aggressive, foo=\"a, b\"]")
        #expect(reference == FilterReference(name: "sshd", options: [("mode", "aggressive"), ("foo", "a, b")]))
    }
}
