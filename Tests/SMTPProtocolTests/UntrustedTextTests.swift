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
  ])
  func escapesUnsafeScalars(input: [UInt8], expected: String) {
    #expect(UntrustedText(input).escaped == expected)
  }
}
