import Foundation
import PropertyTesting
import Testing

@testable import MailMessage

/// The MIME writer (issue 10): multipart/mixed with attachments, RFC 2231 file names, base64 as it is read,
/// the text part's encoding chosen by content and offer, boundaries that cannot occur, files that change.
@Suite struct MIMEMessageTests {
  static func composed(subject: String? = "Report", body: String = "See attached.\n") throws
    -> ComposedMessage
  {
    ComposedMessage(
      from: try Mailbox(parsing: "Zoë <zoe@bücher.example>"), to: [try Mailbox(parsing: "bob@example.net")],
      subject: subject, body: Array(body.utf8), date: ComposedGoldens.date, messageID: "m1@example.org",
      timeZone: ComposedGoldens.utc)
  }

  static func read(_ source: any MessageSource, offer: ContentOffer = .plain, bufferSize: Int = 64 << 10)
    throws
    -> [UInt8]
  {
    var reader = try source.open(for: offer)
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    while true {
      var result: Result<Int, MessageError> = .success(0)
      buffer.withUnsafeMutableBytes { raw in
        result = Result { () throws(MessageError) in try reader.read(into: raw) }
      }
      let count = try result.get()
      if count == 0 { return out }
      out += buffer[0..<count]
    }
  }

  /// Written by hand from RFC 2045/2046/2183/2231 and RFC 5891 (the From domain as an A-label).
  static let goldenMultipart =
    "From: =?UTF-8?B?Wm/Dqw==?= <zoe@xn--bcher-kva.example>\r\n"
    + "To: bob@example.net\r\n"
    + "Subject: Report\r\n"
    + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
    + "Message-ID: <m1@example.org>\r\n"
    + "MIME-Version: 1.0\r\n"
    + "Content-Type: multipart/mixed; boundary=\"=_test\"\r\n"
    + "\r\n"
    + "--=_test\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: 7bit\r\n"
    + "\r\n"
    + "See attached.\r\n"
    + "\r\n"
    + "--=_test\r\n"
    + "Content-Type: text/plain\r\n"
    + "Content-Disposition: attachment; filename=\"notes \\\"v2\\\".txt\"\r\n"
    + "Content-Transfer-Encoding: base64\r\n"
    + "\r\n"
    + "aGVsbG8=\r\n"
    + "--=_test\r\n"
    + "Content-Type: application/pdf\r\n"
    + "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
    + "Content-Transfer-Encoding: base64\r\n"
    + "\r\n"
    + "AAEC/w==\r\n"
    + "--=_test--\r\n"

  static func goldenAttachments() -> [MessageAttachment] {
    [
      MessageAttachment(fileName: "notes \"v2\".txt", source: InMemoryBytes(Array("hello".utf8))),
      MessageAttachment(fileName: "résumé.pdf", source: InMemoryBytes([0, 1, 2, 255])),
    ]
  }

  @Test func writesTheGoldenMultipartMessage() throws {
    let message = try MIMEMessage(
      try Self.composed(), attachments: Self.goldenAttachments(), boundaries: { "=_test" })
    let text = String(decoding: try Self.read(message), as: UTF8.self)
    #expect(text == Self.goldenMultipart)
  }

  @Test(arguments: [1, 2, 3, 7, 57, 4096])
  func readingInSmallPiecesGivesTheSameBytes(bufferSize: Int) throws {
    let message = try MIMEMessage(
      try Self.composed(body: String(repeating: "é line\n", count: 3000)),
      attachments: [
        MessageAttachment(fileName: "a.bin", source: InMemoryBytes((0..<70_000).map { UInt8($0 % 251) }))
      ])
    let whole = try Self.read(message)
    #expect(try Self.read(message, bufferSize: bufferSize) == whole)
    #expect(try message.bytes(for: .plain) == whole)
  }

  @Test func aBoundaryThatOccursInTheTextIsReplaced() throws {
    var candidates = ["=_first", "=_second"]
    let message = try MIMEMessage(
      try Self.composed(body: "before\n--=_first\nafter\n"),
      attachments: [MessageAttachment(fileName: "a.txt", source: InMemoryBytes([0x41]))],
      boundaries: { candidates.removeFirst() })
    let text = String(decoding: try Self.read(message), as: UTF8.self)
    #expect(text.contains("boundary=\"=_second\""))
    #expect(!text.contains("boundary=\"=_first\""))
  }

