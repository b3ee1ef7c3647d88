import FoundationEssentials

/// RFC 2047 encoded words, always `UTF-8` and `B` (base64): valid in every place an encoded word may appear,
/// including a phrase (§5 rule 3), where `Q` would need its own, narrower alphabet.
enum EncodedWords {
  /// RFC 2047 §2: an encoded word is at most 75 characters.
  static let maximumWordLength = 75
  static let prefix = "=?UTF-8?B?"
  static let suffix = "?="
  /// The shortest word worth starting on a line that is already partly used.
  static let minimumUsefulWordLength = 24

  /// How many octets of text fit in an encoded word of `length` characters.
  static func octetCapacity(wordLength length: Int) -> Int {
    max(0, (length - prefix.count - suffix.count) / 4 * 3)
  }

  /// The text split into pieces that must not be divided: characters, or the scalars of a character that is
  /// too long for one word. RFC 2047 §5: each encoded word holds whole characters.
  static func units(of text: String) -> [[UInt8]] {
    let capacity = octetCapacity(wordLength: maximumWordLength)
    var units: [[UInt8]] = []
    for character in text {
      let bytes = Array(character.utf8)
      if bytes.count <= capacity {
        units.append(bytes)
      } else {
        units.append(contentsOf: character.unicodeScalars.map { Array(String($0).utf8) })
      }
    }
    return units
  }

  static func word(_ bytes: [UInt8]) -> String {
    prefix + Data(bytes).base64EncodedString() + suffix
  }

  /// Takes as many units from `units[start...]` as fit in a word of `length` characters (at least one).
  static func nextWord(_ units: [[UInt8]], from start: inout Int, wordLength length: Int) -> String {
    let capacity = octetCapacity(wordLength: length)
    var bytes: [UInt8] = []
    while start < units.count, bytes.isEmpty || bytes.count + units[start].count <= capacity {
      bytes += units[start]
      start += 1
    }
    return word(bytes)
  }

  /// The whole text as encoded words of at most 75 characters each (as few as possible), to be joined by
  /// spaces.
  static func encode(_ text: String) -> [String] {
    let units = units(of: text)
    var index = 0
    var words: [String] = []
    while index < units.count {
      words.append(nextWord(units, from: &index, wordLength: maximumWordLength))
    }
    return words
  }
}
