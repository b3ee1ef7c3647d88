import SMTPProtocol
import Testing

/// `.inspect` (probe) and `.authenticate` (accounts check) run every step before the transaction, with the
/// same policy as a send, and then QUIT without a MAIL command.
@Suite struct SMTPClientGoalTests {
  func goal(
    _ goal: SMTPClientConfiguration.Goal, _ security: TransportSecurity,
    authentication: SMTPClientConfiguration.Authentication? = nil, recipients: [String] = []
  ) -> SMTPClientConfiguration {
    var result = configuration(security, authentication: authentication, recipients: recipients)
    result.goal = goal
    return result
  }

  static let success = SMTPClient.Action.finish(SMTPResult(finalReply: nil, failure: nil), then: .quit)

  @Test func inspectStopsAfterThePostTLSEHLOWithoutAuth() throws {
    let (_, wire) = try converse(
      goal(.inspect, .startTLS, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx ESMTP\r\n"), ehlo),
        (.reply("250-mx\r\n250 STARTTLS\r\n"), .send([.startTLS])),
        (.reply("220 go\r\n"), .startTLS),
        (.tlsEstablished, ehlo),
        (.reply("250-mx\r\n250 AUTH PLAIN\r\n"), Self.success),
      ])
    #expect(wire == "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\nQUIT\r\n")
  }

  @Test func inspectStillRefusesAStrippedStartTLS() throws {
    try converse(
      goal(.inspect, .startTLS),
      [
        (.start, .readReply),
        (.reply("220 mx ESMTP\r\n"), ehlo),
        (.reply("250-mx\r\n250 PIPELINING\r\n"), failed(.startTLSNotOffered, at: .startTLS, then: .quit)),
      ])
  }

  @Test func authenticateStopsAfter235() throws {
    let (_, wire) = try converse(
      goal(.authenticate, .implicitTLS, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx ESMTP\r\n"), ehlo),
        (
          .reply("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"),
          .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
        (.reply("235 2.7.0 ok\r\n"), Self.success),
      ])
    #expect(wire == "EHLO client.example\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n")
  }

  @Test func authenticateReportsAFailedLogin() throws {
    try converse(
      goal(.authenticate, .implicitTLS, authentication: alice),
      [
        (.start, .readReply),
        (.reply("220 mx ESMTP\r\n"), ehlo),
        (
          .reply("250-mx\r\n250 AUTH PLAIN\r\n"),
          .send([.auth(mechanism: "PLAIN", initialResponse: plainIR)])
        ),
        (.reply("535 5.7.8 no\r\n"), failed(.authFailed(reply(535, "5.7.8 no")), at: .auth, then: .quit)),
      ])
  }

  @Test func deliverStillNeedsARecipient() {
    #expect(throws: SMTPCommandError.self) { try goal(.deliver, .implicitTLS).validate() }
    #expect(throws: Never.self) { try goal(.inspect, .implicitTLS).validate() }
  }
}
