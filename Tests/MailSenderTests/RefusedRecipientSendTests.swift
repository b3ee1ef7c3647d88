import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// DESIGN §3.9 end to end, without PIPELINING: after a refused RCPT the client never sends DATA (all or
/// nothing). A later check also aborts after a `354` without the final dot, so "nothing was delivered" alone
/// would not show whether DATA went out: the commands the server saw do.
@Suite struct RefusedRecipientSendTests {
  typealias H = SendHarness

  static let refusal = "550 5.1.1 no such user"

  @Test(arguments: [
    ["b@example.org", "c@example.org"],  // the last one refused
    ["c@example.org", "b@example.org"],  // the first one refused
    ["c@example.org", "d@example.org"],  // every one refused
  ])
  func noDATAAfterARefusedRecipient(recipients: [String]) throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.capabilitiesAfterTLS.removeAll { $0 == "PIPELINING" }
        $0.recipientReplies = ["c@example.org": Self.refusal, "d@example.org": Self.refusal]
      }
    ) { $0.recipients = recipients }
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    let refused = recipients.filter { $0 != "b@example.org" }
    #expect(outcome.report.failure?.refusedRecipients.map(\.address) == refused)
    let verbs = outcome.commands.map { String($0.prefix { $0 != " " && $0 != ":" }).uppercased() }
    // Every RCPT is sent (each refusal is reported), one at a time, then QUIT: never DATA.
    // (Verbs only: the AUTH line holds the login blob, which has no place in a failure message.)
    #expect(verbs == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "QUIT"])
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
    #expect(!outcome.lines.contains { $0.hasPrefix(" ~> DATA") })
  }
}
