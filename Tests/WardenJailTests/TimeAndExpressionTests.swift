import Testing
@testable import WardenJail

struct TimeAndExpressionTests {
    static let timeStrings = [
        "600", "10m", "10M", "1d12h", "1.5h", "1year-6mo", "-1", "1h 30m", "0d 1h 30m", "1hour+30min",
        "6 months", "2w", "1y", "3600s", "5min", "1mo", "90sec", "2d 3h 4m 5s", "1d12h30m", "0.5d",
        "1week", "2 hours", "1h30", "10*60", "7days", "48hh", "1ww", "3600 ", " 10m",
    ]

    @Test func timeStringsMatchFail2bansStr2seconds() throws {
        let script = """
            import json, sys
            from fail2ban.server.mytime import MyTime
            print(json.dumps([float(MyTime.str2seconds(v)) for v in json.load(sys.stdin)]))
            """
        let expected = try #require(try PythonOracle.run(script, input: Self.timeStrings) as? [Double])
        for (text, seconds) in zip(Self.timeStrings, expected) {
            #expect(try TimeString.seconds(text) == seconds, "\(text)")
        }
    }

    @Test func knownTimeValues() throws {
        #expect(try TimeString.seconds("1d12h") == 129_600)
        #expect(try TimeString.seconds("1.5h") == 5400)
        #expect(try TimeString.seconds("1year-6mo") == 15_778_800)
        #expect(try TimeString.seconds("10M") == 600)
        #expect(try TimeString.seconds("-1") == -1)
    }

    @Test func badTimeStringsAreErrors() {
        for text in ["", "10 parsecs", "1d+", "abc", "1h)"] {
            #expect(throws: PythonExpression.ParseError.self, "\(text)") { try TimeString.seconds(text) }
        }
    }

    @Test func expressionsFollowPythonNumberRules() throws {
        func value(_ text: String, _ variables: [String: PythonExpression.Value] = [:]) throws -> PythonExpression.Value {
            try PythonExpression(text).evaluate(variables)
        }
        #expect(try value("7 / 2") == .float(3.5))
        #expect(try value("-7 // 2") == .int(-4))
        #expect(try value("-7 % 3") == .int(2))
        #expect(try value("2 ** 10") == .int(1024))
        #expect(try value("-2 ** 2") == .int(-4))
        #expect(try value("1 << 20") == .int(1 << 20))
        #expect(try value("round(2.5)") == .int(2))
        #expect(try value("3 if 1 < 2 < 3 else 4") == .int(3))
        #expect(try value("ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor",
                          ["ban.Time": .int(600), "ban.Count": .int(25), "banFactor": .int(1)]) == .int(600 << 20))
        #expect(throws: PythonExpression.ParseError.self) { try value("__import__('os')") }
        #expect(throws: PythonExpression.ParseError.self) { try value("1 +") }
    }
}
