import Testing

@testable import ComposerCore

@Suite struct BodyEditorTests {
  init() { useUTF8Locale() }

  func type(_ text: String, into editor: inout BodyEditor) {
    for character in text {
      if character == "\n" { editor.handle(.enter) } else { editor.handle(.character(character)) }
    }
  }

  @Test func typingAndNewlines() {
    var editor = BodyEditor()
    type("Hi Bob,\n\nthe report is attached.", into: &editor)
    #expect(editor.text == "Hi Bob,\n\nthe report is attached.")
    #expect(editor.lines.count == 3)
    #expect(editor.cursor == .init(line: 2, index: 23))
  }

  @Test func enterSplitsTheLineAndBackspaceJoinsIt() {
    var editor = BodyEditor("abcd")
    editor.handle(.ctrl("e"))
    editor.handle(.left)
    editor.handle(.left)
    editor.handle(.enter)
    #expect(editor.lines.map { String($0) } == ["ab", "cd"])
    #expect(editor.cursor == .init(line: 1, index: 0))
    editor.handle(.backspace)
    #expect(editor.text == "abcd")
    #expect(editor.cursor == .init(line: 0, index: 2))
    editor.handle(.ctrl("e"))
    editor.handle(.delete)  // at the end of the last line: nothing
    #expect(editor.text == "abcd")
  }

  @Test func deleteAtTheEndOfALineJoinsTheNext() {
    var editor = BodyEditor("ab\ncd")
    editor.handle(.ctrl("e"))
    editor.handle(.delete)
    #expect(editor.text == "abcd")
    #expect(editor.cursor == .init(line: 0, index: 2))
  }

  @Test func leftAndRightCrossLines() {
    var editor = BodyEditor("ab\ncd")
    editor.handle(.down)
    editor.handle(.home)
    editor.handle(.left)
    #expect(editor.cursor == .init(line: 0, index: 2))
    editor.handle(.right)
    #expect(editor.cursor == .init(line: 1, index: 0))
  }

  @Test func wordMotionsAndWordDeletion() {
    var editor = BodyEditor("one two\nthree")
    editor.handle(Key(.end, .ctrl))
    editor.handle(.alt("b"))
    #expect(editor.cursor == .init(line: 1, index: 0))
    editor.handle(.alt("b"))
    #expect(editor.cursor == .init(line: 0, index: 4))
    editor.handle(.alt("f"))
    #expect(editor.cursor == .init(line: 0, index: 7))
    editor.handle(.alt("f"))
    #expect(editor.cursor == .init(line: 1, index: 5))
    editor.handle(.ctrl("w"))
    #expect(editor.text == "one two\n")
    editor.handle(.ctrl("w"))  // at a line's start: joins, as Backspace does
    #expect(editor.text == "one two")
    editor.handle(.ctrl("a"))
    editor.handle(.alt("d"))
    #expect(editor.text == " two")
  }

  @Test func killToEndAndToStart() {
    var editor = BodyEditor("hello world\nnext")
    editor.handle(.alt("f"))
    editor.handle(.ctrl("k"))
    #expect(editor.text == "hello\nnext")
    editor.handle(.ctrl("k"))  // at the end: joins the next line
    #expect(editor.text == "hellonext")
    editor.handle(.ctrl("u"))
    #expect(editor.text == "next")
  }

  @Test func pasteIsTextWithLineEndingsNormalised() {
    var editor = BodyEditor("[]")
    editor.handle(.right)
    editor.insert("a\r\nb\rc\n\td\u{1B}[2J\u{7}e\u{9B}")
    #expect(editor.text == "[a\nb\nc\n\td[2Je]")
    #expect(editor.cursor == .init(line: 3, index: 6))
  }

  @Test func screenKeysAreNotConsumed() {
    var editor = BodyEditor("x")
    let keys: [Key] = [.tab, .shiftTab, .ctrl("p"), .ctrl("x"), .escape]
    var consumed: [Bool] = []
    for key in keys { consumed.append(editor.handle(key)) }
    #expect(consumed == Array(repeating: false, count: keys.count))
    #expect(editor.text == "x")
  }

  @Test func softWrapBreaksAtSpacesAndKeepsTheTextsLines() {
    let layout = BodyEditor.layout(Array("the quick brown fox"), width: 10)
    // "the quick " | "brown fox"
    #expect(layout.rowStarts == [0, 10])
    // A word longer than the row is cut between clusters.
    #expect(BodyEditor.layout(Array("abcdefghijkl"), width: 5).rowStarts == [0, 5, 10])
    // A line that fills its last row gets an empty row where the cursor after it is shown.
    #expect(BodyEditor.layout(Array("abcde"), width: 5).rowStarts == [0, 5])
    #expect(BodyEditor.layout([], width: 5).rowStarts == [0])
  }

  @Test func aWideCharacterThatDoesNotFitGoesToTheNextRow() {
    // "abcd" + 漢 at width 5: 漢 would need columns 4 and 5.
    let layout = BodyEditor.layout(Array("abcd漢"), width: 5)
    #expect(layout.rowStarts == [0, 4])
    #expect(layout.columns == [0, 1, 2, 3, 0])
  }

