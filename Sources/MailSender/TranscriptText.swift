import MailMessage
import SMTPProtocol
import SMTPTransport

/// Words for TLS steps and certificates, shared by every renderer (DESIGN §5).
public enum TranscriptText {
  /// The transcript lines for one TLS event: one line, or for `.established` the outcome, each certificate of the
  /// chain and the verdict.
  public static func lines(for event: TLSEvent, now: Int64) -> [String] {
    switch event {
    case .clientHello(let sni, let versions):
      let name = sni.map { "SNI \($0)" } ?? "no SNI (IP literal)"
      let range =
        versions.lowerBound == versions.upperBound
        ? versions.lowerBound.description
        : "\(versions.lowerBound.description)–\(versions.upperBound.description.dropFirst(4))"
      return ["TLS > ClientHello (\(name), \(range))"]
    case .handshakeMessage(let direction, _, let name):
      return ["TLS \(arrow(direction)) \(name)"]
    case .changeCipherSpec(let direction):
      return ["TLS \(arrow(direction)) ChangeCipherSpec"]
    case .alert(let direction, let level, let description):
      return ["TLS \(arrow(direction)) alert \(level): \(description)"]
    case .established(let summary):
      var lines: [String] = []
      let group = summary.group.map { ", \($0)" } ?? ""
      let signature = summary.peerSignatureAlgorithm.map { ", signed \($0)" } ?? ""
      let count = summary.chain.count
      lines.append(
        "TLS = \(summary.version) \(summary.cipher)\(group)\(signature); chain \(count) cert\(count == 1 ? "" : "s"); \(verdict(summary.verdict))"
      )
      for (index, certificate) in summary.chain.enumerated() {
        lines.append(contentsOf: certificateLines(certificate, index: index, now: now))
      }
      if case .pinned = summary.verdict, let chain = summary.chainVerification {
        // DESIGN §3.2: a pin replaces the chain and name checks; what they said is still shown.
        lines.append("TLS chain and name (not needed with a pin): \(chainText(chain))")
      }
      return lines
    }
  }

  static func arrow(_ direction: TLSDirection) -> String {
    direction == .sent ? ">" : "<"
  }

  /// "verified smtp.example.org", "pinned sha256/…", or why not.
  public static func verdict(_ verdict: TLSVerdict) -> String {
    switch verdict {
    case .verified(let name): "verified \(name)"
    case .pinned(let pin): "pinned \(pinText(pin))"
    case .failed(let reason, let depth):
      "NOT trusted: \(reason)" + (depth.map { " (certificate \($0) of the chain)" } ?? "")
    case .pinMismatch(let actual):
      "NOT trusted: no pin matches (the server's key is sha256/\(base64(actual)))"
    }
  }

  public static func pinText(_ pin: CertificatePin) -> String {
    switch pin {
    case .spkiSHA256(let bytes): "sha256/\(base64(bytes))"
    case .certificateSHA256(let bytes): "certificate SHA-256 \(colonHex(bytes))"
    }
  }

  /// The certificate report for one certificate of the chain as sent (DESIGN §3.6: peer text escaped).
  public static func certificateLines(_ certificate: CertificateSummary, index: Int, now: Int64) -> [String] {
    let prefix = "TLS cert \(index):"
    var lines = [
      "\(prefix) subject \(certificate.subject.escaped)",
      "\(prefix) issuer \(certificate.issuer.escaped)",
    ]
    if !certificate.subjectAlternativeNames.isEmpty {
      let names = certificate.subjectAlternativeNames.map(\.escaped).joined(separator: ", ")
      lines.append("\(prefix) names \(names)")
    } else {
      lines.append("\(prefix) names (no subjectAltName: matches no host name)")
    }
    lines.append(
      "\(prefix) valid \(isoDate(certificate.notBefore)) to \(isoDate(certificate.notAfter)) (\(validity(certificate, now: now)))"
    )
    lines.append("\(prefix) key \(certificate.publicKey), signature \(certificate.signatureAlgorithm)")
    lines.append("\(prefix) SHA-256 \(colonHex(certificate.sha256))")
    lines.append("\(prefix) pin sha256/\(base64(certificate.spkiSHA256))")
    return lines
  }

  /// Whole days until the certificate expires (negative once expired), rounded down.
  public static func daysLeft(_ certificate: CertificateSummary, now: Int64) -> Int64 {
    let seconds = certificate.notAfter - now
    return seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
  }

  /// "364 days left", "expired 3 days ago", "not valid for another 2 days".
  static func validity(_ certificate: CertificateSummary, now: Int64) -> String {
    if now < certificate.notBefore {
      let days = (certificate.notBefore - now + 86_399) / 86_400
      return "not valid yet: starts in \(days) day\(days == 1 ? "" : "s")"
    }
    let days = daysLeft(certificate, now: now)
    if days < 0 { return "expired \(-days) day\(days == -1 ? "" : "s") ago" }
    return "\(days) day\(days == 1 ? "" : "s") left"
  }

  /// What the chain and name check said on its own.
  static func chainText(_ verdict: TLSVerdict) -> String {
    switch verdict {
    case .verified(let name): "verified for \(name)"
    case .failed(let reason, let depth):
      "not verified: \(reason)" + (depth.map { " (certificate \($0) of the chain)" } ?? "")
    case .pinned, .pinMismatch: self.verdict(verdict)
    }
  }

  public static func base64(_ bytes: [UInt8]) -> String {
    String(decoding: SASL.base64(bytes), as: UTF8.self)
  }

  /// "AB:CD:…", as `openssl x509 -fingerprint -sha256` prints it.
  public static func colonHex(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
      let digits = String(byte, radix: 16, uppercase: true)
      return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: ":")
  }

  /// Unix seconds → "2027-01-31" (UTC).
  public static func isoDate(_ seconds: Int64) -> String { MessageDate.isoDate(unixSeconds: seconds) }
}
