/// Renders transcript events for a terminal or a log (DESIGN §5).
public enum TranscriptFormat: String, Sendable, CaseIterable {
  /// swaks-style lines: `<-  +0.031 220 smtp.example.org ESMTP`.
  case text
  /// One JSON object per event (schema: `Sources/MailSender/transcript.schema.json`).
  case jsonl
  /// Nothing: only the verdict line on stderr.
  case none

  /// The event as one output line (without the newline), or nil for `.none`.
  /// - Parameter asciiOnly: when the locale is not UTF-8, every non-ASCII character is escaped.
  public func render(_ event: TranscriptEvent, asciiOnly: Bool = false) -> String? {
    switch self {
    case .none:
      return nil
    case .text:
      let line = "\(Self.marker(event)) +\(Self.seconds(event.time)) \(event.line)"
      return asciiOnly ? Self.ascii(line) : line
    case .jsonl:
      return Self.json(event)
    }
  }

  /// `->`/`<-` plaintext, `~>`/`<~` inside TLS, `~~` TLS steps, `===` information, `***` errors, `!!` warnings.
  static func marker(_ event: TranscriptEvent) -> String {
    switch event.kind {
    case .connect, .info: "==="
    case .send, .data: event.insideTLS ? " ~>" : " ->"
    case .recv: event.insideTLS ? "<~ " : "<- "
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

  static func json(_ event: TranscriptEvent) -> String {
    var fields = [
      "\"t\":\(seconds(event.time))",
      "\"kind\":\(jsonString(event.kind.rawValue))",
      "\"tls\":\(event.insideTLS)",
      "\"line\":\(jsonString(event.line))",
    ]
    if let step = event.tls { fields.append("\"step\":\(json(step))") }
    return "{" + fields.joined(separator: ",") + "}"
  }

  static func json(_ event: TLSEvent) -> String {
    func direction(_ value: TLSDirection) -> String { jsonString(value == .sent ? "sent" : "received") }
    switch event {
    case .clientHello(let sni, let versions):
      return
        "{\"type\":\"client_hello\",\"sni\":\(sni.map(jsonString) ?? "null"),\"min_version\":\(jsonString(versions.lowerBound.description)),\"max_version\":\(jsonString(versions.upperBound.description))}"
    case .handshakeMessage(let dir, let type, let name):
      return
        "{\"type\":\"handshake\",\"direction\":\(direction(dir)),\"message\":\(jsonString(name)),\"code\":\(type)}"
    case .changeCipherSpec(let dir):
      return "{\"type\":\"change_cipher_spec\",\"direction\":\(direction(dir))}"
    case .alert(let dir, let level, let description):
      return
        "{\"type\":\"alert\",\"direction\":\(direction(dir)),\"level\":\(jsonString(level)),\"description\":\(jsonString(description))}"
    case .established(let summary):
      let chain = summary.chain.map { certificate in
        let names = certificate.subjectAlternativeNames.map { jsonString($0.escaped) }.joined(separator: ",")
        return
          "{\"subject\":\(jsonString(certificate.subject.escaped)),\"issuer\":\(jsonString(certificate.issuer.escaped)),\"names\":[\(names)],\"not_before\":\(certificate.notBefore),\"not_after\":\(certificate.notAfter),\"key\":\(jsonString(certificate.publicKey)),\"signature\":\(jsonString(certificate.signatureAlgorithm)),\"sha256\":\(jsonString(TranscriptText.colonHex(certificate.sha256))),\"spki_sha256\":\(jsonString("sha256/" + TranscriptText.base64(certificate.spkiSHA256)))}"
      }.joined(separator: ",")
      let trusted = summary.verdict.isTrusted
      return
        "{\"type\":\"established\",\"version\":\(jsonString(summary.version.description)),\"cipher\":\(jsonString(summary.cipher)),\"group\":\(summary.group.map(jsonString) ?? "null"),\"signature\":\(summary.peerSignatureAlgorithm.map(jsonString) ?? "null"),\"chain\":[\(chain)],\"trusted\":\(trusted),\"verdict\":\(jsonString(TranscriptText.verdict(summary.verdict)))}"
    }
  }

  /// A JSON string literal; every control character escaped (RFC 8259 §7).
  static func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _
      where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
        || (0x2028...0x2029).contains(scalar.value):
        let digits = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
