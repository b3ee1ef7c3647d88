import Testing

@testable import MailMessage

@Suite struct QuotedPrintableTests {
  static let a74 = String(repeating: "a", count: 74)
  static let a75 = String(repeating: "a", count: 75)

  @Test(arguments: [
    ("a=b", "a=3Db\r\n"),
    ("trailing space ", "trailing space=20\r\n"),
    ("trailing tab\t", "trailing tab=09\r\n"),
    ("two spaces  ", "two spaces =20\r\n"),
    ("inner  spaces\tkept", "inner  spaces\tkept\r\n"),
    ("Grüße", "Gr=C3=BC=C3=9Fe\r\n"),
    ("5 € = 5 Euro.", "5 =E2=82=AC =3D 5 Euro.\r\n"),
    ("", "\r\n"),
    ("a\u{0}b", "a=00b\r\n"),
    ("esc\u{1B}[0m", "esc=1B[0m\r\n"),
    ("del\u{7F}", "del=7F\r\n"),
    ("~!@#$%^&*()_+{}|:\"<>?`-[]\\;',./", "~!@#$%^&*()_+{}|:\"<>?`-[]\\;',./\r\n"),
    // Exactly 76 characters need no soft break; 77 do.
    (a75 + "b", a75 + "b\r\n"),
    (a75 + "bc", a75 + "=\r\nbc\r\n"),
    // An escape is never split by a soft break.
    (a74 + "é", a74 + "=\r\n=C3=A9\r\n"),
    (a75 + "=", a75 + "=\r\n=3D\r\n"),
    (a75 + " ", a75 + "=\r\n=20\r\n"),
    // A space before a soft break is not trailing whitespace: the '=' follows it.
    (a74 + " bc", a74 + " =\r\nbc\r\n"),
    (a74 + " b", a74 + " b\r\n"),
  ])
  func encodesLine(line: String, expected: String) {
    let encoded = QuotedPrintable.encode(lines: [ArraySlice(Array(line.utf8))])
    #expect(String(decoding: encoded, as: UTF8.self) == expected)
  }

  @Test func longLineGetsSoftBreaksEvery75Characters() {
    let line = String(repeating: "x", count: 1000)
    let encoded = QuotedPrintable.encode(lines: [ArraySlice(Array(line.utf8))])
    let expected =
      String(repeating: String(repeating: "x", count: 75) + "=\r\n", count: 13)
      + String(repeating: "x", count: 25) + "\r\n"
    #expect(String(decoding: encoded, as: UTF8.self) == expected)
  }

  @Test func encodedLinesStayWithin76Characters() {
    let samples = (0..<200).map { length in
      (0..<length).map { index in ["a", " ", "=", "é", "\t", "€"][(index * 7 + length) % 6] }.joined()
    }
    for sample in samples {
      let encoded = QuotedPrintable.encode(lines: [ArraySlice(Array(sample.utf8))])
      let text = String(decoding: encoded, as: UTF8.self)
      let lines = text.components(separatedBy: "\r\n").dropLast()
      #expect(lines.allSatisfy { $0.utf8.count <= 76 }, "\(sample)")
      #expect(lines.allSatisfy { !$0.hasSuffix(" ") && !$0.hasSuffix("\t") }, "\(sample)")
      #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
    }
  }
}
