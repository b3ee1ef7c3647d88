/// A single-line text field (To, Subject…): the cursor moves by grapheme cluster, the readline keys edit, and
/// the view scrolls sideways in display columns so the cursor stays visible.
public struct TextField: Sendable, Hashable {
  /// The text as grapheme clusters.
  public private(set) var characters: [Character]
  /// The cursor, as a cluster index (0…count).
  public private(set) var cursor: Int
  /// The first display column shown (horizontal scroll).
  public private(set) var scrollColumn = 0

  public init(_ text: String = "") {
    self.characters = Array(ClusterText.singleLine(text))
    self.cursor = characters.count
  }

  public var text: String { String(characters) }

  /// Replaces the text; the cursor goes to its end.
  public mutating func setText(_ text: String) {
    characters = Array(ClusterText.singleLine(text))
    cursor = characters.count
  }

  /// Inserts text at the cursor (typed or pasted: line breaks and tabs become spaces, controls are dropped).
  public mutating func insert(_ text: String) {
    let clean = ClusterText.singleLine(text)
    guard !clean.isEmpty else { return }
    cursor = ClusterText.insert(clean, into: &characters, at: cursor)
  }

  /// Applies an editing key; returns false for a key a field does not use (the screen's to handle).
  @discardableResult
  public mutating func handle(_ key: Key) -> Bool {
    if let character = key.typedCharacter {
      insert(String(character))
      return true
    }
    switch (key.code, key.modifiers) {
    case (.character("a"), .ctrl), (.home, []): cursor = 0
    case (.character("e"), .ctrl), (.end, []): cursor = characters.count
    case (.character("b"), .ctrl), (.left, []): cursor = max(0, cursor - 1)
    case (.character("f"), .ctrl), (.right, []): cursor = min(characters.count, cursor + 1)
    case (.character("b"), .alt), (.left, .ctrl):
      cursor = ClusterText.wordStart(in: characters, before: cursor)
    case (.character("f"), .alt), (.right, .ctrl): cursor = ClusterText.wordEnd(in: characters, after: cursor)
    case (.character("k"), .ctrl):
      cursor = ClusterText.remove(cursor..<characters.count, from: &characters)
    case (.character("u"), .ctrl):
      cursor = ClusterText.remove(0..<cursor, from: &characters)
    case (.character("w"), .ctrl), (.backspace, .alt):
      let start = ClusterText.ruboutStart(in: characters, before: cursor)
      cursor = ClusterText.remove(start..<cursor, from: &characters)
    case (.character("d"), .alt):
      let end = ClusterText.wordEnd(in: characters, after: cursor)
      cursor = ClusterText.remove(cursor..<end, from: &characters)
    case (.backspace, []), (.character("h"), .ctrl):
      if cursor > 0 { cursor = ClusterText.remove((cursor - 1)..<cursor, from: &characters) }
    case (.delete, []), (.character("d"), .ctrl):
      if cursor < characters.count { cursor = ClusterText.remove(cursor..<(cursor + 1), from: &characters) }
    default:
      return false
    }
    return true
  }

  /// Puts the cursor after `offset` clusters (clamped to the text).
  public mutating func moveCursor(to offset: Int) {
    cursor = min(max(0, offset), characters.count)
  }

  /// The display column of the cursor from the start of the text.
  public var cursorColumn: Int { DisplayWidth.width(of: String(characters[..<cursor])) }

  /// Moves the horizontal scroll so the cursor is visible in a view `width` columns wide, keeping the
  /// scroll where it is when it already is.
  public mutating func scroll(toFit width: Int) {
    let view = max(1, width)
    let column = cursorColumn
    // The cursor needs its own column: at the end of the text it sits after the last glyph.
    if column < scrollColumn {
      scrollColumn = column
    } else if column >= scrollColumn + view {
      scrollColumn = column - view + 1
    }
    let total = DisplayWidth.width(of: String(characters))
    // Do not leave blank columns on the left when the text would fit from further left.
    scrollColumn = max(0, min(scrollColumn, max(0, total + 1 - view)))
  }

  /// Scrolls to fit `width`, then draws the field at (x, y) over `width` columns in `style`; returns the
  /// cursor's screen position.
  @discardableResult
  public mutating func render(into buffer: inout ScreenBuffer, x: Int, y: Int, width: Int, style: Style)
    -> (x: Int, y: Int)
  {
    scroll(toFit: width)
    buffer.fill(x: x, y: y, width: width, height: 1, style: style)
    let glyphs = DisplayWidth.glyphs(of: String(characters))
    buffer.write(glyphs: glyphs, x: x, y: y, maxWidth: width, skip: scrollColumn, style: style)
    return (x + cursorColumn - scrollColumn, y)
  }
}
