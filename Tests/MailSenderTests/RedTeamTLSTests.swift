import Foundation
import MailMessage
import MailSenderTesting
import SMTPProtocol
import SMTPTransport
import Synchronization
import Testing

@testable import MailSender

/// Adversarial servers inside TLS and around it (red team): the end of TLS followed by plaintext,
/// renegotiation, key-update floods, certificates full of control characters, probes of tampered channels.
@Suite struct RedTeamTLSTests {
  typealias R = RedTeamTests

  static func implicitTLS(
    _ kind: TestIdentityKind = .valid, versions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13
  ) throws -> ScriptedSMTPServer.Options {
    .init(implicitTLS: try TestPKI.shared().identity(kind), versions: versions, timeout: 3)
  }

  /// Greeting, EHLO (the given capability lines), then a standard reply to each command until QUIT.
  static func standardAfter(
    ehlo: [String] = ["mx", "AUTH PLAIN"],
    before: @escaping @Sendable (ServerSession) throws -> Void = { _ in }
  ) -> @Sendable (ServerSession) throws -> Void {
    { session in
      try session.send("220 mx")
      _ = try session.readLine()
      try before(session)
      let lines = ehlo.enumerated().map { ($0 == ehlo.count - 1 ? "250 " : "250-") + $1 }
      try session.send(lines.joined(separator: "\r\n"))
      try R.script(greeting: "")(session)
    }
  }

