import PropertyTesting
import Testing

@testable import ComposerCore

func holds(
  _ condition: Bool, _ propertyCase: PropertyCase, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  if !condition { Issue.record("\(what()) — \(propertyCase)", sourceLocation: sourceLocation) }
  return condition
}

/// Random text (controls, combining marks, ZWJ, flags, CJK, bidi controls) and random keys, pastes and
/// resizes: no trap, the cursor stays on a cluster of the text and on screen, the text holds no control but
/// tab and LF (the body) or none (a field), and every rendered row keeps the buffer's invariants.
@Suite struct EditorPropertyTests {
  init() { useUTF8Locale() }

  static let keys: [Key] = [
    .left, .right, .up, .down, .home, .end, .pageUp, .pageDown, .enter, .backspace, .delete, .tab,
    .ctrl("a"), .ctrl("e"), .ctrl("k"), .ctrl("u"), .ctrl("w"), .alt("b"), .alt("f"), .alt("d"),
    Key(.home, .ctrl), Key(.end, .ctrl), Key(.left, .ctrl), Key(.right, .ctrl), Key(.backspace, .alt),
  ]

  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }

  /// Each continuation cell follows a glyph of width 2 in the same row; no cell holds a control.
  static func bufferIsWellFormed(_ buffer: ScreenBuffer) -> Bool {
    for y in 0..<buffer.height {
      for x in 0..<buffer.width {
        let cell = buffer[x, y]
        if cell.isContinuation {
          guard x > 0, !buffer[x - 1, y].isContinuation, DisplayWidth.width(of: buffer[x - 1, y].text) == 2
          else {
            return false
          }
        } else if cell.text.unicodeScalars.contains(where: DisplayWidth.isControl) {
          return false
        } else if DisplayWidth.width(of: cell.text) == 2,
          x + 1 >= buffer.width || !buffer[x + 1, y].isContinuation
        {
          return false
        }
      }
    }
    return true
  }

  @Test func theBodyEditorKeepsItsInvariants() {
    for propertyCase in Property.cases("BodyEditor", count: 150) {
      var gen = propertyCase.generator
      var width = gen.int(1...30)
      var height = gen.int(1...8)
      var editor = BodyEditor(gen.string(maxLength: 80), width: width, height: height)
      var previousFrame = ScreenBuffer(width: width + 2, height: height + 1)
      for _ in 0..<gen.int(1...60) {
        switch gen.int(0...9) {
        case 0: editor.insert(gen.string(maxLength: 20))
        case 1:
          width = gen.int(1...30)
          height = gen.int(1...8)
          editor.resize(width: width, height: height)
        case 2...4: editor.handle(.character(Character(String(gen.scalar()))))
        default: editor.handle(gen.pick(Self.keys))
        }
        let line = editor.lines[editor.cursor.line]
        guard
          holds(editor.cursor.index <= line.count, propertyCase, "cursor \(editor.cursor) past its line"),
          holds(
            editor.lines.allSatisfy { Array(String($0)) == $0 }, propertyCase, "a line not cut into clusters"),
          holds(
            !editor.text.unicodeScalars.contains { Self.isControl($0) && $0 != "\t" && $0 != "\n" },
            propertyCase,
            "a control in the body")
        else { return }
        // The layouts kept across keystrokes are those of the text as it is now.
        let cache = editor.layoutCache
        guard
          holds(
            cache.width != editor.viewWidth
              || cache.entries.allSatisfy { line, layout in
                line < editor.lines.count && layout == BodyEditor.layout(editor.lines[line], width: width)
              }, propertyCase, "a stale layout in the cache")
        else { return }
        var buffer = ScreenBuffer(width: width + 2, height: height + 1)
        let cursor = editor.render(into: &buffer, x: 1, y: 1, style: .plain)
        // Drawing over the previous frame gives the same screen as drawing on a blank one.
        if previousFrame.width != buffer.width || previousFrame.height != buffer.height {
          previousFrame = ScreenBuffer(width: width + 2, height: height + 1)
        }
        let cursorAgain = editor.render(into: &previousFrame, x: 1, y: 1, style: .plain)
        guard
          holds(
            previousFrame == buffer && cursorAgain == cursor, propertyCase, "drawing over a frame differs")
        else { return }
        let (row, _) = editor.cursorRow()
        var probe = editor.top
        var visible = probe == row
        let counter = editor.rowCounter()
        for _ in 0..<(height - 1) where !visible {
          guard let next = editor.step(probe, by: 1, rowsInLine: counter) else { break }
          probe = next
          visible = probe == row
        }
        guard
          holds(visible, propertyCase, "cursor row \(row) not on screen from \(editor.top)"),
          holds(
            (1...width).contains(cursor.x) && (1...height).contains(cursor.y), propertyCase,
            "cursor \(cursor) outside the view"),
          holds(Self.bufferIsWellFormed(buffer), propertyCase, "buffer invariants"),
          holds(
            (0..<(width + 2)).allSatisfy { buffer[$0, 0] == .blank }, propertyCase, "drew above its region"),
          holds((0...height).allSatisfy { buffer[0, $0] == .blank }, propertyCase, "drew left of its region"),
          holds(
            (0...height).allSatisfy { buffer[width + 1, $0] == .blank }, propertyCase,
            "drew right of its region")
        else { return }
      }
    }
  }

  @Test func theTextFieldKeepsItsInvariants() {
    for propertyCase in Property.cases("TextField", count: 200) {
      var gen = propertyCase.generator
      var field = TextField(gen.string(maxLength: 40))
      for _ in 0..<gen.int(1...40) {
        switch gen.int(0...9) {
        case 0: field.insert(gen.string(maxLength: 10))
        case 1...4: field.handle(.character(Character(String(gen.scalar()))))
        default: field.handle(gen.pick(Self.keys))
        }
        let width = gen.int(1...20)
        var buffer = ScreenBuffer(width: width + 2, height: 1)
        let cursor = field.render(into: &buffer, x: 1, y: 0, width: width, style: .plain)
        guard
          holds(field.cursor <= field.characters.count, propertyCase, "cursor past the text"),
          holds(Array(field.text) == field.characters, propertyCase, "text not cut into clusters"),
          holds(
            !field.text.unicodeScalars.contains(where: Self.isControl), propertyCase, "a control in a field"),
          holds((1...width).contains(cursor.x), propertyCase, "cursor \(cursor.x) outside 1…\(width)"),
          holds(Self.bufferIsWellFormed(buffer), propertyCase, "buffer invariants"),
          holds(buffer[0, 0] == .blank && buffer[width + 1, 0] == .blank, propertyCase, "drew outside")
        else { return }
      }
    }
  }

  @Test func theDiffRebuildsTheBuffer() {
    for propertyCase in Property.cases("ScreenBufferDiff", count: 200) {
      var gen = propertyCase.generator
      let width = gen.int(1...12)
      let height = gen.int(1...4)
      var before = ScreenBuffer(width: width, height: height)
      for _ in 0..<gen.int(0...6) {
        before.write(gen.string(maxLength: 8), x: gen.int(-2...width), y: gen.int(0...height), style: .plain)
      }
      var after = before
      for _ in 0..<gen.int(0...6) {
        after.write(
          gen.string(maxLength: 8), x: gen.int(-2...width), y: gen.int(0...height),
          style: Style(bold: gen.chance(50)))
      }
      // Applying the runs to the old buffer, cell by cell, gives the new one.
      var rebuilt = before.cells
      for run in after.changes(since: before) {
        guard holds(!run.cells[0].isContinuation, propertyCase, "a run starts on a continuation") else {
          return
        }
        for (offset, cell) in run.cells.enumerated() { rebuilt[run.y * width + run.x + offset] = cell }
      }
      guard holds(rebuilt == after.cells, propertyCase, "runs do not rebuild the buffer"),
        holds(Self.bufferIsWellFormed(after), propertyCase, "buffer invariants")
      else { return }
    }
  }
}

