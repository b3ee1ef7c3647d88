import Accounts
import Foundation
import MailSender
import Testing

@testable import SendPlanning

/// Message assembly every front end shares (issue 8): addresses checked and named by field, Bcc only in the
/// envelope, each recipient once, the account's sender with its display name.
@Suite struct MessageAssemblyTests {
  static func fields(
    from: String? = nil, to: [String] = [], cc: [String] = [], bcc: [String] = [], subject: String? = nil,
    body: [UInt8] = [], headers: [String] = [], supplied: [UInt8]? = nil
  ) -> MessageFields {
    var fields = MessageFields()
    (fields.from, fields.to, fields.cc, fields.bcc) = (from, to, cc, bcc)
    (fields.subject, fields.body, fields.headers, fields.supplied) = (subject, body, headers, supplied)
    return fields
  }

  static let date = Date(timeIntervalSince1970: 1_790_000_000)

  static func text(_ message: AssembledMessage) -> String {
    String(decoding: message.content.bytes, as: UTF8.self)
  }

  @Test func bccIsInTheEnvelopeOnlyAndEveryRecipientIsThereOnce() throws {
    let message = try MessageAssembly.assemble(
      Self.fields(
        from: "a@example.org", to: ["b@example.org", "Zoë <z@example.org>"], cc: ["b@example.org"],
        bcc: ["hidden@example.org"], subject: "Hi", body: Array("Hello\n".utf8)),
      account: nil, date: Self.date)
    #expect(message.reversePath == "a@example.org")
    #expect(message.recipients == ["b@example.org", "z@example.org", "hidden@example.org"])
    #expect(!Self.text(message).contains("hidden@example.org"))
    #expect(Self.text(message).contains("Subject: Hi\r\n"))
  }

  /// RFC 5321 §2.4: `--to Bob@Example.org --cc bob@example.org` is one mailbox, so one RCPT TO (the first
  /// spelling); the header keeps what was written.
  @Test func aRecipientWhoseDomainDiffersOnlyInCaseIsInTheEnvelopeOnce() throws {
    let message = try MessageAssembly.assemble(
      Self.fields(
        from: "a@example.org", to: ["bob@Example.org"], cc: ["Carol <bob@example.ORG>", "Bob@example.org"],
        bcc: ["bob@EXAMPLE.org"], body: Array("Hello\n".utf8)),
      account: nil, date: Self.date)
    #expect(message.recipients == ["bob@Example.org", "Bob@example.org"])
    #expect(Self.text(message).contains("Cc: Carol <bob@example.ORG>, Bob@example.org\r\n"))
  }

  @Test func theAccountsSenderWithItsDisplayName() throws {
    let config = try AccountsConfig(
      parsing: "account a\nhost h.example\nfrom a@example.org\ndisplay_name \"Ann \\\"A\\\" Lee\"", path: "t",
      flavor: .sealpost, home: nil)
    let account = try #require(config.account(named: "a"))
    #expect(MessageAssembly.accountSender(account) == #""Ann \"A\" Lee" <a@example.org>"#)
    let message = try MessageAssembly.assemble(
      Self.fields(to: ["b@example.org"]), account: account, date: Self.date)
    #expect(message.reversePath == "a@example.org")
    #expect(Self.text(message).contains("From: \"Ann \\\"A\\\" Lee\" <a@example.org>\r\n"))
  }

  @Test(arguments: [
    (Self.fields(from: "a@example.org"), SendFailure.Category.usage, "no recipient: give To, Cc or Bcc"),
    (Self.fields(to: ["b@example.org"]), .usage, "no sender: give From (or set from in the account)"),
    (Self.fields(from: "a@example.org", to: ["not an address"]), .dataError, "To: "),
    (
      Self.fields(from: "a@example.org", to: ["b@example.org"], headers: ["Bcc: x@example.org"]), .usage,
      "Header: "
    ),
    (
      Self.fields(from: "a@example.org", to: ["b@example.org"], subject: "s", supplied: []), .usage,
      "Message is a complete message: it cannot be combined with Subject, Body or Header"
    ),
  ])
  func refusalsNameTheField(fields: MessageFields, category: SendFailure.Category, start: String) {
    let error = #expect(throws: PlanningError.self) {
      try MessageAssembly.assemble(fields, account: nil, date: Self.date)
    }
    #expect(error?.category == category)
    let words = error?.failure(naming: { $0.rawValue.prefix(1).uppercased() + $0.rawValue.dropFirst() })
      .message
    #expect(words?.hasPrefix(start) == true, "\(words ?? "")")
  }

  @Test func aSuppliedMessageKeepsItsBytesButLosesBcc() throws {
    let supplied = Array(
      "From: a@example.org\r\nTo: b@example.org\r\nBcc: c@example.org\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nBody\r\n"
        .utf8)
    let message = try MessageAssembly.assemble(
      Self.fields(from: "a@example.org", to: ["b@example.org"], supplied: supplied), account: nil,
      date: Self.date)
    #expect(
      Self.text(message)
        == "From: a@example.org\r\nTo: b@example.org\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nBody\r\n")
  }
}
