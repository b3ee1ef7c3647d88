import Testing

@testable import ComposerCore

@Suite struct ScreenBufferTests {
  init() { useUTF8Locale() }

  let bold = Style(bold: true)

  @Test func aNewBufferIsBlank() {
    let buffer = ScreenBuffer(width: 3, height: 2)
    #expect(buffer.lines == ["   ", "   "])
    #expect(buffer.cells.allSatisfy { $0 == .blank })
  }

  @Test func writingClipsToTheGivenWidthAndTheEdge() {
    var buffer = ScreenBuffer(width: 6, height: 1)
    #expect(buffer.write("abcdef", x: 1, y: 0, maxWidth: 3, style: .plain) == 3)
    #expect(buffer.lines == [" abc  "])
    #expect(buffer.write("xyz", x: 4, y: 0, style: .plain) == 2)
    #expect(buffer.lines == [" abcxy"])
    // Off the buffer: nothing, no trap.
    #expect(buffer.write("q", x: 0, y: 5, style: .plain) == 0)
    #expect(buffer.write("q", x: 9, y: 0, style: .plain) == 0)
  }

  @Test func aWideCharacterTakesTwoCellsAndIsNeverSplitAtTheEdge() {
    var buffer = ScreenBuffer(width: 5, height: 1)
    #expect(buffer.write("漢字漢", x: 0, y: 0, style: bold) == 5)
    // 漢字 fill four columns; the third would need columns 4 and 5: a space instead.
    #expect(buffer.lines == ["漢字 "])
    #expect(buffer[1, 0].isContinuation)
    #expect(buffer[4, 0] == Cell(text: " ", style: bold))
  }

  @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
    var buffer = ScreenBuffer(width: 4, height: 1)
    buffer.write("漢字", x: 0, y: 0, style: bold)
    buffer.write("x", x: 1, y: 0, style: .plain)  // the right half of 漢
    #expect(buffer.lines == [" x字"])
    #expect(buffer[0, 0] == Cell(text: " ", style: bold))
    buffer.write("y", x: 2, y: 0, style: .plain)  // the left half of 字
    #expect(buffer.lines == [" xy "])
    #expect(!buffer[3, 0].isContinuation)
  }

  @Test func horizontalSkipShowsTheCutHalfOfAWideCharacterAsASpace() {
    var buffer = ScreenBuffer(width: 4, height: 1)
    buffer.write("#", x: 0, y: 0, style: .plain)
    let glyphs = DisplayWidth.glyphs(of: "漢ab")
    #expect(buffer.write(glyphs: glyphs, x: 1, y: 0, maxWidth: 3, skip: 1, style: .plain) == 3)
    // Column 0 (outside the view) is untouched.
    #expect(buffer.lines == ["# ab"])
  }

  @Test func controlsAreWrittenEscaped() {
    var buffer = ScreenBuffer(width: 10, height: 1)
    buffer.write("a\u{1B}[2J", x: 0, y: 0, style: .plain)
    #expect(buffer.lines == ["a\\u{001B}["])
  }

  @Test func fillCoversARectangleClippedToTheBuffer() {
    var buffer = ScreenBuffer(width: 3, height: 3)
    buffer.fill(x: 1, y: 1, width: 5, height: 5, character: "#", style: bold)
    #expect(buffer.lines == ["   ", " ##", " ##"])
    #expect(buffer[2, 2].style == bold)
    // A wide character cannot fill one cell: spaces.
    buffer.fill(x: 0, y: 0, width: 2, height: 1, character: "漢", style: .plain)
    #expect(buffer.lines == ["   ", " ##", " ##"])
  }

  @Test func resizeReallocatesAndClears() {
    var buffer = ScreenBuffer(width: 3, height: 1)
    buffer.write("abc", x: 0, y: 0, style: bold)
    buffer.resize(width: 2, height: 2)
    #expect(buffer.width == 2 && buffer.height == 2)
    #expect(buffer.lines == ["  ", "  "])
    buffer.resize(width: -1, height: 5)
    #expect(buffer.width == 0 && buffer.cells.isEmpty)
  }

  @Test func theDiffIsRunsOfChangedCells() {
    let before = ScreenBuffer(width: 8, height: 2)
    var after = before
    after.write("ab", x: 1, y: 0, style: .plain)
    after.write("c", x: 5, y: 0, style: .plain)
    after.write("d", x: 7, y: 1, style: bold)
    let runs = after.changes(since: before)
    #expect(
      runs == [
        ScreenBuffer.Run(
          x: 1, y: 0, cells: [Cell(text: "a", style: .plain), Cell(text: "b", style: .plain)]),
        ScreenBuffer.Run(x: 5, y: 0, cells: [Cell(text: "c", style: .plain)]),
        ScreenBuffer.Run(x: 7, y: 1, cells: [Cell(text: "d", style: bold)]),
      ])
    #expect(after.changes(since: after).isEmpty)
  }

  @Test func aRunNeverStartsOrEndsInsideAWideCharacter() {
    var before = ScreenBuffer(width: 6, height: 1)
    before.write("漢字", x: 0, y: 0, style: .plain)
    var after = before
    // 字 restyled: the run is 字 whole, its continuation included.
    after.write("字", x: 2, y: 0, style: bold)
    #expect(
      after.changes(since: before) == [ScreenBuffer.Run(x: 2, y: 0, cells: [after[2, 0], after[3, 0]])])
    // Writing over 字's right half blanks its left half: the run covers both.
    var replaced = before
    replaced.write("x", x: 3, y: 0, style: .plain)  // 字's right half: 字 becomes a space
    let runs = replaced.changes(since: before)
    #expect(runs == [ScreenBuffer.Run(x: 2, y: 0, cells: [replaced[2, 0], replaced[3, 0]])])
  }

  @Test func aBufferOfAnotherSizeDiffersEverywhere() {
    let small = ScreenBuffer(width: 2, height: 1)
    let large = ScreenBuffer(width: 3, height: 2)
    #expect(large.changes(since: small).map(\.cells.count) == [3, 3])
  }
}
