extension StringProtocol {
  /// The text without the spaces and tabs at either end.
  ///
  /// Space and tab are the white space of every place this trims: header fields (WSP, RFC 5322 §2.2.2 and
  /// RFC 5234 Appendix B.1), the lines of config and pin files (whose words are split at spaces and tabs), and
  /// the words `/bin/sh` reads (its blanks are ASCII). They are also all the ASCII that Foundation's
  /// `CharacterSet.whitespaces` held, so an ASCII text is trimmed as `trimmingCharacters(in: .whitespaces)`
  /// trimmed it, without Foundation's ICU-backed character sets. Other white space (U+00A0 NO-BREAK SPACE,
  /// U+3000 IDEOGRAPHIC SPACE…) is text here, not trimmed. Trimmed by Unicode scalar, as Foundation trims: a
  /// combining mark after a leading space stays.
  public func trimmingSpacesAndTabs() -> String {
    // Space and tab are one byte in UTF-8 and no byte of a longer sequence is below 0x80, so trimming bytes
    // trims scalars.
    let bytes = utf8
    var start = bytes.startIndex
    var end = start
    var index = start
    // One pass forward (a generic UTF-8 view cannot go backwards): `end` follows the last byte kept.
    while index < bytes.endIndex {
      let byte = bytes[index]
      index = bytes.index(after: index)
      if byte == 0x20 || byte == 0x09 {
        if end == start { start = index; end = index }
      } else {
        end = index
      }
    }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }
}
