/// The body editor of the compose screen. The text keeps its own lines; on display each line is soft-wrapped
/// at the view's width in columns (at a space when the row has one, else between clusters; a wide glyph is
/// never split). The cursor moves by cluster, word, line (the visual row, keeping the column), page and to
/// either end; the view scrolls so the cursor stays visible.
///
/// Cost per keystroke: the edited line is cut into clusters again and laid out (O(its length)); the layouts
/// of the lines on screen are kept across keystrokes (``LayoutCache``), so scrolling and drawing lay out only
/// lines that changed or came into view; drawing writes each cell of the view once; a line break moves the
/// array of lines once (a memmove). Nothing walks the whole body, so a 10,000-line body edits as fast as a
/// short one (`Tests/bench/composer-keys.sh` measures it).
public struct BodyEditor: Sendable, Hashable {
  /// A cursor or scroll position: a logical line and a cluster index in it.
  public struct Position: Sendable, Hashable, Comparable {
    public var line: Int
    public var index: Int
    public init(line: Int, index: Int) {
      self.line = line
      self.index = index
    }
    public static func < (a: Position, b: Position) -> Bool {
      (a.line, a.index) < (b.line, b.index)
    }
  }

  /// A visual row: a logical line and the number of a row of its layout.
  struct Row: Hashable, Comparable {
    var line: Int
    var row: Int
    static func < (a: Row, b: Row) -> Bool { (a.line, a.row) < (b.line, b.row) }
  }

  /// Tab stops every 8 columns from the start of a visual row.
  public static let tabWidth = 8

  /// The text's lines as grapheme clusters; never empty.
  public private(set) var lines: [[Character]]
  public private(set) var cursor: Position
  /// The view's size; set by ``resize(width:height:)``.
  public private(set) var viewWidth: Int
  public private(set) var viewHeight: Int
  /// The first visual row shown.
  var top = Row(line: 0, row: 0)
  /// The column vertical moves aim for, kept across them (nil after any other move or edit).
  var goalColumn: Int?
  /// Layouts of the lines on screen, kept across keystrokes.
  var layoutCache = LayoutCache()

  /// Layouts kept across keystrokes, so that a keystroke lays out only the line it changed (the benchmark's
  /// profile: laying out every line from the top of the view to the cursor, twice, was most of a keystroke).
  /// ``warmLayouts()`` fills it with the lines on screen after each change; every change to `lines` drops the
  /// entries of the lines it touched and renumbers those after them; another width drops them all. Not part
  /// of the editor's value: editors with the same text, cursor and view are equal whatever their caches hold.
  struct LayoutCache: Sendable, Hashable {
    var width = 0
    var entries: [Int: Layout] = [:]
    static func == (a: LayoutCache, b: LayoutCache) -> Bool { true }
    func hash(into hasher: inout Hasher) {}
  }

  /// - Parameter keepsControls: text from a file (the external editor, a draft): only CR LF is made LF, and
  ///   controls are kept, shown as escapes and refused at the review (``controlLines``); otherwise (typed or
  ///   pasted text) controls other than tab and LF are dropped.
  public init(_ text: String = "", width: Int = 80, height: Int = 20, keepsControls: Bool = false) {
    let clean = keepsControls ? ClusterText.fileText(text) : ClusterText.multiLine(text)
    lines = clean.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
    if lines.isEmpty { lines = [[]] }
    cursor = Position(line: 0, index: 0)
    viewWidth = max(1, width)
    viewHeight = max(1, height)
  }

  /// The text, lines joined with LF.
  public var text: String { lines.map { String($0) }.joined(separator: "\n") }

  /// The lines (numbered from 1) holding controls a message cannot carry, and the controls' names in each
  /// (see ``ClusterText/isBodyControl(_:)``).
  public var controlLines: [(line: Int, controls: [String])] {
    var found: [(line: Int, controls: [String])] = []
    for (number, line) in lines.enumerated() {
      var names: [String] = []
      for character in line {
        for scalar in character.unicodeScalars where ClusterText.isBodyControl(scalar) {
          let name = ClusterText.controlName(scalar)
          if !names.contains(name) { names.append(name) }
        }
      }
      if !names.isEmpty { found.append((number + 1, names)) }
    }
    return found
  }

