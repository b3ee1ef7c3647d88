import Foundation
import MailMessage
import Testing

@Suite struct SuppliedMessageTests {
  static let date = Date(timeIntervalSince1970: 1_795_914_123)
  static let utc = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current

  static func prepared(_ text: String, messageID: String = "added@example.org") throws -> String {
    let message = try SuppliedMessage(bytes: Array(text.utf8))
    let bytes = try message.prepared(date: date, messageID: messageID, timeZone: utc)
    return String(decoding: bytes, as: UTF8.self)
  }

  @Test func removesEveryBccFieldWithItsContinuationLines() throws {
    let input =
      "Subject: hi\n"
      + "From: a@example.org\n"
      + "Bcc: secret1@example.org,\n"
      + "  secret2@example.org,\n"
      + "\tsecret3@example.org\n"
      + "To: b@example.org\n"
      + "bcc: x@example.org\n"
      + "BCC :y@example.org\n"
      + "Resent-Bcc: z@example.org\n"
      + "X-Bcc-Note: kept\n"
      + "Bccx: kept\n"
      + "Date: Sat, 28 Nov 2026 12:00:00 +0100\n"
      + "Message-ID: <m@example.org>\n"
      + "\n"
      + "Bcc: this is body text\n"
    let expected =
      "Subject: hi\r\n"
      + "From: a@example.org\r\n"
      + "To: b@example.org\r\n"
      + "X-Bcc-Note: kept\r\n"
      + "Bccx: kept\r\n"
      + "Date: Sat, 28 Nov 2026 12:00:00 +0100\r\n"
      + "Message-ID: <m@example.org>\r\n"
      + "\r\n"
      + "Bcc: this is body text\r\n"
    #expect(try Self.prepared(input) == expected)
  }

  @Test(arguments: [
    // Both missing: added at the end of the header block, Date first.
    (
      "From: a@example.org\nTo: b@example.org\n\nbody\n",
      "From: a@example.org\r\nTo: b@example.org\r\nDate: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
        + "Message-ID: <added@example.org>\r\n\r\nbody\r\n"
    ),
    // Only Message-ID missing (names are case-insensitive).
    (
      "DATE: Mon, 1 Jan 2024 00:00:00 -0000\nFrom: a@example.org\n\nbody\n",
      "DATE: Mon, 1 Jan 2024 00:00:00 -0000\r\nFrom: a@example.org\r\nMessage-ID: <added@example.org>\r\n"
        + "\r\nbody\r\n"
    ),
    // Only Date missing.
    (
      "From: a@example.org\nmessage-id: <own@example.org>\n\nbody\n",
      "From: a@example.org\r\nmessage-id: <own@example.org>\r\nDate: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
        + "\r\nbody\r\n"
    ),
    // Both present: nothing added.
    (
      "Message-ID: <own@example.org>\nFrom: a@example.org\nDate: Mon, 1 Jan 2024 00:00:00 -0000\n\nbody\n",
      "Message-ID: <own@example.org>\r\nFrom: a@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 -0000\r\n"
        + "\r\nbody\r\n"
    ),
    // A header block without a body: the fields go at its end, no empty line is invented.
    (
      "From: a@example.org\nSubject: x",
      "From: a@example.org\r\nSubject: x\r\nDate: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
        + "Message-ID: <added@example.org>\r\n"
    ),
    // A Date inside the body does not count.
    (
      "From: a@example.org\nMessage-ID: <own@example.org>\n\nDate: tomorrow\n",
      "From: a@example.org\r\nMessage-ID: <own@example.org>\r\nDate: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
        + "\r\nDate: tomorrow\r\n"
    ),
  ])
  func addsDateAndMessageIDOnlyWhenMissing(input: String, expected: String) throws {
    #expect(try Self.prepared(input) == expected)
  }

  static let head =
    "From: a@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 -0000\r\nMessage-ID: <m@example.org>\r\n"

  @Test(arguments: [
    // The empty line ends like the header's lines (LF here); the body's lines end any way.
    ("\nbody\r\n", "\r\nbody\r\n"),
    ("\nbody\n", "\r\nbody\r\n"),
    ("\nbody\r", "\r\nbody\r\n"),
    ("\none\r\ntwo\nthree\rfour", "\r\none\r\ntwo\r\nthree\r\nfour\r\n"),
    // LF then CR is two line breaks; CR CR LF is two as well.
    ("\na\n\rb\r\r\nc\n", "\r\na\r\n\r\nb\r\n\r\nc\r\n"),
    // Body bytes stay as written: trailing spaces, '=', dots, tabs.
    ("\n.leading dot \n= sign\t\n\n\n", "\r\n.leading dot \r\n= sign\t\r\n\r\n\r\n"),
    ("\n", "\r\n"),
  ])
  func normalisesLineEndingsOnly(body: String, expected: String) throws {
    let input = Self.head.replacingOccurrences(of: "\r\n", with: "\n") + body
    #expect(try Self.prepared(input) == Self.head + expected)
  }

