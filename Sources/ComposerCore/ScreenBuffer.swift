/// One cell of the screen: the text of one glyph (a spacing character and the zero-width characters on it),
/// or, right of a 2-column glyph, an empty continuation.
public struct Cell: Sendable, Hashable {
  /// The glyph's text; empty in a continuation cell.
  public var text: String
  public var style: Style

  public init(text: String, style: Style) {
    self.text = text
    self.style = style
  }

  /// A space in the terminal's own colours.
  public static let blank = Cell(text: " ", style: .plain)

  /// Whether this is the right half of a 2-column glyph.
  public var isContinuation: Bool { text.isEmpty }
}

/// A grid of cells that screens render into and the curses backend blits (the ratatui model): no terminal is
/// needed to draw, and a test compares buffers.
///
/// Invariants kept by every write: a 2-column glyph is followed by its continuation cell in the same row, and a
/// continuation cell is always preceded by its glyph. Overwriting half of a wide glyph turns the other half
/// into a space of the style it had.
public struct ScreenBuffer: Sendable, Hashable {
  public private(set) var width: Int
  public private(set) var height: Int
  public private(set) var cells: [Cell]

  /// A buffer of blank cells; negative sizes count as 0.
  public init(width: Int, height: Int) {
    self.width = max(0, width)
    self.height = max(0, height)
    self.cells = Array(repeating: .blank, count: self.width * self.height)
  }

  /// Reallocates for the new size and clears (the whole screen is drawn again after a resize).
  public mutating func resize(width: Int, height: Int) {
    self = ScreenBuffer(width: width, height: height)
  }

  public subscript(x: Int, y: Int) -> Cell {
    get {
      precondition(contains(x: x, y: y), "cell (\(x), \(y)) outside a \(width)×\(height) buffer")
      return cells[y * width + x]
    }
  }

  public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

  /// Writes `text` from column `x` of row `y`, using at most `maxWidth` columns (and never past the right
  /// edge); returns the columns written. A 2-column glyph that would not fit whole is replaced by a space,
  /// and the write stops there. Controls and other unsafe scalars are shown escaped (``DisplayWidth``).
  @discardableResult
  public mutating func write(_ text: some StringProtocol, x: Int, y: Int, maxWidth: Int? = nil, style: Style)
    -> Int
  {
    write(glyphs: DisplayWidth.glyphs(of: text), x: x, y: y, maxWidth: maxWidth, style: style)
  }

  /// Writes prepared glyphs; see ``write(_:x:y:maxWidth:style:)``. The first `skip` columns of the glyphs are
  /// not shown (horizontal scrolling): the write still starts at column `x`, and a wide glyph cut by that
  /// edge shows as a space.
  @discardableResult
  public mutating func write(
    glyphs: [Glyph], x: Int, y: Int, maxWidth: Int? = nil, skip: Int = 0, style: Style
  ) -> Int {
    guard y >= 0, y < height, x < width else { return 0 }
    let limit = min(width, x + max(0, maxWidth ?? width))
    // Columns relative to the glyphs' start; `origin` is where glyph column 0 would land.
    let origin = x - max(0, skip)
    let left = max(x, 0)
    var column = origin
    for glyph in glyphs {
      if column >= limit { break }
      if column < left {
        if column + glyph.width > left {
          // A wide glyph cut by the left edge: its visible half is a space.
          put(Glyph(text: " ", width: 1), x: left, y: y, style: style)
        }
        column += glyph.width
        continue
      }
      if column + glyph.width > limit {
        // Never half a wide glyph at the right edge: pad.
        put(Glyph(text: " ", width: 1), x: column, y: y, style: style)
        column += 1
        break
      }
      put(glyph, x: column, y: y, style: style)
      column += glyph.width
    }
    return max(0, column - left)
  }

  /// Fills a rectangle (clipped to the buffer) with `character` (a 1-column glyph; anything else fills with
  /// spaces).
  public mutating func fill(
    x: Int, y: Int, width fillWidth: Int, height fillHeight: Int, character: Character = " ", style: Style
  ) {
    let glyph: Glyph
    if character.utf8.count == 1, let byte = character.utf8.first, byte >= 0x20, byte < 0x7F {
      // ASCII (a space, mostly): no width look-up.
      glyph = Glyph(text: String(character), width: 1)
    } else {
      let glyphs = DisplayWidth.glyphs(of: character)
      glyph = glyphs.count == 1 && glyphs[0].width == 1 ? glyphs[0] : Glyph(text: " ", width: 1)
    }
    let left = max(0, x)
    let right = min(width, x + fillWidth)
    let top = max(0, y)
    let bottom = min(height, y + fillHeight)
    guard left < right, top < bottom else { return }
    let cell = Cell(text: glyph.text, style: style)
    for row in top..<bottom {
      let base = row * width
      // Only the edges can cut a wide glyph in half.
      if cells[base + left].isContinuation, left > 0 {
        cells[base + left - 1] = Cell(text: " ", style: cells[base + left - 1].style)
      }
      if right < width, cells[base + right].isContinuation {
        cells[base + right] = Cell(text: " ", style: cells[base + right].style)
      }
      for column in left..<right { cells[base + column] = cell }
    }
  }