  /// Whether a cluster holds such a control (drawn in the control style).
  static func holdsControl(_ character: Character) -> Bool {
    character.unicodeScalars.contains(where: ClusterText.isBodyControl)
  }

  /// `removed` lines from `start` on are being replaced by `inserted` lines: their layouts go, and the
  /// layouts of the lines after them are renumbered.
  private mutating func linesReplaced(at start: Int, removed: Int, inserted: Int) {
    guard !layoutCache.entries.isEmpty else { return }
    if removed == 1, inserted == 1 {
      layoutCache.entries[start] = nil
      return
    }
    var moved: [Int: Layout] = [:]
    for (line, layout) in layoutCache.entries {
      if line < start {
        moved[line] = layout
      } else if line >= start + removed {
        moved[line + inserted - removed] = layout
      }
    }
    layoutCache.entries = moved
  }

  /// Removes clusters of the cursor's line; returns the cursor where they were.
  private mutating func removeFromCursorLine(_ range: Range<Int>) -> Int {
    linesReplaced(at: cursor.line, removed: 1, inserted: 1)
    return ClusterText.remove(range, from: &lines[cursor.line])
  }

  /// Sets the view's size; the cursor stays where it is in the text and stays visible.
  public mutating func resize(width: Int, height: Int) {
    viewWidth = max(1, width)
    viewHeight = max(1, height)
    goalColumn = nil
    scrollToCursor()
  }

  // MARK: - Editing

  /// Inserts text at the cursor: typed or bracketed paste. CR LF and CR become line breaks; controls other
  /// than tab and LF are dropped (pasted text is text, never keys).
  public mutating func insert(_ text: String) {
    let clean = ClusterText.multiLine(text)
    guard !clean.isEmpty else { return }
    goalColumn = nil
    let parts = clean.split(separator: "\n", omittingEmptySubsequences: false)
    let current = lines[cursor.line]
    linesReplaced(at: cursor.line, removed: 1, inserted: parts.count)
    if parts.count == 1 {
      cursor.index = ClusterText.insert(clean, into: &lines[cursor.line], at: cursor.index)
    } else {
      var first = Array(current[..<cursor.index])
      _ = ClusterText.insert(String(parts[0]), into: &first, at: first.count)
      var last = Array(current[cursor.index...])
      let lastIndex = ClusterText.insert(String(parts[parts.count - 1]), into: &last, at: 0)
      let middle = parts[1..<(parts.count - 1)].map { Array($0) }
      lines.replaceSubrange(cursor.line...cursor.line, with: [first] + middle + [last])
      cursor = Position(line: cursor.line + parts.count - 1, index: lastIndex)
    }
    scrollToCursor()
  }

  /// Applies an editing or moving key; returns false for a key the editor does not use (Tab, Ctrl-P… are the
  /// screen's).
  @discardableResult
  public mutating func handle(_ key: Key) -> Bool {
    if let character = key.typedCharacter {
      insert(String(character))
      return true
    }
    let keepsGoal: Bool
    switch (key.code, key.modifiers) {
    case (.up, []):
      moveVertically(by: -1)
      keepsGoal = true
    case (.down, []):
      moveVertically(by: 1)
      keepsGoal = true
    case (.pageUp, []):
      page(by: -1)
      keepsGoal = true
    case (.pageDown, []):
      page(by: 1)
      keepsGoal = true
    default:
      keepsGoal = false
      guard edit(key) else { return false }
    }
    if !keepsGoal { goalColumn = nil }
    scrollToCursor()
    return true
  }