  @Test func keepsNonUTF8BodyBytes() throws {
    let input = Array((Self.head + "\r\n").utf8) + [0xFF, 0xFE, 0x41, 0x0A]
    let message = try SuppliedMessage(bytes: input)
    let output = try message.prepared(date: Self.date, messageID: "x@example.org")
    #expect(output == Array((Self.head + "\r\n").utf8) + [0xFF, 0xFE, 0x41, 0x0D, 0x0A])
    #expect(message.has8BitBody)
    #expect(!message.has8BitHeaders)
  }

  @Test(arguments: [
    ("From: a@example.org\n\nplain\n", false, false),
    ("From: a@example.org\n\nGrüße\n", false, true),
    ("From: Zoë <z@example.org>\n\nplain\n", true, false),
    ("From: a@example.org\nSubject: x\n  über\n\nGrüße\n", true, true),
    ("From: a@example.org\nSubject: Grüße", true, false),
  ])
  func reportsEightBitContent(input: String, headers: Bool, body: Bool) throws {
    let message = try SuppliedMessage(bytes: Array(input.utf8))
    #expect(message.has8BitHeaders == headers)
    #expect(message.has8BitBody == body)
  }

  @Test(arguments: [
    "From: a@example.org\nX-Long: " + String(repeating: "h", count: 998 - 8) + "\n\nbody\n",
    "From: a@example.org\n\nline\n" + String(repeating: "b", count: 998) + "\r\n",
    "From: a@example.org\n\n" + String(repeating: "b", count: 998),
  ])
  func accepts998OctetLines(input: String) throws {
    let message = try SuppliedMessage(bytes: Array(input.utf8))
    let output = try message.prepared(date: Self.date, messageID: "x@example.org")
    let lines = String(decoding: output, as: UTF8.self).components(separatedBy: "\r\n")
    #expect(lines.contains { $0.utf8.count == 998 })
    #expect(lines.allSatisfy { $0.utf8.count <= 998 })
  }

  @Test(arguments: [
    ("From: a@example.org\nX-Long: " + String(repeating: "h", count: 999 - 8) + "\n\nbody\n", 2),
    ("From: a@example.org\n\nline\n" + String(repeating: "b", count: 999) + "\r\n", 4),
    ("From: a@example.org\n\n" + String(repeating: "b", count: 999), 3),
    ("From: a@example.org\r\n\r\nline\r" + String(repeating: "b", count: 1500) + "\r", 4),
  ])
  func refuses999OctetLines(input: String, lineNumber: Int) throws {
    let error = try #require(throws: MessageError.self) { try SuppliedMessage(bytes: Array(input.utf8)) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains("line \(lineNumber) is "), "\(error.message)")
    #expect(error.message.contains("998"))
  }

  @Test(arguments: [
    ("From: a@example.org\nSubject: a\u{0}b\n\nbody\n", "line 2 contains a NUL byte"),
    ("From: a@example.org\n\nbody\nnul\u{0}\n", "line 4 contains a NUL byte"),
    ("", "no header block"),
    ("\nbody\n", "no header block"),
    ("\r\nFrom: a@example.org\r\n", "no header block"),
    ("To: b@example.org\nSubject: x\n\nbody\n", "no From field"),
    ("To: b@example.org\n\nFrom: a@example.org\n", "no From field"),
    ("From: a@example.org\nFrom: b@example.org\n\nbody\n", "more than one From"),
    (
      "From a@example.org Sat Nov 28 12:00:00 2026\nFrom: a@example.org\n\nbody\n",
      "line 1 has an invalid header field name"
    ),
    ("From: a@example.org\nthis is body without a blank line\n", "line 2 is neither"),
    (" folded: x\nFrom: a@example.org\n\nbody\n", "line 1 starts with whitespace"),
    ("From: a@example.org\n: empty name\n\nbody\n", "line 2 has an invalid header field name"),
    ("From: a@example.org\nX Bad: name\n\nbody\n", "line 2 has an invalid header field name"),
    (
      "From: a@example.org\nSubject: \u{1B}[2J\n\nbody\n",
      "line 2 (in the header) contains the control byte 0x1B"
    ),
    ("From: a@example.org\nSubject: x\u{7F}\n\nbody\n", "control byte 0x7F"),
  ])
  func refusesMessage(input: String, reason: String) throws {
    let error = try #require(throws: MessageError.self) { try SuppliedMessage(bytes: Array(input.utf8)) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains(reason), "\(error.message)")
  }

  /// Issue 7: with `\r\r\n` line ends, a reader taking the bare CR as a line end would end the header after the
  /// first field and deliver To, Subject and Bcc as body text every recipient reads.
  @Test func refusesTheBareCRThatMovedABccIntoTheBody() throws {
    let input =
      "From: a@example.org\r\r\nTo: b@example.org\r\r\nSubject: hi\r\r\nBcc: hidden@example.org\r\r\n\r\r\nbody\r\r\n"
    let error = try #require(throws: MessageError.self) { try SuppliedMessage(bytes: Array(input.utf8)) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains("line 1 (in the header) ends with a bare CR"), "\(error.message)")
  }

