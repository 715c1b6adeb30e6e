#if canImport(Glibc)
import Glibc
#endif

/// The arithmetic subset of Python that fail2ban evaluates with `eval`: time strings after
/// unit substitution (`1*86400+12*3600`), `bantime.factor` and `bantime.formula`
/// (`ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor`).
///
/// Python's number rules are kept where they change results: `/` always gives a float,
/// `//` and `%` floor, ints stay ints (and become floats instead of overflowing), and
/// `round` rounds half to even. Names are looked up in `variables`; `math.*`, `min`,
/// `max`, `abs`, `int`, `float` and `round` are the only functions.
public struct PythonExpression: Sendable {
    public enum Value: Sendable, Equatable {
        case int(Int)
        case float(Double)

        public var double: Double {
            switch self {
            case .int(let value): return Double(value)
            case .float(let value): return value
            }
        }

        var isTrue: Bool { double != 0 }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var expression: String
        public var message: String
        public var description: String { "'\(expression)': \(message)" }
    }

    public let source: String
    private let root: Node

    public init(_ source: String) throws {
        self.source = source
        var parser = Parser(source: source)
        root = try parser.parseAll()
    }

    /// Evaluates with the given names (`ban.Time`, `banFactor`, ...).
    public func evaluate(_ variables: [String: Value] = [:]) throws -> Value {
        try root.evaluate(variables, source: source)
    }

    // MARK: Tree

