import Foundation
import MailMessage
import PropertyTesting
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// The JSON-lines transcript is checked against the committed schema with a validator nobody here wrote
/// (Python's `jsonschema`), and a broken sample must fail it.
@Suite struct TranscriptSchemaTests {
  static var schemaPath: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/MailSender/Schemas/transcript.schema.json")
      .path
  }

  static let certificate = CertificateSummary(
    subject: UntrustedText("CN=localhost"), issuer: UntrustedText("CN=Sealpost Test CA"),
    subjectAlternativeNames: [UntrustedText("DNS:localhost"), UntrustedText("IP:127.0.0.1")],
    notBefore: 1_700_000_000, notAfter: 1_800_000_000, publicKey: "EC P-256",
    signatureAlgorithm: "ecdsa-with-SHA256", sha256: Array(repeating: 0xAB, count: 32),
    spkiSHA256: Array(repeating: 0x01, count: 32))

  static let summary = TLSSessionSummary(
    version: .tls13, cipher: "TLS_AES_256_GCM_SHA384", group: "X25519", peerSignatureAlgorithm: nil,
    chain: [certificate], verdict: .verified(name: "localhost"))

  static let reply = ReplyRecord(code: 250, enhanced: "2.1.5", lines: ["250 2.1.5 ok"])

  /// One event of every payload kind (and every TLS step kind).
  static let events: [SendEvent] = [
    SendEvent(time: 0, insideTLS: false, payload: .stage(.connecting)),
    SendEvent(
      time: 0, insideTLS: false, payload: .connecting(server: "localhost:2525", address: "127.0.0.1")),
    SendEvent(
      time: 0.01, insideTLS: false,
      payload: .reply(ReplyRecord(code: 220, enhanced: nil, lines: ["220 ready"]))),
    SendEvent(
      time: 0.02, insideTLS: false,
      payload: .tls(
        .clientHello(serverNameIndication: "localhost", versions: .tls12 ... .tls13), showsChain: true)),
    SendEvent(
      time: 0.03, insideTLS: false,
      payload: .tls(.handshakeMessage(direction: .received, type: 2, name: "ServerHello"), showsChain: true)),
    SendEvent(
      time: 0.03, insideTLS: false, payload: .tls(.changeCipherSpec(direction: .sent), showsChain: true)),
    SendEvent(
      time: 0.03, insideTLS: false,
      payload: .tls(
        .alert(direction: .received, level: "fatal", description: "bad certificate"), showsChain: true)),
    SendEvent(time: 0.04, insideTLS: false, payload: .tls(.established(summary), showsChain: true)),
    SendEvent(time: 0.05, insideTLS: true, payload: .command("AUTH PLAIN <redacted> (user alice)")),
    SendEvent(
      time: 0.05, insideTLS: true,
      payload: .recipient(RecipientResult(address: "b@example.org", accepted: true, reply: reply))),
    SendEvent(time: 0.06, insideTLS: true, payload: .progress(sent: 60, total: 60)),
    SendEvent(time: 0.06, insideTLS: true, payload: .data("[message: 3 lines, 60 bytes]")),
    SendEvent(time: 0.07, insideTLS: false, payload: .note(.warning, "plaintext")),
    SendEvent(time: 0.08, insideTLS: true, payload: .note(.error, "failed")),
    SendEvent(time: 0.09, insideTLS: true, payload: .note(.info, "sent")),
    SendEvent(
      time: 0.1, insideTLS: true,
      payload: .outcome(
        OutcomeRecord(outcome: .sent(finalReply: reply), verdict: "sent: 250 2.1.5 ok", exitCode: 0))),
  ]

  /// Runs the validator over `lines`; returns its status (0 = every line valid).
  static func validate(_ lines: [String]) throws -> Int32 {
    try JSONSchemaValidator.shared(schema: schemaPath).status(ofLines: lines.joined(separator: "\n") + "\n")
  }

  @Test func everyKindOfEventValidates() throws {
    let lines = Self.events.flatMap { TranscriptFormat.jsonl.render($0, now: 1_750_000_000) }
    #expect(lines.count == Self.events.count)
    #expect(try Self.validate(lines) == 0)
  }

  /// Every event of real sessions (a delivery over STARTTLS with AUTH, and a refused certificate), as
  /// `--transcript jsonl` prints them, validates.
  @Test func realSessionsValidate() throws {
    let delivered = try SendHarness.run(server: try SendHarness.standard())
    let refused = try SendHarness.run(server: try SendHarness.standard(identity: .expired))
    #expect(delivered.report.exitCode == 0)
    #expect(refused.report.exitCode == 77)
    let events = delivered.events + refused.events
    #expect(events.contains { if case .tls(.established, _) = $0.payload { true } else { false } })
    for session in [delivered.events, refused.events] {
      // Exactly one outcome, and it is the last event.
      #expect(session.filter { if case .outcome = $0.payload { true } else { false } }.count == 1)
      if case .outcome = session.last?.payload {} else { Issue.record("the last event is not the outcome") }
    }
    let lines = events.flatMap { TranscriptFormat.jsonl.render($0, now: 1_750_000_000) }
    #expect(try Self.validate(lines) == 0)
  }

  @Test(arguments: [
    #"{"t":0.1,"kind":"recv","tls":false}"#,  // no reply
    #"{"t":0.1,"kind":"send","tls":false,"line":"x","extra":1}"#,  // unknown field
    #"{"t":0.1,"kind":"shout","tls":false,"line":"x"}"#,  // unknown kind
    #"{"t":-1,"kind":"send","tls":false,"line":"x"}"#,  // negative time
    #"{"t":0.1,"kind":"recv","tls":false,"reply":{"code":99,"enhanced":null,"lines":["99 x"]}}"#,  // bad code
    #"{"t":0.1,"kind":"recv","tls":false,"reply":{"code":250,"lines":["250 x"]}}"#,  // enhanced missing
    #"{"t":0.1,"kind":"stage","tls":false,"stage":"dancing"}"#,  // unknown stage
    #"{"t":0.1,"kind":"outcome","tls":false,"outcome":{"kind":"sent","verdict":"sent"}}"#,  // no exit code
    #"{"t":0.1,"kind":"progress","tls":false,"sent":-1,"total":3}"#,  // negative progress
    #"{"t":0.1,"kind":"tls","tls":false,"line":"x","step":{"type":"handshake","direction":"up","message":"A","code":1}}"#,
  ])
  func brokenSamplesFail(sample: String) throws {
    #expect(try Self.validate([sample]) != 0)
  }
}