  @Test(arguments: [
    // CRLF header with a stray CR or LF inside or at a line end.
    ("From: a@example.org\r\nSubject: a\rb\r\n\r\nbody\r\n", "line 2 (in the header) contains a bare CR"),
    (
      "From: a@example.org\r\nSubject: hi\nBcc: h@example.org\r\n\r\nbody\r\n",
      "line 2 (in the header) contains a bare LF"
    ),
    (
      "From: a@example.org\r\nTo: b@example.org\r\r\nBcc: h@example.org\r\n\r\n",
      "line 2 (in the header) contains a bare CR"
    ),
    // The empty line that ends the header counts too.
    ("From: a@example.org\r\nBcc: h@example.org\r\n\nbody\r\n", "line 3 (in the header) contains a bare LF"),
    ("From: a@example.org\r\n\r\r\nBcc: h@example.org\r\n", "line 2 (in the header) contains a bare CR"),
    // LF header with a CR.
    (
      "From: a@example.org\nSubject: hi\rBcc: h@example.org\n\nbody\n",
      "line 2 (in the header) contains a bare CR"
    ),
    (
      "From: a@example.org\nSubject: hi\r\nBcc: h@example.org\n\nbody\n",
      "line 2 (in the header) ends with CRLF where line 1 ends with LF alone"
    ),
    ("From: a@example.org\n\r\nBcc: h@example.org\n", "line 2 (in the header) ends with CRLF"),
    // A bare CR as the line end of the header (old Mac style) is refused, even at the very end.
    ("From: a@example.org\rBcc: h@example.org\r\rbody\r", "line 1 (in the header) ends with a bare CR"),
    ("From: a@example.org\r", "line 1 (in the header) ends with a bare CR"),
    ("From: a@example.org\r\nSubject: x\r", "line 2 (in the header) contains a bare CR"),
  ])
  func refusesABareCROrLFInTheHeader(input: String, reason: String) throws {
    let error = try #require(throws: MessageError.self) { try SuppliedMessage(bytes: Array(input.utf8)) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains(reason), "\(error.message)")
  }

  @Test(arguments: [
    // Consistent headers, whatever the body does: the body's bare CRs and LFs become CRLF (DESIGN §3.8).
    ("From: a@example.org\r\nBcc: h@example.org\r\n\r\none\rtwo\nthree\r\n", "one\r\ntwo\r\nthree\r\n"),
    ("From: a@example.org\nBcc: h@example.org\n\none\rtwo\r\nthree\n", "one\r\ntwo\r\nthree\r\n"),
  ])
  func acceptsAConsistentHeaderWithAnyBodyLineEnds(input: String, body: String) throws {
    let output = try Self.prepared(input)
    #expect(output.hasPrefix("From: a@example.org\r\nDate: "), "\(output)")
    #expect(output.hasSuffix("\r\n\r\n" + body), "\(output)")
    #expect(!output.lowercased().contains("bcc"))
  }

  @Test func controlBytesInTheBodyAreSentUnchanged() throws {
    let output = try Self.prepared(Self.head + "\r\n\u{1B}[0m\u{7F}\t\r\n")
    #expect(output == Self.head + "\r\n\u{1B}[0m\u{7F}\t\r\n")
  }

  @Test(arguments: ["<x@example.org>", "x", "x@example.org\r\nBcc: evil@example.org"])
  func refusesInvalidMessageIDWhenOneIsAdded(id: String) throws {
    let message = try SuppliedMessage(bytes: Array("From: a@example.org\n\nbody\n".utf8))
    #expect(throws: MessageError.self) { try message.prepared(date: Self.date, messageID: id) }
    // A message with its own Message-ID does not use the argument.
    let own = try SuppliedMessage(bytes: Array((Self.head + "\r\nbody\r\n").utf8))
    #expect(try own.prepared(date: Self.date, messageID: id) == Array((Self.head + "\r\nbody\r\n").utf8))
  }

  @Test func keepsHeaderOrderAndFoldingOfOtherFields() throws {
    let input =
      "Received: from relay by mx; Sat, 28 Nov 2026 12:00:00 +0000\n"
      + "X-Custom:   spaced   value  \n"
      + "Subject: a folded\n"
      + "\tsubject line\n"
      + "To: b@example.org,\n"
      + " c@example.org\n"
      + "From: a@example.org\n"
      + "Content-Type: text/plain; charset=\"iso-8859-1\"\n"
      + "Date: Mon, 1 Jan 2024 00:00:00 -0000\n"
      + "Message-ID: <m@example.org>\n"
      + "\n"
      + "body\n"
    #expect(try Self.prepared(input) == input.replacingOccurrences(of: "\n", with: "\r\n"))
  }
}