    fileprivate indirect enum Node: Sendable {
        case number(Value)
        case name(String)
        case unary(String, Node)
        case binary(String, Node, Node)
        case comparison(Node, [(String, Node)])
        case conditional(Node, condition: Node, otherwise: Node)
        case call(String, [Node])

        func evaluate(_ variables: [String: Value], source: String) throws -> Value {
            func fail(_ message: String) -> ParseError { ParseError(expression: source, message: message) }
            switch self {
            case .number(let value):
                return value
            case .name(let name):
                if let value = variables[name] ?? Self.constants[name] { return value }
                throw fail("unknown name '\(name)'")
            case .unary(let op, let operand):
                let value = try operand.evaluate(variables, source: source)
                switch (op, value) {
                case ("-", .int(let int)): return int == .min ? .float(-Double(int)) : .int(-int)
                case ("-", .float(let double)): return .float(-double)
                case ("+", _): return value
                case ("not", _): return .int(value.isTrue ? 0 : 1)
                case ("~", .int(let int)): return .int(~int)
                default: throw fail("bad operand for unary \(op)")
                }
            case .binary(let op, let left, let right):
                if op == "and" || op == "or" {
                    let first = try left.evaluate(variables, source: source)
                    if (op == "and") != first.isTrue { return first }
                    return try right.evaluate(variables, source: source)
                }
                return try Self.apply(op, try left.evaluate(variables, source: source),
                                      try right.evaluate(variables, source: source), fail: fail)
            case .comparison(let first, let rest):
                var left = try first.evaluate(variables, source: source)
                for (op, node) in rest {
                    let right = try node.evaluate(variables, source: source)
                    let (a, b) = (left.double, right.double)
                    let holds: Bool
                    switch op {
                    case "<": holds = a < b
                    case "<=": holds = a <= b
                    case ">": holds = a > b
                    case ">=": holds = a >= b
                    case "==": holds = a == b
                    default: holds = a != b
                    }
                    if !holds { return .int(0) }
                    left = right
                }
                return .int(1)
            case .conditional(let value, let condition, let otherwise):
                return try condition.evaluate(variables, source: source).isTrue
                    ? value.evaluate(variables, source: source) : otherwise.evaluate(variables, source: source)
            case .call(let name, let arguments):
                let values = try arguments.map { try $0.evaluate(variables, source: source) }
                return try Self.call(name, values, fail: fail)
            }
        }

        static let constants: [String: Value] = [
            "True": .int(1), "False": .int(0), "math.e": .float(M_E), "math.pi": .float(Double.pi),
        ]

        static func apply(_ op: String, _ left: Value, _ right: Value, fail: (String) -> ParseError) throws -> Value {
            if case .int(let a) = left, case .int(let b) = right {
                switch op {
                case "+": let (r, o) = a.addingReportingOverflow(b); return o ? .float(Double(a) + Double(b)) : .int(r)
                case "-": let (r, o) = a.subtractingReportingOverflow(b); return o ? .float(Double(a) - Double(b)) : .int(r)
                case "*": let (r, o) = a.multipliedReportingOverflow(by: b); return o ? .float(Double(a) * Double(b)) : .int(r)
                case "//", "%":
                    guard b != 0 else { throw fail("division by zero") }
                    var quotient = a / b
                    if (a % b != 0) && ((a < 0) != (b < 0)) { quotient -= 1 }
                    return op == "//" ? .int(quotient) : .int(a - quotient * b)
                case "**" where b >= 0:
                    var result = 1
                    for _ in 0..<b {
                        let (r, o) = result.multipliedReportingOverflow(by: a)
                        if o { return .float(pow(Double(a), Double(b))) }
                        result = r
                    }
                    return .int(result)
                case "<<":
                    guard b >= 0 else { throw fail("negative shift count") }
                    guard b < 62, a.magnitude < (UInt(1) << (62 - b)) else { return .float(Double(a) * pow(2, Double(b))) }
                    return .int(a << b)
                case ">>":
                    guard b >= 0 else { throw fail("negative shift count") }
                    return .int(a >> min(b, 63))
                case "&": return .int(a & b)
                case "|": return .int(a | b)
                case "^": return .int(a ^ b)
                default: break
                }
            }
            let (a, b) = (left.double, right.double)
            switch op {
            case "+": return .float(a + b)
            case "-": return .float(a - b)
            case "*": return .float(a * b)
            case "/":
                guard b != 0 else { throw fail("division by zero") }
                return .float(a / b)
            case "//", "%":
                guard b != 0 else { throw fail("division by zero") }
                let quotient = (a / b).rounded(.down)
                return op == "//" ? .float(quotient) : .float(a - quotient * b)
            case "**": return .float(pow(a, b))
            default: throw fail("unsupported operand types for \(op)")
            }
        }

        static func call(_ name: String, _ values: [Value], fail: (String) -> ParseError) throws -> Value {
            func one() throws -> Value {
                guard values.count == 1 else { throw fail("\(name)() takes 1 argument, got \(values.count)") }
                return values[0]
            }
            switch name {
            case "math.exp": return .float(exp(try one().double))
            case "math.log":
                guard let first = values.first, values.count <= 2, first.double > 0 else { throw fail("math domain error") }
                return .float(values.count == 2 ? log(first.double) / log(values[1].double) : log(first.double))
            case "math.sqrt": return .float(sqrt(try one().double))
            case "math.pow":
                guard values.count == 2 else { throw fail("math.pow() takes 2 arguments") }
                return .float(pow(values[0].double, values[1].double))
            case "math.floor", "math.ceil":
                let value = try one().double
                let rounded = name == "math.floor" ? value.rounded(.down) : value.rounded(.up)
                return Self.integer(rounded)
            case "float": return .float(try one().double)
            case "int": return Self.integer(try one().double.rounded(.towardZero))
            case "abs":
                switch try one() {
                case .int(let int): return int == .min ? .float(-Double(int)) : .int(abs(int))
                case .float(let double): return .float(abs(double))
                }
            case "round":
                guard values.count == 1 else { throw fail("round() with digits is not supported") }
                return Self.integer(values[0].double.rounded(.toNearestOrEven))
            case "min", "max":
                guard !values.isEmpty else { throw fail("\(name)() needs arguments") }
                // Python keeps the first of equal values, and its type.
                return values.dropFirst().reduce(values[0]) { best, next in
                    name == "min" ? (next.double < best.double ? next : best) : (next.double > best.double ? next : best)
                }
            default: throw fail("unknown function '\(name)'")
            }
        }

        static func integer(_ double: Double) -> Value {
            double.isFinite && abs(double) < 9.2e18 ? .int(Int(double)) : .float(double)
        }
    }

    // MARK: Parser

    private struct Parser {
        enum Token: Equatable {
            case number(Value)
            case name(String)
            case symbol(String)
            case end
        }

        let source: String
        var tokens: [Token] = []
        var position = 0

        init(source: String) {
            self.source = source
        }

        func fail(_ message: String) -> ParseError { ParseError(expression: source, message: message) }

        mutating func parseAll() throws -> Node {
            tokens = try tokenize()
            let node = try ternary()
            guard tokens[position] == .end else { throw fail("unexpected \(describe(tokens[position]))") }
            return node
        }

        func describe(_ token: Token) -> String {
            switch token {
            case .number(let value): return "number \(value.double)"
            case .name(let name): return "'\(name)'"
            case .symbol(let symbol): return "'\(symbol)'"
            case .end: return "end of expression"
            }
        }

