import MailMessage
import SMTPProtocol
import SMTPTransport

/// What a secret lookup may use: the session's cancellation and the deadline of the step (DESIGN §4: a password
/// command gets the send's deadline and is cancelled with it).
public struct SecretLookupContext: Sendable {
  public let cancellation: Cancellation
  public let deadline: Deadline

  public init(cancellation: Cancellation, deadline: Deadline) {
    self.cancellation = cancellation
    self.deadline = deadline
  }
}

/// Where the password comes from: known already, or looked up by the session before it connects (a password
/// command, the keyring, a prompt), so the lookup is cancelled with the send and bounded by its deadline.
public enum PasswordSupply: Sendable {
  case secret(Secret)
  /// Run on the session's thread at the `credentials` stage; a thrown failure ends the send before connecting.
  case lookup(@Sendable (SecretLookupContext) throws(SendFailure) -> Secret)
}

/// The login for one server. The password never leaves the core in any form.
public struct Credentials: Sendable {
  public var user: String
  public var password: PasswordSupply
  public var mechanism: SMTPClientConfiguration.Mechanism

  public init(user: String, password: Secret, mechanism: SMTPClientConfiguration.Mechanism = .automatic) {
    self.init(user: user, supply: .secret(password), mechanism: mechanism)
  }

  public init(
    user: String, supply: PasswordSupply, mechanism: SMTPClientConfiguration.Mechanism = .automatic
  ) {
    self.user = user
    self.password = supply
    self.mechanism = mechanism
  }
}

/// The bytes of the message to send, as given. The core decides what they need from the server (BODY=8BITMIME
/// for 8-bit content, SMTPUTF8 for 8-bit headers or a UTF-8 envelope, SIZE), normalises line endings and
/// dot-stuffs on the way out; no caller decides any of it.
public struct MessageContent: Sendable {
  public let bytes: [UInt8]
  /// What the content needs, found by one pass over it.
  let traits: MessageTraits

  public init(bytes: [UInt8]) {
    self.bytes = bytes
    self.traits = MessageTraits(scanning: bytes)
  }

  public var byteCount: Int { bytes.count }

  /// The Message-ID of the header section without its angle brackets (RFC 5322 §3.6.4), if it has one on a
  /// single line.
  var messageID: String? {
    var lineStart = 0
    while lineStart < bytes.count {
      var end = lineStart
      while end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0x0D { end += 1 }
      let line = bytes[lineStart..<end]
      if line.isEmpty { return nil }
      let name = Array("message-id:".utf8)
      if line.count > name.count,
        zip(line.prefix(name.count), name).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
      {
        var value = String(decoding: line.dropFirst(name.count), as: UTF8.self)
        value = value.trimmingSpaces
        if value.hasPrefix("<") && value.hasSuffix(">") && value.count > 2 {
          value = String(value.dropFirst().dropLast())
        }
        return value.isEmpty ? nil : value
      }
      lineStart = end
      if lineStart < bytes.count && bytes[lineStart] == 0x0D { lineStart += 1 }
      if lineStart < bytes.count && bytes[lineStart] == 0x0A { lineStart += 1 }
    }
    return nil
  }
}

extension String {
  fileprivate var trimmingSpaces: String {
    String(
      self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
  }
}

/// What a message's bytes need from the server (RFC 6152, RFC 6531/6532).
struct MessageTraits: Sendable, Hashable {
  /// A byte ≥ 0x80 in the header section: the headers are UTF-8 (RFC 6532), which needs SMTPUTF8.
  var eightBitHeaders = false
  /// A byte ≥ 0x80 in the body: BODY=8BITMIME.
  var eightBitBody = false

  /// The header section ends at the first empty line, with line ends counted as the wire will have them (every
  /// bare CR or LF becomes CRLF, DESIGN §3.8).
  init(scanning bytes: [UInt8]) {
    var inHeaders = true
    var lineIsEmpty = true
    var previous: UInt8 = 0
    for byte in bytes {
      if byte == 0x0A && previous == 0x0D {
        // The LF of a CRLF: the CR already ended the line.
        previous = byte
        continue
      }
      if byte == 0x0D || byte == 0x0A {
        if inHeaders && lineIsEmpty { inHeaders = false }
        lineIsEmpty = true
      } else {
        lineIsEmpty = false
        if byte >= 0x80 {
          if inHeaders { eightBitHeaders = true } else { eightBitBody = true }
        }
      }
      previous = byte
      if eightBitBody && eightBitHeaders { break }
    }
  }
}

/// Everything one send needs. Built by a front end (through the planning layer); checked and carried out by
/// `MailSender`.
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
  /// A shorter deadline for the plaintext greeting, when set (issue 11: a STARTTLS or plaintext session to a port
  /// that speaks implicit TLS hears nothing — the server waits for a ClientHello — and waited the whole step).
  public var greetingTimeout: Duration?
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
  /// Delivery status notifications (RFC 3461); a server without DSN is refused before MAIL (69). Without an
  /// envelope ID the session takes the message's Message-ID, or a random one.
  public var dsn: DSNRequest?
  /// REQUIRETLS (RFC 8689): refused before connecting without TLS, and before MAIL (77) when the server does
  /// not offer it inside TLS.
  public var requireTLS = false

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

  /// A UTF-8 envelope address needs SMTPUTF8 (RFC 6531 §3.3).
  var needsSMTPUTF8: Bool {
    message.traits.eightBitHeaders || !reversePath.utf8.allSatisfy { $0 < 0x80 }
      || recipients.contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
  }
}
