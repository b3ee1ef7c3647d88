/// `Content-Disposition: attachment` with the file name (RFC 2183), as folded header lines without line ends.
///
/// A name of printable ASCII goes in a quoted string (`filename="a b.pdf"`); any other name in RFC 2231's
/// extended form, UTF-8 and percent-encoded (`filename*=utf-8''%C3%A9t%C3%A9.pdf`). A name too long for one
/// line is split into RFC 2231 §3 continuations (`filename*0=…; filename*1=…`), each on a line of its own.
enum ContentDisposition {
  /// The longest parameter value piece put on one line, so a line stays near 78 characters.
  static let pieceLength = 60

  static func lines(fileName: String) -> [String] {
    let scalars = Array(fileName.unicodeScalars)
    let isPlain = !scalars.isEmpty && scalars.allSatisfy { (0x20...0x7E).contains($0.value) }
    // The pieces: each a whole escaped character, so no escape or UTF-8 sequence is split across lines.
    var units: [String] = []
    if isPlain {
      for scalar in scalars {
        units.append(scalar == "\"" || scalar == "\\" ? "\\" + String(scalar) : String(scalar))
      }
    } else {
      for scalar in scalars {
        units.append(String(scalar).utf8.map(percentEncoded).joined())
      }
    }
    let whole = units.joined()
    let single = isPlain ? "filename=\"" + whole + "\"" : "filename*=utf-8''" + whole
    if single.utf8.count <= pieceLength + 16 {
      let oneLine = "Content-Disposition: attachment; " + single
      if oneLine.utf8.count <= HeaderWriter.preferredLineLength { return [oneLine] }
      return ["Content-Disposition: attachment;", " " + single]
    }
    var pieces: [String] = []
    var current = ""
    for unit in units {
      if !current.isEmpty && current.utf8.count + unit.utf8.count > pieceLength {
        pieces.append(current)
        current = ""
      }
      current += unit
    }
    if !current.isEmpty { pieces.append(current) }
    var lines = ["Content-Disposition: attachment;"]
    for (index, piece) in pieces.enumerated() {
      let separator = index == pieces.count - 1 ? "" : ";"
      if isPlain {
        lines.append(" filename*\(index)=\"\(piece)\"" + separator)
      } else {
        // RFC 2231 §4.1: only the first piece names the charset; every encoded piece is marked with '*'.
        lines.append(" filename*\(index)*=" + (index == 0 ? "utf-8''" : "") + piece + separator)
      }
    }
    return lines
  }

  /// RFC 5987 attr-char as it is; every other octet as `%XX`.
  static func percentEncoded(_ byte: UInt8) -> String {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return String(UnicodeScalar(byte))
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "+"),
      UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
      UInt8(ascii: "|"), UInt8(ascii: "~"):
      return String(UnicodeScalar(byte))
    default:
      let digits = Array("0123456789ABCDEF")
      return "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }
  }
}
