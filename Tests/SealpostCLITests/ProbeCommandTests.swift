import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `sealpost probe`, the built binary, against the scripted server (issue 3, "done when").
@Suite(.serialized) struct ProbeCommandTests {
  static func arguments(port: UInt16, mode: String, json: Bool = false) throws -> [String] {
    ["probe", "localhost:\(port)", "--tls", mode, "--ca-file", try TestPKI.shared().caCertificatePath]
      + ["--timeout", "5"] + (json ? ["--json"] : [])
  }

  static func server(
    _ kind: TestIdentityKind = .valid, implicit: Bool,
    versions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13,
    requestCertificate: Bool = false, configure: (inout StandardSMTPOptions) -> Void = { _ in }
  ) throws -> ScriptedSMTPServer {
    let identity = try TestPKI.shared().identity(kind)
    var standard = StandardSMTPOptions(tlsIdentity: identity)
    standard.tlsVersions = versions
    standard.requestClientCertificate = requestCertificate
    // A submission server that wants TLS first (RFC 3207 §4): the probe's MAIL before STARTTLS gets a 530.
    standard.mailFromReply = "530 5.7.0 Must issue a STARTTLS command first"
    configure(&standard)
    var options = ScriptedSMTPServer.Options(implicitTLS: implicit ? identity : nil, versions: versions)
    options.requestClientCertificate = requestCertificate
    return try ScriptedSMTPServer(standard: standard, options: options)
  }

  // MARK: - The same handshake as openssl s_client sees it

  struct Matched: Sendable, CustomTestStringConvertible {
    var implicit: Bool
    var version: ServerTLSVersion
    var requestCertificate: Bool
    /// Written by hand from RFC 8446 §2 / RFC 5246 §7.3 and OpenSSL's behaviour (middlebox-compatibility
    /// ChangeCipherSpec in TLS 1.3, two tickets after a TLS 1.3 handshake, one inside a TLS 1.2 handshake).
    var expected: [String]
    var testDescription: String {
      "\(implicit ? "implicit" : "STARTTLS") \(version)\(requestCertificate ? " with CertificateRequest" : "")"
    }
  }

  static let tls13 = [
    "> ClientHello", "< ServerHello", "< ChangeCipherSpec", "< EncryptedExtensions", "< Certificate",
    "< CertificateVerify", "< Finished", "> ChangeCipherSpec", "> Finished", "< NewSessionTicket",
    "< NewSessionTicket",
  ]
  static let tls12 = [
    "> ClientHello", "< ServerHello", "< Certificate", "< ServerKeyExchange", "< ServerHelloDone",
    "> ClientKeyExchange", "> ChangeCipherSpec", "> Finished", "< NewSessionTicket", "< ChangeCipherSpec",
    "< Finished",
  ]
  static let tls13WithRequest = [
    "> ClientHello", "< ServerHello", "< ChangeCipherSpec", "< EncryptedExtensions", "< CertificateRequest",
    "< Certificate", "< CertificateVerify", "< Finished", "> ChangeCipherSpec", "> Certificate", "> Finished",
    "< NewSessionTicket", "< NewSessionTicket",
  ]
  static let tls12WithRequest = [
    "> ClientHello", "< ServerHello", "< Certificate", "< ServerKeyExchange", "< CertificateRequest",
    "< ServerHelloDone", "> Certificate", "> ClientKeyExchange", "> ChangeCipherSpec", "> Finished",
    "< NewSessionTicket", "< ChangeCipherSpec", "< Finished",
  ]

