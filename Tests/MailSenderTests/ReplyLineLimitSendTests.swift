import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// DESIGN §3.7 end to end: a reply line over 2,048 octets is a protocol violation (76) even when it is short
/// enough to arrive whole, with its line ending, in one read of 4,096 bytes — so the check on complete lines is
/// what refuses it, not the one on a partial line that is still growing. Nothing more is written after it.
@Suite struct ReplyLineLimitSendTests {
  typealias R = RedTeamTests

  /// A reply line of exactly `octets` octets, CRLF included.
  static func line(code: Int, octets: Int) -> String {
    "\(code)-" + String(repeating: "x", count: octets - 6) + "\r\n"
  }

  static let excerpt = "\"250-" + String(repeating: "x", count: 35) + "…\""

  @Test(arguments: [2049, 3000, 4096])
  func anOversizedEHLOLineEndsTheSessionWith76(octets: Int) throws {
    let ehlo = Self.line(code: 250, octets: octets) + "250 PIPELINING\r\n"
    let outcome = try R.run(security: .plaintext, script: R.script(ehlo: ehlo))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(
      outcome.report.verdictLine
        == "protocol violation: reply line longer than 2048 octets: \(Self.excerpt)")
    // Nothing after EHLO: no MAIL, not even QUIT.
    let session = try #require(outcome.sessions.first)
    #expect(String(decoding: session.receivedPlaintext, as: UTF8.self) == "EHLO [127.0.0.1]\r\n")
    #expect(!outcome.lines.contains { $0.hasPrefix("<-  250") }, "the oversized reply is never shown")
  }

  @Test(arguments: [2049, 4096])
  func anOversizedGreetingLineEndsTheSessionBeforeAnyCommand(octets: Int) throws {
    let greeting = Self.line(code: 220, octets: octets) + "220 mx\r\n"
    let outcome = try R.run(security: .plaintext, script: R.script(greeting: greeting))
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
    #expect(
      outcome.report.verdictLine.hasPrefix("protocol violation: reply line longer than 2048 octets: \"220-"))
    #expect(outcome.sessions.first?.receivedPlaintext == [])
  }

  /// Control: 2,048 octets is within the limit, and the session goes on to deliver.
  @Test func aLineOfExactly2048OctetsIsFine() throws {
    let ehlo = Self.line(code: 250, octets: 2048) + "250 PIPELINING\r\n"
    let outcome = try R.run(security: .plaintext, script: R.script(ehlo: ehlo))
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
  }
}