  /// The keys that neither type nor move vertically.
  private mutating func edit(_ key: Key) -> Bool {
    let line = lines[cursor.line]
    switch (key.code, key.modifiers) {
    case (.enter, []):
      insert("\n")
    case (.left, []), (.character("b"), .ctrl):
      if cursor.index > 0 {
        cursor.index -= 1
      } else if cursor.line > 0 {
        cursor = Position(line: cursor.line - 1, index: lines[cursor.line - 1].count)
      }
    case (.right, []), (.character("f"), .ctrl):
      if cursor.index < line.count {
        cursor.index += 1
      } else if cursor.line + 1 < lines.count {
        cursor = Position(line: cursor.line + 1, index: 0)
      }
    case (.character("b"), .alt), (.left, .ctrl):
      cursor = wordBackward(from: cursor)
    case (.character("f"), .alt), (.right, .ctrl):
      cursor = wordForward(from: cursor)
    case (.home, []), (.character("a"), .ctrl):
      cursor.index = 0
    case (.end, []), (.character("e"), .ctrl):
      cursor.index = line.count
    case (.home, .ctrl):
      cursor = Position(line: 0, index: 0)
    case (.end, .ctrl):
      cursor = Position(line: lines.count - 1, index: lines[lines.count - 1].count)
    case (.backspace, []), (.character("h"), .ctrl):
      if cursor.index > 0 {
        cursor.index = removeFromCursorLine((cursor.index - 1)..<cursor.index)
      } else {
        joinWithPrevious()
      }
    case (.delete, []), (.character("d"), .ctrl):
      if cursor.index < line.count {
        cursor.index = removeFromCursorLine(cursor.index..<(cursor.index + 1))
      } else {
        joinWithNext()
      }
    case (.character("k"), .ctrl):
      if cursor.index < line.count {
        cursor.index = removeFromCursorLine(cursor.index..<line.count)
      } else {
        joinWithNext()
      }
    case (.character("u"), .ctrl):
      cursor.index = removeFromCursorLine(0..<cursor.index)
    case (.character("w"), .ctrl), (.backspace, .alt):
      if cursor.index == 0 {
        joinWithPrevious()
      } else {
        let start = ClusterText.ruboutStart(in: line, before: cursor.index)
        cursor.index = removeFromCursorLine(start..<cursor.index)
      }
    case (.character("d"), .alt):
      if cursor.index == line.count {
        joinWithNext()
      } else {
        let end = ClusterText.wordEnd(in: line, after: cursor.index)
        cursor.index = removeFromCursorLine(cursor.index..<end)
      }
    default:
      return false
    }
    return true
  }

  private mutating func joinWithPrevious() {
    guard cursor.line > 0 else { return }
    linesReplaced(at: cursor.line - 1, removed: 2, inserted: 1)
    let moved = lines.remove(at: cursor.line)
    cursor.line -= 1
    cursor.index = ClusterText.insert(String(moved), into: &lines[cursor.line], at: lines[cursor.line].count)
    // The cursor goes where the lines met, not after the moved text.
    cursor.index = ClusterText.boundary(
      in: lines[cursor.line], atOrAfterUTF8: String(lines[cursor.line]).utf8.count - String(moved).utf8.count)
  }

  private mutating func joinWithNext() {
    guard cursor.line + 1 < lines.count else { return }
    linesReplaced(at: cursor.line, removed: 2, inserted: 1)
    let joinedAt = String(lines[cursor.line]).utf8.count
    let moved = lines.remove(at: cursor.line + 1)
    _ = ClusterText.insert(String(moved), into: &lines[cursor.line], at: lines[cursor.line].count)
    cursor.index = ClusterText.boundary(in: lines[cursor.line], atOrAfterUTF8: joinedAt)
  }

  private func wordBackward(from position: Position) -> Position {
    var line = position.line
    var index = position.index
    // At a line's start, go on from the end of the line above (readline has one line; this crosses them).
    while index == 0 || !lines[line][..<index].contains(where: ClusterText.isWordCharacter) {
      guard line > 0 else { return Position(line: 0, index: 0) }
      line -= 1
      index = lines[line].count
    }
    return Position(line: line, index: ClusterText.wordStart(in: lines[line], before: index))
  }

