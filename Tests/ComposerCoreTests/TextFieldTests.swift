import Testing

@testable import ComposerCore

@Suite struct TextFieldTests {
  init() { useUTF8Locale() }

  func field(_ text: String, cursor: Int? = nil) -> TextField {
    var field = TextField(text)
    if let cursor {
      field.handle(.home)
      for _ in 0..<cursor { field.handle(.right) }
    }
    return field
  }

  @Test func typingInsertsAtTheCursor() {
    var field = TextField()
    for character in "bob@example.org" { field.handle(.character(character)) }
    #expect(field.text == "bob@example.org")
    field.handle(.home)
    field.handle(.character("<"))
    #expect(field.text == "<bob@example.org")
    #expect(field.cursor == 1)
  }

  @Test func theCursorMovesByGraphemeCluster() {
    var field = TextField("e\u{301}漢👩\u{200D}💻x")
    #expect(field.characters.count == 4)
    field.handle(.left)
    field.handle(.left)
    #expect(field.cursor == 2)
    field.handle(.backspace)  // removes 漢 whole
    #expect(field.text == "e\u{301}👩\u{200D}💻x")
    field.handle(.delete)  // removes the ZWJ sequence whole
    #expect(field.text == "e\u{301}x")
    field.handle(.backspace)  // removes e and its mark together
    #expect(field.text == "x")
  }

  @Test func aCombiningMarkTypedAfterItsBaseJoinsIt() {
    var field = TextField("e")
    field.insert("\u{301}")
    #expect(field.characters == ["e\u{301}"])
    #expect(field.cursor == 1)
    // A base typed before a lone mark: they join, and the cursor is after the cluster.
    var other = TextField("\u{301}x")
    other.handle(.home)
    other.handle(.character("e"))
    #expect(other.characters == ["e\u{301}", "x"])
    #expect(other.cursor == 1)
  }

  @Test func readlineKeys() {
    var field = field("alice bob carol", cursor: 9)  // after "alice bob"
    #expect(field.cursor == 9)
    field.handle(.ctrl("k"))
    #expect(field.text == "alice bob")
    field.handle(.ctrl("w"))
    #expect(field.text == "alice ")
    field.handle(.ctrl("a"))
    #expect(field.cursor == 0)
    field.handle(.ctrl("e"))
    #expect(field.cursor == 6)
    field.insert("x y")
    field.handle(.left)
    field.handle(.ctrl("u"))
    #expect(field.text == "y")
    #expect(field.cursor == 0)
  }

  @Test func wordMotionsStopAtLettersAndDigits() {
    var field = field("to: bob@example.org, zoë", cursor: 0)
    field.handle(.alt("f"))
    #expect(field.cursor == 2)  // after "to"
    field.handle(.alt("f"))
    #expect(field.cursor == 7)  // after "bob"
    field.handle(.ctrl("e"))
    field.handle(.alt("b"))
    #expect(field.cursor == 21)  // before "zoë"
    field.handle(.alt("b"))
    #expect(field.cursor == 16)  // before "org"
  }

  @Test func ctrlWDeletesBackToWhitespace() {
    var field = TextField("a@b.c, d@e.f")
    field.handle(.ctrl("w"))
    #expect(field.text == "a@b.c, ")
    field.handle(.ctrl("w"))
    #expect(field.text == "")
  }

  @Test func pastedLineBreaksBecomeSpacesAndControlsAreDropped() {
    var field = TextField()
    field.insert("a\r\nb\rc\nd\te\u{1B}[31mf\u{7F}")
    #expect(field.text == "a b c d e[31mf")
  }

  @Test func screenKeysAreNotConsumed() {
    var field = TextField("x")
    let keys: [Key] = [.tab, .ctrl("p"), .function(1), .escape]
    var consumed: [Bool] = []
    for key in keys { consumed.append(field.handle(key)) }
    #expect(consumed == Array(repeating: false, count: keys.count))
    #expect(field.text == "x")
  }

  @Test func scrollingKeepsTheCursorVisibleInColumns() {
    var buffer = ScreenBuffer(width: 8, height: 1)
    var field = TextField("漢字漢字漢字")  // 12 columns
    let end = field.render(into: &buffer, x: 1, y: 0, width: 6, style: .plain)
    // The cursor after the text needs a column: 12 - 6 + 1 = 7 columns scrolled, which cuts a 字 in half.
    #expect(field.scrollColumn == 7)
    #expect(buffer.lines == ["  漢字  "])
    #expect(end == (x: 6, y: 0))
    field.handle(.home)
    let start = field.render(into: &buffer, x: 1, y: 0, width: 6, style: .plain)
    #expect(field.scrollColumn == 0)
    #expect(buffer.lines == [" 漢字漢 "])
    #expect(start == (x: 1, y: 0))
  }
}
