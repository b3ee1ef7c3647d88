import Foundation
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

  static let events: [TranscriptEvent] = [
    TranscriptEvent(
      time: 0, kind: .connect, insideTLS: false, line: "Connecting to localhost:2525 (127.0.0.1)"),
    TranscriptEvent(time: 0.01, kind: .recv, insideTLS: false, line: "220 ready"),
    TranscriptEvent(
      time: 0.02, kind: .tls, insideTLS: false, line: "TLS > ClientHello (SNI localhost, TLS 1.2–1.3)",
      tls: .clientHello(serverNameIndication: "localhost", versions: .tls12 ... .tls13)),
    TranscriptEvent(
      time: 0.03, kind: .tls, insideTLS: false, line: "TLS < ServerHello",
      tls: .handshakeMessage(direction: .received, type: 2, name: "ServerHello")),
    TranscriptEvent(
      time: 0.03, kind: .tls, insideTLS: false, line: "TLS > ChangeCipherSpec",
      tls: .changeCipherSpec(direction: .sent)),
    TranscriptEvent(
      time: 0.03, kind: .tls, insideTLS: false, line: "TLS < alert fatal: bad certificate",
      tls: .alert(direction: .received, level: "fatal", description: "bad certificate")),
    TranscriptEvent(
      time: 0.04, kind: .tls, insideTLS: false, line: "TLS = …",
      tls: .established(
        TLSSessionSummary(
          version: .tls13, cipher: "TLS_AES_256_GCM_SHA384", group: "X25519", peerSignatureAlgorithm: nil,
          chain: [certificate], verdict: .verified(name: "localhost")))),
    TranscriptEvent(time: 0.05, kind: .send, insideTLS: true, line: "AUTH PLAIN <redacted> (user alice)"),
    TranscriptEvent(time: 0.06, kind: .data, insideTLS: true, line: "[message: 3 lines, 60 bytes]"),
    TranscriptEvent(time: 0.07, kind: .warning, insideTLS: false, line: "plaintext"),
    TranscriptEvent(time: 0.08, kind: .error, insideTLS: true, line: "failed"),
    TranscriptEvent(time: 0.09, kind: .info, insideTLS: true, line: "sent"),
  ]

  /// Runs the validator over `lines`; returns its exit status (0 = every line valid).
  static func validate(_ lines: [String]) throws -> Int32 {
    let python = ProcessInfo.processInfo.environment["SEALPOST_TEST_PYTHON"] ?? "/usr/bin/python3"
    let script = """
      import json, sys, jsonschema
      schema = json.load(open(sys.argv[1]))
      jsonschema.Draft202012Validator.check_schema(schema)
      validator = jsonschema.Draft202012Validator(schema)
      bad = 0
      for line in sys.stdin.read().splitlines():
          errors = list(validator.iter_errors(json.loads(line)))
          if errors:
              bad += 1
              print("invalid:", line, errors[0].message, file=sys.stderr)
      sys.exit(1 if bad else 0)
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script, schemaPath]
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    return process.terminationStatus
  }

  @Test func everyKindOfEventValidates() throws {
    let lines = Self.events.compactMap { TranscriptFormat.jsonl.render($0) }
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
    #expect(events.contains { if case .established = $0.tls { true } else { false } })
    let lines = events.compactMap { TranscriptFormat.jsonl.render($0) }
    #expect(try Self.validate(lines) == 0)
  }

  @Test(arguments: [
    #"{"t":0.1,"kind":"recv","tls":false}"#,  // no line
    #"{"t":0.1,"kind":"recv","tls":false,"line":"x","extra":1}"#,  // unknown field
    #"{"t":0.1,"kind":"shout","tls":false,"line":"x"}"#,  // unknown kind
    #"{"t":-1,"kind":"recv","tls":false,"line":"x"}"#,  // negative time
    #"{"t":0.1,"kind":"tls","tls":false,"line":"x","step":{"type":"handshake","direction":"up","message":"A","code":1}}"#,
  ])
  func brokenSamplesFail(sample: String) throws {
    #expect(try Self.validate([sample]) != 0)
  }
}
