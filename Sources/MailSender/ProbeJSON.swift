import FoundationEssentials
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

extension ProbeReport {
  /// The whole probe as ONE JSON document (schema: `Sources/MailSender/Schemas/probe.schema.json`). Peer text
  /// is escaped as in the transcript (DESIGN §3.6) before it is JSON-encoded.
  public func json(now: Int64 = Int64(time(nil))) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(ProbeDocument(self, now: now)) else {
      return #"{"error":"the probe report could not be encoded"}"#
    }
    return String(decoding: data, as: UTF8.self)
  }
}

/// The probe report as its schema lays it out.
struct ProbeDocument: Encodable {
  struct Server: Encodable {
    var host: String
    var port: UInt16
    var mode: String
  }

  struct CapabilityLists: Encodable {
    var beforeTLS: [String]?
    var afterTLS: [String]?
    var onlyBeforeTLS: [String]
    var onlyAfterTLS: [String]

    enum CodingKeys: String, CodingKey {
      case beforeTLS = "before_tls", afterTLS = "after_tls", onlyBeforeTLS = "only_before_tls"
      case onlyAfterTLS = "only_after_tls"
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(beforeTLS, forKey: .beforeTLS)
      try container.encode(afterTLS, forKey: .afterTLS)
      try container.encode(onlyBeforeTLS, forKey: .onlyBeforeTLS)
      try container.encode(onlyAfterTLS, forKey: .onlyAfterTLS)
    }
  }

  struct Verdict: Encodable {
    var result: String
    var name: String?
    var pin: String?
    var reason: String?
    var depth: Int?
    var text: String

    init(_ verdict: TLSVerdict) {
      text = TranscriptText.verdict(verdict)
      switch verdict {
      case .verified(let verifiedName):
        result = "verified"
        name = verifiedName
      case .pinned(let matched):
        result = "pinned"
        pin = TranscriptText.pinText(matched)
      case .failed(let why, let at):
        result = "failed"
        reason = why
        depth = at
      case .pinMismatch(let actual):
        result = "pin_mismatch"
        reason = "no pin matches"
        pin = "sha256/" + TranscriptText.base64(actual)
      }
    }

