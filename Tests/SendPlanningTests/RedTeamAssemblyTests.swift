import Foundation
import MailMessage
import MailSender
import Testing

@testable import SendPlanning

/// Red team findings in the assembly every front end shares: the recipient bound the CLI kept in its own flag
/// handling, which the composer and a `--message` header did not get.
@Suite struct RedTeamAssemblyTests {
  static let date = Date(timeIntervalSince1970: 1_790_000_000)

  static func addresses(_ count: Int) -> [String] { (0..<count).map { "r\($0)@example.org" } }

  @Test func aMessageHeaderNamingMoreThanAThousandRecipientsIsRefused() throws {
    let header = "From: a@example.org\nTo: " + Self.addresses(1001).joined(separator: ",\n ")
    var fields = MessageFields()
    fields.supplied = Array((header + "\n\nbody\n").utf8)
    let error = #expect(throws: PlanningError.self) {
      try MessageAssembly.assemble(fields, account: nil, date: Self.date)
    }
    #expect(error?.category == .dataError)
    #expect(
      error?.text.worded { $0.rawValue }.hasPrefix("too many recipients: 1001 in the message's") == true)
    // A thousand is still one message.
    fields.supplied = Array(
      ("From: a@example.org\nTo: " + Self.addresses(1000).joined(separator: ",\n ") + "\n\nbody\n").utf8)
    #expect(try MessageAssembly.assemble(fields, account: nil, date: Self.date).recipients.count == 1000)
  }

  @Test func theComposersFieldsTakeNoMoreThanAThousandRecipients() throws {
    var fields = MessageFields()
    fields.from = "a@example.org"
    fields.to = Self.addresses(600)
    fields.bcc = Self.addresses(1200).suffix(600).map { $0 }
    let error = #expect(throws: PlanningError.self) {
      try MessageAssembly.assemble(fields, account: nil, date: Self.date)
    }
    #expect(error?.category == .usage)
    #expect(
      error?.text.worded { $0.rawValue }.hasPrefix("too many recipients: 1200 in To, Cc and Bcc") == true)
  }
}

/// Red team: a `--message` whose header names thousands of addresses the flags leave out got one note each.
@Suite struct RedTeamEnvelopeNoteTests {
  @Test func headerRecipientsLeftOutAreNamedUpToABoundThenCounted() throws {
    let others = (0..<5000).map { "r\($0)@example.org" }
    let message = Array(("From: a@example.org\nTo: " + others.joined(separator: ",\n ") + "\n\nbody\n").utf8)
    let envelope = try SuppliedEnvelope(
      message: message, sender: nil, recipients: [try Mailbox(parsing: "b@example.org")])
    #expect(envelope.recipients == ["b@example.org"])
    let words = envelope.notes.map { $0.worded { "--" + $0.rawValue } }
    #expect(words.count == SuppliedEnvelope.maximumNamedNotes + 1)
    #expect(words.first?.hasPrefix("the message's To names r0@example.org, which is not a recipient") == true)
    #expect(
      words.last
        == "and \(5000 - SuppliedEnvelope.maximumNamedNotes) more addresses of the message's To, Cc and Bcc are "
        + "not recipients")
  }
}
