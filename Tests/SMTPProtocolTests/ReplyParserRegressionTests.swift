import SMTPProtocol
import Testing

/// Cases the chunking property found (ReplyParserPropertyTests): before the fix, a line that broke the reply
/// limit gave one error whole and another when split, because the whole line's code (or the line limit) was
/// checked before the reply limit that a growing partial line reaches first.
@Suite struct ReplyParserRegressionTests {
  static let limits = ReplyLimits(lineOctets: 20, lines: 5, replyOctets: 30)

  static func error(_ chunks: [[UInt8]]) -> String? {
    var parser = ReplyParser(limits: limits)
    for chunk in chunks {
      parser.append(chunk)
      do {
        while try parser.nextReply() != nil {}
      } catch {
        return error.message
      }
    }
    return nil
  }

  @Test(arguments: [
    // A line without a code that no longer fits in the reply: "does not start with a 3-digit code" whole.
    "250-aaaaaaaaaa\r\nx234567890123\r\n",
    // A line over both limits, the reply's reached first: "reply line longer than 20 octets" whole.
    "250-aaaaaaaaaa\r\n250 bbbbbbbbbbbbbbbbbbbb\r\n",
  ])
  func aLineOverTheReplyLimitGivesOneErrorHoweverItIsSplit(text: String) {
    let bytes = Array(text.utf8)
    let whole = Self.error([bytes])
    #expect(whole == "reply longer than 30 octets")
    #expect(Self.error(bytes.map { [$0] }) == whole, "byte by byte")
    for offset in 0...bytes.count {
      #expect(Self.error([Array(bytes[..<offset]), Array(bytes[offset...])]) == whole, "split at \(offset)")
    }
  }
}
