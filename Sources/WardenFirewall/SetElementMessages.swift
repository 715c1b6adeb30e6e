import WardenIPC

/// An nfnetlink batch that adds and deletes elements of nftables hash sets, built as
/// bytes: what libnftables would send for `add element inet warden sshd-v4 { … }`,
/// without parsing command text or fetching its cache from the kernel first.
///
/// Layout (linux/netfilter/nfnetlink.h, nf_tables.h): `BATCH_BEGIN`, then one
/// `NEWSETELEM` or `DELSETELEM` message per set and operation (table name, set name, a
/// nested list of elements, each a nested key and, for a ban with a timeout, the timeout
/// in milliseconds, big endian), then `BATCH_END`. The kernel commits the batch as one
/// transaction and acknowledges every element message (`NLM_F_ACK`).
struct SetElementMessages {
    /// Kernel ABI numbers. linux/netfilter headers clash with Glibc's module in Swift, and
    /// these values are fixed by the kernel's userspace interface.
    private enum ABI {
        static let batchBegin: UInt16 = 0x10          // NFNL_MSG_BATCH_BEGIN
        static let batchEnd: UInt16 = 0x11            // NFNL_MSG_BATCH_END
        static let subsystemNftables: UInt16 = 10     // NFNL_SUBSYS_NFTABLES
        static let newSetElement: UInt16 = 12         // NFT_MSG_NEWSETELEM
        static let deleteSetElement: UInt16 = 14      // NFT_MSG_DELSETELEM
        static let familyInet: UInt8 = 1              // NFPROTO_INET
        static let request: UInt16 = 0x1              // NLM_F_REQUEST
        static let acknowledge: UInt16 = 0x4          // NLM_F_ACK
        static let create: UInt16 = 0x400             // NLM_F_CREATE (no NLM_F_EXCL: re-adding is accepted)
        static let listTable: UInt16 = 1              // NFTA_SET_ELEM_LIST_TABLE
        static let listSet: UInt16 = 2                // NFTA_SET_ELEM_LIST_SET
        static let listElements: UInt16 = 3           // NFTA_SET_ELEM_LIST_ELEMENTS
        static let listElement: UInt16 = 1            // NFTA_LIST_ELEM
        static let elementKey: UInt16 = 1             // NFTA_SET_ELEM_KEY
        static let elementTimeout: UInt16 = 4         // NFTA_SET_ELEM_TIMEOUT
        static let dataValue: UInt16 = 1              // NFTA_DATA_VALUE
    }

    enum Operation {
        case add
        case delete
    }

    /// One element: the address (its bytes, network order, are the key) and, for an add,
    /// an optional timeout in milliseconds (nil: no timeout, a permanent ban).
    struct Element {
        var key: NetworkAddress
        var timeoutMilliseconds: UInt64?
    }

    private var buffer = NetlinkBuffer()
    /// The batch as written so far.
    var bytes: [UInt8] { buffer.bytes }
    /// Sequence numbers of the element messages, in order; each is acknowledged.
    private(set) var elementMessageSequences: [UInt32] = []
    private(set) var beginSequence: UInt32
    private var nextSequence: UInt32

    init(firstSequence: UInt32) {
        beginSequence = firstSequence
        nextSequence = firstSequence
        appendBatchMarker(ABI.batchBegin)
    }

    /// Elements per message: the element list is one netlink attribute, whose length is
    /// 16 bits (an IPv6 element with a timeout takes 40 bytes).
    static let maximumElementsPerMessage = 1024

    /// Appends messages for `elements` of `set` in `table` (an `inet` table).
    mutating func append(_ operation: Operation, table: String, set: String, elements: [Element]) {
        var start = 0
        while start < elements.count {
            let end = min(elements.count, start + Self.maximumElementsPerMessage)
            appendMessage(operation, table: table, set: set, elements: elements[start..<end])
            start = end
        }
    }

