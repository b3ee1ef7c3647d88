import Foundation
import MailMessage
import PropertyTesting
import Testing

/// Golden messages written by hand from RFC 5322, RFC 2045 and RFC 2047, not recorded from the code.
enum ComposedGoldens {
  /// Sun, 29 Nov 2026 01:02:03 UTC.
  static let date = Date(timeIntervalSince1970: 1_795_914_123)
  static let utc = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current

  static func asciiMessage() throws -> ComposedMessage {
    ComposedMessage(
      from: try Mailbox(parsing: "Alice Example <alice@example.org>"),
      to: [try Mailbox(parsing: "bob@example.net")],
      subject: "Lunch on Friday?",
      body: Array("Hi Bob,\nsee you at noon.\n\n-- \nAlice\n".utf8),
      extraHeaders: [try HeaderField.userSupplied("X-Mailer: Sealpost")],
      date: date, messageID: "20261129010203.abc@example.org", timeZone: utc)
  }

  static let asciiExpected =
    "From: Alice Example <alice@example.org>\r\n"
    + "To: bob@example.net\r\n"
    + "Subject: Lunch on Friday?\r\n"
    + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
    + "Message-ID: <20261129010203.abc@example.org>\r\n"
    + "X-Mailer: Sealpost\r\n"
    + "MIME-Version: 1.0\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: 7bit\r\n"
    + "\r\n"
    + "Hi Bob,\r\n"
    + "see you at noon.\r\n"
    + "\r\n"
    + "-- \r\n"
    + "Alice\r\n"

  static func internationalMessage() throws -> ComposedMessage {
    ComposedMessage(
      from: try Mailbox(parsing: "Zoë <zoe@example.org>"),
      to: [
        try Mailbox(parsing: "\"Doe, Jane\" <jane@example.com>"),
        try Mailbox(parsing: "bob@example.net"),
        try Mailbox(parsing: "Carol Longname-Example <carol.longname@example.com>"),
      ],
      cc: [try Mailbox(parsing: "dave@example.net")],
      bcc: [try Mailbox(parsing: "Hidden <hidden@example.org>")],
      subject: "Grüße aus Köln",
      // Mixed line endings, a trailing space, '=', non-ASCII, and no final line break.
      body: Array("Hallo Jane,\r\nder Preis ist 5 € = 5 Euro.\rTschüss \n\nZoë".utf8),
      extraHeaders: [
        try HeaderField.userSupplied("Reply-To: zoe@example.org"),
        try HeaderField.userSupplied("X-Note: Grüße"),
      ],
      date: date, messageID: "c0ffee@example.org", timeZone: utc)
  }

  static let internationalExpected =
    "From: =?UTF-8?B?Wm/Dqw==?= <zoe@example.org>\r\n"
    + "To: \"Doe, Jane\" <jane@example.com>, bob@example.net, Carol Longname-Example\r\n"
    + " <carol.longname@example.com>\r\n"
    + "Cc: dave@example.net\r\n"
    + "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
    + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
    + "Message-ID: <c0ffee@example.org>\r\n"
    + "Reply-To: zoe@example.org\r\n"
    + "X-Note: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
    + "MIME-Version: 1.0\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: quoted-printable\r\n"
    + "\r\n"
    + "Hallo Jane,\r\n"
    + "der Preis ist 5 =E2=82=AC =3D 5 Euro.\r\n"
    + "Tsch=C3=BCss=20\r\n"
    + "\r\n"
    + "Zo=C3=AB\r\n"

  static func blindMessage() throws -> ComposedMessage {
    ComposedMessage(
      from: try Mailbox(parsing: "<robot@example.org>"),
      to: [],
      bcc: [try Mailbox(parsing: "a@example.net"), try Mailbox(parsing: "b@example.net")],
      body: Array(("short\n" + String(repeating: "x", count: 1000) + "\n").utf8),
      date: date, messageID: "blind@example.org", timeZone: utc)
  }

  static let blindExpected =
    "From: robot@example.org\r\n"
    + "To: undisclosed-recipients:;\r\n"
    + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\n"
    + "Message-ID: <blind@example.org>\r\n"
    + "MIME-Version: 1.0\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: quoted-printable\r\n"
    + "\r\n"
    + "short\r\n"
    + String(repeating: String(repeating: "x", count: 75) + "=\r\n", count: 13)
    + String(repeating: "x", count: 25) + "\r\n"

  static func all() throws -> [(message: ComposedMessage, expected: String)] {
    [
      (try asciiMessage(), asciiExpected),
      (try internationalMessage(), internationalExpected),
      (try blindMessage(), blindExpected),
    ]
  }
}

@Suite struct ComposedMessageTests {
  @Test(arguments: 0..<3)
  func rendersGoldenMessage(index: Int) throws {
    let golden = try ComposedGoldens.all()[index]
    let rendered = try golden.message.rendered()
    #expect(rendered == Array(golden.expected.utf8))
    // Easier to read when it fails:
    #expect(String(decoding: rendered, as: UTF8.self) == golden.expected)
  }