  private func wordForward(from position: Position) -> Position {
    var line = position.line
    var index = position.index
    while index == lines[line].count || !lines[line][index...].contains(where: ClusterText.isWordCharacter) {
      guard line + 1 < lines.count else { return Position(line: line, index: lines[line].count) }
      line += 1
      index = 0
    }
    return Position(line: line, index: ClusterText.wordEnd(in: lines[line], after: index))
  }

  // MARK: - Layout

  /// One logical line laid out at the view's width.
  struct Layout: Sendable, Equatable {
    /// The cluster index where each visual row starts; a line that fills its last row exactly gets an empty
    /// row more, where the cursor after it is shown.
    var rowStarts: [Int]
    /// Each cluster's column in its row, and its width (a tab's width depends on its column).
    var columns: [Int]
    var widths: [Int]
    var count: Int { columns.count }

    func row(of index: Int) -> Int {
      // Binary search: the last row starting at or before index.
      var low = 0
      var high = rowStarts.count - 1
      while low < high {
        let mid = (low + high + 1) / 2
        if rowStarts[mid] <= index { low = mid } else { high = mid - 1 }
      }
      return low
    }

    /// The clusters of row `row` (the last row ends at the line's end).
    func range(ofRow row: Int) -> Range<Int> {
      rowStarts[row]..<(row + 1 < rowStarts.count ? rowStarts[row + 1] : count)
    }

    /// The column where the cursor at `index` shows.
    func column(of index: Int) -> Int {
      if index < count { return columns[index] }
      let row = row(of: index)
      let range = range(ofRow: row)
      guard let last = range.last else { return 0 }
      return columns[last] + widths[last]
    }
  }

  /// The layout of line `number`, from the cache when it holds it.
  func layout(ofLine number: Int) -> Layout {
    if layoutCache.width == viewWidth, let cached = layoutCache.entries[number] { return cached }
    return Self.layout(lines[number], width: viewWidth)
  }

  /// Puts the layouts of the lines on screen (and the cursor's) in the cache, and keeps it about that size.
  mutating func warmLayouts() {
    if layoutCache.width != viewWidth {
      layoutCache = LayoutCache(width: viewWidth, entries: [:])
    }
    var line = top.line
    var rows = viewHeight + top.row
    var wanted: [Int] = [cursor.line]
    while rows > 0, line < lines.count {
      wanted.append(line)
      let layout = layout(ofLine: line)
      layoutCache.entries[line] = layout
      rows -= layout.rowStarts.count
      line += 1
    }
    if layoutCache.entries[cursor.line] == nil {
      layoutCache.entries[cursor.line] = layout(ofLine: cursor.line)
    }
    if layoutCache.entries.count > 2 * (viewHeight + 8) {
      // After page moves: only what is on screen now.
      var kept: [Int: Layout] = [:]
      for number in wanted { kept[number] = layoutCache.entries[number] }
      layoutCache.entries = kept
    }
  }

  static func layout(_ line: [Character], width: Int) -> Layout {
    DisplayWidth.withUTF8Locale {
      var rowStarts = [0]
      var columns = [Int](repeating: 0, count: line.count)
      var widths = [Int](repeating: 0, count: line.count)
      var column = 0
      var index = 0
      var lastBreak: Int?  // index just after the last space in this row
      while index < line.count {
        let character = line[index]
        var glyphWidth = glyphWidth(of: character, at: column)
        if column > 0, column + glyphWidth > width {
          // Wrap: after the last space of the row if there is one and the overflow is not itself a space.
          let start: Int
          if let after = lastBreak, after > (rowStarts.last ?? 0), !isBreakingSpace(character) {
            start = after
          } else {
            start = index
          }
          rowStarts.append(start)
          lastBreak = nil
          column = 0
          index = start
          continue
        }
        glyphWidth = min(glyphWidth, max(width, 1))
        columns[index] = column
        widths[index] = glyphWidth
        column += glyphWidth
        index += 1
        if isBreakingSpace(character) { lastBreak = index }
      }
      if column >= width, !line.isEmpty { rowStarts.append(line.count) }
      return Layout(rowStarts: rowStarts, columns: columns, widths: widths)
    }
  }