    enum CodingKeys: String, CodingKey { case result, name, pin, reason, depth, text }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(result, forKey: .result)
      try container.encode(name, forKey: .name)
      try container.encode(pin, forKey: .pin)
      try container.encode(reason, forKey: .reason)
      try container.encode(depth, forKey: .depth)
      try container.encode(text, forKey: .text)
    }
  }

  struct Certificate: Encodable {
    var subject: String
    var issuer: String
    var names: [String]
    var notBefore: String
    var notAfter: String
    var notBeforeUnix: Int64
    var notAfterUnix: Int64
    var daysLeft: Int64
    var key: String
    var signature: String
    var sha256: String
    var pin: String

    init(_ certificate: CertificateSummary, now: Int64) {
      subject = certificate.subject.escaped
      issuer = certificate.issuer.escaped
      names = certificate.subjectAlternativeNames.map(\.escaped)
      notBefore = TranscriptText.isoDate(certificate.notBefore)
      notAfter = TranscriptText.isoDate(certificate.notAfter)
      notBeforeUnix = certificate.notBefore
      notAfterUnix = certificate.notAfter
      daysLeft = TranscriptText.daysLeft(certificate, now: now)
      key = certificate.publicKey
      signature = certificate.signatureAlgorithm
      sha256 = TranscriptText.colonHex(certificate.sha256)
      pin = "sha256/" + TranscriptText.base64(certificate.spkiSHA256)
    }

    enum CodingKeys: String, CodingKey {
      case subject, issuer, names, key, signature, sha256, pin
      case notBefore = "not_before", notAfter = "not_after", notBeforeUnix = "not_before_unix"
      case notAfterUnix = "not_after_unix", daysLeft = "days_left"
    }
  }

  struct TLS: Encodable {
    var version: String
    var cipher: String
    var group: String?
    var signature: String?
    var trust: Verdict
    var chainVerification: Verdict?
    var chain: [Certificate]

    enum CodingKeys: String, CodingKey {
      case version, cipher, group, signature, trust, chain, chainVerification = "chain_verification"
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(version, forKey: .version)
      try container.encode(cipher, forKey: .cipher)
      try container.encode(group, forKey: .group)
      try container.encode(signature, forKey: .signature)
      try container.encode(trust, forKey: .trust)
      try container.encode(chainVerification, forKey: .chainVerification)
      try container.encode(chain, forKey: .chain)
    }
  }

  struct Step: Encodable {
    var t: Double
    var direction: String
    var record: String
    var message: String
    var code: UInt8?

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(t, forKey: .t)
      try container.encode(direction, forKey: .direction)
      try container.encode(record, forKey: .record)
      try container.encode(message, forKey: .message)
      try container.encode(code, forKey: .code)
    }

    enum CodingKeys: String, CodingKey { case t, direction, record, message, code }
  }

  struct Version: Encodable {
    var version: String
    var accepted: Bool?
    var detail: String

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(version, forKey: .version)
      try container.encode(accepted, forKey: .accepted)
      try container.encode(detail, forKey: .detail)
    }

    enum CodingKeys: String, CodingKey { case version, accepted, detail }
  }

  /// `MAIL FROM:<>` before TLS and what its reply says (issue 15).
  struct PlaintextMail: Encodable {
    struct Reply: Encodable {
      var code: Int
      var enhanced: String?
      var lines: [String]

      func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(enhanced, forKey: .enhanced)
        try container.encode(lines, forKey: .lines)
      }

      enum CodingKeys: String, CodingKey { case code, enhanced, lines }
    }

    var result: String
    var reply: Reply
    var text: String
  }

  /// One port tried with `--ports`.
  struct Port: Encodable {
    var port: UInt16
    var mode: String
    var open: Bool?
    var tls: Bool?
    var trusted: Bool
    var detail: String
    /// The pins recorded for this port's HOST:PORT that it was judged with (each port has its own, DESIGN §6).
    var recordedPins: RecordedPins?

    enum CodingKeys: String, CodingKey {
      case port, mode, open, tls, trusted, detail
      case recordedPins = "recorded_pins"
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(port, forKey: .port)
      try container.encode(mode, forKey: .mode)
      try container.encode(open, forKey: .open)
      try container.encode(tls, forKey: .tls)
      try container.encode(trusted, forKey: .trusted)
      try container.encode(detail, forKey: .detail)
      try container.encode(recordedPins, forKey: .recordedPins)
    }
  }

  /// The pins the probe took from Sealpost's pin file (DESIGN §6), beside the key the server showed.
  struct RecordedPins: Encodable {
    var file: String
    var pins: [String]
  }

  struct Line: Encodable {
    var t: Double
    var kind: String
    var tls: Bool
    var line: String
  }

  var server: Server
  var peer: String?
  var trustworthy: Bool
  var exitCode: Int32
  var verdict: String
  var warnings: [String]
  var tls: TLS?
  var handshake: [Step]
  var capabilities: CapabilityLists
  var versions: [Version]?
  var plaintextMail: PlaintextMail?
  var ports: [Port]?
  var recordedPins: RecordedPins?
  var transcript: [Line]

  /// The schema's version (`schema_version`): 2 added `plaintext_mail` and `ports` (issue 15), 3 the result
  /// `invalid_reply` of `plaintext_mail` (a reply MAIL cannot have, such as 354), 4 `recorded_pins` (the pins
  /// of the pin file the probe trusted, and that file), 5 the same for each port of `ports`.
  static let schemaVersion = 5

  enum CodingKeys: String, CodingKey {
    case server, peer, trustworthy, verdict, warnings, tls, handshake, capabilities, versions, ports,
      transcript
    case exitCode = "exit_code", schemaVersion = "schema_version", plaintextMail = "plaintext_mail"
    case recordedPins = "recorded_pins"
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(Self.schemaVersion, forKey: .schemaVersion)
    try container.encode(server, forKey: .server)
    try container.encode(peer, forKey: .peer)
    try container.encode(trustworthy, forKey: .trustworthy)
    try container.encode(exitCode, forKey: .exitCode)
    try container.encode(verdict, forKey: .verdict)
    try container.encode(warnings, forKey: .warnings)
    try container.encode(tls, forKey: .tls)
    try container.encode(handshake, forKey: .handshake)
    try container.encode(capabilities, forKey: .capabilities)
    try container.encode(versions, forKey: .versions)
    try container.encode(plaintextMail, forKey: .plaintextMail)
    try container.encode(ports, forKey: .ports)
    try container.encode(recordedPins, forKey: .recordedPins)
    try container.encode(transcript, forKey: .transcript)
  }

  init(_ report: ProbeReport, now: Int64) {
    let request = report.request
    server = Server(host: request.host, port: request.port, mode: request.security.rawValue)
    peer = report.session.peer?.host
    trustworthy = report.isTrustworthy
    exitCode = report.exitCode
    verdict = report.verdictLine
    warnings = report.warnings
    tls = report.session.tls.map { summary in
      TLS(
        version: summary.version.description, cipher: summary.cipher, group: summary.group,
        signature: summary.peerSignatureAlgorithm, trust: Verdict(summary.verdict),
        chainVerification: summary.chainVerification.map(Verdict.init),
        chain: summary.chain.map { Certificate($0, now: now) })
    }
    let difference = report.capabilityDifferences
    capabilities = CapabilityLists(
      beforeTLS: ProbeReport.lines(report.session.capabilitiesBeforeTLS),
      afterTLS: ProbeReport.lines(report.session.capabilitiesAfterTLS),
      onlyBeforeTLS: difference.onlyBeforeTLS, onlyAfterTLS: difference.onlyAfterTLS)
    versions =
      request.checkVersions
      ? report.versions.map { attempt in
        let accepted: Bool? =
          switch attempt.outcome {
          case .accepted: true
          case .refused: false
          case .undetermined: nil
          }
        return Version(version: attempt.version.description, accepted: accepted, detail: attempt.detail)
      } : nil
    plaintextMail = report.plaintextMail.map {
      PlaintextMail(
        result: $0.verdict.rawValue,
        reply: .init(code: $0.reply.code, enhanced: $0.reply.enhanced, lines: $0.reply.lines), text: $0.text)
    }
    ports =
      request.otherPorts.isEmpty
      ? nil
      : report.ports.map { result in
        let planned = request.otherPorts.first { $0.port == result.port && $0.security == result.security }
        return Port(
          port: result.port, mode: result.security.rawValue, open: result.isOpen, tls: result.speaksTLS,
          trusted: result.isTrusted, detail: result.detail,
          recordedPins: planned.flatMap { Self.recordedPins(file: $0.recordedPinFile, trust: $0.trust) })
      }
    recordedPins = Self.recordedPins(file: request.recordedPinFile, trust: request.trust)
    handshake = report.transcript.compactMap(Self.step)
    transcript = report.transcript.flatMap { $0.transcriptLines(now: now) }.map {
      Line(t: Self.rounded($0.time), kind: $0.kind.rawValue, tls: $0.insideTLS, line: $0.line)
    }
  }

  static func rounded(_ time: Double) -> Double { (time * 1000).rounded() / 1000 }

  /// The pins of `trust` and their file when they came from the pin file; nil otherwise.
  static func recordedPins(file: String?, trust: TLSTrust) -> RecordedPins? {
    file.map { file in
      var pins: [String] = []
      if case .pins(let trusted) = trust { pins = trusted.map(TranscriptText.pinText) }
      return RecordedPins(file: UntrustedText(file).escaped, pins: pins)
    }
  }

  /// One step of the handshake trace, or nil for events that are not TLS records.
  static func step(_ event: SendEvent) -> Step? {
    guard case .tls(let step, _) = event.payload else { return nil }
    func direction(_ value: TLSDirection) -> String { value == .sent ? "sent" : "received" }
    let t = rounded(event.time)
    switch step {
    case .clientHello:
      return Step(t: t, direction: "sent", record: "handshake", message: "ClientHello", code: 1)
    case .handshakeMessage(let dir, let type, let name):
      return Step(t: t, direction: direction(dir), record: "handshake", message: name, code: type)
    case .changeCipherSpec(let dir):
      return Step(
        t: t, direction: direction(dir), record: "change_cipher_spec", message: "ChangeCipherSpec", code: nil)
    case .alert(let dir, let level, let description):
      return Step(
        t: t, direction: direction(dir), record: "alert", message: "\(level): \(description)", code: nil)
    case .established:
      return nil
    }
  }
}
