import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// DESIGN §3.5 end to end: a server that echoes the password in base64, at each of the three alignments and for
/// passwords of each length modulo 3, through `MailSender.send`. The expected lines are worked out by hand: a
/// base64 character is masked when all six of its bits come from the password; the character before the mask
/// (2 or 4 bits of the first byte) and the one after it (2 or 4 bits of the last byte, then padding) stay — see
/// the README's security section for why that is accepted.
@Suite struct SecretScrubSendTests {
  typealias R = RedTeamTests

  struct Case: Sendable, CustomTestStringConvertible {
    var password: String
    /// base64(password), base64("x" + password), base64("xy" + password), as the server echoes them.
    var echoes: [String]
    /// The same lines as the transcript shows them.
    var scrubbed: [String]
    var testDescription: String { "password of \(password.utf8.count) bytes" }
  }

  static let cases: [Case] = [
    // 15 bytes: whole groups at alignment 0.
    Case(
      password: "s3cret-Pa55word",
      echoes: ["czNjcmV0LVBhNTV3b3Jk", "eHMzY3JldC1QYTU1d29yZA==", "eHlzM2NyZXQtUGE1NXdvcmQ="],
      scrubbed: ["<redacted>", "eH<redacted>A==", "eHl<redacted>Q="]),
    // 16 bytes: at alignment 0 the whole encoding is masked, padding included (never `<redacted>Q==`).
    Case(
      password: "s3cret-Pa55word!",
      echoes: ["czNjcmV0LVBhNTV3b3JkIQ==", "eHMzY3JldC1QYTU1d29yZCE=", "eHlzM2NyZXQtUGE1NXdvcmQh"],
      scrubbed: ["<redacted>", "eH<redacted>E=", "eHl<redacted>"]),
    // 17 bytes.
    Case(
      password: "s3cret-Pa55word!?",
      echoes: ["czNjcmV0LVBhNTV3b3JkIT8=", "eHMzY3JldC1QYTU1d29yZCE/", "eHlzM2NyZXQtUGE1NXdvcmQhPw=="],
      scrubbed: ["<redacted>", "eH<redacted>", "eHl<redacted>w=="]),
  ]

  @Test(arguments: cases)
  func base64EchoesAreScrubbedToTheBit(_ testCase: Case) throws {
    // The echoes are what they claim to be (checked with Foundation, not with Sealpost's encoder).
    for (prefix, echo) in zip(["", "x", "xy"], testCase.echoes) {
      #expect(Data((prefix + testCase.password).utf8).base64EncodedString() == echo)
    }
    let reply =
      testCase.echoes.enumerated().map { index, echo in
        "535\(index == 2 ? " " : "-")5.7.8 echo \(echo)\r\n"
      }.joined()
    let outcome = try R.run(
      security: .plaintext, password: testCase.password,
      script: R.script(ehlo: "250-mx\r\n250 AUTH PLAIN\r\n", reply: { $0 == "AUTH" ? reply : nil }))
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    let expected = testCase.scrubbed.enumerated().map { index, text in
      "535\(index == 2 ? " " : "-")5.7.8 echo \(text)"
    }
    let received = outcome.lines.filter { $0.hasPrefix("<-  535") }
    #expect(received == expected.map { "<-  " + $0 })
    #expect(
      outcome.report.verdictLine
        == "refused: authentication failed: \(expected.joined(separator: " ")) — nothing was sent")
    // The AUTH line itself shows no blob; and no form of the password is anywhere, text, JSON or verdict.
    #expect(outcome.lines.contains(" -> AUTH PLAIN <redacted> (user \(R.user))"), "\(outcome.lines)")
    R.expectNoSecret(outcome, testCase.password)
    #expect(outcome.commands.last == "QUIT")
  }
}
