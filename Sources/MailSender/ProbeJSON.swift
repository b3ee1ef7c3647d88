#if canImport(Glibc)
  import Glibc
#endif

extension ProbeReport {
  /// The whole probe as ONE JSON document (schema: `Sources/MailSender/Schemas/probe.schema.json`). Peer text
  /// is escaped as in the transcript (DESIGN §3.6) before it is JSON-encoded.
  public func json(now: Int64 = Int64(time(nil))) -> String {
    typealias J = ProbeJSON
    let tlsValue = session.tls.map { J.tls($0, now: now) } ?? "null"
    let difference = capabilityDifferences
    let capabilities = J.object([
      ("before_tls", J.stringsOrNull(Self.lines(session.capabilitiesBeforeTLS))),
      ("after_tls", J.stringsOrNull(Self.lines(session.capabilitiesAfterTLS))),
      ("only_before_tls", J.strings(difference.onlyBeforeTLS)),
      ("only_after_tls", J.strings(difference.onlyAfterTLS)),
    ])
    let versionsValue =
      request.checkVersions
      ? "[" + versions.map(J.version).joined(separator: ",") + "]" : "null"
    return J.object([
      (
        "server",
        J.object([
          ("host", J.string(request.host)), ("port", "\(request.port)"),
          ("mode", J.string(request.security.rawValue)),
        ])
      ),
      ("peer", session.peer.map { J.string($0.host) } ?? "null"),
      ("trustworthy", "\(isTrustworthy)"),
      ("exit_code", "\(exitCode)"),
      ("verdict", J.string(verdictLine)),
      ("warnings", J.strings(warnings)),
      ("tls", tlsValue),
      ("handshake", "[" + transcript.compactMap(J.handshakeStep).joined(separator: ",") + "]"),
      ("capabilities", capabilities),
      ("versions", versionsValue),
      ("transcript", "[" + transcript.map(J.line).joined(separator: ",") + "]"),
    ])
  }
}

enum ProbeJSON {
  static func string(_ value: String) -> String { TranscriptFormat.jsonString(value) }

  static func strings(_ values: [String]) -> String { "[" + values.map(string).joined(separator: ",") + "]" }

  static func stringsOrNull(_ values: [String]?) -> String { values.map(strings) ?? "null" }

  static func object(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
  }

  static func tls(_ summary: TLSSessionSummary, now: Int64) -> String {
    object([
      ("version", string(summary.version.description)),
      ("cipher", string(summary.cipher)),
      ("group", summary.group.map(string) ?? "null"),
      ("signature", summary.peerSignatureAlgorithm.map(string) ?? "null"),
      ("trust", verdict(summary.verdict)),
      ("chain_verification", summary.chainVerification.map(verdict) ?? "null"),
      ("chain", "[" + summary.chain.map { certificate($0, now: now) }.joined(separator: ",") + "]"),
    ])
  }

  static func verdict(_ verdict: TLSVerdict) -> String {
    var result: String
    var name = "null"
    var pin = "null"
    var reason = "null"
    var depth = "null"
    switch verdict {
    case .verified(let verifiedName):
      result = "verified"
      name = string(verifiedName)
    case .pinned(let matched):
      result = "pinned"
      pin = string(TranscriptText.pinText(matched))
    case .failed(let why, let at):
      result = "failed"
      reason = string(why)
      depth = at.map { "\($0)" } ?? "null"
    case .pinMismatch(let actual):
      result = "pin_mismatch"
      reason = string("no pin matches")
      pin = string("sha256/" + TranscriptText.base64(actual))
    }
    return object([
      ("result", string(result)), ("name", name), ("pin", pin), ("reason", reason), ("depth", depth),
      ("text", string(TranscriptText.verdict(verdict))),
    ])
  }

  static func certificate(_ certificate: CertificateSummary, now: Int64) -> String {
    object([
      ("subject", string(certificate.subject.escaped)),
      ("issuer", string(certificate.issuer.escaped)),
      ("names", strings(certificate.subjectAlternativeNames.map(\.escaped))),
      ("not_before", string(TranscriptText.isoDate(certificate.notBefore))),
      ("not_after", string(TranscriptText.isoDate(certificate.notAfter))),
      ("not_before_unix", "\(certificate.notBefore)"),
      ("not_after_unix", "\(certificate.notAfter)"),
      ("days_left", "\(TranscriptText.daysLeft(certificate, now: now))"),
      ("key", string(certificate.publicKey)),
      ("signature", string(certificate.signatureAlgorithm)),
      ("sha256", string(TranscriptText.colonHex(certificate.sha256))),
      ("pin", string("sha256/" + TranscriptText.base64(certificate.spkiSHA256))),
    ])
  }

  /// One step of the handshake trace, or nil for events that are not TLS records.
  static func handshakeStep(_ event: TranscriptEvent) -> String? {
    guard let step = event.tls else { return nil }
    func direction(_ value: TLSDirection) -> String { string(value == .sent ? "sent" : "received") }
    let time = TranscriptFormat.seconds(event.time)
    switch step {
    case .clientHello:
      return object([
        ("t", time), ("direction", direction(.sent)), ("record", string("handshake")),
        ("message", string("ClientHello")), ("code", "1"),
      ])
    case .handshakeMessage(let dir, let type, let name):
      return object([
        ("t", time), ("direction", direction(dir)), ("record", string("handshake")),
        ("message", string(name)),
        ("code", "\(type)"),
      ])
    case .changeCipherSpec(let dir):
      return object([
        ("t", time), ("direction", direction(dir)), ("record", string("change_cipher_spec")),
        ("message", string("ChangeCipherSpec")), ("code", "null"),
      ])
    case .alert(let dir, let level, let description):
      return object([
        ("t", time), ("direction", direction(dir)), ("record", string("alert")),
        ("message", string("\(level): \(description)")), ("code", "null"),
      ])
    case .established:
      return nil
    }
  }

  static func version(_ attempt: ProbeReport.VersionAttempt) -> String {
    let accepted: String =
      switch attempt.outcome {
      case .accepted: "true"
      case .refused: "false"
      case .undetermined: "null"
      }
    return object([
      ("version", string(attempt.version.description)), ("accepted", accepted),
      ("detail", string(attempt.detail)),
    ])
  }

  static func line(_ event: TranscriptEvent) -> String {
    object([
      ("t", TranscriptFormat.seconds(event.time)), ("kind", string(event.kind.rawValue)),
      ("tls", "\(event.insideTLS)"), ("line", string(event.line)),
    ])
  }
}
