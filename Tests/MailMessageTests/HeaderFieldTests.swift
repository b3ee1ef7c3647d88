import MailMessage
import Testing

@Suite struct HeaderFieldTests {
  @Test(arguments: [
    ("X-Mailer: Sealpost 1.0", "X-Mailer", "Sealpost 1.0"),
    ("Reply-To: team@example.org", "Reply-To", "team@example.org"),
    ("Sender: s@example.org", "Sender", "s@example.org"),
    ("In-Reply-To: <abc@example.org>", "In-Reply-To", "<abc@example.org>"),
    ("X-Empty:", "X-Empty", ""),
    ("X-Blank:   ", "X-Blank", ""),
    ("X-Tight:value", "X-Tight", "value"),
    ("X-Tab:\tvalue\twith tab  ", "X-Tab", "value\twith tab"),
    ("X-Odd!#$%&'*+.^_`|~: v", "X-Odd!#$%&'*+.^_`|~", "v"),
    ("X-Colon: a: b", "X-Colon", "a: b"),
    ("X-Greeting: Grüße aus Köln", "X-Greeting", "Grüße aus Köln"),
    ("Fromage: brie", "Fromage", "brie"),
    ("X-Content-Type: text/plain", "X-Content-Type", "text/plain"),
  ])
  func acceptsHeader(line: String, name: String, value: String) throws {
    let field = try HeaderField.userSupplied(line)
    #expect(field.name == name)
    #expect(field.value == value)
  }

  @Test(arguments: [
    ("X-Foo value", "expected 'Name: value'"),
    (": value", "name is empty"),
    ("X Foo: v", "' '"),
    ("X-Foo : v", "' '"),
    ("X-Fö: v", "'ö'"),
    ("X-Foo\u{0}: v", "NUL"),
    ("X-Foo\r\nBcc: evil@example.org", "carriage return"),
    ("X-Foo: a\r\nBcc: evil@example.org", "carriage return"),
    ("X-Foo: a\nBcc: evil@example.org", "line feed"),
    ("X-Foo: a\rb", "carriage return"),
    ("X-Foo: a\u{0}b", "NUL"),
    ("X-Foo: \u{1B}[2J", "U+001B"),
    ("X-Foo: a\u{7F}", "U+007F"),
    ("X-Foo: \u{85}", "U+0085"),
    (String(repeating: "X", count: 77) + ": v", "longer than 76"),
  ])
  func refusesInvalidHeader(line: String, reason: String) throws {
    let error = try #require(throws: MessageError.self) { try HeaderField.userSupplied(line) }
    #expect(error.kind == .invalidData)
    #expect(error.message.contains(reason), "\(error.message)")
    #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
  }

  @Test(arguments: [
    "From: a@example.org", "to: b@example.org", "CC: c@example.org", "bcc: d@example.org",
    "SUBJECT: hi", "Date: Sun, 29 Nov 2026 01:02:03 +0000", "message-id: <x@example.org>",
    "Mime-Version: 1.0", "Content-Type: text/html", "content-transfer-encoding: 8bit",
    "Content-Disposition: attachment", "Bcc: x@example.org\r\nX: y",
    // Issue 7: Resent-Bcc names blind recipients too; as a header it was sent for every recipient to read.
    "Resent-Bcc: x@example.org", "resent-bcc:x", "RESENT-BCC: ",
  ])
  func refusesReservedHeader(line: String) throws {
    let error = try #require(throws: MessageError.self) { try HeaderField.userSupplied(line) }
    #expect(error.kind == .reservedHeader)
    #expect(error.message.hasPrefix("--header cannot set "))
  }

  @Test func reservedHeaderNamesItsFlag() throws {
    let error = try #require(throws: MessageError.self) { try HeaderField.userSupplied("subject: x") }
    #expect(error.message == "--header cannot set subject: use --subject")
  }
}
