/// Builds one header field as folded lines (RFC 5322 §2.2.3): a fold is a CRLF inserted before whitespace,
/// so unfolding gives back the value exactly. Lines aim at 78 characters; a line over 998 octets makes the
/// result nil so the caller can encode the value instead (RFC 5322 §2.1.1).
struct HeaderWriter {
  static let preferredLineLength = 78
  static let maximumLineLength = 998

  private var completed: [String] = []
  private var current: String
  private var hasWord = false

  init(name: String) {
    current = name + ":"
  }

  /// Appends `separator` (whitespace) and `word`, folding before the separator when the line would pass 78
  /// characters. The first word is never moved off the field name's line.
  mutating func append(_ word: String, separator: String = " ") {
    let length = current.utf8.count + separator.utf8.count + word.utf8.count
    if hasWord, !separator.isEmpty, !word.isEmpty, length > Self.preferredLineLength {
      completed.append(current)
      current = separator + word
    } else {
      current += separator + word
    }
    if !word.isEmpty { hasWord = true }
  }

  /// Appends `text` as RFC 2047 encoded words separated by spaces; the first word is sized to what is left
  /// of the current line when that is worth using.
  ///
  /// With `keepWhole`, text that fits in one encoded word is written as one (folded onto a line of its own
  /// when needed): some decoders keep the space between the encoded words of a phrase, although RFC 2047 §6.2
  /// says to drop it, so a display name is split only when it must be.
  mutating func appendEncoded(_ text: String, keepWhole: Bool = false) {
    let units = EncodedWords.units(of: text)
    let wholeLength = units.reduce(0) { $0 + $1.count }
    if keepWhole, wholeLength <= EncodedWords.octetCapacity(wordLength: EncodedWords.maximumWordLength) {
      if wholeLength > 0 { append(EncodedWords.word(Array(text.utf8))) }
      return
    }
    var index = 0
    while index < units.count {
      let room = Self.preferredLineLength - current.utf8.count - 1
      let length: Int
      if room >= EncodedWords.minimumUsefulWordLength {
        length = min(EncodedWords.maximumWordLength, room)
      } else {
        // Too little room: the word goes on a line of its own (or stays after a long field name).
        length = EncodedWords.maximumWordLength
      }
      append(EncodedWords.nextWord(units, from: &index, wordLength: length))
    }
  }

  /// The folded lines without line endings, or nil when one is longer than 998 octets.
  var lines: [String]? {
    let all = completed + [current]
    return all.allSatisfy({ $0.utf8.count <= Self.maximumLineLength }) ? all : nil
  }
}
