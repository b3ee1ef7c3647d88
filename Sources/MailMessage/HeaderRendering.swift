/// Writes the fields of a composed message as folded lines.
enum HeaderRendering {
  /// An unstructured field (RFC 5322 §3.2.5): plain when it is ASCII and fits, else RFC 2047 encoded words.
  static func unstructured(name: String, value: String) -> [String]? {
    if !needsEncoding(value) {
      var writer = HeaderWriter(name: name)
      for (index, token) in tokens(of: value).enumerated() {
        writer.append(token.word, separator: index == 0 ? " " : token.separator)
      }
      if let lines = writer.lines { return lines }
    }
    var writer = HeaderWriter(name: name)
    writer.appendEncoded(value)
    return writer.lines
  }

  /// Text must be encoded when it is not ASCII, or when a decoder would take part of it for an encoded
  /// word (RFC 2047 §5 and §6.1).
  static func needsEncoding(_ text: String) -> Bool {
    !text.unicodeScalars.allSatisfy(\.isASCII) || text.contains("=?")
  }

  /// Splits text into words, each with the whitespace run before it.
  static func tokens(of text: String) -> [(separator: String, word: String)] {
    var tokens: [(separator: String, word: String)] = []
    var separator = ""
    var word = ""
    for scalar in text.unicodeScalars {
      if scalar == " " || scalar == "\t" {
        if !word.isEmpty {
          tokens.append((separator, word))
          separator = ""
          word = ""
        }
        separator.unicodeScalars.append(scalar)
      } else {
        word.unicodeScalars.append(scalar)
      }
    }
    if !word.isEmpty || !separator.isEmpty { tokens.append((separator, word)) }
    return tokens
  }

  /// An address list (RFC 5322 §3.4), folded after the commas and between the words of display names. When
  /// a display name cannot be folded within 998 octets, the names are written as encoded words instead.
  static func addressList(name: String, mailboxes: [Mailbox]) -> [String]? {
    for forceEncoding in [false, true] {
      var writer = HeaderWriter(name: name)
      for (index, mailbox) in mailboxes.enumerated() {
        let comma = index < mailboxes.count - 1 ? "," : ""
        if let displayName = mailbox.displayName, forceEncoding || mailbox.phraseStyle == .encoded {
          writer.appendEncoded(displayName, keepWhole: true)
          writer.append("<" + mailbox.address + ">" + comma)
        } else {
          var words = mailbox.headerWords(forceEncoding: false)
          words[words.count - 1] += comma
          for word in words { writer.append(word) }
        }
      }
      if let lines = writer.lines { return lines }
    }
    return nil
  }
}