  @Test func boundariesAreRandomAndOutsideTheBase64Alphabet() throws {
    let one = MIMEMessage.makeBoundary()
    let two = MIMEMessage.makeBoundary()
    #expect(one != two)
    #expect(one.hasPrefix("=_") && one.count <= 70)
  }

  @Test func theTextEncodingFollowsTheContentAndTheOffer() throws {
    let eight = ContentOffer(eightBitMIME: true, smtpUTF8: false)
    func header(_ body: String, _ offer: ContentOffer) throws -> Bool {
      let text = String(
        decoding: try Self.read(try MIMEMessage(try Self.composed(body: body)), offer: offer), as: UTF8.self)
      return text.contains("Content-Transfer-Encoding: 8bit\r\n")
    }
    #expect(try !header("Grüße\n", .plain))
    #expect(try header("Grüße\n", eight))
    // A line over 998 octets is quoted-printable even where 8bit is allowed.
    #expect(try !header(String(repeating: "ü", count: 600) + "\n", eight))
    let ascii = String(
      decoding: try Self.read(try MIMEMessage(try Self.composed(body: "plain\n")), offer: eight),
      as: UTF8.self)
    #expect(ascii.contains("Content-Transfer-Encoding: 7bit\r\n"))
  }

  @Test func domainsStayAsTypedWhenTheServerOffersSMTPUTF8() throws {
    let message = try MIMEMessage(try Self.composed())
    let plain = String(decoding: try Self.read(message), as: UTF8.self)
    let utf8 = String(
      decoding: try Self.read(message, offer: ContentOffer(eightBitMIME: true, smtpUTF8: true)), as: UTF8.self
    )
    #expect(plain.contains("<zoe@xn--bcher-kva.example>"))
    #expect(utf8.contains("<zoe@bücher.example>"))
  }

  @Test(arguments: [0, 1, 2, 3, 56, 57, 58, 114, 57 * 1024 - 1, 57 * 1024, 57 * 1024 + 1, 200_003])
  func base64MatchesFoundationIn76ColumnLines(size: Int) throws {
    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    let message = try MIMEMessage(
      try Self.composed(), attachments: [MessageAttachment(fileName: "x", source: InMemoryBytes(bytes))],
      boundaries: { "=_b" })
    let text = String(decoding: try Self.read(message, bufferSize: 1000), as: UTF8.self)
    let start = try #require(text.range(of: "base64\r\n\r\n")).upperBound
    let end = try #require(text.range(of: "--=_b--", options: .backwards)).lowerBound
    let expected = Data(bytes).base64EncodedString(options: [
      .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
    ])
    #expect(String(text[start..<end]) == (expected.isEmpty ? "" : expected + "\r\n"))
  }

  @Test func longAndNonASCIIFileNamesUseRFC2231Continuations() {
    let long = String(repeating: "Grüße-", count: 20) + ".pdf"
    let lines = ContentDisposition.lines(fileName: long)
    #expect(lines.count > 2)
    #expect(lines[1].hasPrefix(" filename*0*=utf-8''Gr%C3%BC%C3%9Fe-"))
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    let ascii = ContentDisposition.lines(fileName: String(repeating: "a", count: 150) + ".txt")
    #expect(ascii[1] == " filename*0=\"" + String(repeating: "a", count: 60) + "\";")
    #expect(ascii.allSatisfy { $0.utf8.count <= 78 })
  }

  @Test func extensionsGiveTheMediaType() {
    #expect(MediaType.forFileName("Report.PDF") == "application/pdf")
    #expect(MediaType.forFileName("photo.jpeg") == "image/jpeg")
    #expect(MediaType.forFileName("archive.unknownext") == "application/octet-stream")
    #expect(MediaType.forFileName(".profile") == "application/octet-stream")
    #expect(MediaType.forFileName("Makefile") == "application/octet-stream")
  }

  // MARK: Files

