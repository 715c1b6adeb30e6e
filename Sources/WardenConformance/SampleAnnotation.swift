import FoundationEssentials

/// A JSON value from a sample file's `# failJSON:` / `# filterOptions:` comments.
public enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Python's truthiness, as the runner's `faildata.get('match', False)` reads it.
    var isTruthy: Bool {
        switch self {
        case .string(let value): return !value.isEmpty
        case .number(let value): return value != 0
        case .bool(let value): return value
        case .array(let value): return !value.isEmpty
        case .object(let value): return !value.isEmpty
        case .null: return false
        }
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .string(let value): return "'\(value)'"
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): return value ? "True" : "False"
        case .array(let value): return "[" + value.map(\.description).joined(separator: ", ") + "]"
        case .object(let value):
            return "{" + value.keys.sorted().map { "'\($0)': \(value[$0]!.description)" }.joined(separator: ", ") + "}"
        case .null: return "None"
        }
    }
}

/// One `# name: json` comment of a sample file.
enum SampleAnnotation {
    /// Expectations for the next line.
    case failJSON([String: JSONValue])
    /// Options merged into every later option set of this file (and the files it adds).
    case fileOptions([String: String])
    /// Replaces the option sets: one filter instance per set.
    case filterOptions([[String: String]])
    /// Another sample file to read after this one, with the same filter instances.
    case addFile(String)

    /// Parses `^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$`; nil for any other line.
    static func parse(_ line: Substring, file: String, lineNumber: Int) throws(SampleError) -> SampleAnnotation? {
        let body = line.drop { $0 == "#" }
        guard body.count < line.count else { return nil }
        let afterSpace = body.hasPrefix(" ") ? body.dropFirst() : body
        for keyword in ["failJSON", "fileOptions", "filterOptions", "addFILE"] where afterSpace.hasPrefix(keyword + ":") {
            let json = afterSpace.dropFirst(keyword.count + 1)
            guard !json.isEmpty else { return nil }
            let value: JSONValue
            do { value = try JSONValue.parse(String(json)) } catch {
                throw SampleError(file: file, line: lineNumber, message: "invalid JSON in \(keyword): \(error)")
            }
            switch (keyword, value) {
            case ("failJSON", .object(let fields)): return .failJSON(fields)
            case ("fileOptions", .object(let fields)): return .fileOptions(try options(fields, file: file, lineNumber: lineNumber))
            case ("filterOptions", .object(let fields)): return .filterOptions([try options(fields, file: file, lineNumber: lineNumber)])
            case ("filterOptions", .array(let sets)):
                var result: [[String: String]] = []
                for set in sets {
                    guard case .object(let fields) = set else {
                        throw SampleError(file: file, line: lineNumber, message: "filterOptions entries must be objects")
                    }
                    result.append(try options(fields, file: file, lineNumber: lineNumber))
                }
                return .filterOptions(result)
            case ("addFILE", .string(let name)): return .addFile(name)
            default:
                throw SampleError(file: file, line: lineNumber, message: "unexpected JSON shape for \(keyword)")
            }
        }
        return nil
    }

    private static func options(_ fields: [String: JSONValue], file: String, lineNumber: Int) throws(SampleError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in fields {
            switch value {
            case .string(let text): result[key] = text
            case .number, .bool: result[key] = value.description
            default: throw SampleError(file: file, line: lineNumber, message: "option \(key) must be a scalar")
            }
        }
        return result
    }
}

/// A sample file or annotation the runner cannot use; names file and line.
public struct SampleError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let message: String

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// The Python expressions sample files use in `constraint` and `test.condition`:
/// `name == '...'`, `opts.get('key') == '...'` and their `!=` forms.
struct SampleCondition {
    let expression: String

    func evaluate(name: String, options: [String: String]) throws(SampleError) -> Bool {
        let isEqual: Bool
        let parts: [Substring]
        if expression.contains("!=") {
            isEqual = false
            parts = expression.split(separator: "!=", maxSplits: 1, omittingEmptySubsequences: false).map { $0 }
        } else if expression.contains("==") {
            isEqual = true
            parts = expression.split(separator: "==", maxSplits: 1, omittingEmptySubsequences: false).map { $0 }
        } else {
            throw unsupported()
        }
        guard parts.count == 2 else { throw unsupported() }
        let lhs = parts[0].trimmingCharacters(in: " "), rhs = parts[1].trimmingCharacters(in: " ")
        guard let expected = SampleCondition.quoted(rhs) else { throw unsupported() }
        let actual: String?
        if lhs == "name" {
            actual = name
        } else if lhs.hasPrefix("opts.get("), lhs.hasSuffix(")"), let key = SampleCondition.quoted(String(lhs.dropFirst(9).dropLast())) {
            actual = options[key]
        } else {
            throw unsupported()
        }
        return (actual == expected) == isEqual
    }

    private func unsupported() -> SampleError {
        SampleError(file: "", line: nil, message: "unsupported condition expression: \(expression)")
    }

    private static func quoted(_ text: String) -> String? {
        guard text.count >= 2, let first = text.first, first == "'" || first == "\"", text.last == first else { return nil }
        return String(text.dropFirst().dropLast())
    }
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