  /// Fills the whole buffer.
  public mutating func fill(style: Style) {
    fill(x: 0, y: 0, width: width, height: height, style: style)
  }

  /// Each row as text: a glyph's text per cell, nothing for continuations (so a row of CJK reads as it shows).
  public var lines: [String] {
    (0..<height).map { row in
      var line = ""
      for column in 0..<width { line += cells[row * width + column].text }
      return line
    }
  }

  /// Puts one glyph at (x, y), repairing any wide glyph it cuts in half.
  mutating func put(_ glyph: Glyph, x: Int, y: Int, style: Style) {
    let base = y * width
    // Overwriting a continuation: its glyph on the left loses its right half.
    if cells[base + x].isContinuation, x > 0 {
      cells[base + x - 1] = Cell(text: " ", style: cells[base + x - 1].style)
    }
    let end = x + glyph.width
    // The cell right of what we cover: if it is a continuation, its glyph is being overwritten.
    if end < width, cells[base + end].isContinuation {
      cells[base + end] = Cell(text: " ", style: cells[base + end].style)
    }
    cells[base + x] = Cell(text: glyph.text, style: style)
    if glyph.width == 2, x + 1 < width {
      cells[base + x + 1] = Cell(text: "", style: style)
    }
  }

  /// Whether `count` cells from `start` are equal in both (the diff's common case, a row that did not change,
  /// checked without copying a cell: styles first, then the texts).
  private static func same(_ a: [Cell], _ b: [Cell], from start: Int, count: Int) -> Bool {
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        for index in start..<(start + count) where a[index].style != b[index].style { return false }
        // `==` first checks whether the strings are the same bits: quick for an unchanged row; a changed row
        // costs one slower comparison before it is known to differ.
        for index in start..<(start + count) where a[index].text != b[index].text { return false }
        return true
      }
    }
  }

  /// Cells are the same on screen when their styles and texts are. A 1-byte text (ASCII, most cells) is
  /// compared by its byte: `String`'s `==` is quick for identical strings but checks canonical equivalence for
  /// different ones, which made a diff of a changed screen ten times slower.
  @inline(__always)
  private static func same(_ a: Cell, _ b: Cell) -> Bool {
    a.style == b.style && sameText(a.text, b.text)
  }

  @inline(__always)
  private static func sameText(_ a: String, _ b: String) -> Bool {
    let aBytes = a.utf8
    let bBytes = b.utf8
    if aBytes.count == 1 || bBytes.count == 1 {
      return aBytes.count == bBytes.count && aBytes.first == bBytes.first
    }
    return a == b
  }

  /// A run of changed cells in one row: what the backend writes, from `x` on.
  public struct Run: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var cells: [Cell]
  }

  /// The runs of cells that differ from `previous`, row by row, left to right. A run always starts on a glyph
  /// (never on a continuation) and never ends inside a wide glyph, so it can be written as it is. A buffer of
  /// another size differs everywhere.
  public func changes(since previous: ScreenBuffer) -> [Run] {
    let sameSize = previous.width == width && previous.height == height
    var runs: [Run] = []
    for row in 0..<height {
      let base = row * width
      if sameSize, Self.same(cells, previous.cells, from: base, count: width) { continue }
      var column = 0
      while column < width {
        guard !sameSize || !Self.same(cells[base + column], previous.cells[base + column]) else {
          column += 1
          continue
        }
        var start = column
        while start > 0, cells[base + start].isContinuation { start -= 1 }
        if let last = runs.last, last.y == row, last.x + last.cells.count > start {
          start = last.x + last.cells.count
        }
        var end = column + 1
        // Extend over further changes and over the continuation of a wide glyph.
        while end < width,
          cells[base + end].isContinuation
            || (!sameSize || !Self.same(cells[base + end], previous.cells[base + end]))
        {
          end += 1
        }
        if let last = runs.last, last.y == row, last.x + last.cells.count == start {
          runs[runs.count - 1].cells += cells[(base + start)..<(base + end)]
        } else {
          runs.append(Run(x: start, y: row, cells: Array(cells[(base + start)..<(base + end)])))
        }
        column = end
      }
    }
    return runs
  }
}
