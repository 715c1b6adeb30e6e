// Framed records carried by every channel adapter.
//
// A frame is an 8-byte header followed by the payload:
//
//     offset 0  UInt8   version (MessageFrame.version)
//     offset 1  UInt8   MessageType raw value
//     offset 2  UInt16  reserved, zero (little endian)
//     offset 4  UInt32  payload length in bytes (little endian)
//
// Frames are packed back to back with no padding, so a batch of messages is just bytes
// that any adapter can move with one write. Decoding checks every length against the
// bytes actually present: a malformed frame is a `MessageFormatError`, never a crash.

/// What a frame's payload holds.
public enum MessageType: UInt8, Sendable, CaseIterable {
    /// One log line, without its trailing newline, as raw bytes.
    case logLine = 1
    /// A `BanDecision` in its binary form.
    case ban = 2
    /// A `BanDecision` in its binary form; `banTime` is ignored.
    case unban = 3
}

/// Why a byte range is not a valid frame or decision.
public enum MessageFormatError: Error, Equatable, Sendable {
    case truncatedHeader(available: Int)
    case unsupportedVersion(UInt8)
    case unknownType(UInt8)
    case truncatedPayload(declared: Int, available: Int)
    case payloadTooLarge(Int)
    case malformedDecision(String)
}

/// Frame layout constants and the encoder.
public enum MessageFrame {
    public static let version: UInt8 = 1
    public static let headerSize = 8
    /// Largest payload a frame may declare; bounds what a reader must be able to buffer.
    public static let maximumPayloadSize = 60 * 1024

    /// Bytes one frame with `payloadLength` bytes of payload occupies.
    @inlinable
    public static func size(payloadLength: Int) -> Int { headerSize + payloadLength }

    /// Writes the header for a frame at `destination`; the caller writes the payload after it.
    /// `destination` must have room for `headerSize` bytes.
    @inlinable
    public static func writeHeader(type: MessageType, payloadLength: Int, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: version, as: UInt8.self)
        destination.storeBytes(of: type.rawValue, toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        destination.storeBytes(of: UInt32(truncatingIfNeeded: payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// Appends one frame to `buffer`.
    public static func append(type: MessageType, payload: UnsafeRawBufferPointer, to buffer: inout [UInt8]) throws {
        guard payload.count <= maximumPayloadSize else { throw MessageFormatError.payloadTooLarge(payload.count) }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: headerSize))
        buffer.withUnsafeMutableBytes { writeHeader(type: type, payloadLength: payload.count, to: $0.baseAddress! + start) }
        buffer.append(contentsOf: payload)
    }
}

/// One decoded frame, pointing into the bytes it was decoded from (valid as long as they are).
public struct MessageView {
    public let type: MessageType
    public let payload: UnsafeRawBufferPointer
}

/// Walks the frames packed in a byte range, checking each one.
public struct FrameIterator {
    private let bytes: UnsafeRawBufferPointer
    /// Offset of the next frame; equals `bytes.count` once every frame was read.
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next frame, nil at the end, or an error for a malformed or cut-off frame
    /// (the offset then stays at that frame).
    public mutating func next() throws -> MessageView? {
        let available = bytes.count - offset
        if available == 0 { return nil }
        guard let header = try FrameIterator.header(in: UnsafeRawBufferPointer(rebasing: bytes[offset...])) else {
            throw MessageFormatError.truncatedHeader(available: available)
        }
        guard available - MessageFrame.headerSize >= header.length else {
            throw MessageFormatError.truncatedPayload(declared: header.length, available: available - MessageFrame.headerSize)
        }
        let payloadStart = offset + MessageFrame.headerSize
        offset = payloadStart + header.length
        return MessageView(type: header.type, payload: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<offset]))
    }

    /// The header at the start of `bytes`, or nil when fewer than `headerSize` bytes are present.
    public static func header(in bytes: UnsafeRawBufferPointer) throws -> (type: MessageType, length: Int)? {
        guard bytes.count >= MessageFrame.headerSize else { return nil }
        let version = bytes[0]
        guard version == MessageFrame.version else { throw MessageFormatError.unsupportedVersion(version) }
        guard let type = MessageType(rawValue: bytes[1]) else { throw MessageFormatError.unknownType(bytes[1]) }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard length <= MessageFrame.maximumPayloadSize else { throw MessageFormatError.payloadTooLarge(length) }
        return (type, length)
    }

    /// Length of the longest prefix of `bytes` made of whole, valid frames, and how many frames it holds.
    public static func wholeFrames(in bytes: UnsafeRawBufferPointer) throws -> (bytes: Int, count: Int) {
        var offset = 0
        var count = 0
        while let header = try header(in: UnsafeRawBufferPointer(rebasing: bytes[offset...])),
              bytes.count - offset - MessageFrame.headerSize >= header.length {
            offset += MessageFrame.headerSize + header.length
            count += 1
        }
        return (offset, count)
    }
}
