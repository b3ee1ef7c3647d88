import CWCWidth
import Testing

@testable import ComposerCore

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct DisplayWidthTests {
  init() { useUTF8Locale() }

  struct Case: Sendable, CustomTestStringConvertible {
    var text: String
    var width: Int
    var glyphs: [String]
    var testDescription: String {
      text.unicodeScalars.map { "U+" + String($0.value, radix: 16) }.joined(separator: " ")
    }
  }

  static let cases: [Case] = [
    Case(text: "a", width: 1, glyphs: ["a"]),
    // Combining mark: e + U+0301 is one cluster, one column, one cell.
    Case(text: "e\u{301}", width: 1, glyphs: ["e\u{301}"]),
    Case(text: "漢", width: 2, glyphs: ["漢"]),
    Case(text: "👍", width: 2, glyphs: ["👍"]),
    // ZWJ sequence: ncurses counts the parts, and the parts are drawn without the joiner (a terminal that
    // sees it joins them into 2 columns: tmux 3.3 did, and the rest of the row moved).
    Case(text: "👩\u{200D}💻", width: 4, glyphs: ["👩", "💻"]),
    Case(text: "👨\u{200D}👩\u{200D}👧", width: 6, glyphs: ["👨", "👩", "👧"]),
    Case(text: "🏳\u{FE0F}\u{200D}🌈", width: 3, glyphs: ["🏳", "🌈"]),
    // Flag: two regional indicators of one column each in glibc.
    Case(text: "🇫🇷", width: 2, glyphs: ["🇫", "🇷"]),
    // VS16: the selector is zero width and not drawn (a terminal that sees it may draw 2 columns); VS15 too.
    Case(text: "❤\u{FE0F}", width: 1, glyphs: ["❤"]),
    Case(text: "⌚\u{FE0E}", width: 2, glyphs: ["⌚"]),
    // A skin-tone modifier is a spacing character of its own to wcwidth, and tmux counts it so too.
    Case(text: "👍🏽", width: 4, glyphs: ["👍", "🏽"]),
    // Controls and bidi controls are escaped, visibly, one column per character of the escape.
    Case(text: "\u{1B}", width: 8, glyphs: ["\\", "u", "{", "0", "0", "1", "B", "}"]),
    Case(text: "\u{9B}", width: 8, glyphs: ["\\", "u", "{", "0", "0", "9", "B", "}"]),
    Case(text: "\u{202E}", width: 8, glyphs: ["\\", "u", "{", "2", "0", "2", "E", "}"]),
    Case(text: "\u{7F}", width: 8, glyphs: ["\\", "u", "{", "0", "0", "7", "F", "}"]),
    // A zero-width format character with nothing to ride on is shown, not hidden.
    Case(text: "\u{200B}", width: 8, glyphs: ["\\", "u", "{", "2", "0", "0", "B", "}"]),
    // An unassigned scalar (wcwidth -1) too.
    Case(text: "\u{378}", width: 8, glyphs: ["\\", "u", "{", "0", "3", "7", "8", "}"]),
    // A combining mark with no base is drawn on a dotted circle.
    Case(text: "\u{301}", width: 1, glyphs: ["\u{25CC}\u{301}"]),
  ]

  @Test(arguments: cases) func widthsAndGlyphs(_ example: Case) {
    let character = Character(example.text)
    #expect(DisplayWidth.width(of: character) == example.width)
    #expect(DisplayWidth.glyphs(of: character).map(\.text) == example.glyphs)
    #expect(DisplayWidth.glyphs(of: character).reduce(0) { $0 + $1.width } == example.width)
  }

  /// Every pair and triple of awkward scalars: the cells a cluster fills add up to its width, each cell is 1
  /// or 2 columns, and no cell holds a control.
  @Test func glyphsAndWidthsAgreeForAwkwardSequences() {
    let scalars: [Unicode.Scalar] = [
      "a", "\u{301}", "\u{200D}", "\u{FE0F}", "\u{1F469}", "\u{1F4BB}", "\u{1F1EB}", "\u{6F22}", "\u{1B}",
      "\u{202E}", "\u{200B}", "\u{378}", "\u{9}", "\u{AD}", "\u{1160}", "\u{E0001}",
    ]
    var checked = 0
    for first in scalars {
      for second in scalars {
        for third in [nil] + scalars.map(Optional.some) {
          var text = String(first) + String(second)
          if let third { text.unicodeScalars.append(third) }
          let glyphs = DisplayWidth.glyphs(of: text)
          #expect(
            glyphs.reduce(0) { $0 + $1.width } == DisplayWidth.width(of: text),
            "\(Array(text.unicodeScalars))")
          #expect(glyphs.allSatisfy { $0.width == 1 || $0.width == 2 })
          #expect(!glyphs.contains { $0.text.unicodeScalars.contains(where: DisplayWidth.isControl) })
          checked += 1
        }
      }
    }
    #expect(checked == 16 * 16 * 17)
  }

  @Test func stringWidthIsTheSumOfItsClusters() {
    #expect(DisplayWidth.width(of: "漢字 e\u{301} 👍") == 9)
    #expect(DisplayWidth.width(of: "") == 0)
  }

  @Test func moreThanFourMarksOnOneCellAreDroppedFromTheDisplayOnly() {
    let text = "a" + String(repeating: "\u{301}", count: 7)
    let glyphs = DisplayWidth.glyphs(of: Character(text))
    #expect(glyphs.count == 1)
    #expect(glyphs[0].text.unicodeScalars.count == 1 + DisplayWidth.maximumZeroWidthPerCell)
    #expect(glyphs[0].width == 1)
  }

  /// The width functions count in C.UTF-8 even when the calling thread's locale is "C", where `wcwidth` alone
  /// calls every non-ASCII scalar non-printable: other code may change the process locale at any time. (The
  /// thread's locale, not the process's, is changed here, so tests running beside this one are not disturbed.)
  @Test func widthDoesNotDependOnTheLocaleInForce() throws {
    let plain = try #require(newlocale(Int32(LC_CTYPE_MASK), "C", nil))
    defer { freelocale(plain) }
    let previous = uselocale(plain)
    defer { uselocale(previous) }
    #expect(sealpost_wcwidth(0x6F22) == -1)
    #expect(DisplayWidth.width(of: "漢") == 2)
    #expect(DisplayWidth.width(of: "e\u{301}") == 1)
    #expect(sealpost_wcwidth(0x6F22) == -1, "the thread's own locale is put back")
  }
}
