/// Quoted-printable body encoding (RFC 2045 §6.7) for text whose line breaks are already known.
enum QuotedPrintable {
  /// RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters, a soft break's '=' included.
  static let maximumLineLength = 76

  /// Encodes each line and ends it with a hard CRLF; long lines get soft breaks (`=` CRLF).
  static func encode(lines: [ArraySlice<UInt8>]) -> [UInt8] {
    var out: [UInt8] = []
    for line in lines {
      var length = 0
      for (offset, byte) in line.enumerated() {
        let isLast = offset == line.count - 1
        let token = encode(byte, atEndOfLine: isLast)
        // A soft break needs one column for its '='; the last token of a line does not.
        let limit = isLast ? maximumLineLength : maximumLineLength - 1
        if length + token.count > limit {
          out += [UInt8(ascii: "=")] + LineEndings.crlf
          length = 0
        }
        out += token
        length += token.count
      }
      out += LineEndings.crlf
    }
    return out
  }

  /// RFC 2045 §6.7 rules 1–3: printable ASCII but '=' stands for itself; space and tab too, except at the end
  /// of a line, where transports may strip them.
  static func encode(_ byte: UInt8, atEndOfLine: Bool) -> [UInt8] {
    let isLiteral: Bool
    switch byte {
    case 0x21...0x3C, 0x3E...0x7E: isLiteral = true
    case 0x20, 0x09: isLiteral = !atEndOfLine
    default: isLiteral = false
    }
    if isLiteral { return [byte] }
    let digits = Array("0123456789ABCDEF".utf8)
    return [UInt8(ascii: "="), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
  }
}
