/// Line splitting shared by composed and supplied messages. DESIGN §3.8: CRLF, a bare CR and a bare LF each
/// end a line, and each becomes CRLF on the wire.
enum LineEndings {
  static let crlf: [UInt8] = [0x0D, 0x0A]

  /// The lines of `bytes` without their endings, and whether the last line had an ending. Empty input has no
  /// lines.
  static func lines(of bytes: [UInt8]) -> (lines: [ArraySlice<UInt8>], lastLineEnded: Bool) {
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    var index = 0
    while index < bytes.count {
      switch bytes[index] {
      case 0x0D:
        lines.append(bytes[start..<index])
        index += (index + 1 < bytes.count && bytes[index + 1] == 0x0A) ? 2 : 1
        start = index
      case 0x0A:
        lines.append(bytes[start..<index])
        index += 1
        start = index
      default:
        index += 1
      }
    }
    if start < bytes.count {
      lines.append(bytes[start...])
      return (lines, false)
    }
    return (lines, true)
  }
}