/// Random theme files from fragments of good ones and random text: never a trap; an error names the file
/// and a line that exists and holds no raw control; an accepted file resolves for every terminal.
@Suite struct ThemePropertyTests {
  static let fragments = [
    "title", "status.error", "transcript.*", "*.selected", "*", "verdict.ok", "nosuch", "field.text.selected",
    ".fg", ".bg", ".bold", ".dim", ".italic", " = ", "=", " ", "red", "bright-cyan", "#00ff00", "#0f0", "255",
    "256", "true", "off", "maybe", "#", "\t", "\u{1B}", "\u{202E}", "漢", "e\u{301}", "\r",
  ]

  @Test func theParserNeverTrapsAndItsErrorsAreSafe() {
    for propertyCase in Property.cases("ThemeFile", count: 300) {
      var gen = propertyCase.generator
      var lines: [String] = []
      for _ in 0..<gen.int(1...6) {
        if gen.chance(20) {
          lines.append(gen.string(maxLength: 20))
        } else {
          lines.append((0..<gen.int(1...5)).map { _ in gen.pick(Self.fragments) }.joined())
        }
      }
      let text = lines.joined(separator: "\n")
      do {
        let file = try ThemeFile(parsing: text, name: "p", file: "p.theme")
        for colors in ColorCapability.allCases {
          _ = Theme(file, colors: colors).style(.title, selected: true)
        }
      } catch {
        let description = error.description
        guard
          holds(
            description.hasPrefix("p.theme:\(error.line): "), propertyCase, "no file:line: \(description)"),
          holds(
            (1...text.split(separator: "\n", omittingEmptySubsequences: false).count + 1).contains(
              error.line),
            propertyCase, "line \(error.line) is not in the file"),
          holds(
            !description.unicodeScalars.contains(where: DisplayWidth.isControl), propertyCase,
            "raw control in \(description.debugDescription)")
        else { return }
      }
    }
  }
}
