/// Zone text in a log line or in `logtimezone`, read the way fail2ban reads it: an
/// optional upper-case abbreviation (1 or 3-5 letters) and an optional `±hh[[:]mm]`
/// offset, both fixed (an abbreviation never switches to daylight saving time).
enum TimeZoneText {
    enum Offset: Equatable {
        case minutes(Int)
        /// Not zone syntax (fail2ban: ValueError).
        case invalid
        /// Zone syntax with an abbreviation fail2ban does not know (fail2ban: KeyError).
        case unknownAbbreviation
    }

    static func offsetMinutes(_ text: UnsafeBufferPointer<UInt8>) -> Offset {
        if equals(text, "Z") || equals(text, "UTC") || equals(text, "GMT") { return .minutes(0) }
        guard let (abbreviation, offset) = split(text) else { return .invalid }
        var minutes = 0
        if abbreviation.count > 0 {
            guard let known = abbreviations[String(decoding: abbreviation, as: UTF8.self)] else { return .unknownAbbreviation }
            minutes = known
        }
        guard offset.count > 0 else { return .minutes(minutes) }
        let negative = offset[0] == UInt8(ascii: "-")
        let hours = digitValue(offset[1]) * 10 + digitValue(offset[2])
        if offset.count <= 3 { return .minutes(minutes + (negative ? -hours : hours) * 60) }
        let minuteStart = offset[3] == UInt8(ascii: ":") ? 4 : 3
        let extra = hours * 60 + digitValue(offset[minuteStart]) * 10 + digitValue(offset[minuteStart + 1])
        return .minutes(minutes + (negative ? -extra : extra))
    }

    /// Splits zone text into abbreviation and offset, trying the longest abbreviation first
    /// like the backtracking regex fail2ban uses; nil if the text is not zone syntax.
    private static func split(_ text: UnsafeBufferPointer<UInt8>) -> ([UInt8], [UInt8])? {
        var letters = 0
        while letters < text.count, isUpper(text[letters]) { letters += 1 }
        var lengths: [Int] = []
        if letters >= 3 { lengths += Array(stride(from: min(letters, 5), through: 3, by: -1)) }
        if letters >= 1 { lengths.append(1) }
        lengths.append(0)
        for length in lengths {
            for offsetLength in offsetLengths(text, from: length) where length + offsetLength == text.count {
                return (Array(text[0..<length]), Array(text[length..<(length + offsetLength)]))
            }
        }
        return nil
    }

    /// Candidate lengths of `[+-][01]\d(?::?\d{2})?` at `start`, longest first, then "none".
    private static func offsetLengths(_ text: UnsafeBufferPointer<UInt8>, from start: Int) -> [Int] {
        func byte(_ index: Int) -> UInt8? { index < text.count ? text[index] : nil }
        guard let sign = byte(start), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
              let tens = byte(start + 1), tens == UInt8(ascii: "0") || tens == UInt8(ascii: "1"),
              let ones = byte(start + 2), isDigit(ones)
        else { return [0] }
        var lengths: [Int] = []
        if byte(start + 3) == UInt8(ascii: ":"), let a = byte(start + 4), isDigit(a), let b = byte(start + 5), isDigit(b) {
            lengths.append(6)
        }
        if let a = byte(start + 3), isDigit(a), let b = byte(start + 4), isDigit(b) { lengths.append(5) }
        return lengths + [3, 0]
    }

    private static func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func digitValue(_ byte: UInt8) -> Int { Int(byte) - Int(UInt8(ascii: "0")) }

    private static func equals(_ text: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        literal.utf8CodeUnitCount == text.count &&
            (0..<text.count).allSatisfy { literal.utf8Start[$0] == text[$0] }
    }