    private mutating func appendMessage(_ operation: Operation, table: String, set: String, elements: ArraySlice<Element>) {
        let flags = ABI.request | ABI.acknowledge | (operation == .add ? ABI.create : 0)
        let type = ABI.subsystemNftables << 8 | (operation == .add ? ABI.newSetElement : ABI.deleteSetElement)
        elementMessageSequences.append(nextSequence)
        appendMessage(type: type, flags: flags, family: ABI.familyInet) { message in
            message.appendString(ABI.listTable, table)
            message.appendString(ABI.listSet, set)
            message.appendNested(ABI.listElements) { list in
                for element in elements {
                    list.appendNested(ABI.listElement) { item in
                        item.appendNested(ABI.elementKey) { key in
                            element.key.withBytes { key.appendAttribute(ABI.dataValue, $0) }
                        }
                        if let timeout = element.timeoutMilliseconds {
                            withUnsafeBytes(of: timeout.bigEndian) { item.appendAttribute(ABI.elementTimeout, $0) }
                        }
                    }
                }
            }
        }
    }

    /// Closes the batch; append nothing after this.
    mutating func finish() {
        appendBatchMarker(ABI.batchEnd)
    }

    /// The sequence number the next batch should start at.
    var followingSequence: UInt32 { nextSequence }

    private mutating func appendBatchMarker(_ type: UInt16) {
        // res_id of the batch markers names the subsystem the batch is for.
        appendMessage(type: type, flags: ABI.request, family: 0, resourceID: ABI.subsystemNftables) { _ in }
    }

    private mutating func appendMessage(type: UInt16, flags: UInt16, family: UInt8, resourceID: UInt16 = 0,
                                        attributes: (inout NetlinkBuffer) -> Void) {
        let sequence = nextSequence
        buffer.appendMeasured(UInt32.self) { message in  // nlmsghdr, nfgenmsg, attributes
            message.appendNative(type)
            message.appendNative(flags)
            message.appendNative(sequence)
            message.appendNative(UInt32(0))                 // port id: the kernel
            message.appendNative(family)                    // nfgen_family
            message.appendNative(UInt8(0))                  // version NFNETLINK_V0
            message.appendNative(resourceID.bigEndian)      // res_id, big endian
            attributes(&message)
        }
        nextSequence &+= 1
    }
}

/// Netlink messages and attributes (length, type, value, each padded to 4 bytes), written
/// in place into one byte array. A message or a nested attribute starts with a placeholder
/// length that is filled in once its body is written, so nesting copies nothing.
struct NetlinkBuffer {
    private static let nestedFlag: UInt16 = 0x8000  // NLA_F_NESTED
    private(set) var bytes: [UInt8] = []

    /// Appends an integer in host byte order (netlink headers are host order).
    mutating func appendNative<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { appendBytes($0) }
    }

    mutating func appendAttribute(_ type: UInt16, _ value: UnsafeRawBufferPointer) {
        appendNative(UInt16(4 + value.count))
        appendNative(type)
        appendBytes(value)
        pad()
    }

    mutating func appendString(_ type: UInt16, _ value: String) {
        appendNative(UInt16(4 + value.utf8.count + 1))
        appendNative(type)
        bytes.append(contentsOf: value.utf8)
        bytes.append(0)
        pad()
    }

    mutating func appendNested(_ type: UInt16, _ body: (inout NetlinkBuffer) -> Void) {
        appendMeasured(UInt16.self) { nested in
            nested.appendNative(type | Self.nestedFlag)
            body(&nested)
        }
    }

    /// Appends a `Length` field, then what `body` writes, and sets the field to the byte
    /// count of both (a netlink message's or attribute's length includes its header).
    mutating func appendMeasured<Length: FixedWidthInteger>(_: Length.Type, _ body: (inout NetlinkBuffer) -> Void) {
        let start = bytes.count
        appendNative(Length.zero)
        body(&self)
        let length = Length(bytes.count - start)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: length, toByteOffset: start, as: Length.self) }
    }

    /// Byte by byte: for the 1 to 16 bytes of a netlink field, cheaper than `append(contentsOf:)`.
    private mutating func appendBytes(_ raw: UnsafeRawBufferPointer) {
        for byte in raw { bytes.append(byte) }
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}