  @Test(arguments: [
    Matched(implicit: true, version: .tls13, requestCertificate: false, expected: tls13),
    Matched(implicit: true, version: .tls12, requestCertificate: false, expected: tls12),
    Matched(implicit: false, version: .tls13, requestCertificate: false, expected: tls13),
    Matched(implicit: false, version: .tls12, requestCertificate: false, expected: tls12),
    Matched(implicit: true, version: .tls13, requestCertificate: true, expected: tls13WithRequest),
    Matched(implicit: false, version: .tls12, requestCertificate: true, expected: tls12WithRequest),
  ])
  func handshakeEqualsOpenSSLsView(_ matched: Matched) throws {
    let pki = try TestPKI.shared()
    let server = try Self.server(
      implicit: matched.implicit, versions: matched.version...matched.version,
      requestCertificate: matched.requestCertificate)
    defer { server.stop() }

    var clientArguments = [
      "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.caCertificatePath, "-servername", "localhost",
    ]
    if !matched.implicit { clientArguments += ["-starttls", "smtp"] }
    let reference = try SClient.run(clientArguments)
    #expect(!reference.killed, "s_client did not end: \(reference.output)")
    let openSSLSees = SClient.messages(reference.output)

    let probe = try CLIRunner.run(
      try Self.arguments(port: server.port, mode: matched.implicit ? "implicit" : "starttls", json: true))
    #expect(probe.status == 0, "\(probe.stderr)")
    let document = try ProbeJSONDocument.parse(probe.stdout)
    let probeSees = try ProbeJSONDocument.messages(document)

    #expect(openSSLSees == matched.expected, "\(reference.output)")
    #expect(probeSees == openSSLSees)

    // The text transcript names the same steps, each with its time, in the same order.
    let text = try CLIRunner.run(
      try Self.arguments(port: server.port, mode: matched.implicit ? "implicit" : "starttls"))
    let steps = text.stdout.split(separator: "\n").compactMap { line -> String? in
      guard line.hasPrefix("~~  +"), let range = line.range(of: " TLS ") else { return nil }
      let rest = line[range.upperBound...]
      guard rest.hasPrefix("> ") || rest.hasPrefix("< ") else { return nil }
      return String(rest.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces)
    }
    #expect(steps == matched.expected, "\(text.stdout)")
  }

  // MARK: - Certificate report