  /// `Character.isWhitespace`, with ASCII answered without a Unicode property look-up (which cost a fifth of
  /// each keystroke in the benchmark).
  @inline(__always)
  static func isBreakingSpace(_ character: Character) -> Bool {
    let utf8 = character.utf8
    if utf8.count == 1, let byte = utf8.first { return byte == 0x20 || (0x09...0x0D).contains(byte) }
    return character.isWhitespace
  }

  static func glyphWidth(of character: Character, at column: Int) -> Int {
    character == "\t" ? tabWidth - column % tabWidth : DisplayWidth.columns(of: character)
  }

  /// The visual row and column of the cursor.
  func cursorRow() -> (row: Row, column: Int) {
    let layout = layout(ofLine: cursor.line)
    return (Row(line: cursor.line, row: layout.row(of: cursor.index)), layout.column(of: cursor.index))
  }

  /// The row after or before `row`, nil at either end of the text.
  func step(_ row: Row, by delta: Int, rowsInLine: (Int) -> Int) -> Row? {
    if delta > 0 {
      if row.row + 1 < rowsInLine(row.line) { return Row(line: row.line, row: row.row + 1) }
      return row.line + 1 < lines.count ? Row(line: row.line + 1, row: 0) : nil
    }
    if row.row > 0 { return Row(line: row.line, row: row.row - 1) }
    return row.line > 0 ? Row(line: row.line - 1, row: rowsInLine(row.line - 1) - 1) : nil
  }

  /// A function giving the number of rows of a line, remembering the lines it laid out.
  func rowCounter() -> (Int) -> Int {
    final class Cache { var counts: [Int: Int] = [:] }
    let cache = Cache()
    return { line in
      if let count = cache.counts[line] { return count }
      let count = self.layout(ofLine: line).rowStarts.count
      cache.counts[line] = count
      return count
    }
  }

  // MARK: - Moving

  private mutating func moveVertically(by delta: Int) {
    let (row, column) = cursorRow()
    let goal = goalColumn ?? column
    goalColumn = goal
    let counter = rowCounter()
    var target = row
    for _ in 0..<abs(delta) {
      guard let next = step(target, by: delta, rowsInLine: counter) else {
        // Past either end: to the start or the end of the text, as most editors do.
        cursor =
          delta < 0
          ? Position(line: 0, index: 0) : Position(line: lines.count - 1, index: lines[lines.count - 1].count)
        return
      }
      target = next
    }
    cursor = Position(line: target.line, index: index(inRow: target, atColumn: goal))
  }

  /// The cluster index in `row` whose glyph covers `column`, or the row's end.
  func index(inRow row: Row, atColumn column: Int) -> Int {
    let layout = layout(ofLine: row.line)
    let range = layout.range(ofRow: row.row)
    let isLastRow = row.row == layout.rowStarts.count - 1
    for index in range where layout.columns[index] + layout.widths[index] > column {
      return index
    }
    // Beyond the row's text: its end; a wrapped row's end is its last cluster (after it is the next row).
    if isLastRow || range.isEmpty { return range.upperBound }
    return range.upperBound - 1
  }

  private mutating func page(by direction: Int) {
    let amount = max(1, viewHeight - 1)
    let counter = rowCounter()
    for _ in 0..<amount {
      guard let next = step(top, by: direction, rowsInLine: counter) else { break }
      top = next
    }
    // The new view's layouts, once, for the cursor's move and the drawing that follow.
    warmLayouts()
    moveVertically(by: direction * amount)
  }

  /// Puts the cursor `offset` clusters from the start of the text (clamped to it) and scrolls to it.
  public mutating func moveCursor(toOffset offset: Int) {
    var remaining = max(0, offset)
    var line = 0
    while line < lines.count - 1, remaining > lines[line].count {
      remaining -= lines[line].count + 1
      line += 1
    }
    cursor = Position(line: line, index: min(remaining, lines[line].count))
    goalColumn = nil
    scrollToCursor()
  }

