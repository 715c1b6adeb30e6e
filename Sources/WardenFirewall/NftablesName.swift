/// Jail names as nft identifiers.
///
/// nft's scanner accepts identifiers made of letters, digits and `_ . / -` that start with
/// a letter, `_` or `.`. warden keeps a jail name as it is when it already is such an
/// identifier made only of `[A-Za-z0-9_.-]`, starts with a letter and is at most 64
/// characters long (`sshd`, `nginx-http-auth`). Any other name maps to its characters with
/// every other character replaced by `_`, prefixed with `j_` when it does not start with a
/// letter, cut to 48 characters, and followed by `-` and 8 hex digits of the FNV-1a hash of
/// the original name, so two names that differ only in replaced characters still map to
/// different identifiers (`my jail` → `my_jail-1b3c…`).
public enum NftablesName {
    static let maximumLength = 64

    public static func identifier(forJail name: String) -> String {
        let scalars = Array(name.unicodeScalars)
        if let first = scalars.first, isLetter(first), scalars.count <= maximumLength,
           scalars.allSatisfy(isKept) {
            return name
        }
        var mapped = String(String.UnicodeScalarView(scalars.map { isKept($0) ? $0 : "_" }))
        if !(scalars.first.map(isLetter) ?? false) { mapped = "j_" + mapped }
        return String(mapped.prefix(48)) + "-" + hexHash(name)
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
    }

    private static func isKept(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || (scalar >= "0" && scalar <= "9") || scalar == "_" || scalar == "-" || scalar == "."
    }

    private static func hexHash(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