    /// fail2ban's table of zone abbreviations, in minutes east of UTC.
    private static let abbreviations: [String: Int] = [
        "A": 60, "ACDT": 630, "ACST": 570, "ACT": 480, "ADT": -180, "AEDT": 660, "AEST": 600, "AFT": 270,
        "AKDT": -480, "AKST": -540, "ALMT": 360, "AMST": 300, "AMT": 240, "ANAST": 720, "ANAT": 720,
        "AQTT": 300, "ART": -180, "AST": -240, "AWDT": 540, "AWST": 480, "AZOT": -60, "AZST": 300,
        "AZT": 240, "B": 120, "BDT": 480, "BIOT": 360, "BNT": 480, "BOT": -240, "BRST": -120, "BRT": -180,
        "BTT": 360, "C": 180, "CAST": 480, "CAT": 120, "CCT": 390, "CDT": -300, "CEDT": 120, "CEST": 120,
        "CET": 60, "CIST": -480, "CKT": -600, "CLST": -180, "CLT": -240, "COST": -240, "COT": -300,
        "CST": -360, "CVT": -60, "CXT": 420, "ChST": 600, "D": 240, "DAVT": 420, "DFT": 60, "E": 300,
        "EASST": -300, "EAST": -360, "EAT": 180, "ECT": -300, "EDT": -240, "EEDT": 180, "EEST": 180,
        "EET": 120, "EGST": 0, "EGT": -60, "EST": -300, "ET": -300, "F": 360, "FJST": 780, "FJT": 720,
        "FKST": -180, "FKT": -240, "FNT": -120, "G": 420, "GALT": -360, "GAMT": -540, "GET": 240,
        "GFT": -180, "GILT": 720, "GIT": -540, "GMT": 0, "GST": 240, "GYT": -240, "H": 480, "HAA": -180,
        "HAC": -300, "HADT": -540, "HAE": -240, "HAP": -420, "HAR": -360, "HAST": -600, "HAT": -150,
        "HAY": -480, "HKT": 480, "HLV": -270, "HMT": 300, "HNA": -240, "HNC": -360, "HNE": -300,
        "HNP": -480, "HNR": -420, "HNT": -210, "HNY": -540, "HOVT": 420, "HST": -600, "I": 540, "ICT": 420,
        "IDT": 180, "IOT": 360, "IRDT": 270, "IRKST": 540, "IRKT": 480, "IRST": 210, "JST": 540, "K": 600,
        "KGT": 360, "KRAST": 480, "KRAT": 420, "KST": 540, "KUYT": 240, "L": 660, "LHDT": 660, "LHST": 630,
        "M": 720, "MAGST": 720, "MAGT": 660, "MART": -570, "MAWT": 300, "MDT": -360, "MHT": 720,
        "MIT": -570, "MMT": 390, "MSD": 240, "MSK": 180, "MST": -420, "MUT": 240, "MVT": 300, "MYT": 480,
        "N": -60, "NCT": 660, "NDT": -150, "NFT": 690, "NOVST": 420, "NOVT": 360, "NPT": 345, "NST": -210,
        "NT": -210, "NUT": -660, "NZDT": 780, "NZST": 720, "O": -120, "OMSST": 420, "OMST": 360, "P": -180,
        "PDT": -420, "PET": -300, "PETST": 720, "PETT": 720, "PGT": 600, "PHT": 480, "PKT": 300,
        "PMDT": -120, "PMST": -180, "PONT": 660, "PST": -480, "PT": -480, "PWT": 540, "PYST": -180,
        "PYT": -240, "Q": -240, "R": -300, "RET": 240, "S": -360, "SAMT": 240, "SAST": 120, "SBT": 660,
        "SCT": 240, "SGT": 480, "SLT": 330, "SRT": -180, "SST": -660, "T": -420, "TAHT": -600, "TFT": 300,
        "THA": 420, "TJT": 300, "TKT": -600, "TLT": 540, "TMT": 300, "TVT": 720, "U": -480, "ULAT": 480,
        "UTC": 0, "UYST": -120, "UYT": -180, "UZT": 300, "V": -540, "VET": -270, "VLAST": 660, "VLAT": 600,
        "VUT": 660, "W": -600, "WAST": 120, "WAT": 60, "WDT": 540, "WEDT": 60, "WEST": 60, "WET": 0,
        "WFT": 720, "WGST": -120, "WGT": -180, "WIB": 420, "WIT": 540, "WITA": 480, "WST": 480, "WT": 0,
        "X": -660, "Y": -720, "YAKST": 600, "YAKT": 540, "YAPT": 600, "YEKST": 360, "YEKT": 300, "Z": 0,
    ]
}
