import SMTPProtocol
import Testing

@Suite struct UntrustedTextTests {
  @Test(arguments: [
    ([UInt8]("250 ok".utf8), "250 ok"),
    ([0x1B, 0x5B, 0x33, 0x31, 0x6D], "\\u{001B}[31m"),
    ([0x61, 0x7F, 0x62], "a\\u{007F}b"),
    ([0x09], "\\u{0009}"),
    ([0xC2, 0x85], "\\u{0085}"),  // C1 NEL
    ([0xE2, 0x80, 0xAE, 0x41], "\\u{202E}A"),  // right-to-left override
    ([0xE2, 0x81, 0xA6], "\\u{2066}"),
    ([0xFF, 0x41], "\\xFFA"),
    ([0xC0, 0xAF], "\\xC0\\xAF"),  // overlong "/"
    ([0xE2, 0x82], "\\xE2\\x82"),  // truncated sequence
    ([0xED, 0xA0, 0x80], "\\xED\\xA0\\x80"),  // UTF-16 surrogate
    (Array("Zoë 日本".utf8), "Zoë 日本"),
    // Issue 7: invisible, format and separator characters, which hide or reorder text on a terminal.
    (Array("a\u{200B}b".utf8), "a\\u{200B}b"),  // zero-width space
    (Array("\u{200E}\u{200F}\u{061C}".utf8), "\\u{200E}\\u{200F}\\u{061C}"),  // LRM, RLM, ALM
    (Array("line\u{2028}para\u{2029}".utf8), "line\\u{2028}para\\u{2029}"),
    (Array("\u{FEFF}host".utf8), "\\u{FEFF}host"),  // BOM
    (Array("soft\u{00AD}hyphen".utf8), "soft\\u{00AD}hyphen"),
    (Array("\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}".utf8), "\\u{2060}\\u{2061}\\u{2062}\\u{2063}\\u{2064}"),
    (Array("\u{180E}\u{200C}\u{200D}\u{3164}\u{034F}".utf8), "\\u{180E}\\u{200C}\\u{200D}\\u{3164}\\u{034F}"),
    (Array("tag\u{E0041}".utf8), "tag\\u{E0041}"),
    // Visible text stays: accents (also combining), CJK, emoji, the no-break space.
    (Array("e\u{0301} 😀 \u{00A0}x".utf8), "e\u{0301} 😀 \u{00A0}x"),
  ])
  func escapesUnsafeScalars(input: [UInt8], expected: String) {
    #expect(UntrustedText(input).escaped == expected)
  }
}
