import Testing

@testable import MailMessage

/// The conformance linter for `--message` (issue 10 item 5): what is added, what is normalised, what the
/// server must offer, a From that is not the envelope sender; each with its line number.
@Suite struct MessageLintTests {
  static func findings(_ text: String, sender: String = "a@example.org") throws -> [MessageFinding] {
    try SuppliedMessage(bytes: Array(text.utf8)).lint(envelopeSender: sender)
  }

  static let complete =
    "From: Ann <a@example.org>\r\nTo: b@example.org\r\nDate: Sat, 28 Nov 2026 12:00:00 +0100\r\n"
    + "Message-ID: <m@example.org>\r\n\r\nHello\r\n"

  @Test func aConformingMessageHasNoFindings() throws {
    #expect(try Self.findings(Self.complete) == [])
    // The envelope sender's domain compares without case and as A-labels.
    #expect(try Self.findings(Self.complete, sender: "a@EXAMPLE.org") == [])
    let idn = Self.complete.replacingOccurrences(of: "<a@example.org>", with: "<a@xn--bcher-kva.example>")
    #expect(try Self.findings(idn, sender: "a@bücher.example") == [])
  }

  @Test func aMissingDateAndMessageIDAreReported() throws {
    let texts = try Self.findings("From: a@example.org\r\nTo: b@example.org\r\n\r\nHi\r\n").map(\.text)
    #expect(
      texts == [
        "the message has no Date field: one is added", "the message has no Message-ID field: one is added",
      ])
  }

  @Test func bareLineEndsAreReportedWithTheirLineNumbers() throws {
    let text = Self.complete + "one\rtwo\nthree\r\nfour\nfive"
    let findings = try Self.findings(text).map(\.text)
    #expect(findings.contains("line 7 (in the body) ends with a bare CR: sent as CRLF"))
    #expect(findings.contains("line 8 (in the body) ends with a bare LF (2 lines in all): sent as CRLF"))
    let lf = try Self.findings(Self.complete.replacingOccurrences(of: "\r\n", with: "\n")).map(\.text)
    #expect(lf == [])
    let lfWithCR = try Self.findings(Self.complete.replacingOccurrences(of: "\r\n", with: "\n") + "a\rb\n")
    #expect(lfWithCR.map(\.text) == ["line 7 (in the body) ends with a bare CR: sent as CRLF"])
  }

  @Test func eightBitTextIsReportedWithItsLine() throws {
    let text =
      Self.complete.replacingOccurrences(of: "To: b@example.org", with: "To: Zoë <z@example.org>")
      + "Grüße\r\n"
    let findings = try Self.findings(text).map(\.text)
    #expect(findings.contains { $0.hasPrefix("line 2 (in the header) has raw 8-bit text") })
    #expect(findings.contains { $0.hasPrefix("line 7 (in the body) has 8-bit text") })
  }

  @Test(arguments: [
    "From: Mallory <m@example.net>",
    "From: \"a@example.org\" <m@example.net>",
    "From: m@example.net (a@example.org)",
    "From: A@example.org",
  ])
  func aFromThatIsNotTheEnvelopeSenderIsAWarning(from: String) throws {
    let text = Self.complete.replacingOccurrences(of: "From: Ann <a@example.org>", with: from)
    let findings = try Self.findings(text)
    #expect(findings.count == 1)
    #expect(findings.first?.level == .warning)
    #expect(findings.first?.text.hasPrefix("line 1: the From field (") == true)
    #expect(findings.first?.text.contains("a@example.org)") == false)
  }

  @Test(arguments: [
    "From: a@example.org",
    "From: \"Doe, Ann\" <a@example.org>",
    "From: (comment) a@example.org",
    "From: Ann\r\n <a@example.org>",
    "From: b@example.net, Ann <a@example.org>",
  ])
  func aFromThatHoldsTheEnvelopeSenderIsFine(from: String) throws {
    let text = Self.complete.replacingOccurrences(of: "From: Ann <a@example.org>", with: from)
    #expect(try Self.findings(text) == [])
  }

  @Test func refusalsNameTheLine() {
    let long = Self.complete + String(repeating: "x", count: 999) + "\r\n"
    let error = #expect(throws: MessageError.self) { try SuppliedMessage(bytes: Array(long.utf8)) }
    #expect(error?.message.contains("line 7 is 999 octets long") == true)
  }
}