  @Test(arguments: [TestIdentityKind.valid, .validRSA])
  func fingerprintsAndPinsEqualOpenSSLs(_ kind: TestIdentityKind) throws {
    let pki = try TestPKI.shared()
    let server = try Self.server(kind, implicit: true)
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "implicit", json: true))
    #expect(probe.status == 0, "\(probe.stderr)")
    let document = try ProbeJSONDocument.parse(probe.stdout)
    let tls = try #require(document["tls"] as? [String: Any])
    let chain = try #require(tls["chain"] as? [[String: Any]])
    try #require(chain.count == 2)
    let files = [pki.identity(kind).certificatePath, pki.caCertificatePath]
    for (certificate, file) in zip(chain, files) {
      #expect(certificate["sha256"] as? String == (try OpenSSLFacts.fingerprint(pki, file)))
      #expect(certificate["pin"] as? String == (try OpenSSLFacts.pin(pki, file)))
    }

    let text = try CLIRunner.run(try Self.arguments(port: server.port, mode: "implicit"))
    let lines = text.stdout.split(separator: "\n").map(String.init)
    let leafFingerprint = try OpenSSLFacts.fingerprint(pki, files[0])
    let leafPin = try OpenSSLFacts.pin(pki, files[0])
    #expect(lines.contains { $0.hasSuffix(" TLS cert 0: SHA-256 \(leafFingerprint)") })
    #expect(lines.contains { $0.hasSuffix(" TLS cert 0: pin \(leafPin)") })
    #expect(lines.contains { $0.hasSuffix(" TLS cert 0: subject CN=localhost") })
    #expect(lines.contains { $0.hasSuffix(" TLS cert 0: names DNS:localhost, IP:127.0.0.1, IP:::1") })
    #expect(
      lines.contains { $0.hasSuffix(" TLS cert 1: issuer CN=Sealpost Test Root CA,O=Sealpost Tests") })
    let key =
      kind == .valid ? "EC P-256, signature ecdsa-with-SHA256" : "RSA 2048, signature ecdsa-with-SHA256"
    #expect(lines.contains { $0.hasSuffix(" TLS cert 0: key \(key)") })
    #expect(lines.contains { $0.contains(" TLS cert 0: valid ") && $0.hasSuffix(" days left)") })

    // The pin the report prints is one --pin accepts.
    let pinned = try CLIRunner.run([
      "probe", "localhost:\(server.port)", "--tls", "implicit", "--pin", leafPin,
    ])
    #expect(pinned.status == 0, "\(pinned.stderr)")
    #expect(pinned.stderr.hasPrefix("sealpost: trustworthy: TLS 1.3 "))
    #expect(pinned.stderr.contains("key pinned (\(leafPin))"))
  }

  @Test func validServerIsTrustworthy() throws {
    let server = try Self.server(implicit: false)
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls"))
    #expect(probe.status == 0, "\(probe.stderr)")
    #expect(probe.stderr.hasPrefix("sealpost: trustworthy: TLS 1.3 TLS_AES_256_GCM_SHA384, X25519, "))
    #expect(probe.stderr.hasSuffix("certificate verified for localhost — nothing was sent\n"))
    let lines = probe.stdout.split(separator: "\n").map {
      String($0.dropFirst(4).drop { $0 != " " }.dropFirst())
    }
    #expect(
      lines.contains(
        "capabilities before TLS: 8BITMIME, ENHANCEDSTATUSCODES, PIPELINING, SIZE 10240000, STARTTLS"))
    #expect(
      lines.contains(
        "capabilities inside TLS: 8BITMIME, AUTH PLAIN LOGIN, ENHANCEDSTATUSCODES, PIPELINING, SIZE 10240000")
    )
    #expect(lines.contains("capabilities only before TLS: STARTTLS"))
    #expect(lines.contains("capabilities only inside TLS: AUTH PLAIN LOGIN"))
    #expect(
      lines.contains {
        $0.hasPrefix("TLS = TLS 1.3 TLS_AES_256_GCM_SHA384, X25519, signed ecdsa_secp256r1_sha256;")
      })
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(
      session.commands == [
        "EHLO [127.0.0.1]", "MAIL FROM:<>", "RSET", "STARTTLS", "EHLO [127.0.0.1]", "QUIT",
      ])
  }

  @Test(arguments: [
    (TestIdentityKind.expired, "certificate has expired (certificate 0 of the chain)"),
    (.wrongHost, "hostname mismatch (certificate 0 of the chain)"),
    (.selfSigned, "self-signed certificate (certificate 0 of the chain)"),
  ])
  func untrustedServersShowTheChainAndExit77(kind: TestIdentityKind, reason: String) throws {
    for implicit in [true, false] {
      let server = try Self.server(kind, implicit: implicit)
      defer { server.stop() }
      let probe = try CLIRunner.run(
        try Self.arguments(port: server.port, mode: implicit ? "implicit" : "starttls"))
      #expect(probe.status == 77, "\(kind): \(probe.stderr)")
      #expect(probe.stderr.hasPrefix("sealpost: not trustworthy: "), "\(probe.stderr)")
      #expect(probe.stderr.contains(reason), "\(probe.stderr)")
      #expect(probe.stdout.contains("TLS cert 0: subject CN=localhost"))
      #expect(probe.stdout.contains("TLS cert 0: SHA-256 "))
      #expect(probe.stdout.contains("NOT trusted: \(reason)"))
      // Nothing but the handshake on that connection.
      let session = try #require(server.waitForFinishedSessions(1).first)
      #expect(session.receivedInsideTLS.isEmpty)
    }
  }

  @Test func strippedStartTLSExits77() throws {
    let server = try Self.server(implicit: false) { $0.startTLS = .notAdvertised }
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls"))
    #expect(probe.status == 77, "\(probe.stderr)")
    #expect(probe.stderr.hasPrefix("sealpost: not trustworthy: STARTTLS not offered"), "\(probe.stderr)")
    #expect(!probe.stdout.contains("TLS > ClientHello"))
  }

  @Test func authBeforeTLSIsAWarning() throws {
    let server = try Self.server(implicit: false) { $0.capabilitiesBeforeTLS.append("AUTH PLAIN LOGIN") }
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls"))
    #expect(probe.status == 0, "\(probe.stderr)")
    #expect(probe.stdout.contains("!!  "))
    #expect(probe.stdout.contains("the server offers AUTH PLAIN LOGIN before TLS"))
    #expect(probe.stderr.contains("; 1 warning — nothing was sent"))
  }

  @Test func certificateExpiringWithin14DaysIsAWarning() throws {
    let server = try Self.server(.expiringSoon, implicit: true)
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "implicit"))
    #expect(probe.status == 0, "\(probe.stderr)")
    // Made with `openssl ca -days 5` moments ago: 4 whole days and some hours left.
    #expect(probe.stdout.contains("!!  "))
    #expect(probe.stdout.contains("certificate 0 (CN=localhost) expires in 4 days"))
    #expect(probe.stderr.hasPrefix("sealpost: trustworthy: "))
  }

  // MARK: - --versions

  struct VersionCase: Sendable, CustomTestStringConvertible {
    var server: ClosedRange<ServerTLSVersion>
    /// Accepted per attempt 1.0, 1.1, 1.2, 1.3 — by hand from the server's range.
    var accepted: [Bool]
    var status: Int32
    var oldVersionWarnings: Int
    var testDescription: String { "server \(server.lowerBound)…\(server.upperBound)" }
  }

  @Test(arguments: [
    VersionCase(
      server: .tls10 ... .tls10, accepted: [true, false, false, false], status: 77, oldVersionWarnings: 1),
    VersionCase(
      server: .tls11 ... .tls11, accepted: [false, true, false, false], status: 77, oldVersionWarnings: 1),
    VersionCase(
      server: .tls12 ... .tls12, accepted: [false, false, true, false], status: 0, oldVersionWarnings: 0),
    VersionCase(
      server: .tls13 ... .tls13, accepted: [false, false, false, true], status: 0, oldVersionWarnings: 0),
    VersionCase(
      server: .tls10 ... .tls13, accepted: [true, true, true, true], status: 0, oldVersionWarnings: 2),
  ])
  func versionsAreReportedPerAttempt(_ testCase: VersionCase) throws {
    let server = try Self.server(implicit: true, versions: testCase.server)
    defer { server.stop() }
    let probe = try CLIRunner.run(
      try Self.arguments(port: server.port, mode: "implicit", json: true) + ["--versions"])
    #expect(probe.status == testCase.status, "\(probe.stderr)")
    let document = try ProbeJSONDocument.parse(probe.stdout)
    let versions = try #require(document["versions"] as? [[String: Any]])
    #expect(versions.map { $0["version"] as? String } == ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"])
    #expect(versions.map { $0["accepted"] as? Bool } == testCase.accepted, "\(versions)")
    let warnings = try #require(document["warnings"] as? [String])
    #expect(warnings.filter { $0.contains("obsolete (RFC 8996)") }.count == testCase.oldVersionWarnings)
    #expect(try ProbeSchema.validate(probe.stdout) == 0)
    // One connection for the probe, one per attempt: each attempt did its own SMTP steps up to the handshake.
    #expect(server.waitForFinishedSessions(5).count == 5)
  }

  @Test func versionsOverStartTLSRepeatTheSMTPSteps() throws {
    let server = try Self.server(implicit: false, versions: .tls12 ... .tls13)
    defer { server.stop() }
    let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls") + ["--versions"])
    #expect(probe.status == 0, "\(probe.stderr)")
    #expect(
      probe.stdout.contains(
        "TLS versions: TLS 1.0 refused (server offers only versions older than TLS 1.2") == false)
    let summary = try #require(probe.stdout.split(separator: "\n").first { $0.contains(" TLS versions: ") })
    #expect(summary.contains("TLS 1.0 refused ("))
    #expect(summary.contains("TLS 1.1 refused ("))
    #expect(summary.contains("TLS 1.2 accepted; TLS 1.3 accepted"))
    let sessions = server.waitForFinishedSessions(5)
    #expect(sessions.count == 5)
    #expect(sessions.first?.commands.contains("MAIL FROM:<>") == true)
    for session in sessions.dropFirst() {
      #expect(session.commands == ["EHLO [127.0.0.1]", "STARTTLS"])
    }
  }

  // MARK: - --json

  static let samplePin = "sha256/" + String(repeating: "A", count: 43) + "="

  @Test func jsonValidatesAndBrokenSamplesFail() throws {
    let server = try Self.server(implicit: false) { $0.capabilitiesBeforeTLS.append("AUTH PLAIN") }
    defer { server.stop() }
    let good = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls", json: true))
    #expect(good.status == 0, "\(good.stderr)")
    #expect(good.stdout.split(separator: "\n").count == 1, "one document on one line")
    #expect(try ProbeSchema.validate(good.stdout) == 0)
    let untrustedServer = try Self.server(.expired, implicit: true)
    defer { untrustedServer.stop() }
    let bad = try CLIRunner.run(try Self.arguments(port: untrustedServer.port, mode: "implicit", json: true))
    #expect(bad.status == 77)
    #expect(try ProbeSchema.validate(bad.stdout) == 0)
    let document = try ProbeJSONDocument.parse(bad.stdout)
    #expect(document["trustworthy"] as? Bool == false)
    #expect(document["exit_code"] as? Int == 77)
    let tls = try #require(document["tls"] as? [String: Any])
    let trust = try #require(tls["trust"] as? [String: Any])
    #expect(trust["reason"] as? String == "certificate has expired")
    #expect(trust["depth"] as? Int == 0)

    let base = try ProbeJSONDocument.parse(good.stdout)
    func broken(_ change: (inout [String: Any]) -> Void) throws -> String {
      var copy = base
      change(&copy)
      return String(decoding: try JSONSerialization.data(withJSONObject: copy), as: UTF8.self)
    }
    let samples = [
      try broken { $0.removeValue(forKey: "verdict") },
      try broken { $0["extra"] = 1 },
      try broken { $0["exit_code"] = 3 },
      try broken { $0["versions"] = [["version": "TLS 1.4", "accepted": true, "detail": "x"]] },
      try broken { document in
        var tls = document["tls"] as? [String: Any] ?? [:]
        var chain = tls["chain"] as? [[String: Any]] ?? [[:]]
        chain[0]["sha256"] = "ab:cd"
        tls["chain"] = chain
        document["tls"] = tls
      },
      try broken {
        $0["handshake"] = [["t": 0, "direction": "up", "record": "handshake", "message": "X", "code": 1]]
      },
      // Version 2 (issue 15): the version itself, the answer to MAIL before TLS, the ports.
      try broken { $0["schema_version"] = 1 },
      // Version 4: the pins of the pin file the probe trusted.
      try broken { $0["schema_version"] = 3 },
      try broken { $0.removeValue(forKey: "recorded_pins") },
      try broken { $0["recorded_pins"] = ["file": "/p", "pins": [String]()] },
      try broken { $0["recorded_pins"] = ["file": "/p", "pins": ["sha1/AAAA"]] },
      try broken { $0["recorded_pins"] = ["file": "/p", "pins": [Self.samplePin], "when": "today"] },
      try broken { $0.removeValue(forKey: "plaintext_mail") },
      try broken { document in
        var check = document["plaintext_mail"] as? [String: Any] ?? [:]
        check["result"] = "probably_fine"
        document["plaintext_mail"] = check
      },
      try broken {
        $0["ports"] = [
          [
            "port": 465, "mode": "implicit", "open": true, "tls": true, "trusted": true, "detail": "x",
            "recorded_pins": NSNull(), "extra": 1,
          ]
        ]
      },
      // Version 5: each port's own recorded pins.
      try broken { $0["schema_version"] = 4 },
      try broken {
        $0["ports"] = [
          ["port": 465, "mode": "implicit", "open": true, "tls": true, "trusted": true, "detail": "x"]
        ]
      },
      try broken {
        $0["ports"] = [
          [
            "port": 465, "mode": "implicit", "open": true, "tls": true, "trusted": true, "detail": "x",
            "recorded_pins": ["file": "/p", "pins": ["sha256/short="]],
          ]
        ]
      },
    ]
    for sample in samples {
      #expect(try ProbeSchema.validate(sample) != 0, "\(sample.prefix(200))")
    }
  }

  // MARK: - Mail before TLS and --ports (issue 15)

  @Test func mailBeforeTLSIsReportedInTextAndJSON() throws {
    let refusing = try Self.server(implicit: false)
    defer { refusing.stop() }
    let accepting = try Self.server(implicit: false) { $0.mailFromReply = "250 2.1.0 Ok" }
    defer { accepting.stop() }

    let good = try CLIRunner.run(try Self.arguments(port: refusing.port, mode: "starttls"))
    #expect(good.status == 0, "\(good.stderr)")
    #expect(
      Self.has(
        good.stdout, "===",
        "the server refuses mail without TLS: MAIL FROM:<> before STARTTLS was answered 530 5.7.0 Must issue a STARTTLS command first"
      ), "\(good.stdout)")
    #expect(good.stderr.hasSuffix("certificate verified for localhost — nothing was sent\n"))

    let warned = try CLIRunner.run(try Self.arguments(port: accepting.port, mode: "starttls"))
    #expect(warned.status == 0, "warnings keep 0: \(warned.stderr)")
    #expect(
      Self.has(
        warned.stdout, "!! ",
        "this server accepts mail without TLS: MAIL FROM:<> before STARTTLS was answered 250 2.1.0 Ok: a client that does not insist on STARTTLS would send its message in clear text"
      ), "\(warned.stdout)")
    #expect(warned.stderr.contains("; 1 warning — nothing was sent"))

    for (server, result, code) in [
      (refusing, "refuses_without_tls", 530), (accepting, "accepts_without_tls", 250),
    ] {
      let probe = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls", json: true))
      #expect(try ProbeSchema.validate(probe.stdout) == 0)
      let document = try ProbeJSONDocument.parse(probe.stdout)
      #expect(document["schema_version"] as? Int == 5)
      let check = try #require(document["plaintext_mail"] as? [String: Any])
      #expect(check["result"] as? String == result)
      #expect((check["reply"] as? [String: Any])?["code"] as? Int == code)
      #expect(document["ports"] is NSNull, "not asked for")
    }
  }

  /// `--ports` on a STARTTLS port other than 587 tries 465 and 587 of the same host. Nothing listens there in
  /// the test environment unless something does: the answer must then match what a plain connect finds.
  @Test func portsTriesTheSubmissionPorts() throws {
    let server = try Self.server(implicit: false)
    defer { server.stop() }
    let probe = try CLIRunner.run(
      try Self.arguments(port: server.port, mode: "starttls", json: true) + ["--ports"])
    #expect(probe.status == 0, "\(probe.stderr)")
    #expect(try ProbeSchema.validate(probe.stdout) == 0)
    let document = try ProbeJSONDocument.parse(probe.stdout)
    let ports = try #require(document["ports"] as? [[String: Any]])
    #expect(ports.map { $0["port"] as? Int } == [465, 587])
    #expect(ports.map { $0["mode"] as? String } == ["implicit", "starttls"])
    for entry in ports {
      let port = try #require(entry["port"] as? Int)
      if !Self.listening(UInt16(port)) {
        #expect(entry["open"] as? Bool == false, "\(entry)")
        #expect(entry["detail"] as? String == "closed (connection refused)")
      }
    }
    let text = try CLIRunner.run(try Self.arguments(port: server.port, mode: "starttls") + ["--ports"])
    #expect(Self.has(text.stdout, "===", "port check: 465 (implicit TLS), on a new connection"))
    #expect(text.stdout.contains(" port 465 (implicit TLS): "))
    #expect(text.stdout.contains(" port 587 (STARTTLS): "))
  }

  /// Whether `stdout` has a line with `marker`, its time, then exactly `text`.
  static func has(_ stdout: String, _ marker: String, _ text: String) -> Bool {
    stdout.split(separator: "\n").contains { line in
      line.hasPrefix(marker + " +") && line.dropFirst(4).drop { $0 != " " }.dropFirst() == text
    }
  }

  /// Whether something accepts connections on 127.0.0.1:`port`.
  static func listening(_ port: UInt16) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  // MARK: - Usage and connection failures

  @Test func usageAndConnectionFailures() throws {
    let none = try CLIRunner.run(["probe", "localhost:2525", "--tls", "none"])
    #expect(none.status == 64)
    #expect(none.stderr == "sealpost: usage: probing with --tls none makes no sense: a probe looks at TLS\n")
    let unknownPort = try CLIRunner.run(["probe", "localhost:2525"])
    #expect(unknownPort.status == 64)

    // A port nobody listens on: refused (69).
    let server = try Self.server(implicit: true)
    let port = server.port
    server.stop()
    let refused = try CLIRunner.run(["probe", "127.0.0.1:\(port)", "--tls", "implicit", "--timeout", "5"])
    #expect(refused.status == 69, "\(refused.stderr)")
  }
}
