import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// CHUNKING/BDAT (RFC 3030), DSN (RFC 3461), REQUIRETLS (RFC 8689) and SIZE end to end against the scripted
/// server, with the round trips each send takes (`SendReport.roundTrips`).
@Suite struct ChunkingSendTests {
  typealias H = SendHarness

  static func server(
    chunking: Bool = true, pipelining: Bool = true, extra: [String] = [],
    configure: (inout StandardSMTPOptions) -> Void = { _ in }
  ) throws -> StandardSMTPOptions {
    try H.standard {
      var list = $0.capabilitiesAfterTLS
      if chunking { list.append("CHUNKING") }
      if !pipelining { list.removeAll { $0 == "PIPELINING" } }
      $0.capabilitiesAfterTLS = list + extra
      configure(&$0)
    }
  }

  static func verbs(_ outcome: H.Outcome) -> [String] {
    outcome.commands.map { String($0.prefix { $0 != " " && $0 != ":" }).uppercased() }
  }

  // MARK: Round trips (issue 10: 6 with implicit TLS, 8 with STARTTLS; 7 and 9 with DATA)

  @Test(arguments: [
    (TransportSecurity.implicitTLS, true, 6),
    (TransportSecurity.startTLS, true, 8),
    (TransportSecurity.implicitTLS, false, 7),
    (TransportSecurity.startTLS, false, 9),
  ])
  func roundTripsOfASingleRecipientSend(security: TransportSecurity, chunking: Bool, expected: Int) throws {
    let standard = try Self.server(chunking: chunking)
    var serverOptions = ScriptedSMTPServer.Options()
    if security == .implicitTLS { serverOptions.implicitTLS = try TestPKI.shared().identity(.valid) }
    let outcome = try H.run(server: standard, serverOptions: serverOptions, security: security) {
      $0.recipients = ["b@example.org"]
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.report.roundTrips == expected)
    let last = chunking ? "BDAT" : "DATA"
    #expect(
      Self.verbs(outcome).suffix(4)
        == (chunking ? ["MAIL", "RCPT", "BDAT", "QUIT"] : ["MAIL", "RCPT", "DATA", "QUIT"]), "\(last)")
    #expect(outcome.sessions.first?.messages == [Array(H.message().bytes)])
  }

  // MARK: BDAT

  @Test func theContentGoesWithoutDotStuffingAndWithCRLF() throws {
    let body = ".starts with a dot\n..two\r\n.\nlast line without an end"
    let outcome = try H.run(server: try Self.server()) {
      $0.recipients = ["b@example.org"]
      $0.message = H.message(body)
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let expected = Array(
      ("From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n"
        + ".starts with a dot\r\n..two\r\n.\r\nlast line without an end\r\n").utf8)
    #expect(outcome.sessions.first?.messages == [expected])
    #expect(outcome.commands.contains("BDAT \(expected.count) LAST"))
    #expect(outcome.lines.contains(" ~> BDAT \(expected.count) LAST"))
    #expect(!outcome.commands.contains("DATA"))
  }

  @Test func showDataShowsTheLinesAsTheyGoWithoutDotStuffing() throws {
    let outcome = try H.run(server: try Self.server()) {
      $0.recipients = ["b@example.org"]
      $0.message = H.message(".starts with a dot\n.\nend\n")
      $0.showData = true
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let last = try #require(outcome.lines.firstIndex { $0.hasPrefix(" ~> BDAT ") && $0.hasSuffix(" LAST") })
    let shown = Array(outcome.lines[(last + 1)...].prefix(7))
    #expect(
      shown == [
        " ~> From: a@example.org", " ~> To: b@example.org", " ~> Subject: test", " ~> ",
        " ~> .starts with a dot", " ~> .", " ~> end",
      ])
    #expect(!outcome.lines.contains { $0.contains("[message:") })
  }

  @Test func severalRecipientsAreAcceptedBeforeAnyChunk() throws {
    let outcome = try H.run(server: try Self.server())
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(
      Self.verbs(outcome) == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "BDAT", "QUIT"])
    #expect(outcome.sessions.first?.messages.count == 1)
  }

  @Test func aRefusedRecipientOfSeveralMeansNoChunk() throws {
    let outcome = try H.run(
      server: try Self.server { $0.recipientReplies = ["c@example.org": "550 5.1.1 no such user"] })
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.refusedRecipients.map(\.address) == ["c@example.org"])
    #expect(Self.verbs(outcome) == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "QUIT"])
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func aRefusedSingleRecipientIsReportedAndNothingDelivered() throws {
    let outcome = try H.run(
      server: try Self.server { $0.recipientReplies = ["c@example.org": "550 5.1.1 no such user"] }
    ) { $0.recipients = ["c@example.org"] }
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.reason == .recipientsRefused)
    #expect(
      outcome.report.verdictLine.contains("<c@example.org> (550 5.1.1 no such user) — nothing was delivered"))
    // One write: the chunk went, and the server discarded it.
    #expect(Self.verbs(outcome) == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "BDAT", "QUIT"])
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func withoutPipeliningDATAIsUsed() throws {
    let outcome = try H.run(server: try Self.server(pipelining: false)) { $0.recipients = ["b@example.org"] }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(Self.verbs(outcome).contains("DATA"))
    #expect(!Self.verbs(outcome).contains("BDAT"))
  }

  /// 3 MiB with a bare LF per line: several chunks of at most about 1 MiB, the content intact, progress to the
  /// end.
  static func largeBody() -> String {
    String(repeating: ".a line that starts with a dot and ends in a bare LF, sixty-four\n", count: 3 << 14)
  }

  @Test func aLargeMessageGoesInSeveralBoundedChunks() throws {
    let body = Self.largeBody()
    let outcome = try H.run(
      server: try Self.server { $0.capabilitiesAfterTLS.removeAll { $0.hasPrefix("SIZE") } }
    ) {
      $0.recipients = ["b@example.org"]
      $0.message = H.message(body)
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let sizes = outcome.commands.filter { $0.hasPrefix("BDAT ") }.map {
      Int($0.split(separator: " ")[1]) ?? -1
    }
    #expect(sizes.count >= 3)
    #expect(
      sizes.allSatisfy {
        $0 > 0 && $0 <= SendSession.maximumChunkOctets + DataEncoder.maximumEncodedCount(SendSession.readSize)
      })
    #expect(outcome.commands.filter { $0.hasSuffix(" LAST") }.count == 1)
    #expect(outcome.commands.last { $0.hasPrefix("BDAT") }?.hasSuffix(" LAST") == true)
    let expected = Array(
      ("From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n"
        + body.replacingOccurrences(of: "\n", with: "\r\n")).utf8)
    // Compared as one Bool: a failure would otherwise print 3 MiB twice.
    let intact = outcome.sessions.first?.messages == [expected]
    #expect(intact)
    #expect(sizes.reduce(0, +) == expected.count)
    let progress = outcome.events.compactMap { event -> Int? in
      if case .progress(let sent, _) = event.payload { return sent }
      return nil
    }
    #expect(progress.count >= 4)
    #expect(progress.last == H.message(body).bytes.count)
  }

  @Test func aRefusedChunkEndsWithNothingDelivered() throws {
    let outcome = try H.run(
      server: try Self.server {
        $0.capabilitiesAfterTLS.removeAll { $0.hasPrefix("SIZE") }
        $0.chunkReplies = [0: "452 4.3.1 Insufficient system storage"]
      }
    ) {
      $0.recipients = ["b@example.org"]
      $0.message = H.message(Self.largeBody())
    }
    #expect(outcome.report.exitCode == 75, "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains("BDAT rejected: 452 4.3.1 Insufficient system storage"))
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func aDropAfterTheLastChunkIsDeliveryUnknown() throws {
    let outcome = try H.run(
      server: try Self.server { $0.stall = .afterFinalDot(seconds: 3) }, stallAt: .awaitingFinalReply
    ) {
      $0.recipients = ["b@example.org"]
      $0.timeout = .seconds(60)
    }
    #expect(outcome.report.failure?.reason == .deliveryUnknown, "\(outcome.report.verdictLine)")
    #expect(outcome.report.exitCode == 75)
  }

  // MARK: DSN

  @Test func dsnParametersReachTheServer() throws {
    let message = MessageContent(
      bytes: Array(
        "From: a@example.org\r\nMessage-ID: <1234.5678+x@example.org>\r\nSubject: t\r\n\r\nHi\r\n".utf8))
    let outcome = try H.run(server: try Self.server(extra: ["DSN"])) {
      $0.message = message
      $0.dsn = DSNRequest(notify: .on([.success, .failure]), returnContent: .headers)
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(
      outcome.commands.contains(
        "MAIL FROM:<a@example.org> SIZE=\(message.bytes.count) RET=HDRS ENVID=1234.5678+2Bx@example.org"))
    #expect(
      outcome.commands.contains(
        "RCPT TO:<c@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@example.org"))
  }

  @Test func aGeneratedEnvelopeIDWithoutMessageID() throws {
    let outcome = try H.run(server: try Self.server(extra: ["DSN"])) {
      $0.dsn = DSNRequest(notify: .never)
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let mail = try #require(outcome.commands.first { $0.hasPrefix("MAIL") })
    let envid = try #require(mail.split(separator: " ").first { $0.hasPrefix("ENVID=") })
    #expect(envid.count == "ENVID=".count + 32)
    #expect(!mail.contains("RET="))
  }

  @Test func dsnWithoutTheExtensionIsRefusedBeforeMail() throws {
    let outcome = try H.run(server: try Self.server()) { $0.dsn = DSNRequest(notify: .on([.delay])) }
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.reason == .extensionMissing("DSN"))
    #expect(outcome.report.verdictLine.contains("does not offer DSN — nothing was sent"))
    #expect(!Self.verbs(outcome).contains("MAIL"))
  }

  // MARK: REQUIRETLS

  @Test func requireTLSGoesWithMail() throws {
    let outcome = try H.run(server: try Self.server(extra: ["REQUIRETLS"])) { $0.requireTLS = true }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(
      outcome.commands.contains { $0.hasPrefix("MAIL FROM:<a@example.org>") && $0.hasSuffix(" REQUIRETLS") })
  }

  @Test func requireTLSOfferedOnlyBeforeTLSIsRefused() throws {
    let outcome = try H.run(
      server: try Self.server { $0.capabilitiesBeforeTLS.append("REQUIRETLS") }
    ) { $0.requireTLS = true }
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(outcome.report.failure?.reason == .extensionMissing("REQUIRETLS"))
    #expect(!Self.verbs(outcome).contains("MAIL"))
  }

  @Test func requireTLSOverPlaintextIsRefusedBeforeConnecting() throws {
    let outcome = try H.run(server: try Self.server(), security: .plaintext) {
      $0.requireTLS = true
      $0.credentials = nil
    }
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(outcome.sessions.allSatisfy { $0.commands.isEmpty })
    #expect(outcome.report.roundTrips == nil)
  }

  // MARK: SIZE and enhanced status codes

  @Test func sizeRefusalNamesBothNumbers() throws {
    let outcome = try H.run(
      server: try Self.server {
        $0.capabilitiesAfterTLS = $0.capabilitiesAfterTLS.map { $0.hasPrefix("SIZE") ? "SIZE 40" : $0 }
      })
    #expect(outcome.report.exitCode == 69, "\(outcome.report.verdictLine)")
    let size = H.message().bytes.count
    #expect(
      outcome.report.verdictLine.contains("(\(size) octets) is larger than localhost accepts (SIZE 40)"))
    #expect(!Self.verbs(outcome).contains("MAIL"))
  }

  @Test func theEnhancedStatusCodeIsInTheError() throws {
    let outcome = try H.run(
      server: try Self.server { $0.finalReply = "554 5.7.1 Message rejected as spam" }
    ) { $0.recipients = ["b@example.org"] }
    #expect(outcome.report.exitCode == 69)
    #expect(outcome.report.verdictLine.contains("554 5.7.1 Message rejected as spam"))
    guard case .rejected(_, let reply) = outcome.report.failure?.reason else {
      Issue.record("not a rejection: \(outcome.report.verdictLine)")
      return
    }
    #expect(reply.enhanced == "5.7.1")
  }
}
