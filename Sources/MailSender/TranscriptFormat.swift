import FoundationEssentials
import SMTPProtocol
import SMTPTransport

/// Renders session events for a terminal or a log (DESIGN §5).
public enum TranscriptFormat: String, Sendable, CaseIterable {
  /// swaks-style lines: `<-  +0.031 220 smtp.example.org ESMTP`.
  case text
  /// One JSON object per event (schema: `Sources/MailSender/Schemas/transcript.schema.json`, version 2).
  case jsonl
  /// Nothing: only the verdict line on stderr.
  case none

  /// The event as output lines (without newlines): none for `.none`, the transcript lines for `.text`, one JSON
  /// object for `.jsonl`.
  /// - Parameters:
  ///   - asciiOnly: when the locale is not UTF-8, every non-ASCII character is escaped.
  ///   - now: Unix seconds, for the certificates' validity.
  public func render(_ event: SendEvent, asciiOnly: Bool = false, now: Int64) -> [String] {
    switch self {
    case .none:
      return []
    case .text:
      return event.transcriptLines(now: now).map { render($0, asciiOnly: asciiOnly) }
    case .jsonl:
      return [Self.json(event, now: now)]
    }
  }

  /// One transcript line as text.
  public func render(_ line: TranscriptLine, asciiOnly: Bool = false) -> String {
    let text = "\(Self.marker(line)) +\(Self.seconds(line.time)) \(line.line)"
    return asciiOnly ? Self.ascii(text) : text
  }

  /// `->`/`<-` plaintext, `~>`/`<~` inside TLS, `~~` TLS steps, `===` information, `***` errors, `!!` warnings.
  public static func marker(_ line: TranscriptLine) -> String {
    switch line.kind {
    case .connect, .info: "==="
    case .send, .data: line.insideTLS ? " ~>" : " ->"
    case .recv: line.insideTLS ? "<~ " : "<- "
    case .tls: "~~ "
    case .warning: "!! "
    case .error: "***"
    }
  }

  /// Three decimals, as swaks users expect: 0.031 → "0.031".
  static func seconds(_ time: Double) -> String {
    let millis = Int((max(0, time) * 1000).rounded())
    let fraction = String(millis % 1000)
    return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
  }

  /// Typographic characters the transcript itself uses, spelled in ASCII; anything else escaped.
  public static func ascii(_ line: String) -> String {
    var out = ""
    for scalar in line.unicodeScalars {
      switch scalar {
      case "–", "—": out += "-"
      case "…": out += "..."
      case _ where scalar.isASCII: out.unicodeScalars.append(scalar)
      default:
        let digits = String(scalar.value, radix: 16, uppercase: true)
        out += "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
      }
    }
    return out
  }

  // MARK: JSON lines

  /// The event as one JSON object (schema version 2).
  public static func json(_ event: SendEvent, now: Int64) -> String {
    let object = JSONEvent(event, now: now)
    guard let data = try? encoder.encode(object) else {
      // Encoding plain strings, numbers and booleans cannot fail; say so in the stream rather than trap.
      return #"{"t":0,"kind":"error","tls":false,"line":"internal error: an event could not be encoded"}"#
    }
    return String(decoding: data, as: UTF8.self)
  }

  private static var encoder: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }
}

/// The JSON-lines object of one event: `t`, `kind`, `tls`, and the kind's own fields.
struct JSONEvent: Encodable {
  var event: SendEvent
  var now: Int64

  init(_ event: SendEvent, now: Int64) {
    self.event = event
    self.now = now
  }

  enum Key: String, CodingKey {
    case t, kind, tls, line, stage, server, address, reply, step, recipient, sent, total, outcome
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode((event.time * 1000).rounded() / 1000, forKey: .t)
    try container.encode(event.insideTLS, forKey: .tls)
    switch event.payload {
    case .stage(let stage):
      try container.encode("stage", forKey: .kind)
      try container.encode(stage.rawValue, forKey: .stage)
    case .connecting(let server, let address):
      try container.encode("connect", forKey: .kind)
      try container.encode(server, forKey: .server)
      try container.encode(address, forKey: .address)
      try container.encode(lines.first ?? "", forKey: .line)
    case .command(let text):
      try container.encode("send", forKey: .kind)
      try container.encode(text, forKey: .line)
    case .reply(let reply):
      try container.encode("recv", forKey: .kind)
      try container.encode(reply, forKey: .reply)
    case .tls(let step, _):
      try container.encode("tls", forKey: .kind)
      try container.encode(lines.first ?? "", forKey: .line)
      try container.encode(JSONStep(step), forKey: .step)
    case .recipient(let result):
      try container.encode("recipient", forKey: .kind)
      try container.encode(result, forKey: .recipient)
    case .progress(let sent, let total):
      try container.encode("progress", forKey: .kind)
      try container.encode(sent, forKey: .sent)
      try container.encode(total, forKey: .total)
    case .data(let text):
      try container.encode("data", forKey: .kind)
      try container.encode(text, forKey: .line)
    case .note(let level, let text):
      try container.encode(level.rawValue, forKey: .kind)
      try container.encode(text, forKey: .line)
    case .outcome(let record):
      try container.encode("outcome", forKey: .kind)
      try container.encode(JSONOutcome(record), forKey: .outcome)
    }
  }