  static func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "sealpost-mime-\(UUID().uuidString).bin"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func aFileThatChangesSizeBetweenPassesFailsThePass() throws {
    let path = try Self.temporaryFile(Array(repeating: 0x41, count: 1000))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let message = try MIMEMessage(try Self.composed(), attachments: [try MessageAttachment(path: path)])
    let first = try Self.read(message)
    #expect(try Self.read(message) == first)
    try Data(repeating: 0x42, count: 10).write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: MessageError.self) { try Self.read(message) }
    #expect(error?.kind == .invalidData)
    #expect(error?.message.contains("changed") == true)
  }

  @Test func aFileThatGrowsWhileItIsReadFailsThePass() throws {
    let path = try Self.temporaryFile(Array(repeating: 0x41, count: 100))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let source = try FileByteSource(path: path)
    var reader = try source.open()
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data([0x42]))
    try handle.close()
    var buffer = [UInt8](repeating: 0, count: 4096)
    let error = #expect(throws: MessageError.self) {
      while true {
        var result: Result<Int, MessageError> = .success(0)
        buffer.withUnsafeMutableBytes { raw in
          result = Result { () throws(MessageError) in try reader.read(into: raw) }
        }
        if try result.get() == 0 { break }
      }
    }
    #expect(error?.message.contains("grew") == true)
  }

  @Test func aMissingFileADirectoryAndAFIFOAreUnreadable() throws {
    let missing = NSTemporaryDirectory() + "sealpost-missing-\(UUID().uuidString)"
    #expect(throws: MessageError.self) { try MessageAttachment(path: missing) }
    let directory = #expect(throws: MessageError.self) { try MessageAttachment(path: NSTemporaryDirectory()) }
    #expect(directory?.kind == .unreadableInput)
    #expect(directory?.message.contains("directory") == true)
    let fifo = NSTemporaryDirectory() + "sealpost-fifo-\(UUID().uuidString)"
    #expect(mkfifo(fifo, 0o600) == 0)
    defer { unlink(fifo) }
    let error = #expect(throws: MessageError.self) { try MessageAttachment(path: fifo) }
    #expect(error?.kind == .unreadableInput)
  }

  // MARK: An independent parser

  /// Python's `email` (policy.default) reads the message with no defect in any part, and every part decodes to
  /// what was put in: the subject, the text with its 2,000-character line, each attachment byte for byte
  /// with its file name.
  @Test func pythonReadsEveryPartBackExactly() throws {
    let body =
      "Hallo,\n" + String(repeating: "x", count: 2000)
      + "\n.starts with a dot\n--=_ looks like a boundary\nTschüss\n"
    let binary = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    let names = [
      "résumé – 2026.pdf", "plain.txt", String(repeating: "Überlänge-", count: 12) + ".bin", "empty",
    ]
    let contents: [[UInt8]] = [binary, Array("hello\r\nworld".utf8), Array(binary.prefix(1234)), []]
    let composed = try Self.composed(subject: "Grüße aus Köln — 報告", body: body)
    let message = try MIMEMessage(
      composed,
      attachments: zip(names, contents).map { MessageAttachment(fileName: $0, source: InMemoryBytes($1)) })
    let script = """
      import sys, json, email, email.policy
      msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
      parts = []
      defects = [repr(d) for d in msg.defects]
      for part in msg.walk():
          defects += [repr(d) for d in part.defects]
          for name, value in part.items():
              defects += ['%s: %r' % (name, d) for d in getattr(value, 'defects', ())]
          if part.is_multipart():
              continue
          parts.append({"type": part.get_content_type(), "filename": part.get_filename(),
                        "payload": list(part.get_payload(decode=True)) if part.get_filename() is not None else None,
                        "text": part.get_content() if part.get_filename() is None else None})
      json.dump({"defects": defects, "subject": str(msg["subject"]), "from": str(msg["from"]), "parts": parts}, sys.stdout)
      """
    let output = try PythonOracle.run(script, input: Data(try Self.read(message)))
    let parsed = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
    #expect(parsed["defects"] as? [String] == [])
    #expect(parsed["subject"] as? String == "Grüße aus Köln — 報告")
    #expect(parsed["from"] as? String == "Zoë <zoe@xn--bcher-kva.example>")
    let parts = try #require(parsed["parts"] as? [[String: Any]])
    try #require(parts.count == 5)
    // Lines end in CRLF on the wire, and Python keeps them so.
    #expect((parts[0]["text"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n") == body)
    for (index, name) in names.enumerated() {
      #expect(parts[index + 1]["filename"] as? String == name)
      #expect((parts[index + 1]["payload"] as? [Int])?.map { UInt8($0) } == contents[index])
    }
    #expect(parts[1]["type"] as? String == "application/pdf")
  }
}
