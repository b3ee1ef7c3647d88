/// One meaningful line of an msmtp-syntax file: `key value`, the value maybe in double quotes.
///
/// msmtp's rules: blank lines and lines whose first non-blank character is `#` are comments; the key is the first
/// word; the rest of the line, without surrounding blanks, is the value. A value wholly in double quotes loses the
/// quotes, and inside them `\"` is a quote and `\\` a backslash. An unquoted value is taken as written, `#`
/// included (passwords may hold one).
struct ConfigLine: Sendable, Hashable {
  var key: String
  var value: String
  var number: Int

  /// A lexing failure: the key (when known) and what was expected.
  struct Failure: Error, Hashable {
    var key: String?
    var message: String
  }

  /// nil for blank and comment lines.
  static func parse(_ text: Substring, number: Int) throws(Failure) -> ConfigLine? {
    // Slices only: building a new scalar view copied the line scalar by scalar (a third of the time `accounts`
    // took for a file of 70,000 accounts).
    var scalars = text.unicodeScalars[...]
    if scalars.last == "\r" { scalars = scalars.dropLast() }
    for scalar in scalars where Self.isForbidden(scalar) {
      throw Failure(
        key: nil,
        message: "expected printable text, found the control character U+\(Self.hex(scalar.value))")
    }
    let line = Substring(scalars)
    let body = line.drop(while: Self.isBlank)
    guard let first = body.first, first != "#" else { return nil }
    let key = String(body.prefix(while: { !Self.isBlank($0) }))
    let rest = body.dropFirst(key.count).drop(while: Self.isBlank)
    var end = rest.endIndex
    while end > rest.startIndex, Self.isBlank(rest[rest.index(before: end)]) {
      end = rest.index(before: end)
    }
    let raw = rest[rest.startIndex..<end]
    guard raw.first == "\"" else { return ConfigLine(key: key, value: String(raw), number: number) }
    return ConfigLine(key: key, value: try Self.unquote(raw, key: key), number: number)
  }

  private static func unquote(_ raw: Substring, key: String) throws(Failure) -> String {
    var value = ""
    var index = raw.index(after: raw.startIndex)
    while index < raw.endIndex {
      let character = raw[index]
      if character == "\"" {
        guard raw.index(after: index) == raw.endIndex else {
          throw Failure(key: key, message: "expected the end of the line after the closing double quote")
        }
        return value
      }
      if character == "\\" {
        let next = raw.index(after: index)
        guard next < raw.endIndex, raw[next] == "\"" || raw[next] == "\\" else {
          throw Failure(key: key, message: "expected \\\" or \\\\ after a backslash inside double quotes")
        }
        value.append(raw[next])
        index = raw.index(after: next)
      } else {
        value.append(character)
        index = raw.index(after: index)
      }
    }
    throw Failure(key: key, message: "expected a closing double quote")
  }

  static func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }

  private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
    (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
      || (0x80...0x9F).contains(scalar.value)
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }
}
