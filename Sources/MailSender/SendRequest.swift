import MailMessage
import SMTPProtocol
import SMTPTransport

/// How the connection is protected (DESIGN §3.1, §3.4).
public enum TransportSecurity: String, Sendable, Hashable, CaseIterable {
  /// TLS from the first byte (RFC 8314), port 465 by default.
  case implicitTLS = "implicit"
  /// Plaintext greeting, then STARTTLS (RFC 3207); 587 or 25.
  case startTLS = "starttls"
  /// No TLS at all: only when asked for explicitly, and to a non-loopback peer only with `allowInsecure`.
  case plaintext = "none"
}

/// The login for one server. The password never leaves the core in any form.
public struct Credentials: Sendable, Hashable {
  public var user: String
  public var password: Secret
  public var mechanism: SMTPClientConfiguration.Mechanism

  public init(user: String, password: Secret, mechanism: SMTPClientConfiguration.Mechanism = .automatic) {
    self.user = user
    self.password = password
    self.mechanism = mechanism
  }
}

/// The bytes of the message to send, as given (the core normalises line endings and dot-stuffs on the way out).
public struct MessageContent: Sendable {
  let bytes: [UInt8]
  /// Whether the content holds 8-bit bytes (then the server must offer 8BITMIME).
  public var needs8BitMIME: Bool
  /// Whether headers or addresses hold UTF-8 (then the server must offer SMTPUTF8).
  public var needsSMTPUTF8: Bool

  public init(bytes: [UInt8], needs8BitMIME: Bool = false, needsSMTPUTF8: Bool = false) {
    self.bytes = bytes
    self.needs8BitMIME = needs8BitMIME
    self.needsSMTPUTF8 = needsSMTPUTF8
  }

  public var byteCount: Int { bytes.count }
}

/// Everything one send needs. Built by the CLI or the terminal UI; checked and carried out by `MailSender`.
public struct SendRequest: Sendable {
  public var host: String
  public var port: UInt16
  public var security: TransportSecurity
  /// Plaintext to a non-loopback peer (never AUTH) — DESIGN §3.4.
  public var allowInsecure: Bool
  public var trust: TLSTrust
  public var credentials: Credentials?
  /// The EHLO name; nil → the address literal of the local socket (never the machine's host name).
  public var ehloName: String?
  /// The deadline of each protocol step.
  public var timeout: Duration
  /// Envelope sender (address only, no brackets).
  public var reversePath: String
  /// Envelope recipients (addresses only).
  public var recipients: [String]
  public var message: MessageContent
  /// Emit every line of the message instead of a one-line summary.
  public var showData: Bool
  /// `.deliver` sends the message; `.inspect` (probe) and `.authenticate` (account check) stop before MAIL,
  /// after the same connection, TLS and policy steps.
  public var goal: SMTPClientConfiguration.Goal = .deliver

  public init(
    host: String, port: UInt16, security: TransportSecurity, allowInsecure: Bool = false,
    trust: TLSTrust = .certificateAuthorities(caFile: nil), credentials: Credentials? = nil,
    ehloName: String? = nil, timeout: Duration = .seconds(60), reversePath: String,
    recipients: [String], message: MessageContent, showData: Bool = false
  ) {
    self.host = host
    self.port = port
    self.security = security
    self.allowInsecure = allowInsecure
    self.trust = trust
    self.credentials = credentials
    self.ehloName = ehloName
    self.timeout = timeout
    self.reversePath = reversePath
    self.recipients = recipients
    self.message = message
    self.showData = showData
  }
}
