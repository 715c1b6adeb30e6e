#if canImport(Glibc)
import Glibc
#endif

/// fail2ban's `logencoding`: the character set log files are written in. Lines are handed
/// on as UTF-8; bytes that are invalid in the encoding become U+FFFD, as fail2ban's
/// decode(..., 'replace') fallback does.
public enum LogEncoding: Sendable, Equatable {
    /// Delivered as read (the matcher repairs invalid UTF-8 the way fail2ban does).
    case utf8
    /// ISO-8859-1: every byte is its own code point, converted without iconv.
    case latin1
    /// Any other encoding iconv knows, by its iconv name.
    case iconv(String)

    /// Parses a `logencoding` value. `auto` is UTF-8, which is what fail2ban's locale
    /// lookup yields on a Debian system with a UTF-8 locale.
    public init(name: String) throws {
        let lowered = String(name.lowercased().map { $0 == "_" ? "-" : $0 })
        switch lowered {
        case "", "auto", "utf-8", "utf8": self = .utf8
        case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1": self = .latin1
        default:
            let converter = iconv_open("UTF-8", name.uppercased())
            guard Int(bitPattern: converter) != -1 else { throw LogEncodingError(name: name) }
            iconv_close(converter)
            self = .iconv(name.uppercased())
        }
    }
}

public struct LogEncodingError: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "logencoding '\(name)' is not an encoding this system can convert (iconv)" }
}

/// Re-encodes the lines of batches to UTF-8 into a buffer of its own, keeping each line's
/// end offset, so positions still refer to the file's bytes. One per tailer thread.
final class LineTranscoder {
    private let encoding: LogEncoding
    private let converter: iconv_t?
    private var output: [UInt8] = []
    private var slices: [LineSlice] = []

    init(encoding: LogEncoding) {
        self.encoding = encoding
        if case .iconv(let name) = encoding {
            let converter = iconv_open("UTF-8", name)
            self.converter = Int(bitPattern: converter) == -1 ? nil : converter
        } else {
            converter = nil
        }
    }

    deinit { if let converter { iconv_close(converter) } }

    /// Calls `body` with the batch in UTF-8.
    func transcode(_ batch: LogBatch, to body: (LogBatch) -> Void) {
        guard encoding != .utf8 else { return body(batch) }
        output.removeAll(keepingCapacity: true)
        slices.removeAll(keepingCapacity: true)
        for index in batch.indices {
            let line = batch[index]
            let start = output.count
            if encoding == .latin1 { appendLatin1(line.bytes) } else { appendConverted(line.bytes) }
            slices.append(LineSlice(start: start, count: output.count - start, endOffset: line.endOffset, wasCut: line.wasCut))
        }
        output.withUnsafeBufferPointer { bytes in
            body(LogBatch(path: batch.path, file: batch.file, base: bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, slices: slices))
        }
    }

    private func appendLatin1(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes {
            if byte < 0x80 {
                output.append(byte)
            } else {
                output.append(0xC0 | byte >> 6)
                output.append(0x80 | byte & 0x3F)
            }
        }
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    private func appendConverted(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let converter, var input = bytes.baseAddress.map({ UnsafeMutablePointer(mutating: $0) }) else { return }
        var inputLeft = bytes.count
        var chunk = [UInt8](repeating: 0, count: 4096)
        iconv(converter, nil, nil, nil, nil)  // a fresh shift state for every line
        while inputLeft > 0 {
            let result: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                var outputPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
                var outputLeft = buffer.count
                var inputPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(input).assumingMemoryBound(to: CChar.self)
                let result = iconv(converter, &inputPointer, &inputLeft, &outputPointer, &outputLeft)
                let saved = errno
                input = UnsafeMutableRawPointer(inputPointer!).assumingMemoryBound(to: UInt8.self)
                output.append(contentsOf: buffer[..<(buffer.count - outputLeft)])
                errno = saved
                return result
            }
            guard result == -1 else { break }
            switch errno {
            case E2BIG:
                continue
            case EINVAL:
                // An incomplete sequence at the end of the line: one replacement for it.
                output.append(contentsOf: Self.replacement)
                inputLeft = 0
            default:
                // EILSEQ: this byte cannot start a character; replace it and go on.
                output.append(contentsOf: Self.replacement)
                input += 1
                inputLeft -= 1
            }
        }
    }
}
