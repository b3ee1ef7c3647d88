import Foundation
import MailMessage
import MailSenderTesting
import PropertyTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// `MailSender.probe` and the TLS trace of `send`, against the scripted server (issue 3).
@Suite struct ProbeTests {
  static func probe(
    _ standard: StandardSMTPOptions, serverOptions: ScriptedSMTPServer.Options = .init(),
    security: TransportSecurity = .startTLS, connections: Int = 1,
    configure: (inout ProbeRequest) -> Void = { _ in }
  ) throws -> (ProbeReport, [RecordedSession]) {
    let server = try ScriptedSMTPServer(standard: standard, options: serverOptions)
    defer { server.stop() }
    var request = ProbeRequest(
      host: "localhost", port: server.port, security: security,
      trust: .certificateAuthorities(caFile: try TestPKI.shared().caCertificatePath), timeout: .seconds(5))
    configure(&request)
    let streamed = Mutex<[SendEvent]>([])
    let report = MailSender.probe(request) { event in streamed.withLock { $0.append(event) } }
    #expect(streamed.withLock { $0 } == report.transcript, "the observer saw every event, in order")
    let sessions = connections == 0 ? server.sessions : server.waitForFinishedSessions(connections)
    return (report, sessions)
  }

  static func lines(_ report: ProbeReport) -> [String] {
    report.transcript.transcriptLines.map { "\(TranscriptFormat.marker($0)) \($0.line)" }
  }

