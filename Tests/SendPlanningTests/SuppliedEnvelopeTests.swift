import Accounts
import MailMessage
import MailSender
import Testing

@testable import SendPlanning

/// Issue 11: the envelope of a `--message`, from its header as `sendmail -t` takes it, or from the flags with every
/// header recipient they leave out named.
@Suite struct SuppliedEnvelopeTests {
  static func message(_ header: String) -> [UInt8] { Array((header + "\n\nbody\n").utf8) }

  @Test(arguments: [
    ("To: b@example.org", ["b@example.org"]),
    ("To: Bob <b@example.org>, \"Doe, Carol\" <c@example.org>", ["b@example.org", "c@example.org"]),
    ("To: undisclosed-recipients:;\nBcc: h@example.org", ["h@example.org"]),
    ("To: team: d@example.org, e@example.org (Eve, \"x\");", ["d@example.org", "e@example.org"]),
    (
      "To: b@example.org\nCc: c@example.org,\n b@example.org\nBcc: h@example.org",
      [
        "b@example.org", "c@example.org", "h@example.org",
      ]
    ),
    ("To: (comment, with comma) b@example.org", ["b@example.org"]),
    // One mailbox with its domain in two cases is one recipient, as first spelled; local parts are exact.
    (
      "To: Bob@Example.ORG\nCc: Bob@example.org, bob@example.org\nBcc: BOB@EXAMPLE.ORG, Bob@EXAMPLE.org",
      ["Bob@Example.ORG", "bob@example.org", "BOB@EXAMPLE.ORG"]
    ),
  ])
  func recipientsComeFromToCcAndBcc(header: String, expected: [String]) throws {
    let envelope = try SuppliedEnvelope(
      message: Self.message("From: a@example.org\n" + header), sender: nil, recipients: [])
    #expect(envelope.recipients == expected)
    #expect(envelope.reversePath == "a@example.org")
    #expect(envelope.notes.isEmpty)
  }

  @Test func theSenderIsSenderElseFrom() throws {
    let envelope = try SuppliedEnvelope(
      message: Self.message(
        "From: A <a@example.org>, B <b@example.org>\nSender: s@example.org\nTo: t@example.org"),
      sender: nil, recipients: [])
    #expect(envelope.reversePath == "s@example.org")
    let given = try SuppliedEnvelope(
      message: Self.message("From: a@example.org\nTo: t@example.org"),
      sender: try Mailbox(parsing: "z@example.org"), recipients: [])
    #expect(given.reversePath == "z@example.org")
  }

  @Test func flagsSetTheEnvelopeAndTheRestIsNamed() throws {
    let envelope = try SuppliedEnvelope(
      message: Self.message(
        "From: a@example.org\nTo: b@EXAMPLE.org, B@example.org, c@example.org\nBcc: h@example.org"),
      sender: nil, recipients: [try Mailbox(parsing: "b@example.org")])
    #expect(envelope.recipients == ["b@example.org"])
    // The domain in any case is the same mailbox; another local part is another (RFC 5321 §2.4).
    #expect(
      envelope.notes.map { $0.worded { "--" + $0.rawValue } } == [
        "the message's To names B@example.org, which is not a recipient: --to, --cc and --bcc set the envelope "
          + "(without them, To, Cc and Bcc do)",
        "the message's To names c@example.org, which is not a recipient: --to, --cc and --bcc set the envelope "
          + "(without them, To, Cc and Bcc do)",
        "the message's Bcc names h@example.org, which is not a recipient: --to, --cc and --bcc set the envelope "
          + "(without them, To, Cc and Bcc do)",
      ])
  }

  @Test func aBadAddressInTheHeaderIsBadData() throws {
    let error = #expect(throws: PlanningError.self) {
      try SuppliedEnvelope(
        message: Self.message("From: a@example.org\nTo: not an address"), sender: nil, recipients: [])
    }
    #expect(error?.category == .dataError)
    #expect(
      error?.text.worded { "--" + $0.rawValue }.hasPrefix("--message: the To field: invalid mailbox") == true)
  }

  @Test func noRecipientAnywhereIsAUsageError() throws {
    let error = #expect(throws: PlanningError.self) {
      try SuppliedEnvelope(
        message: Self.message("From: a@example.org\nTo: undisclosed-recipients:;"),
        sender: nil, recipients: [])
    }
    #expect(error?.category == .usage)
  }
}
