/// Editing on an array of grapheme clusters, shared by ``TextField`` and ``BodyEditor``.
///
/// An edit can join clusters or split them (an e typed before a lone U+0301 makes é), so after every edit the
/// line is cut into clusters again and the cursor lands on the cluster boundary at or after the byte offset
/// where the edit ended. That is O(length of the line), never of the whole text.
enum ClusterText {
  /// Inserts `text` at cluster `index`; returns the cursor after the inserted text.
  static func insert(_ text: String, into line: inout [Character], at index: Int) -> Int {
    let prefix = String(line[..<index]) + text
    let joined = prefix + String(line[index...])
    line = Array(joined)
    return boundary(in: line, atOrAfterUTF8: prefix.utf8.count)
  }

  /// Removes clusters `range`; returns the cursor where they were.
  static func remove(_ range: Range<Int>, from line: inout [Character]) -> Int {
    let prefixBytes = String(line[..<range.lowerBound]).utf8.count
    line.removeSubrange(range)
    let joined = String(line)
    let reparsed = Array(joined)
    if reparsed.count != line.count { line = reparsed }
    return boundary(in: line, atOrAfterUTF8: prefixBytes)
  }

  /// The index of the first cluster that starts at or after byte `offset`.
  static func boundary(in line: [Character], atOrAfterUTF8 offset: Int) -> Int {
    var bytes = 0
    for (index, character) in line.enumerated() {
      if bytes >= offset { return index }
      bytes += character.utf8.count
    }
    return line.count
  }

  /// Whether a cluster is part of a word for Alt-B/Alt-F and word motions (readline: letters and digits).
  static func isWordCharacter(_ character: Character) -> Bool {
    character.isLetter || character.isNumber || character == "_"
  }

  /// Start of the word at or before `index` (readline's backward-word).
  static func wordStart(in line: [Character], before index: Int) -> Int {
    var position = index
    while position > 0, !isWordCharacter(line[position - 1]) { position -= 1 }
    while position > 0, isWordCharacter(line[position - 1]) { position -= 1 }
    return position
  }

  /// End of the word at or after `index` (readline's forward-word).
  static func wordEnd(in line: [Character], after index: Int) -> Int {
    var position = index
    while position < line.count, !isWordCharacter(line[position]) { position += 1 }
    while position < line.count, isWordCharacter(line[position]) { position += 1 }
    return position
  }

  /// Start of the whitespace-delimited word before `index` (readline's unix-word-rubout, Ctrl-W).
  static func ruboutStart(in line: [Character], before index: Int) -> Int {
    var position = index
    while position > 0, line[position - 1].isWhitespace { position -= 1 }
    while position > 0, !line[position - 1].isWhitespace { position -= 1 }
    return position
  }

  /// Pasted or typed text made safe for a single line: CR LF, CR, LF and tab become one space each, other
  /// C0/C1 controls and DEL are dropped.
  static func singleLine(_ text: String) -> String { cleaned(text, lineEnd: " ", tab: " ") }

  /// Pasted text for the body: CR LF and CR become LF; C0/C1 controls and DEL other than tab and LF are
  /// dropped.
  static func multiLine(_ text: String) -> String { cleaned(text, lineEnd: "\n", tab: "\t") }

  /// Text from a file (the external editor, a draft): CR LF becomes LF, and nothing else changes. Controls are
  /// kept, to be shown (as `\u{XXXX}`) and refused at the review, never dropped unseen nor sent.
  static func fileText(_ text: String) -> String {
    guard text.utf8.contains(0x0D) else { return text }
    var out = ""
    var pendingCR = false
    for scalar in text.unicodeScalars {
      if pendingCR && scalar != "\n" { out.unicodeScalars.append("\r") }
      pendingCR = scalar == "\r"
      if !pendingCR { out.unicodeScalars.append(scalar) }
    }
    if pendingCR { out.unicodeScalars.append("\r") }
    return out
  }

  /// The controls a message body cannot carry (review, issue 3): C0 controls other than tab and LF (NUL and a
  /// bare CR are not RFC 5322 text, §2.3 and §3.5; ESC starts sequences that would act on the recipient's
  /// terminal), DEL and the C1 controls.
  static func isBodyControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09, 0x0A: false
    case 0x00..<0x20, 0x7F...0x9F: true
    default: false
    }
  }

  /// A control's short name: `NUL`, `ESC`, `CR`, `DEL`, else `U+XXXX`.
  static func controlName(_ scalar: Unicode.Scalar) -> String {
    switch scalar.value {
    case 0x00: "NUL"
    case 0x08: "BS"
    case 0x0C: "FF"
    case 0x0D: "CR"
    case 0x1B: "ESC"
    case 0x7F: "DEL"
    default: DisplayWidth.escape(scalar)
    }
  }

  /// Each line end (CR LF, CR or LF) becomes `lineEnd` and each tab `tab`; other controls are dropped.
  private static func cleaned(_ text: String, lineEnd: Unicode.Scalar, tab: Unicode.Scalar) -> String {
    var out = ""
    var previousCR = false
    for scalar in text.unicodeScalars {
      defer { previousCR = scalar == "\r" }
      switch scalar.value {
      case 0x0A where previousCR: continue
      case 0x0A, 0x0D: out.unicodeScalars.append(lineEnd)
      case 0x09: out.unicodeScalars.append(tab)
      case 0x00..<0x20, 0x7F...0x9F: continue
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
