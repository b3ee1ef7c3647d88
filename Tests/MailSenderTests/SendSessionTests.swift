import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// The core sender against a scripted server with real OpenSSL handshakes (DESIGN §8).
@Suite struct SendSessionTests {
  typealias H = SendHarness

  @Test func startTLSWithPipeliningAndPlainAuthDelivers() throws {
    let outcome = try H.run(server: try H.standard())
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine == "sent: 250 2.0.0 Ok: queued")
    let lines = outcome.lines
    // TLS steps sit between the 220 to STARTTLS and the second EHLO, which goes inside TLS.
    let startTLS = try #require(lines.firstIndex(of: " -> STARTTLS"))
    #expect(lines[startTLS + 1] == "<-  220 2.0.0 Ready to start TLS")
    #expect(lines[startTLS + 2].hasPrefix("~~  TLS > ClientHello (SNI localhost, TLS 1.2–1.3)"))
    let secondEHLO = try #require(lines.firstIndex { $0.hasPrefix(" ~> EHLO ") })
    #expect(secondEHLO > startTLS + 3)
    #expect(lines[(startTLS + 2)..<secondEHLO].allSatisfy { $0.hasPrefix("~~  TLS ") })
    #expect(
      lines.contains { $0.hasPrefix("~~  TLS = TLS 1.3 TLS_AES_") && $0.hasSuffix("verified localhost") })
    #expect(lines.contains(" ~> AUTH PLAIN <redacted> (user alice@example.test)"))
    // PIPELINING inside TLS: MAIL, both RCPTs and DATA in one group.
    let mail = try #require(lines.firstIndex(of: " ~> MAIL FROM:<a@example.org> SIZE=65"))
    #expect(
      Array(lines[mail..<(mail + 4)]) == [
        " ~> MAIL FROM:<a@example.org> SIZE=65", " ~> RCPT TO:<b@example.org>", " ~> RCPT TO:<c@example.org>",
        " ~> DATA",
      ])
    #expect(lines.contains(" ~> [message: 5 lines, 65 bytes]"))
    let session = try #require(outcome.sessions.first)
    #expect(
      session.messages == [
        Array("From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\nHello.\r\n".utf8)
      ])
    #expect(!String(decoding: outcome.allReceived, as: UTF8.self).contains(H.password))
    #expect(!outcome.text.joined().contains(H.password))
  }

  @Test func implicitTLSDelivers() throws {
    let pki = try TestPKI.shared()
    let outcome = try H.run(
      server: try H.standard(), serverOptions: .init(implicitTLS: pki.identity(.valid)),
      security: .implicitTLS)
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let lines = outcome.lines
    #expect(lines[1].hasPrefix("~~  TLS > ClientHello"))
    #expect(lines.contains("<~  220 mx.sealpost.test ESMTP Sealpost scripted server"))
    #expect(!lines.contains { $0.hasPrefix(" -> ") || $0.hasPrefix("<-  ") })
    #expect(outcome.sessions.first?.messages.count == 1)
  }

  /// The golden transcript of a loopback plaintext session, written by hand from the scripted server's
  /// documented replies (times left out).
  @Test func plaintextLoopbackGoldenTranscript() throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.tlsIdentity = nil; $0.capabilitiesBeforeTLS = ["8BITMIME"]
      },
      security: .plaintext
    ) {
      $0.credentials = nil
      $0.recipients = ["b@example.org"]
      $0.host = "127.0.0.1"
    }
    let local = try #require(outcome.transcript.first { $0.line.hasPrefix("EHLO ") }?.line.dropFirst(5))
    #expect(local == "[127.0.0.1]")
    let golden = [
      "=== Connecting to 127.0.0.1:PORT (127.0.0.1)",
      "!!  plaintext session: no TLS, everything below is readable on the network",
      "<-  220 mx.sealpost.test ESMTP Sealpost scripted server",
      " -> EHLO [127.0.0.1]",
      "<-  250-mx.sealpost.test greets [127.0.0.1]",
      "<-  250 8BITMIME",
      " -> MAIL FROM:<a@example.org>",
      "<-  250 2.1.0 Ok",
      " -> RCPT TO:<b@example.org>",
      "<-  250 2.1.5 Ok",
      " -> DATA",
      "<-  354 End data with <CR><LF>.<CR><LF>",
      " -> [message: 5 lines, 65 bytes]",
      " -> .",
      "<-  250 2.0.0 Ok: queued",
      " -> QUIT",
      "<-  221 2.0.0 Bye",
      "=== sent: 250 2.0.0 Ok: queued",
    ]
    var lines = outcome.lines
    lines[0] = lines[0].replacingOccurrences(
      of: #":\d+ \("#, with: ":PORT (", options: .regularExpression)
    #expect(lines == golden)
  }

  // MARK: - DESIGN §3.3: STARTTLS stripping and tampering

  @Test(arguments: [
    (
      "not advertised", StandardSMTPOptions.StartTLSBehavior.notAdvertised,
      "STARTTLS not offered by localhost"
    ),
    (
      "refused", .refuse(reply: "454 4.7.0 TLS not available due to local problem"),
      "STARTTLS refused by localhost"
    ),
    ("other code", .refuse(reply: "250 sure"), "STARTTLS refused by localhost"),
    ("injection, same segment", .injectInSameSegment(line: "250 injected"), "STARTTLS tampered"),
    ("injection, later segment", .injectAfterReady(line: "250 injected", delay: 0.05), "TLS"),
    ("220 then plaintext", .stayPlaintext, "TLS"),
  ])
  func startTLSTamperingIsRefused(
    name: String, behavior: StandardSMTPOptions.StartTLSBehavior, reason: String
  )
    throws
  {
    let outcome = try H.run(server: try H.standard { $0.startTLS = behavior }) { $0.timeout = .seconds(2) }
    #expect(outcome.report.exitCode == 77, "\(name): \(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains(reason), "\(name): \(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.hasSuffix("nothing was sent"))
    #expect(!outcome.serverSawMailOrAuth, "\(name): \(outcome.commands)")
  }

  @Test func authOfferedOnlyBeforeTLSIsRefused() throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.capabilitiesBeforeTLS = ["PIPELINING", "AUTH PLAIN LOGIN"]
        $0.capabilitiesAfterTLS = ["PIPELINING", "8BITMIME"]
      })
    #expect(outcome.report.exitCode == 77)
    #expect(
      outcome.report.verdictLine
        == "refused: cannot authenticate: inside TLS localhost offers no AUTH at all — nothing was sent")
    #expect(!outcome.serverSawMailOrAuth)
  }

  /// Found against Postfix (auth only after TLS): the reason must not speak of TLS that never happened.
  @Test func noAuthWithoutTLSPointsToSTARTTLS() throws {
    let outcome = try H.run(
      server: try H.standard { $0.capabilitiesBeforeTLS = ["PIPELINING", "8BITMIME"] }, security: .plaintext)
    #expect(outcome.report.exitCode == 77)
    #expect(
      outcome.report.verdictLine
        == "refused: cannot authenticate: without TLS localhost offers no AUTH at all (it offers STARTTLS) — nothing was sent"
    )
    // The reason is data, so a front end words its own hint (the CLI names --tls starttls).
    #expect(
      outcome.report.failure?.reason == .authenticationUnavailable(offered: [], startTLSOffered: true))
    #expect(!outcome.serverSawMailOrAuth)
  }

  // MARK: - DESIGN §3.2: certificates and versions

  /// The handshake stops at the certificate: OpenSSL's alert tells the server why (it never sees a finished
  /// handshake), and the chain as received is still shown.
  @Test(arguments: [
    (TestIdentityKind.expired, "certificate has expired", "certificate expired"),
    (.notYetValid, "certificate is not yet valid", "bad certificate"),
    (.wrongHost, "hostname mismatch", "bad certificate"),
    (.selfSigned, "self-signed certificate", "unknown CA"),
    (.unknownCA, "self-signed certificate in certificate chain", "unknown CA"),
  ])
  func untrustedCertificatesAreRefused(kind: TestIdentityKind, reason: String, alert: String) throws {
    let outcome = try H.run(server: try H.standard(identity: kind))
    #expect(outcome.report.exitCode == 77, "\(kind): \(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine.contains("not trusted for localhost: \(reason)"), "\(kind)")
    #expect(!outcome.serverSawMailOrAuth)
    let lines = outcome.lines
    #expect(lines.contains("~~  TLS > alert fatal: \(alert)"), "\(kind): \(lines)")
    #expect(!lines.contains("~~  TLS > Finished"))
    #expect(lines.contains { $0.hasPrefix("~~  TLS = ") && $0.contains("NOT trusted: \(reason)") })
    #expect(lines.contains { $0.hasPrefix("~~  TLS cert 0: subject") }, "the chain is shown")
    #expect(outcome.sessions.first?.receivedInsideTLS.isEmpty == true)
    #expect(outcome.sessions.first?.error?.contains("alert") == true)
  }

  @Test(arguments: [ServerTLSVersion.tls10, .tls11])
  func oldTLSOnlyServersAreRefused(version: ServerTLSVersion) throws {
    let outcome = try H.run(server: try H.standard { $0.tlsVersions = version...version })
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
  }

  @Test func pinTrustsASelfSignedServer() throws {
    let pki = try TestPKI.shared()
    let spki = try Self.spkiHash(pki.identity(.selfSigned).certificatePath)
    let outcome = try H.run(server: try H.standard(identity: .selfSigned)) {
      $0.trust = .pins([.spkiSHA256(spki)])
    }
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.lines.contains { $0.hasPrefix("~~  TLS = ") && $0.contains("pinned sha256/") })
    let mismatch = try H.run(server: try H.standard(identity: .selfSigned)) {
      $0.trust = .pins([.spkiSHA256(Array(repeating: 7, count: 32))])
    }
    #expect(mismatch.report.exitCode == 77)
    #expect(!mismatch.serverSawMailOrAuth)
  }

  static func spkiHash(_ certificatePath: String) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [
      "-c",
      "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary",
      "sh", certificatePath,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
  }

  // MARK: - DESIGN §3.5, §3.6: secrets and hostile text

  @Test func echoedAuthBlobIsNeverShown() throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.echoAuthBlobInFailure = true
        $0.credentials = .init(user: H.user, password: "another-password")
      })
    #expect(outcome.report.exitCode == 77)
    #expect(outcome.report.verdictLine.contains("authentication failed"))
    let blob = try SASL.plainInitialResponse(user: H.user, password: Secret(H.password))
    let everything = outcome.text.joined(separator: "\n") + outcome.report.verdictLine
    #expect(!everything.contains(String(decoding: blob.bytes, as: UTF8.self)))
    #expect(!everything.contains(H.password))
    #expect(everything.contains("535 5.7.8 bad <redacted>"))
  }

  @Test func escapeSequencesFromTheServerAreEscaped() throws {
    let outcome = try H.run(
      server: try H.standard { $0.finalReply = "250 ok " + StandardSMTPOptions.hostileEscapeText })
    #expect(outcome.report.exitCode == 0)
    let everything = outcome.text.joined(separator: "\n") + outcome.report.verdictLine
    #expect(
      !everything.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E })
    #expect(everything.contains("250 ok \\u{001B}[2J\\u{001B}]0;owned\\u{0007}\\u{202E}evil\\u{009B}31m"))
  }

  // MARK: - DESIGN §3.7: stalls and endless replies

  @Test func stalledGreetingTimesOut() throws {
    let outcome = try H.run(
      server: try H.standard { $0.stall = .beforeGreeting(seconds: 4) }, stallAt: .greeting
    ) {
      $0.timeout = .seconds(60)
    }
    #expect(outcome.report.exitCode == 75)
    #expect(outcome.report.failure?.reason == .timedOut(.greeting))
    #expect(outcome.elapsed < .seconds(2))
  }

  @Test func stallMidHandshakeTimesOut() throws {
    let outcome = try H.run(
      server: try H.standard { $0.stall = .midHandshake(seconds: 4) }, stallAt: .handshake
    ) {
      $0.timeout = .seconds(60)
    }
    #expect(outcome.report.exitCode == 75, "\(outcome.report.verdictLine)")
    #expect(outcome.elapsed < .seconds(2))
    #expect(!outcome.serverSawMailOrAuth)
  }

  @Test func stallAfterTheFinalDotIsDeliveryUnknown() throws {
    let outcome = try H.run(
      server: try H.standard { $0.stall = .afterFinalDot(seconds: 4) }, stallAt: .awaitingFinalReply
    ) {
      $0.timeout = .seconds(60)
    }
    #expect(outcome.report.exitCode == 75)
    #expect(outcome.report.failure?.category == .deliveryUnknown)
    #expect(outcome.report.verdictLine.hasPrefix("delivery unknown: "))
    #expect(outcome.report.verdictLine.components(separatedBy: "delivery unknown").count == 2)
    #expect(outcome.report.verdictLine.hasSuffix("the server may or may not have accepted the message"))
    #expect(outcome.elapsed < .seconds(2))
  }

  @Test(arguments: [StandardSMTPOptions.EndlessReply.singleLine, .multiline])
  func endlessRepliesAreProtocolViolations(kind: StandardSMTPOptions.EndlessReply) throws {
    let outcome = try H.run(server: try H.standard { $0.endlessGreeting = kind })
    #expect(outcome.report.exitCode == 76, "\(outcome.report.verdictLine)")
  }

  @Test func cancellingAfterTheDotIsDeliveryUnknown() throws {
    let outcome = try H.run(
      server: try H.standard { $0.stall = .afterFinalDot(seconds: 4) }, cancelAfter: 0.6)
    #expect(outcome.report.failure?.category == .deliveryUnknown, "\(outcome.report.verdictLine)")
    #expect(outcome.elapsed < .seconds(2))
  }

  @Test func cancellingBeforeTheGreetingIsCancelledNotSent() throws {
    let outcome = try H.run(
      server: try H.standard { $0.stall = .beforeGreeting(seconds: 4) }, cancelAfter: 0.2)
    #expect(outcome.report.failure?.category == .cancelled, "\(outcome.report.verdictLine)")
    #expect(outcome.report.verdictLine == "cancelled — not sent")
    #expect(outcome.elapsed < .seconds(2))
  }

  // MARK: - DESIGN §3.8, §3.9: content and recipients

  @Test func bodyIsNormalisedAndDotStuffed() throws {
    let body = "one\n.\ntwo\r.\r\nthree\rfour\n..five\n.\r\n"
    let outcome = try H.run(server: try H.standard()) { $0.message = H.message(body) }
    #expect(outcome.report.exitCode == 0)
    let expected = "one\r\n..\r\ntwo\r\n..\r\nthree\r\nfour\r\n...five\r\n..\r\n"
    let received = try #require(outcome.sessions.first?.messages.first)
    let text = String(decoding: received, as: UTF8.self)
    #expect(text.hasSuffix("\r\n\r\n" + expected))
  }

  @Test(arguments: [true, false])
  func oneRefusedRecipientDeliversNothing(pipelining: Bool) throws {
    let outcome = try H.run(
      server: try H.standard {
        $0.recipientReplies = ["c@example.org": "550 5.1.1 <c@example.org>: no such user"]
        if !pipelining { $0.capabilitiesAfterTLS.removeAll { $0 == "PIPELINING" } }
      })
    #expect(outcome.report.exitCode == 69)
    #expect(outcome.report.verdictLine.contains("<c@example.org>"))
    #expect(!outcome.report.verdictLine.contains("<b@example.org>"))
    #expect(outcome.report.failure?.refusedRecipients.map(\.address) == ["c@example.org"])
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func temporaryMailFailureIs75() throws {
    let outcome = try H.run(server: try H.standard { $0.mailFromReply = "451 4.3.0 try later" })
    #expect(outcome.report.exitCode == 75)
    #expect(outcome.sessions.allSatisfy { $0.messages.isEmpty })
  }

  @Test func connectionRefusedIs69() throws {
    // Bind then close a port: nothing listens there.
    let server = try ScriptedSMTPServer(standard: try H.standard())
    let port = server.port
    server.stop()
    var request = try H.request(port: port, security: .startTLS)
    request.host = "127.0.0.1"
    let report = MailSender.send(request) { _ in }
    #expect(report.exitCode == 69, "\(report.verdictLine)")
  }

  @Test func unknownHostIs68() throws {
    var request = try H.request(port: 25, security: .startTLS)
    request.host = "no-such-host.invalid"
    let report = MailSender.send(request) { _ in }
    #expect(report.exitCode == 68, "\(report.verdictLine)")
  }

  /// A CA file that is not PEM, or not a file, is an input error found before connecting (exit 66).
  @Test(arguments: ["not-pem", "/", "/nonexistent/ca.pem"])
  func unusableCAFileIs66BeforeConnecting(name: String) throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var path = name
    if name == "not-pem" {
      path = directory.file("ca.pem")
      try "this is not a certificate\n".write(toFile: path, atomically: true, encoding: .utf8)
    }
    let server = try ScriptedSMTPServer(standard: try H.standard())
    defer { server.stop() }
    var request = try H.request(port: server.port, security: .startTLS)
    request.trust = .certificateAuthorities(caFile: path)
    let report = MailSender.send(request) { _ in }
    #expect(report.exitCode == 66, "\(report.verdictLine)")
    #expect(report.verdictLine.hasPrefix("cannot read: the CA file \(path) cannot be used: "))
    #expect(server.sessions.isEmpty)
  }

  @Test func controlCharactersInTheEnvelopeAreRefusedBeforeConnecting() throws {
    var request = try H.request(port: 9, security: .startTLS)
    request.recipients = ["b@example.org\r\nRSET"]
    let events = Mutex<[SendEvent]>([])
    let report = MailSender.send(request) { event in events.withLock { $0.append(event) } }
    #expect(report.exitCode == 65)
    #expect(!events.withLock { $0 }.transcriptLines.contains { $0.kind == .connect })
  }
}