  @Test func tabsStopEveryEightColumns() {
    let layout = BodyEditor.layout(Array("a\tb\tc"), width: 20)
    #expect(layout.columns == [0, 1, 8, 9, 16])
    #expect(layout.widths == [1, 7, 1, 7, 1])
  }

  @Test func upAndDownMoveByVisualRowKeepingTheColumn() {
    // Width 10: "0123456789" wraps; the next line is short.
    var editor = BodyEditor("0123456789abcdefghij\nxy\n0123456", width: 10, height: 5)
    editor.handle(.right)
    editor.handle(.right)
    editor.handle(.right)  // column 3, row 0
    editor.handle(.down)
    #expect(editor.cursor == .init(line: 0, index: 13))  // row 1 of the same line, column 3
    editor.handle(.down)
    #expect(editor.cursor == .init(line: 0, index: 20))  // the empty row after a full line
    editor.handle(.down)
    #expect(editor.cursor == .init(line: 1, index: 2))  // "xy" is short: its end
    editor.handle(.down)
    #expect(editor.cursor == .init(line: 2, index: 3))  // the goal column 3 was kept
    editor.handle(.up)
    editor.handle(.up)
    #expect(editor.cursor == .init(line: 0, index: 20))
  }

  @Test func verticalMovesOverWideCharactersLandOnTheGlyphUnderTheColumn() {
    var editor = BodyEditor("abcdef\n漢字漢", width: 20, height: 5)
    editor.handle(.right)
    editor.handle(.right)
    editor.handle(.right)  // column 3
    editor.handle(.down)
    #expect(editor.cursor == .init(line: 1, index: 1))  // 字 covers columns 2 and 3
  }

  @Test func theViewScrollsToKeepTheCursorVisible() {
    let text = (0..<30).map { "line \($0)" }.joined(separator: "\n")
    var editor = BodyEditor(text, width: 10, height: 4)
    for _ in 0..<10 { editor.handle(.down) }
    #expect(editor.cursor.line == 10)
    var buffer = ScreenBuffer(width: 10, height: 4)
    let cursor = editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(buffer.lines == ["line 7    ", "line 8    ", "line 9    ", "line 10   "])
    #expect(cursor == (x: 0, y: 3))
    editor.handle(.pageUp)
    editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(editor.cursor.line == 7)
    #expect(buffer.lines == ["line 4    ", "line 5    ", "line 6    ", "line 7    "])
    editor.handle(Key(.home, .ctrl))
    editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(buffer.lines.first == "line 0    ")
    editor.handle(.pageDown)
    #expect(editor.cursor.line == 3)
  }

  /// The view's first line is removed by a join (Backspace at its start, with a one-row view): the view
  /// moves up with the text instead of pointing past its end (it trapped, found by the property test).
  @Test func joiningTheLineAtTheTopOfTheViewKeepsTheViewInTheText() {
    var editor = BodyEditor("a\nb\nc", width: 10, height: 1)
    editor.handle(Key(.end, .ctrl))
    editor.handle(.home)
    editor.handle(.backspace)
    #expect(editor.text == "a\nbc")
    var buffer = ScreenBuffer(width: 10, height: 1)
    let cursor = editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(buffer.lines == ["bc        "])
    #expect(cursor == (x: 1, y: 0))
  }

  @Test func resizeRewrapsAndKeepsTheCursorVisible() {
    var editor = BodyEditor(String(repeating: "abcd ", count: 20), width: 40, height: 2)
    editor.handle(Key(.end, .ctrl))
    editor.resize(width: 10, height: 2)
    var buffer = ScreenBuffer(width: 10, height: 2)
    let cursor = editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(buffer.lines == ["abcd abcd ", "          "])
    #expect(cursor == (x: 0, y: 1))
  }

  /// 10,000 lines: each keystroke touches the current line and the rows on screen, not the whole body, so it
  /// costs about what it costs in a 100-line body. Compared with each other rather than with a clock (the
  /// machine may be loaded), best of three rounds each; a walk over every line per key would make the long
  /// body a hundred times slower. (`Tests/bench` will measure the release build against the clock.)
  @Test func aLongBodyEditsAsFastAsAShortOne() {
    func keystrokes(lines: Int) -> Duration {
      let text = (0..<lines).map { "line \($0) of a long body with some words in it" }.joined(separator: "\n")
      var editor = BodyEditor(text, width: 200, height: 60)
      var buffer = ScreenBuffer(width: 200, height: 60)
      editor.handle(Key(.end, .ctrl))
      let clock = ContinuousClock()
      var best = Duration.seconds(1_000)
      for _ in 0..<3 {
        let elapsed = clock.measure {
          for index in 0..<100 {
            editor.handle(.character("x"))
            editor.handle(index % 2 == 0 ? .up : .down)
            editor.handle(.enter)
            editor.handle(.backspace)
          }
          editor.render(into: &buffer, x: 0, y: 0, style: .plain)
        }
        best = min(best, elapsed)
      }
      #expect(editor.lines.count == lines)
      return best
    }
    let short = keystrokes(lines: 100)
    let long = keystrokes(lines: 10_000)
    #expect(long < short * 4, "100 lines: \(short), 10,000 lines: \(long)")
  }
}