  @Test func startTLSProbeReportsCapabilitiesAndTrust() throws {
    let (report, sessions) = try Self.probe(
      try SendHarness.standard { $0.mailFromReply = "530 5.7.0 Must issue a STARTTLS command first" })
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.isTrustworthy)
    #expect(report.warnings.isEmpty)
    #expect(
      ProbeReport.lines(report.session.capabilitiesBeforeTLS) == [
        "8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE 10240000", "STARTTLS",
      ])
    #expect(report.capabilityDifferences.onlyBeforeTLS == ["STARTTLS"])
    #expect(report.capabilityDifferences.onlyAfterTLS == ["AUTH PLAIN LOGIN"])
    #expect(report.session.tls?.verdict == .verified(name: "localhost"))
    #expect(
      sessions.first?.commands == [
        "EHLO [127.0.0.1]", "MAIL FROM:<>", "RSET", "STARTTLS", "EHLO [127.0.0.1]", "QUIT",
      ])

    // The tickets show where they arrive: after the EHLO inside TLS, before its reply.
    let lines = Self.lines(report)
    let ehlo = try #require(lines.firstIndex(of: " ~> EHLO [127.0.0.1]"))
    #expect(
      Array(lines[(ehlo + 1)...(ehlo + 3)]) == [
        "~~  TLS < NewSessionTicket", "~~  TLS < NewSessionTicket",
        "<~  250-mx.sealpost.test greets [127.0.0.1]",
      ])
    #expect(lines.last == "=== " + report.verdictLine)
    let times = report.transcript.map(\.time)
    #expect(times == times.sorted(), "one clock for the whole probe")
  }

  @Test func sendShowsTheSameTraceIncludingTicketsAndBothChangeCipherSpecs() throws {
    let outcome = try SendHarness.run(server: try SendHarness.standard())
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let steps = outcome.lines.filter { $0.hasPrefix("~~  TLS > ") || $0.hasPrefix("~~  TLS < ") }
    #expect(
      steps == [
        "~~  TLS > ClientHello (SNI localhost, TLS 1.2–1.3)", "~~  TLS < ServerHello",
        "~~  TLS < ChangeCipherSpec",
        "~~  TLS < EncryptedExtensions", "~~  TLS < Certificate", "~~  TLS < CertificateVerify",
        "~~  TLS < Finished", "~~  TLS > ChangeCipherSpec", "~~  TLS > Finished",
        "~~  TLS < NewSessionTicket",
        "~~  TLS < NewSessionTicket",
      ])
    #expect(outcome.report.tls?.version == .tls13)
    #expect(outcome.report.capabilitiesAfterTLS?.authMechanisms == ["PLAIN", "LOGIN"])
  }

  @Test func plaintextProbeIsAUsageError() throws {
    let (report, sessions) = try Self.probe(
      try SendHarness.standard(), security: .plaintext, connections: 0)
    #expect(report.exitCode == 64)
    #expect(sessions.isEmpty, "nothing connected")
  }

  @Test func pinnedSelfSignedServerIsTrustworthyAndShowsWhatTheChainCheckSaid() throws {
    let pki = try TestPKI.shared()
    let pem = try pki.openssl(["x509", "-pubkey", "-noout", "-in", pki.identity(.selfSigned).certificatePath])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "der"], input: pem)
    let spki = Array(try pki.openssl(["dgst", "-sha256", "-binary"], input: der))
    let (report, _) = try Self.probe(try SendHarness.standard(identity: .selfSigned)) {
      $0.trust = .pins([.spkiSHA256(spki)])
    }
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.verdictLine.contains("key pinned (sha256/"))
    #expect(
      Self.lines(report).contains(
        "~~  TLS chain and name (not needed with a pin): not verified: self-signed certificate (certificate 0 of the chain)"
      ))
  }

  @Test func strippedStartTLSNeverHandshakesAndItsJSONValidates() throws {
    let (report, sessions) = try Self.probe(
      try SendHarness.standard { $0.startTLS = .notAdvertised }
    ) { $0.checkVersions = true }
    #expect(report.exitCode == 77)
    #expect(report.verdictLine == "not trustworthy: STARTTLS not offered by localhost — nothing was sent")
    #expect(report.versions.isEmpty, "no handshake to vary")
    #expect(report.session.tls == nil)
    #expect(sessions.count == 1)
    let json = report.json()
    #expect(json.contains("\"tls\":null"))
    #expect(json.contains("\"handshake\":[]"))
    #expect(try ProbeSchemaCheck.validate(json) == 0)
  }

  @Test func certificateLinesAreTheReportWrittenByHand() {
    let certificate = CertificateSummary(
      subject: UntrustedText(Array("CN=evil\u{1B}[2J".utf8)), issuer: UntrustedText("CN=Test CA"),
      subjectAlternativeNames: [UntrustedText("DNS:mx.example.org"), UntrustedText("IP:192.0.2.1")],
      notBefore: 1_700_000_000, notAfter: 1_800_000_000, publicKey: "RSA 2048",
      signatureAlgorithm: "sha256WithRSAEncryption", sha256: [0x0A] + Array(repeating: 0xFF, count: 31),
      spkiSHA256: Array(repeating: 0, count: 32))
    // 1_800_000_000 − 1_799_000_000 = 1,000,000 s = 11.57 days.
    #expect(
      TranscriptText.certificateLines(certificate, index: 0, now: 1_799_000_000) == [
        "TLS cert 0: subject CN=evil\\u{001B}[2J",
        "TLS cert 0: issuer CN=Test CA",
        "TLS cert 0: names DNS:mx.example.org, IP:192.0.2.1",
        "TLS cert 0: valid 2023-11-14 to 2027-01-15 (11 days left)",
        "TLS cert 0: key RSA 2048, signature sha256WithRSAEncryption",
        "TLS cert 0: SHA-256 0A:" + Array(repeating: "FF", count: 31).joined(separator: ":"),
        "TLS cert 0: pin sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      ])
    #expect(
      TranscriptText.certificateLines(certificate, index: 2, now: 1_800_172_800)[3]
        == "TLS cert 2: valid 2023-11-14 to 2027-01-15 (expired 2 days ago)")
    #expect(
      TranscriptText.certificateLines(certificate, index: 1, now: 1_699_900_000)[3]
        == "TLS cert 1: valid 2023-11-14 to 2027-01-15 (not valid yet: starts in 2 days)")
  }

  @Test func expiringCertificateWarningCountsWholeDays() {
    let soon = CertificateSummary(
      subject: UntrustedText("CN=mx"), issuer: UntrustedText("CN=CA"), subjectAlternativeNames: [],
      notBefore: 0, notAfter: 1_000_000 + 13 * 86_400 + 3_600, publicKey: "EC P-256",
      signatureAlgorithm: "ecdsa-with-SHA256", sha256: [], spkiSHA256: [])
    var report = ProbeReport(
      request: ProbeRequest(host: "mx", port: 465, security: .implicitTLS),
      session: SendReport(failure: nil, finalReply: nil, goal: .inspect), versions: [], warnings: [],
      transcript: [])
    report.session.tls = TLSSessionSummary(
      version: .tls13, cipher: "TLS_AES_128_GCM_SHA256", group: "X25519", peerSignatureAlgorithm: nil,
      chain: [soon], verdict: .verified(name: "mx"))
    #expect(
      MailSender.warnings(report, now: 1_000_000) == [
        "certificate 0 (CN=mx) expires in 13 days, on 1970-01-25"
      ])
    // 14 days and more: no warning.
    report.session.tls?.chain[0].notAfter = 1_000_000 + 14 * 86_400
    #expect(MailSender.warnings(report, now: 1_000_000).isEmpty)
  }
}

/// The probe schema, checked with Python's jsonschema.
enum ProbeSchemaCheck {
  static func validate(_ document: String) throws -> Int32 {
    let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/MailSender/Schemas/probe.schema.json").path
    return try JSONSchemaValidator.shared(schema: schema).status(of: document)
  }
}
