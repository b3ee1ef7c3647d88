import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// Issue 15, item 2: the probe asks the server, before STARTTLS, whether it takes mail without TLS
/// (`MAIL FROM:<>`, then `RSET`), and `otherPorts` tries more ports of the same host.
@Suite struct ProbePolicyTests {
  struct PolicyCase: Sendable, CustomTestStringConvertible {
    var mailReply: String
    var verdict: PlaintextMailCheck.Verdict
    /// Written by hand: the line the summary shows, without its marker.
    var line: String
    var warnings: Int
    var testDescription: String { mailReply }
  }

  @Test(arguments: [
    PolicyCase(
      mailReply: "530 5.7.0 Must issue a STARTTLS command first", verdict: .refusesWithoutTLS,
      line:
        "=== the server refuses mail without TLS: MAIL FROM:<> before STARTTLS was answered 530 5.7.0 Must issue a STARTTLS command first",
      warnings: 0),
    PolicyCase(
      mailReply: "250 2.1.0 Ok", verdict: .acceptsWithoutTLS,
      line:
        "!!  this server accepts mail without TLS: MAIL FROM:<> before STARTTLS was answered 250 2.1.0 Ok: a client that does not insist on STARTTLS would send its message in clear text",
      warnings: 1),
    PolicyCase(
      mailReply: "554 5.7.1 Access denied", verdict: .refusedOtherwise,
      line:
        "=== MAIL FROM:<> before STARTTLS was answered 554 5.7.1 Access denied: a refusal, but not the 530 that says TLS is required (RFC 3207 §4), so whether the server takes mail without TLS is not known",
      warnings: 0),
    PolicyCase(
      mailReply: "451 4.3.0 Try again later", verdict: .refusedOtherwise,
      line:
        "=== MAIL FROM:<> before STARTTLS was answered 451 4.3.0 Try again later: a refusal, but not the 530 that says TLS is required (RFC 3207 §4), so whether the server takes mail without TLS is not known",
      warnings: 0),
  ])
  func mailBeforeTLSIsAskedWithTheNullSenderAndReset(_ policy: PolicyCase) throws {
    let (report, sessions) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = policy.mailReply })
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.isTrustworthy)
    let check = try #require(report.plaintextMail)
    #expect(check.verdict == policy.verdict)
    #expect(check.reply.code == Int(policy.mailReply.prefix(3)))
    #expect(report.warnings.count == policy.warnings, "\(report.warnings)")
    // The null sender, then RSET, both before STARTTLS; nothing of the kind inside TLS.
    let session = try #require(sessions.first)
    #expect(
      session.commands == [
        "EHLO [127.0.0.1]", "MAIL FROM:<>", "RSET", "STARTTLS", "EHLO [127.0.0.1]", "QUIT",
      ])
    #expect(
      String(decoding: session.receivedPlaintext, as: UTF8.self)
        == "EHLO [127.0.0.1]\r\nMAIL FROM:<>\r\nRSET\r\nSTARTTLS\r\n")
    let lines = ProbeTests.lines(report)
    #expect(lines.contains(policy.line), "\(lines)")
    #expect(lines.contains(" -> MAIL FROM:<>"))
    #expect(lines.contains(" -> RSET"))
    // The stage is named in the events, so a front end shows what the probe is doing.
    #expect(report.transcript.contains { $0.payload == .stage(.plaintextPolicy) })
    let json = report.json()
    #expect(json.contains("\"result\":\"\(policy.verdict.rawValue)\""))
    #expect(try ProbeSchemaCheck.validate(json) == 0)
  }

  @Test func implicitTLSNeverSendsMail() throws {
    let identity = try TestPKI.shared().identity(.valid)
    let (report, sessions) = try ProbeTests.probe(
      try SendHarness.standard(), serverOptions: .init(implicitTLS: identity), security: .implicitTLS)
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.plaintextMail == nil)
    #expect(sessions.first?.commands == ["EHLO [127.0.0.1]", "QUIT"])
    #expect(report.json().contains("\"plaintext_mail\":null"))
  }

  @Test func versionAttemptsDoNotAskAgain() throws {
    let (report, sessions) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = "530 5.7.0 Must issue a STARTTLS command first" },
      connections: 5
    ) { $0.checkVersions = true }
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(sessions.count == 5)
    #expect(sessions.filter { $0.commands.contains("MAIL FROM:<>") }.count == 1)
  }

  @Test func aReplyAfterTheMailReplyIsTamperingBeforeTLS() throws {
    // A 2xx followed by garbage in the same write: a reply to a command not yet sent.
    let (report, sessions) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = "250 2.1.0 Ok\r\n\u{1}\u{7F}garbage 250 ok" })
    #expect(report.exitCode == 77, "\(report.verdictLine)")
    #expect(report.session.failure?.reason == .startTLSTampered)
    #expect(report.plaintextMail?.verdict == .acceptsWithoutTLS, "the reply read is still reported")
    let session = try #require(sessions.first)
    #expect(!session.commands.contains("RSET"), "nothing more after the injection")
    #expect(!session.commands.contains("STARTTLS"))
    #expect(session.clientHellos == 0)
    #expect(try ProbeSchemaCheck.validate(report.json()) == 0)
  }

  @Test func controlCharactersInTheReplyAreEscapedEverywhere() throws {
    let hostile = StandardSMTPOptions.hostileEscapeText
    let (report, _) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = "530 5.7.0 TLS first \(hostile)" })
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    let check = try #require(report.plaintextMail)
    #expect(check.verdict == .refusesWithoutTLS)
    let escaped = UntrustedText("530 5.7.0 TLS first \(hostile)").escaped
    #expect(check.reply.lines == [escaped])
    #expect(check.text.hasSuffix("answered \(escaped)"))
    let text = report.transcript.transcriptLines.map { TranscriptFormat.text.render($0) }.joined()
    let json = report.json()
    for output in [text, json] {
      #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" || $0 == "\u{202E}" })
    }
    #expect(json.contains(#"TLS first \\u{001B}[2J"#))
    #expect(try ProbeSchemaCheck.validate(json) == 0)
  }

  /// A 354 (or any reply MAIL cannot have) is a protocol violation, and is worded as one everywhere: the
  /// verdict, the summary line and the JSON's result — not "a refusal, but not the 530".
  @Test func anIntermediateReplyToMailIsAProtocolViolation() throws {
    let (report, sessions) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = "354 go ahead" })
    #expect(report.exitCode == 76, "\(report.verdictLine)")
    #expect(
      report.verdictLine
        == "protocol violation: the server answered MAIL with 354, which is not a valid reply (RFC 5321 "
        + "§4.3.2), before TLS: 354 go ahead")
    #expect(sessions.first?.commands.contains("STARTTLS") == false)
    let check = try #require(report.plaintextMail)
    #expect(check.verdict == .invalidReply)
    let lines = ProbeTests.lines(report)
    #expect(
      lines.contains(
        "=== the server answered MAIL with 354, which is not a valid reply (RFC 5321 §4.3.2), before TLS: 354 go "
          + "ahead; a protocol violation, so whether the server takes mail without TLS is not known"),
      "\(lines)")
    #expect(!lines.contains { $0.contains("a refusal") }, "\(lines)")
    let json = report.json()
    #expect(json.contains("\"result\":\"invalid_reply\""))
    #expect(try ProbeSchemaCheck.validate(json) == 0)
  }

  @Test func aClosingServerIsATemporaryFailure() throws {
    let (report, _) = try ProbeTests.probe(
      try SendHarness.standard { $0.mailFromReply = "421 4.7.0 mx closing connection" })
    #expect(report.exitCode == 75, "\(report.verdictLine)")
    #expect(
      report.session.failure?.reason
        == .rejected(
          .plaintextPolicy, report.plaintextMail?.reply ?? .init(code: 0, enhanced: nil, lines: [])))
    #expect(
      report.verdictLine.contains("the check of MAIL before TLS rejected: 421 4.7.0 mx closing connection"))
  }

  /// No reply to MAIL: the step's deadline ends it, at a stage that says which step (on a manual clock, so the
  /// test takes no real time).
  @Test func noReplyToMailTimesOutAtItsOwnStage() throws {
    let server = try ScriptedSMTPServer(
      standard: try SendHarness.standard { $0.stall = .beforeReplyTo(verb: "MAIL", seconds: 30) })
    defer { server.stop() }
    let request = ProbeRequest(
      host: "localhost", port: server.port, security: .startTLS,
      trust: .certificateAuthorities(caFile: try TestPKI.shared().caCertificatePath), timeout: .seconds(5))
    let clock = ManualClock()
    let handle = MailSender.startProbe(request, clock: clock)
    while let event = handle.nextEvent() {
      if case .stage(.plaintextPolicy) = event.payload { break }
    }
    usleep(50_000)
    while !handle.isFinished {
      clock.advance(by: .seconds(6))
      usleep(2_000)
    }
    while handle.nextEvent() != nil {}
    let report = handle.wait()
    #expect(report.exitCode == 75, "\(report.verdictLine)")
    #expect(report.session.failure?.reason == .timedOut(.plaintextPolicy))
    #expect(report.verdictLine.contains("(the check of MAIL before TLS)"), "\(report.verdictLine)")
    #expect(report.plaintextMail == nil)
  }

  // MARK: - Other ports

  @Test func otherPortsSayWhetherTheyAreOpenAndSpeakTLS() throws {
    let pki = try TestPKI.shared()
    let identity = try pki.identity(.valid)
    let implicit = try ScriptedSMTPServer(
      standard: try SendHarness.standard(), options: .init(implicitTLS: identity))
    defer { implicit.stop() }
    let plaintext = try ScriptedSMTPServer(standard: try SendHarness.standard())
    defer { plaintext.stop() }
    let closedServer = try ScriptedSMTPServer(standard: try SendHarness.standard())
    let closed = closedServer.port
    closedServer.stop()
    let (report, _) = try ProbeTests.probe(try SendHarness.standard()) {
      // Each port is judged with its own trust (here the probe's test CA).
      let trust = $0.trust
      $0.otherPorts = [
        ProbePort(port: implicit.port, security: .implicitTLS, trust: trust),
        ProbePort(port: plaintext.port, security: .implicitTLS, trust: trust),
        ProbePort(port: closed, security: .implicitTLS, trust: trust),
        ProbePort(port: plaintext.port, security: .startTLS, trust: trust),
      ]
    }
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.ports.count == 4)
    let (open, plain, shut, startTLS) = (report.ports[0], report.ports[1], report.ports[2], report.ports[3])
    #expect(open.isOpen == true && open.speaksTLS == true && open.isTrusted)
    #expect(open.detail.hasPrefix("open, speaks TLS 1.3 TLS_AES_256_GCM_SHA384, X25519; verified"))
    #expect(plain.isOpen == true && plain.speaksTLS == false && !plain.isTrusted)
    #expect(plain.detail == "open, but it answers in plaintext where a TLS ServerHello should be")
    #expect(shut.isOpen == false && shut.speaksTLS == nil)
    #expect(shut.line == "port \(closed) (implicit TLS): closed (connection refused)")
    #expect(startTLS.isOpen == true && startTLS.speaksTLS == true && startTLS.isTrusted)
    let lines = ProbeTests.lines(report)
    #expect(lines.contains("=== port check: \(implicit.port) (implicit TLS), on a new connection"))
    #expect(lines.contains("=== port \(closed) (implicit TLS): closed (connection refused)"))
    #expect(lines.last == "=== " + report.verdictLine)
    // Port checks send nothing but the steps up to their handshake: no MAIL on the STARTTLS one.
    let checked = plaintext.waitForFinishedSessions(2)
    #expect(!checked.contains { $0.commands.contains("MAIL FROM:<>") })
    let json = report.json()
    #expect(try ProbeSchemaCheck.validate(json) == 0)
    #expect(json.contains("\"open\":false,\"port\":\(closed)") || json.contains("\"port\":\(closed)"))
  }

  @Test func standardOtherPortsLeaveOutTheOneProbed() {
    #expect(
      ProbeRequest.standardOtherPorts(besides: 25) == [
        ProbePort(port: 465, security: .implicitTLS), ProbePort(port: 587, security: .startTLS),
      ])
    #expect(ProbeRequest.standardOtherPorts(besides: 587) == [ProbePort(port: 465, security: .implicitTLS)])
    #expect(ProbeRequest.standardOtherPorts(besides: 465) == [ProbePort(port: 587, security: .startTLS)])
  }
}