  private var lines: [String] { event.transcriptLines(now: now).map(\.line) }
}

struct JSONOutcome: Encodable {
  var kind: String
  var verdict: String
  var exit: Int32

  init(_ record: OutcomeRecord) {
    kind = record.outcome.kind
    verdict = record.verdict
    exit = record.exitCode
  }
}

/// A TLS step as JSON (`step`), unchanged from schema version 1.
struct JSONStep: Encodable {
  var step: TLSEvent

  init(_ step: TLSEvent) { self.step = step }

  enum Key: String, CodingKey {
    case type, sni, minVersion = "min_version", maxVersion = "max_version", direction, message, code, level
    case description, version, cipher, group, signature, chain, trusted, verdict
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    func direction(_ value: TLSDirection) -> String { value == .sent ? "sent" : "received" }
    switch step {
    case .clientHello(let sni, let versions):
      try container.encode("client_hello", forKey: .type)
      try container.encode(sni, forKey: .sni)
      try container.encode(versions.lowerBound.description, forKey: .minVersion)
      try container.encode(versions.upperBound.description, forKey: .maxVersion)
    case .handshakeMessage(let dir, let type, let name):
      try container.encode("handshake", forKey: .type)
      try container.encode(direction(dir), forKey: .direction)
      try container.encode(name, forKey: .message)
      try container.encode(type, forKey: .code)
    case .changeCipherSpec(let dir):
      try container.encode("change_cipher_spec", forKey: .type)
      try container.encode(direction(dir), forKey: .direction)
    case .alert(let dir, let level, let description):
      try container.encode("alert", forKey: .type)
      try container.encode(direction(dir), forKey: .direction)
      try container.encode(level, forKey: .level)
      try container.encode(description, forKey: .description)
    case .established(let summary):
      try container.encode("established", forKey: .type)
      try container.encode(summary.version.description, forKey: .version)
      try container.encode(summary.cipher, forKey: .cipher)
      try container.encode(summary.group, forKey: .group)
      try container.encode(summary.peerSignatureAlgorithm, forKey: .signature)
      try container.encode(summary.chain.map(JSONCertificate.init), forKey: .chain)
      try container.encode(summary.verdict.isTrusted, forKey: .trusted)
      try container.encode(TranscriptText.verdict(summary.verdict), forKey: .verdict)
    }
  }
}

/// One certificate of the chain as JSON; peer text escaped (DESIGN §3.6).
struct JSONCertificate: Encodable {
  var subject: String
  var issuer: String
  var names: [String]
  var notBefore: Int64
  var notAfter: Int64
  var key: String
  var signature: String
  var sha256: String
  var spkiSHA256: String

  init(_ certificate: CertificateSummary) {
    subject = certificate.subject.escaped
    issuer = certificate.issuer.escaped
    names = certificate.subjectAlternativeNames.map(\.escaped)
    notBefore = certificate.notBefore
    notAfter = certificate.notAfter
    key = certificate.publicKey
    signature = certificate.signatureAlgorithm
    sha256 = TranscriptText.colonHex(certificate.sha256)
    spkiSHA256 = "sha256/" + TranscriptText.base64(certificate.spkiSHA256)
  }

  enum CodingKeys: String, CodingKey {
    case subject, issuer, names, key, signature, sha256
    case notBefore = "not_before", notAfter = "not_after", spkiSHA256 = "spki_sha256"
  }
}

extension ReplyRecord {
  enum CodingKeys: String, CodingKey { case code, enhanced, lines }

  /// `enhanced` is always present (null when the reply has none), as the schema requires.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(code, forKey: .code)
    try container.encode(enhanced, forKey: .enhanced)
    try container.encode(lines, forKey: .lines)
  }
}
