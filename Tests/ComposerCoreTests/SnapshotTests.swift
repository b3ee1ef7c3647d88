import Testing

@testable import ComposerCore

/// Whole regions rendered and compared with the hand-written files in Snapshots/ (see ``Snapshot``).
@Suite struct SnapshotTests {
  init() { useUTF8Locale() }

  static let mixed = "e\u{301}t\u{301}e\u{301} 漢字 👍 👩\u{200D}💻"

  @Test func aFieldWithCombiningMarksCJKAndEmoji() throws {
    let theme = Theme(try shippedTheme("default"), colors: .twoHundredFiftySix)
    var buffer = ScreenBuffer(width: 24, height: 2)
    var field = TextField(Self.mixed)
    field.handle(.home)
    for row in 0..<2 {
      buffer.write("Subject:", x: 0, y: row, maxWidth: 9, style: theme.style(.fieldLabel))
      buffer.fill(x: 8, y: row, width: 1, height: 1, style: theme.style(.fieldLabel))
      let cursor = field.render(into: &buffer, x: 9, y: row, width: 15, style: theme.style(.fieldText))
      #expect(cursor == (row == 0 ? (x: 9, y: 0) : (x: 23, y: 1)))
      field.handle(.end)
    }
    try Snapshot(named: "field-mixed-scripts").verify(buffer)
  }

  static let body = "abcdefghi漢字\nSoft wrap at a space\n👍 e\u{301}\n12345678👩\u{200D}💻"

  @Test func aBodySoftWrapsWithoutSplittingWideCharacters() throws {
    let editor = BodyEditor(Self.body, width: 10, height: 7)
    var buffer = ScreenBuffer(width: 10, height: 7)
    let cursor = editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(cursor == (x: 0, y: 0))
    try Snapshot(named: "body-soft-wrap").verify(buffer)
  }

  @Test func aBodyScrollsToTheCursor() throws {
    var editor = BodyEditor(Self.body, width: 10, height: 4)
    editor.handle(Key(.end, .ctrl))
    var buffer = ScreenBuffer(width: 10, height: 4)
    let cursor = editor.render(into: &buffer, x: 0, y: 0, style: .plain)
    #expect(cursor == (x: 4, y: 3))
    try Snapshot(named: "body-scrolled").verify(buffer)
  }

  static let swatch: [(ThemeRole, Bool)] = [
    (.title, false), (.statusError, false), (.fieldLabel, false), (.transcriptTLS, false),
    (.transcriptTLSStep, false), (.transcriptWarning, false), (.verdictOK, false), (.verdictRefused, false),
    (.fieldText, true),
  ]

  func swatch(_ theme: Theme) -> ScreenBuffer {
    var buffer = ScreenBuffer(width: 20, height: Self.swatch.count)
    for (row, (role, selected)) in Self.swatch.enumerated() {
      let style = theme.style(role, selected: selected)
      buffer.fill(x: 0, y: row, width: 20, height: 1, style: style)
      buffer.write(role.name + (selected ? ".selected" : ""), x: 0, y: row, style: style)
    }
    return buffer
  }

  @Test(arguments: [
    ("default", ColorCapability.twoHundredFiftySix, false, "theme-default"),
    ("default", .twoHundredFiftySix, true, "theme-default-no-color"),
    ("light", .twoHundredFiftySix, false, "theme-light"),
    ("light", .eight, false, "theme-light-8"),
    ("high-contrast", .twoHundredFiftySix, false, "theme-high-contrast"),
    ("monochrome", .twoHundredFiftySix, false, "theme-monochrome"),
  ])
  func themeStyles(_ name: String, _ colors: ColorCapability, _ noColor: Bool, _ snapshot: String) throws {
    let theme = Theme(try shippedTheme(name), colors: colors, noColor: noColor)
    try Snapshot(named: snapshot).verify(swatch(theme))
  }
}