  /// Scrolls as little as possible so the cursor's row is on screen, then caches the layouts on screen.
  mutating func scrollToCursor() {
    scrollCursorIntoView()
    warmLayouts()
  }

  private mutating func scrollCursorIntoView() {
    let counter = rowCounter()
    // An edit may have removed the top line (a join), or changed its layout (an edit, a resize): keep the
    // top inside the text.
    if top.line >= lines.count { top = Row(line: lines.count - 1, row: 0) }
    top.row = min(top.row, counter(top.line) - 1)
    let (row, _) = cursorRow()
    if row < top {
      top = row
      return
    }
    var probe = top
    for _ in 0..<(viewHeight - 1) {
      if probe == row { return }
      guard let next = step(probe, by: 1, rowsInLine: counter) else { break }
      probe = next
    }
    if probe == row { return }
    // Below the view: the cursor's row becomes the last one shown.
    var newTop = row
    for _ in 0..<(viewHeight - 1) {
      guard let previous = step(newTop, by: -1, rowsInLine: counter) else { break }
      newTop = previous
    }
    top = newTop
  }

  // MARK: - Drawing

  /// Draws the view at (x, y), `viewWidth` × `viewHeight`, in `style`; returns the cursor's screen position.
  ///
  /// Each cell of the view is written once: a row's glyphs, blanks for the gaps (tabs) and the rest of the
  /// row, blank rows below the text. A printable ASCII character, the common case, goes straight into its
  /// cell.
  ///
  /// A control the body holds is drawn as its escape (`\u{001B}`) in `controlStyle` (by default `style`).
  @discardableResult
  public func render(
    into buffer: inout ScreenBuffer, x: Int, y: Int, style: Style, controlStyle: Style? = nil
  ) -> (x: Int, y: Int) {
    var cursorPosition = (x: x, y: y)
    var line = top.line
    var row = top.row
    var screenRow = 0
    var glyphs: [Glyph] = []
    DisplayWidth.withUTF8Locale {
      while screenRow < viewHeight, line < lines.count {
        let layout = layout(ofLine: line)
        let text = lines[line]
        while screenRow < viewHeight, row < layout.rowStarts.count {
          let rowY = y + screenRow
          let rowInside = rowY >= 0 && rowY < buffer.height
          // Columns of this row written so far.
          var written = 0
          for index in layout.range(ofRow: row) {
            let character = text[index]
            let column = layout.columns[index]
            let utf8 = character.utf8
            let byte = utf8.count == 1 ? utf8.first : nil
            if byte == 0x09 { continue }
            if column > written {
              buffer.fill(x: x + written, y: rowY, width: column - written, height: 1, style: style)
            }
            if let byte, byte >= 0x20, byte < 0x7F, rowInside, x + column >= 0, x + column < buffer.width,
              column < viewWidth
            {
              buffer.put(Glyph(text: String(character), width: 1), x: x + column, y: rowY, style: style)
              written = column + 1
              continue
            }
            glyphs.removeAll(keepingCapacity: true)
            DisplayWidth.appendGlyphs(of: character, to: &glyphs)
            let glyphStyle = controlStyle.map { Self.holdsControl(character) ? $0 : style } ?? style
            written =
              column
              + buffer.write(
                glyphs: glyphs, x: x + column, y: rowY, maxWidth: viewWidth - column, style: glyphStyle)
          }
          if written < viewWidth {
            buffer.fill(x: x + written, y: rowY, width: viewWidth - written, height: 1, style: style)
          }
          if line == cursor.line, layout.row(of: cursor.index) == row {
            cursorPosition = (x + min(layout.column(of: cursor.index), viewWidth - 1), rowY)
          }
          row += 1
          screenRow += 1
        }
        line += 1
        row = 0
      }
    }
    if screenRow < viewHeight {
      buffer.fill(x: x, y: y + screenRow, width: viewWidth, height: viewHeight - screenRow, style: style)
    }
    return cursorPosition
  }
}
