import SMTPProtocol
import Testing

/// Encodes `chunks` one after the other and finishes.
func encodeData(_ chunks: [[UInt8]]) -> (bytes: [UInt8], lines: Int, octets: Int) {
  var encoder = DataEncoder()
  var output: [UInt8] = []
  for chunk in chunks { encoder.encode(chunk, into: &output) }
  encoder.finish(into: &output)
  return (output, encoder.lineCount, encoder.byteCount)
}

@Suite struct DataEncoderTests {
  // (content, exact wire bytes after the 354, content lines, content octets) — written by hand.
  static let cases: [(String, String, Int, Int)] = [
    ("", ".\r\n", 0, 0),
    ("a\r\nb\r\n", "a\r\nb\r\n.\r\n", 2, 6),
    ("\n.\n", "\r\n..\r\n.\r\n", 2, 6),
    ("\r.\r\n", "\r\n..\r\n.\r\n", 2, 6),
    ("a\rb", "a\r\nb\r\n.\r\n", 2, 6),
    ("a\nb", "a\r\nb\r\n.\r\n", 2, 6),
    ("\r", "\r\n.\r\n", 1, 2),
    ("\n", "\r\n.\r\n", 1, 2),
    ("\r\r\n", "\r\n\r\n.\r\n", 2, 4),
    ("\n\r", "\r\n\r\n.\r\n", 2, 4),
    ("a\r", "a\r\n.\r\n", 1, 3),
    ("..\r\n", "...\r\n.\r\n", 1, 5),
    (".", "..\r\n.\r\n", 1, 4),
    (".\r\n", "..\r\n.\r\n", 1, 4),
    ("abc", "abc\r\n.\r\n", 1, 5),
    ("x.y\r\n.z", "x.y\r\n..z\r\n.\r\n", 2, 10),
    ("Subject: hi\r\n\r\n.\r\n..\r\nend", "Subject: hi\r\n\r\n..\r\n...\r\nend\r\n.\r\n", 5, 29),
    (" .\r\n", " .\r\n.\r\n", 1, 4),
  ]

  @Test(arguments: cases)
  func encodesWholeByteByByteAndSplitAnywhere(content: String, wire: String, lines: Int, octets: Int) {
    let input = Array(content.utf8)
    let expected = Array(wire.utf8)
    let whole = encodeData([input])
    #expect(whole.bytes == expected, "whole")
    #expect(whole.lines == lines)
    #expect(whole.octets == octets)
    #expect(encodeData(input.map { [$0] }).bytes == expected, "byte by byte")
    #expect(encodeData(input.map { [$0] } + [[]]).bytes == expected, "byte by byte, empty last chunk")
    for offset in 0...input.count {
      let split = encodeData([Array(input[..<offset]), Array(input[offset...])])
      #expect(split.bytes == expected, "split at \(offset)")
      #expect(split.lines == lines && split.octets == octets, "counts, split at \(offset)")
    }
  }

  @Test func eightBitAndNulBytesPassUnchanged() {
    let content: [UInt8] = [0xC3, 0xA9, 0x00, 0xFF, 0x0D, 0x0A]
    #expect(encodeData([content]).bytes == [0xC3, 0xA9, 0x00, 0xFF, 0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
  }
}
