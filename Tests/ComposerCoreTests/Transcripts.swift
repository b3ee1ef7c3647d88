import MailSender
import SMTPProtocol
import SMTPTransport

@testable import ComposerCore

/// A session's events as the sender streams them, for the send screen's tests.
enum Transcripts {
  /// The leaf of the test server: valid from 30 days before `Fixtures.now` to 60 days and an hour after.
  static let leaf = CertificateSummary(
    subject: UntrustedText("CN=mail.example.org"), issuer: UntrustedText("CN=Example CA"),
    subjectAlternativeNames: [UntrustedText("DNS:mail.example.org")],
    notBefore: Fixtures.now - 30 * 86_400, notAfter: Fixtures.now + 60 * 86_400 + 3_600,
    publicKey: "EC P-256", signatureAlgorithm: "ecdsa-with-SHA256",
    sha256: Array(repeating: 0xAB, count: 32), spkiSHA256: Array(0..<32))

  static func summary(verdict: TLSVerdict = .verified(name: "mail.example.org")) -> TLSSessionSummary {
    TLSSessionSummary(
      version: .tls13, cipher: "TLS_AES_256_GCM_SHA384", group: "X25519",
      peerSignatureAlgorithm: "ecdsa_secp256r1_sha256", chain: [leaf], verdict: verdict,
      chainVerification: verdict)
  }

  static func event(_ time: Double, tls: Bool = true, _ payload: SendEvent.Payload) -> SendEvent {
    SendEvent(time: time, insideTLS: tls, payload: payload)
  }

  static func reply(_ code: Int, _ lines: String...) -> SendEvent.Payload {
    .reply(ReplyRecord(code: code, enhanced: nil, lines: lines))
  }

  /// Implicit TLS to mail.example.org:465, up to half the message uploaded.
  static let uploading: [SendEvent] = [
    event(0, tls: false, .stage(.connecting)),
    event(0, tls: false, .connecting(server: "mail.example.org:465", address: "192.0.2.10")),
    event(0.012, tls: false, .stage(.handshake)),
    event(
      0.012, tls: false,
      .tls(
        .clientHello(serverNameIndication: "mail.example.org", versions: .tls12 ... .tls13), showsChain: true)
    ),
    event(
      0.030, tls: false,
      .tls(.handshakeMessage(direction: .received, type: 2, name: "ServerHello"), showsChain: true)),
    event(0.041, .tls(.established(summary()), showsChain: true)),
    event(0.041, .stage(.trusted)),
    event(0.052, reply(220, "220 mail.example.org ESMTP")),
    event(0.052, .command("EHLO [192.0.2.7]")),
    event(0.063, reply(250, "250-mail.example.org", "250-AUTH PLAIN LOGIN", "250 PIPELINING")),
    event(0.063, .stage(.authenticating)),
    event(0.063, .command("AUTH PLAIN <redacted> (user alice@example.org)")),
    event(0.080, reply(235, "235 2.7.0 Authentication successful")),
    event(0.080, .stage(.envelope)),
    event(0.080, .command("MAIL FROM:<alice@example.org>")),
    event(0.091, reply(250, "250 2.1.0 Ok")),
    event(0.091, .command("RCPT TO:<bob@example.com>")),
    event(0.102, reply(250, "250 2.1.5 Ok")),
    event(0.102, .command("DATA")),
    event(0.113, reply(354, "354 End data with <CR><LF>.<CR><LF>")),
    event(0.113, .stage(.uploading)),
    event(0.113, .data("[message: 12 lines, 2,400 bytes]")),
    event(0.120, .progress(sent: 1_200, total: 2_400)),
  ]
}
