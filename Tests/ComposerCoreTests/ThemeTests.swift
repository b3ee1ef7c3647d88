import Testing

@testable import ComposerCore

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct ThemeTests {
  init() { useUTF8Locale() }

  @Test(arguments: ThemeFile.shippedNames)
  func everyShippedThemeParses(_ name: String) throws {
    let file = try shippedTheme(name)
    for colors in ColorCapability.allCases {
      let theme = Theme(file, colors: colors)
      // Every role is drawn distinguishably from plain text where it matters.
      for role in [ThemeRole.statusError, .transcriptError, .verdictRefused, .cursor, .keys] {
        #expect(theme.style(role) != theme.style(.transcriptPlain), "\(name) \(colors) \(role)")
      }
      // Colours stay inside what the terminal has.
      for role in ThemeRole.allCases {
        for selected in [false, true] {
          let style = theme.style(role, selected: selected)
          for color in [style.foreground, style.background] {
            switch (color, colors) {
            case (.default, _): break
            case (.index, .none): Issue.record("\(name): a colour on a terminal without colours")
            case (.index(let index), .eight): #expect(index < 8, "\(name) \(role)")
            case (.index(let index), .sixteen): #expect(index < 16, "\(name) \(role)")
            case (.index, .twoHundredFiftySix): break
            }
          }
        }
      }
    }
  }

  @Test func theSelectedFormOfTheRolesInListsDiffersFromTheRole() throws {
    for name in ThemeFile.shippedNames {
      let theme = Theme(try shippedTheme(name), colors: .twoHundredFiftySix)
      for role in [ThemeRole.fieldLabel, .fieldText, .fieldError, .help, .transcriptPlain, .status, .title] {
        #expect(theme.style(role, selected: true) != theme.style(role), "\(name) \(role)")
      }
    }
  }

  @Test func rolesInheritWildcardsApplyAndLaterLinesWin() throws {
    let file = try ThemeFile(
      parsing: """
        # a comment
        status.fg = blue
        status.bold = true

        status.error.fg = red
        transcript.*.underline = true
        *.selected.reverse = true
        transcript.tls.underline = false
        title.fg = 200\r
        title.bg = #ff0000
        """, name: "t", file: "t.theme")
    let theme = Theme(file, colors: .twoHundredFiftySix)
    #expect(theme.style(.statusError) == Style(foreground: .index(1), bold: true))
    #expect(
      theme.style(.statusError, selected: true) == Style(foreground: .index(1), bold: true, reverse: true))
    #expect(theme.style(.transcriptData).underline)
    #expect(!theme.style(.transcriptTLS).underline)
    #expect(theme.style(.transcriptTLS, selected: true).underline)
    #expect(theme.style(.title) == Style(foreground: .index(200), background: .index(196)))
    #expect(theme.style(.help) == .plain)
  }

  /// Editors on some systems start a UTF-8 file with a byte order mark: it is not part of the first line.
  @Test func aByteOrderMarkAtTheStartIsIgnored() throws {
    let file = try ThemeFile(parsing: "\u{FEFF}# comment\ntitle.bold = true", name: "bom", file: "bom.theme")
    #expect(Theme(file, colors: .eight).style(.title).bold)
    let key = try ThemeFile(parsing: "\u{FEFF}title.bold = true", name: "bom", file: "bom.theme")
    #expect(Theme(key, colors: .eight).style(.title).bold)
  }

  @Test func noColorDropsColoursButKeepsAttributes() throws {
    let file = try shippedTheme("default")
    let theme = Theme(file, colors: .twoHundredFiftySix, noColor: true)
    #expect(theme.style(.statusError) == Style(bold: true))
    #expect(theme.style(.keys) == Style(reverse: true))
    #expect(Theme.noColorRequested("1"))
    #expect(Theme.noColorRequested("0"))
    #expect(!Theme.noColorRequested(""))
    #expect(!Theme.noColorRequested(nil))
  }

  struct Broken: Sendable, CustomTestStringConvertible {
    var text: String
    var line: Int
    var reason: String
    var testDescription: String { reason }
  }

  static let broken: [Broken] = [
    Broken(text: "title.bold = true\nstatsu.fg = red", line: 2, reason: "unknown role `statsu`"),
    Broken(text: "\n\ntitle.italic = true", line: 3, reason: "unknown attribute `italic`"),
    Broken(text: "title.fg = purple", line: 1, reason: "`purple` is not a colour"),
    Broken(text: "title.fg = 256", line: 1, reason: "`256` is not a colour"),
    Broken(text: "title.fg = #12345", line: 1, reason: "`#12345` is not a colour"),
    Broken(text: "title.fg = #gg0000", line: 1, reason: "`#gg0000` is not a colour"),
    Broken(text: "# fine\ntitle.fg red", line: 2, reason: "found no `=` in `title.fg red`"),
    Broken(text: "title.bold = maybe", line: 1, reason: "`maybe` is not true or false"),
    Broken(text: "title = red", line: 1, reason: "expected `role.attribute`, found `title`"),
    Broken(text: "title.fg =", line: 1, reason: "no value for `title.fg`"),
    Broken(text: "nothing.*.bold = true", line: 1, reason: "the pattern `nothing.*` matches no role"),
    Broken(text: "title.fg = red\ntitle.bg = \u{1B}[31m", line: 2, reason: "a control character (U+001B)"),
    Broken(text: "title.fg = red # comment", line: 1, reason: "`red # comment` is not a colour"),
    Broken(text: "ti\u{202E}tle.fg = red", line: 1, reason: "a control character (U+202E)"),
  ]

  @Test(arguments: broken)
  func brokenThemesFailWithFileAndLine(_ sample: Broken) {
    #expect {
      _ = try ThemeFile(parsing: sample.text, name: "broken", file: "themes/broken.theme")
    } throws: { error in
      guard let error = error as? ThemeError else { return false }
      let text = error.description
      return error.file == "themes/broken.theme" && error.line == sample.line
        && text.hasPrefix("themes/broken.theme:\(sample.line): ") && text.contains(sample.reason)
        && !text.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{202E}" }
    }
  }

  @Test func anErrorNeverEchoesAControlCharacterFromTheFileName() {
    let error = ThemeError(file: "evil\u{1B}]0;x\u{7}.theme", line: 3, reason: "r")
    #expect(error.description == "evil\\u{001B}]0;x\\u{0007}.theme:3: r")
  }

  @Test func coloursMapDownToEightColours() {
    #expect(ThemeColor.index(3).mapped(to: .eight) == .index(3))
    #expect(ThemeColor.index(9).mapped(to: .eight) == .index(1))  // bright red → red
    #expect(ThemeColor.index(196).mapped(to: .eight) == .index(1))  // #ff0000 → red
    #expect(ThemeColor.index(21).mapped(to: .eight) == .index(4))  // #0000ff → blue
    #expect(ThemeColor.index(232).mapped(to: .eight) == .index(0))  // near black
    #expect(ThemeColor.index(255).mapped(to: .eight) == .index(7))  // near white
    #expect(ThemeColor.rgb(0x00, 0x00, 0xAF).mapped(to: .eight) == .index(4))
    #expect(ThemeColor.rgb(0x00, 0x5F, 0x87).mapped(to: .eight) == .index(6))  // nearer cyan than blue
    #expect(ThemeColor.rgb(0xAF, 0x00, 0x00).mapped(to: .eight) == .index(1))
    #expect(ThemeColor.rgb(0xFF, 0xFF, 0xFF).mapped(to: .eight) == .index(7))
    #expect(ThemeColor.rgb(0x00, 0x87, 0x00).mapped(to: .eight) == .index(2))
    #expect(ThemeColor.rgb(0x00, 0x5F, 0x00).mapped(to: .eight) == .index(0))  // nearer black than green
    #expect(ThemeColor.rgb(0xAF, 0x87, 0x00).mapped(to: .eight) == .index(3))
    #expect(ThemeColor.default.mapped(to: .eight) == .default)
  }

  @Test func coloursMapDownTo256AndSixteenColours() {
    #expect(ThemeColor.rgb(0xFF, 0x00, 0x00).mapped(to: .twoHundredFiftySix) == .index(196))
    #expect(ThemeColor.rgb(0x00, 0x5F, 0x87).mapped(to: .twoHundredFiftySix) == .index(24))
    #expect(ThemeColor.rgb(0x00, 0x00, 0xAF).mapped(to: .twoHundredFiftySix) == .index(19))
    #expect(ThemeColor.rgb(0x1C, 0x1C, 0x1C).mapped(to: .twoHundredFiftySix) == .index(234))
    #expect(ThemeColor.rgb(0x80, 0x80, 0x80).mapped(to: .twoHundredFiftySix) == .index(244))
    #expect(ThemeColor.rgb(0xD7, 0xD7, 0xFF).mapped(to: .twoHundredFiftySix) == .index(189))
    #expect(ThemeColor.index(12).mapped(to: .twoHundredFiftySix) == .index(12))
    #expect(ThemeColor.index(12).mapped(to: .sixteen) == .index(12))
    #expect(ThemeColor.index(196).mapped(to: .sixteen) == .index(9))
    #expect(ThemeColor.rgb(0xFF, 0xFF, 0xFF).mapped(to: .sixteen) == .index(15))
    #expect(ThemeColor.index(100).mapped(to: .none) == .default)
  }

  @Test(arguments: [
    ("red", ThemeColor.index(1)), ("bright-red", .index(9)), ("brightcyan", .index(14)), ("BLUE", .index(4)),
    ("default", .default), ("0", .index(0)), ("255", .index(255)), ("#00ff7F", .rgb(0, 255, 127)),
  ])
  func colourValues(_ text: String, _ color: ThemeColor) {
    #expect(ThemeFile.color(text) == color)
  }

  @Test(arguments: ["", "-1", "1000", "+5", "0x10", "bright-", "brightbright-red", "#fff", "#ggggggg", "٣"])
  func notColourValues(_ text: String) {
    #expect(ThemeFile.color(text) == nil)
  }
}

/// Theme files are read before the screen opens, perhaps before the process locale is set: parsing must
/// not depend on the locale in force (non-ASCII text is not a control character in any locale).
@Suite struct ThemeLocaleTests {
  @Test func aThemeWithNonASCIICommentsParsesInTheCLocale() throws {
    let plain = try #require(newlocale(Int32(LC_CTYPE_MASK), "C", nil))
    defer { freelocale(plain) }
    let previous = uselocale(plain)
    defer { uselocale(previous) }
    for name in ThemeFile.shippedNames { _ = try shippedTheme(name) }
    #expect(Key.character("ü").name == "ü")
  }
}