        func tokenize() throws -> [Token] {
            let bytes = Array(source.utf8)
            var result: [Token] = []
            var index = 0
            func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
            func isNameStart(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || byte == 0x5F }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1; continue }
                if isDigit(byte) || (byte == 0x2E && index + 1 < bytes.count && isDigit(bytes[index + 1])) {
                    let start = index
                    var isFloat = false
                    while index < bytes.count, isDigit(bytes[index]) || bytes[index] == 0x2E || bytes[index] == 0x5F {
                        if bytes[index] == 0x2E { isFloat = true }
                        index += 1
                    }
                    if index < bytes.count, bytes[index] | 0x20 == 0x65 {
                        var next = index + 1
                        if next < bytes.count, bytes[next] == 0x2B || bytes[next] == 0x2D { next += 1 }
                        if next < bytes.count, isDigit(bytes[next]) {
                            isFloat = true
                            index = next
                            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                        }
                    }
                    let text = String(decoding: bytes[start..<index].filter { $0 != 0x5F }, as: UTF8.self)
                    if isFloat, let value = Double(text) {
                        result.append(.number(.float(value)))
                    } else if !isFloat, let value = Int(text) {
                        result.append(.number(.int(value)))
                    } else if !isFloat, let value = Double(text) {
                        result.append(.number(.float(value)))
                    } else {
                        throw fail("bad number '\(text)'")
                    }
                    continue
                }
                if isNameStart(byte) {
                    let start = index
                    while index < bytes.count, isNameStart(bytes[index]) || isDigit(bytes[index])
                        || (bytes[index] == 0x2E && index + 1 < bytes.count && isNameStart(bytes[index + 1])) {
                        index += 1
                    }
                    result.append(.name(String(decoding: bytes[start..<index], as: UTF8.self)))
                    continue
                }
                let two = index + 1 < bytes.count ? String(decoding: bytes[index...(index + 1)], as: UTF8.self) : ""
                if ["**", "//", "<<", ">>", "<=", ">=", "==", "!="].contains(two) {
                    result.append(.symbol(two))
                    index += 2
                    continue
                }
                let one = String(decoding: [byte], as: UTF8.self)
                guard "+-*/%()<>,~&|^".contains(one) else { throw fail("unexpected character '\(one)'") }
                result.append(.symbol(one))
                index += 1
            }
            result.append(.end)
            return result
        }

        mutating func accept(_ symbol: String) -> Bool {
            if tokens[position] == .symbol(symbol) || tokens[position] == .name(symbol) {
                position += 1
                return true
            }
            return false
        }

        mutating func ternary() throws -> Node {
            let value = try orExpression()
            guard accept("if") else { return value }
            let condition = try orExpression()
            guard accept("else") else { throw fail("expected 'else'") }
            return .conditional(value, condition: condition, otherwise: try ternary())
        }

        mutating func orExpression() throws -> Node {
            var node = try andExpression()
            while accept("or") { node = .binary("or", node, try andExpression()) }
            return node
        }

        mutating func andExpression() throws -> Node {
            var node = try notExpression()
            while accept("and") { node = .binary("and", node, try notExpression()) }
            return node
        }

        mutating func notExpression() throws -> Node {
            accept("not") ? .unary("not", try notExpression()) : try comparison()
        }

        mutating func comparison() throws -> Node {
            let first = try binary(level: 0)
            var rest: [(String, Node)] = []
            while case .symbol(let symbol) = tokens[position], ["<", "<=", ">", ">=", "==", "!="].contains(symbol) {
                position += 1
                rest.append((symbol, try binary(level: 0)))
            }
            return rest.isEmpty ? first : .comparison(first, rest)
        }

        /// Python's binary precedence, loosest first.
        static let levels: [[String]] = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "//", "%"]]

        mutating func binary(level: Int) throws -> Node {
            guard level < Self.levels.count else { return try unary() }
            var node = try binary(level: level + 1)
            while case .symbol(let symbol) = tokens[position], Self.levels[level].contains(symbol) {
                position += 1
                node = .binary(symbol, node, try binary(level: level + 1))
            }
            return node
        }

        mutating func unary() throws -> Node {
            for op in ["-", "+", "~"] where accept(op) { return .unary(op, try unary()) }
            let base = try primary()
            // `**` binds tighter than a unary minus on its left, looser on its right.
            return accept("**") ? .binary("**", base, try unary()) : base
        }

        mutating func primary() throws -> Node {
            let token = tokens[position]
            position += 1
            switch token {
            case .number(let value):
                return .number(value)
            case .name(let name):
                guard accept("(") else { return .name(name) }
                var arguments: [Node] = []
                if !accept(")") {
                    repeat { arguments.append(try ternary()) } while accept(",")
                    guard accept(")") else { throw fail("expected ')' after arguments of \(name)") }
                }
                return .call(name, arguments)
            case .symbol("("):
                let node = try ternary()
                guard accept(")") else { throw fail("expected ')'") }
                return node
            default:
                throw fail("unexpected \(describe(token))")
            }
        }
    }
}