  @Test func plaintextAfterCloseNotifyIsNeverRead() throws {
    let outcome = try R.run(
      security: .implicitTLS, serverOptions: try Self.implicitTLS(), password: R.password,
      configure: { $0.host = "localhost" },
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.closeNotifyThenSendPlaintext(Array("250-mx\r\n250 AUTH PLAIN\r\n235 ok\r\n".utf8))
        _ = try session.waitForClose(timeout: 2)
      })
    #expect(outcome.report.exitCode == 75, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
    #expect(!outcome.lines.contains { $0.contains("250") }, "\(outcome.lines)")
  }

  @Test func aTLS12RenegotiationRequestIsRefusedWithoutHarm() throws {
    let outcome = try R.run(
      security: .implicitTLS, serverOptions: try Self.implicitTLS(versions: .tls12 ... .tls12),
      configure: { $0.host = "localhost" },
      script: Self.standardAfter(ehlo: ["mx"]) { session in try session.requestRenegotiation() })
    // The client refuses (no_renegotiation alert, or no answer): either the session goes on unchanged or the
    // server gives up on it; never a hang, never a crash.
    #expect([0, 75].contains(outcome.report.exitCode), "\(outcome.report.verdictLine)")
    #expect(outcome.elapsed < .seconds(2))
    R.expectNoRawControls(outcome)
  }

  @Test func aKeyUpdateFloodIsBoundedInTheTranscript() throws {
    let outcome = try R.run(
      security: .implicitTLS, serverOptions: try Self.implicitTLS(versions: .tls13 ... .tls13),
      configure: { $0.host = "localhost" },
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.sendWithKeyUpdates(90, continuation: "250-x")
        try session.send("250 8BITMIME")
        try R.script(greeting: "")(session)
      })
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    let postHandshake = outcome.lines.drop { !$0.hasPrefix("<~  250-x") }.filter { $0.hasPrefix("~~  TLS") }
    #expect(postHandshake.count <= 8, "\(postHandshake)")
    #expect(outcome.elapsed < .seconds(2))
  }

  @Test func startTLSAdvertisedTwiceIsStillOneSTARTTLS() throws {
    var options = try SendHarness.standard()
    options.capabilitiesBeforeTLS = ["STARTTLS", "PIPELINING", "starttls"]
    let outcome = try SendHarness.run(server: options)
    #expect(outcome.report.exitCode == 0, "\(outcome.report.verdictLine)")
    #expect(outcome.commands.filter { $0 == "STARTTLS" }.count == 1)
  }

  /// `::ffff:127.0.0.1` reaches the IPv4 listener through an IPv6 socket: the peer is loopback by its
  /// address (DESIGN §3.4), so plaintext with AUTH is allowed; `::1` the same.
  @Test func ipv6LoopbackFormsAreLoopback() throws {
    for host in ["::ffff:127.0.0.1", "::1"] {
      let server = try ScriptedSMTPServer(
        options: .init(listenOnIPv6: true, timeout: 3),
        script: Self.standardAfter(ehlo: ["mx", "AUTH PLAIN"]) { _ in })
      defer { server.stop() }
      let port = host == "::1" ? try #require(server.ipv6Port) : server.port
      var request = SendRequest(
        host: host, port: port, security: .plaintext,
        credentials: Credentials(user: R.user, password: Secret(R.password)), timeout: .seconds(1),
        reversePath: "a@example.org", recipients: ["b@example.org"], message: R.message())
      request.allowInsecure = false
      let report = MailSender.send(request) { _ in }
      #expect(report.exitCode == 0, "\(host): \(report.verdictLine)")
    }
  }

  // MARK: - Certificates with hostile text

  /// A self-signed certificate whose subject, issuer and SAN hold ESC sequences, C1 and bidi controls.
  static func hostileCertificate() throws -> TestIdentity {
    let pki = try TestPKI.shared()
    let directory = pki.directory + "/hostile-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let key = directory + "/key.pem"
    let certificate = directory + "/cert.pem"
    _ = try pki.openssl([
      "req", "-x509", "-utf8", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", key, "-out", certificate, "-days", "30",
      "-subj", "/CN=evil\u{1B}]0;owned\u{07}\u{1B}[2Jname\u{202E}gnp.exe\u{85}/O=\u{9B}31m",
      "-addext", "subjectAltName=DNS:localhost,DNS:x\u{1B}[31m.example,DNS:y\u{7F}z",
    ])
    return TestIdentity(kind: .selfSigned, certificatePath: certificate, keyPath: key, chainPath: certificate)
  }

  @Test func certificateFieldsFullOfControlsAreEscapedInSendAndProbe() throws {
    let identity = try Self.hostileCertificate()
    let options = ScriptedSMTPServer.Options(implicitTLS: identity, timeout: 3)
    let outcome = try R.run(
      security: .implicitTLS, serverOptions: options, password: R.password,
      configure: { $0.host = "localhost" }, script: Self.standardAfter())
    #expect(outcome.report.exitCode == 77, "\(outcome.report.verdictLine)")
    #expect(!outcome.serverSawMailOrAuth)
    // OpenSSL's RFC 2253 form escapes C0 itself (`\1B`); C1 and bidi controls are left to UntrustedText.
    #expect(
      outcome.lines.contains(
        "~~  TLS cert 0: subject O=\\u{009B}31m,CN=evil\\1B]0\\;owned\\07\\1B[2Jname\\u{202E}gnp.exe\\u{0085}"
      ),
      "\(outcome.lines.filter { $0.contains("cert 0") })")
    #expect(outcome.lines.contains { $0.contains("DNS:x\\u{001B}[31m.example") }, "\(outcome.lines)")
    R.expectNoRawControls(outcome)

    // The probe, text and JSON, with the certificate as its own anchor (so the chain verifies for localhost).
    let server = try ScriptedSMTPServer(options: options, script: Self.standardAfter())
    defer { server.stop() }
    let report = MailSender.probe(
      ProbeRequest(
        host: "localhost", port: server.port, security: .implicitTLS,
        trust: .certificateAuthorities(caFile: identity.certificatePath), timeout: .seconds(1))
    ) { _ in }
    let json = report.json()
    let text = report.transcript.flatMap { TranscriptFormat.text.render($0, now: 0) } + [report.verdictLine]
    for line in text + [json] {
      let bad = line.unicodeScalars.first { value in
        value.value < 0x20 && value != "\n" || value.value == 0x7F || (0x80...0x9F).contains(value.value)
          || (0x202A...0x202E).contains(value.value)
      }
      #expect(bad == nil, "raw control in \(line.debugDescription)")
    }
    #expect(json.contains("DNS:x\\\\u{001B}[31m.example"), "escaped, then JSON-encoded")
    _ = try JSONSerialization.jsonObject(with: Data(json.utf8))
  }

  // MARK: - Probe against tampered channels

  @Test func probeOfAnInjectedSTARTTLSIsNeverTrustworthy() throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(.valid)
    let server = try ScriptedSMTPServer(
      options: .init(timeout: 3),
      script: { session in
        try session.send("220 mx")
        _ = try session.readLine()
        try session.send("250-mx\r\n250 STARTTLS")
        _ = try session.readLine()
        try session.sendRaw(Array("220 go\r\n250-mx\r\n250 AUTH PLAIN\r\n".utf8))
        try session.startTLS(identity: identity)
        try R.script(greeting: "")(session)
      })
    defer { server.stop() }
    let report = MailSender.probe(
      ProbeRequest(
        host: "localhost", port: server.port, security: .startTLS,
        trust: .certificateAuthorities(caFile: pki.caCertificatePath), timeout: .seconds(1))
    ) { _ in }
    #expect(report.exitCode == 77, "\(report.verdictLine)")
    #expect(!report.isTrustworthy)
    #expect(report.verdictLine.hasPrefix("not trustworthy: STARTTLS tampered"), "\(report.verdictLine)")
    #expect(!report.json().contains("\"verdict\":\"trustworthy"))
  }
}
