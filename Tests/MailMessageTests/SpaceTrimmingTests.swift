import Testing

@testable import MailMessage

/// `trimmingSpacesAndTabs()`, which replaced Foundation's `trimmingCharacters(in:)` (issue 14: classic
/// Foundation and ICU out of the binary). Space and tab go, as they went before; every other character stays,
/// other Unicode white space included.
@Suite struct SpaceTrimmingTests {
  @Test(arguments: [
    ("", ""),
    ("plain", "plain"),
    (" \t a b \t ", "a b"),
    ("\t\t  ", ""),
    // Inside the text, nothing changes.
    ("a \t b", "a \t b"),
    // Line ends are not blanks here (header fields and config lines are split at them first).
    ("\r\n x \n", "\r\n x \n"),
    ("x\r", "x\r"),
  ])
  func spacesAndTabsAtTheEndsGo(text: String, expected: String) {
    #expect(text.trimmingSpacesAndTabs() == expected)
    #expect(Substring(text).trimmingSpacesAndTabs() == expected)
  }

  // `CharacterSet.whitespaces` trimmed these; a header field (WSP), a config or pin line and a word for the
  // shell have no such blank, so they are text now.
  @Test(arguments: ["\u{00A0}", "\u{1680}", "\u{2003}", "\u{202F}", "\u{205F}", "\u{3000}"])
  func otherUnicodeSpacesStay(space: String) {
    #expect((" " + space + "x" + space + "\t").trimmingSpacesAndTabs() == space + "x" + space)
    #expect(space.trimmingSpacesAndTabs() == space)
  }

  // By Unicode scalar, as Foundation trimmed: a combining mark after a leading space is not dropped with it
  // (a Character-wise trim drops the space and the mark together: " \u{301}" is one Character).
  @Test func aCombiningMarkAfterASpaceStays() {
    #expect(" \u{301}x ".trimmingSpacesAndTabs() == "\u{301}x")
    #expect("x \u{301}".trimmingSpacesAndTabs() == "x \u{301}")
    #expect(" \u{301}x ".trimmingSpacesAndTabs().unicodeScalars.first == "\u{301}")
  }
}