  @Test func bccIsNeverWritten() throws {
    let rendered = try ComposedGoldens.internationalMessage().rendered()
    let text = String(decoding: rendered, as: UTF8.self)
    #expect(!text.lowercased().contains("bcc"))
    #expect(!text.contains("hidden@example.org"))
  }

  @Test func onlyCcRecipientsLeaveOutTo() throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [], cc: [try Mailbox(parsing: "c@example.org")],
      date: ComposedGoldens.date, messageID: "x@example.org", timeZone: ComposedGoldens.utc)
    let text = String(decoding: try message.rendered(), as: UTF8.self)
    #expect(text.hasPrefix("From: a@example.org\r\nCc: c@example.org\r\nDate: "))
    #expect(!text.contains("To:"))
  }

  @Test func emptyBodyEndsAfterTheHeader() throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      subject: "", date: ComposedGoldens.date, messageID: "x@example.org", timeZone: ComposedGoldens.utc)
    let text = String(decoding: try message.rendered(), as: UTF8.self)
    #expect(
      text
        == "From: a@example.org\r\nTo: b@example.org\r\nSubject:\r\n"
        + "Date: Sun, 29 Nov 2026 01:02:03 +0000\r\nMessage-ID: <x@example.org>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
  }

  @Test(arguments: [
    // (body, expected encoding)
    ("plain\n", "7bit"),
    ("bare\rcarriage return\r", "7bit"),
    ("control \u{1B} is 7-bit\n", "7bit"),
    (String(repeating: "y", count: 998) + "\r\n", "7bit"),
    (String(repeating: "y", count: 999) + "\r\n", "quoted-printable"),
    ("nul \u{0} byte\n", "quoted-printable"),
    ("é\n", "quoted-printable"),
  ])
  func choosesTransferEncoding(body: String, encoding: String) throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      body: Array(body.utf8), date: ComposedGoldens.date, messageID: "x@example.org")
    let rendered = try message.rendered()
    let text = String(decoding: rendered, as: UTF8.self)
    #expect(text.contains("\r\nContent-Transfer-Encoding: \(encoding)\r\n\r\n"))
    Self.expectWellFormed(rendered)
  }

  /// Every line ends in CRLF, no bare CR or LF, no line over 998 octets, and only 7-bit octets.
  static func expectWellFormed(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(bytes.suffix(2) == [0x0D, 0x0A], sourceLocation: sourceLocation)
    var lineLength = 0
    for (index, byte) in bytes.enumerated() {
      if byte == 0x0D {
        #expect(
          index + 1 < bytes.count && bytes[index + 1] == 0x0A, "bare CR", sourceLocation: sourceLocation)
        continue
      }
      if byte == 0x0A {
        #expect(index > 0 && bytes[index - 1] == 0x0D, "bare LF", sourceLocation: sourceLocation)
        #expect(lineLength <= 998, sourceLocation: sourceLocation)
        lineLength = 0
        continue
      }
      #expect(byte != 0 && byte < 0x80, "byte \(byte) at \(index)", sourceLocation: sourceLocation)
      lineLength += 1
    }
  }

  @Test func longHeadersStayWithinLimits() throws {
    let many = try (0..<40).map { index throws(MessageError) in
      try Mailbox(parsing: "Person Number\(index) With A Long Name <person.number.\(index)@example.org>")
    }
    let message = ComposedMessage(
      from: try Mailbox(parsing: "\"" + String(repeating: "n", count: 1200) + "\" <a@example.org>"),
      to: many, cc: many,
      subject: String(repeating: "Ünïcödé ", count: 200) + String(repeating: "z", count: 1500),
      extraHeaders: [try HeaderField.userSupplied("X-Long: " + String(repeating: "w ", count: 800))],
      date: ComposedGoldens.date, messageID: "x@example.org")
    let rendered = try message.rendered()
    Self.expectWellFormed(rendered)
    let header = String(decoding: rendered, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
    #expect(header.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
  }

  @Test(arguments: [
    "<abc@example.org>", "abc", "a b@example.org", "abc@example.org\r\nBcc: x@evil.example", "@example.org",
    "abc@", "a..b@example.org", "abc@[1.2.3.4", "abc@exa mple.org",
  ])
  func refusesInvalidMessageID(id: String) throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      date: ComposedGoldens.date, messageID: id)
    let error = try #require(throws: MessageError.self) { try message.rendered() }
    #expect(error.kind == .invalidData)
    #expect(error.message.hasPrefix("invalid Message-ID"))
    #expect(!error.message.contains("\r"))
  }

  @Test(arguments: ["Hello\r\nBcc: evil@example.org", "a\nb", "nul\u{0}", "esc \u{1B}[2J", "\u{85}"])
  func refusesControlsInSubject(subject: String) throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      subject: subject, date: ComposedGoldens.date, messageID: "x@example.org")
    let error = try #require(throws: MessageError.self) { try message.rendered() }
    #expect(error.kind == .invalidData)
    #expect(error.message.hasPrefix("invalid subject"))
  }

  @Test func aTabInTheSubjectIsKept() throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      subject: "a\tb", date: ComposedGoldens.date, messageID: "x@example.org")
    #expect(String(decoding: try message.rendered(), as: UTF8.self).contains("\r\nSubject: a\tb\r\n"))
  }

  @Test(arguments: [[0xFF], [0x61, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80]] as [[UInt8]])
  func refusesBodyThatIsNotUTF8(body: [UInt8]) throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      body: body, date: ComposedGoldens.date, messageID: "x@example.org")
    let error = try #require(throws: MessageError.self) { try message.rendered() }
    #expect(error.message.contains("not UTF-8"))
  }

  @Test func recipientsAreToCcAndBccOnce() throws {
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"),
      to: [try Mailbox(parsing: "b@example.org"), try Mailbox(parsing: "B <b@example.org>")],
      cc: [try Mailbox(parsing: "c@example.org")],
      bcc: [try Mailbox(parsing: "d@example.org"), try Mailbox(parsing: "c@example.org")],
      date: ComposedGoldens.date, messageID: "x@example.org")
    #expect(message.recipients.map(\.address) == ["b@example.org", "c@example.org", "d@example.org"])
    #expect(!message.requiresSMTPUTF8)
  }

  @Test func internationalAddressRequiresSMTPUTF8() throws {
    var message = try ComposedGoldens.asciiMessage()
    #expect(!message.requiresSMTPUTF8)
    message.bcc = [try Mailbox(parsing: "用户@例子.广告")]
    #expect(message.requiresSMTPUTF8)
    #expect(try message.rendered() == Array(ComposedGoldens.asciiExpected.utf8))
  }

  @Test(
    arguments: [
      (1_795_914_123, 0, "Sun, 29 Nov 2026 01:02:03 +0000"),
      (1_795_914_123.999, 0, "Sun, 29 Nov 2026 01:02:03 +0000"),
      (0, 0, "Thu, 01 Jan 1970 00:00:00 +0000"),
      (-1, 0, "Wed, 31 Dec 1969 23:59:59 +0000"),
      (951_782_400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"),
      (1_795_914_123, 19_800, "Sun, 29 Nov 2026 06:32:03 +0530"),
      (1_795_914_123, -28_800, "Sat, 28 Nov 2026 17:02:03 -0800"),
      // A zone with seconds (red team: TZ='<+0530>-5:30:30'): the field has minutes only, so the time is that
      // instant in the zone cut to whole minutes toward zero, never 30 s off.
      (1_795_914_123, 19_830, "Sun, 29 Nov 2026 06:32:03 +0530"),
      (1_795_914_123, -12_630, "Sat, 28 Nov 2026 21:32:03 -0330"),
    ] as [(Double, Int, String)])
  func formatsDate(seconds: Double, offset: Int, expected: String) throws {
    let zone = try #require(TimeZone(secondsFromGMT: offset))
    #expect(ComposedMessage.rfc5322Date(Date(timeIntervalSince1970: seconds), timeZone: zone) == expected)
  }

  @Test(
    arguments: [
      (1_795_914_123, "Sat, 28 Nov 2026 20:02:03 -0500"),
      (1_782_000_000, "Sat, 20 Jun 2026 20:00:00 -0400"),
    ] as [(Double, String)])
  func formatsDateInANamedZone(seconds: Double, expected: String) throws {
    let zone = try #require(TimeZone(identifier: "America/New_York"))
    #expect(ComposedMessage.rfc5322Date(Date(timeIntervalSince1970: seconds), timeZone: zone) == expected)
  }

  /// No zone given: the local zone from the C library, which must agree with Foundation's reading of the same
  /// zone over a century of dates (summer time included where this machine's zone has it).
  @Test func withoutAZoneTheDateIsLocalAsFoundationHasIt() throws {
    var generator = SplitMix64(seed: 14)
    for _ in 0..<200 {
      let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800, using: &generator)))
      #expect(
        ComposedMessage.rfc5322Date(date) == ComposedMessage.rfc5322Date(date, timeZone: TimeZone.current),
        "\(date)")
    }
  }

  @Test func makesRandomMessageIDs() throws {
    let ids = (0..<50).map { _ in ComposedMessage.makeMessageID(domain: "example.org") }
    #expect(Set(ids).count == ids.count)
    for id in ids {
      let parts = id.split(separator: "@")
      #expect(parts.count == 2)
      #expect(parts[0].count == 32)
      #expect(parts[0].allSatisfy { $0.isHexDigit && !$0.isUppercase })
      #expect(parts[1] == "example.org")
    }
    let message = ComposedMessage(
      from: try Mailbox(parsing: "a@example.org"), to: [try Mailbox(parsing: "b@example.org")],
      date: ComposedGoldens.date, messageID: ComposedMessage.makeMessageID(domain: "example.org"))
    #expect(throws: Never.self) { try message.rendered() }
  }
}
