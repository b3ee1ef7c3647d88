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

/// The message to send, as given: a source the core reads as often as it needs (DESIGN §2). The core decides
/// what it needs from the server (BODY=8BITMIME for 8-bit content, SMTPUTF8 for 8-bit headers or a UTF-8
/// envelope, SIZE) by a pass of its own over the message as written for that server, normalises line endings
/// and dot-stuffs on the way out; no caller decides any of it.
public struct MessageContent: Sendable {
  /// Where the bytes come from: every pass (`open(for:)`) starts at the beginning.
  public let source: any MessageSource
  /// The bytes, when the message was given in memory.
  public let inMemoryBytes: [UInt8]?

  public init(bytes: [UInt8]) {
    self.source = InMemoryMessage(bytes)
    self.inMemoryBytes = bytes
  }

  /// A message that streams (a file, a MIME writer): read in passes of bounded memory, never held whole.
  public init(source: any MessageSource) {
    self.source = source
    self.inMemoryBytes = nil
  }

  /// The whole message as written for a server that offers no extension: the bytes given in memory, or a
  /// whole pass over a streamed message read into memory (for tests and small messages; empty when the pass
  /// fails). The session itself never calls it.
  public var bytes: [UInt8] {
    if let inMemoryBytes { return inMemoryBytes }
    return (try? Self.prefix(of: source, upTo: Int.max)) ?? []
  }

  /// The size in octets as given, when the message is in memory (a streamed one is measured by the session).
  public var byteCount: Int? { inMemoryBytes?.count }

  /// The Message-ID of the header section without its angle brackets (RFC 5322 §3.6.4), if it has one on a
  /// single line within the first 64 KiB (found by a pass of its own, read only that far).
  var messageID: String? {
    let prefix = (try? Self.prefix(of: source, upTo: 64 << 10)) ?? []
    return Self.messageID(in: prefix)
  }

  /// The first `limit` octets of a pass (fewer when the message is shorter).
  static func prefix(of source: any MessageSource, upTo limit: Int) throws(MessageError) -> [UInt8] {
    var reader = try source.open(for: .plain)
    let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
    defer { piece.deallocate() }
    var bytes: [UInt8] = []
    while bytes.count < limit {
      let wanted = min(piece.count, limit - bytes.count)
      let count = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: piece[0..<wanted]))
      guard count > 0, count <= wanted else { break }
      bytes += UnsafeRawBufferPointer(rebasing: piece[0..<count])
    }
    return bytes
  }

  static func messageID(in bytes: [UInt8]) -> String? {
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

  init() {}

  /// The traits of a whole message held in memory.
  init(scanning bytes: [UInt8]) {
    var scanner = MessageScanner()
    bytes.withUnsafeBytes { scanner.scan($0) }
    self = scanner.traits
  }
}

/// Finds a message's traits and size as its bytes go by, in pieces of any size (the check pass, and the send
/// pass that must match it). The header section ends at the first empty line, with line ends counted as the
/// wire will have them (every bare CR or LF becomes CRLF, DESIGN §3.8); after it, only whether an octet ≥ 0x80
/// occurs matters, checked eight octets at a time.
struct MessageScanner: Sendable {
  private(set) var traits = MessageTraits()
  /// Octets seen, as given.
  private(set) var size = 0
  private var inHeaders = true
  private var lineIsEmpty = true
  private var previous: UInt8 = 0

  mutating func scan(_ bytes: UnsafeRawBufferPointer) {
    size += bytes.count
    var index = 0
    while inHeaders && index < bytes.count {
      let byte = bytes[index]
      index += 1
      if byte == 0x0A && previous == 0x0D {
        // The LF of a CRLF: the CR already ended the line.
        previous = byte
        continue
      }
      if byte == 0x0D || byte == 0x0A {
        if lineIsEmpty { inHeaders = false }
        lineIsEmpty = true
      } else {
        lineIsEmpty = false
        if byte >= 0x80 { traits.eightBitHeaders = true }
      }
      previous = byte
    }
    guard !traits.eightBitBody, index < bytes.count else { return }
    traits.eightBitBody = Self.hasEightBitOctet(UnsafeRawBufferPointer(rebasing: bytes[index...]))
  }

  static func hasEightBitOctet(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    let words = bytes.count / 8
    var combined: UInt64 = 0
    for word in 0..<words {
      combined |= base.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
    }
    if combined & 0x8080_8080_8080_8080 != 0 { return true }
    for index in (words * 8)..<bytes.count where bytes[index] >= 0x80 { return true }
    return false
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
  /// What the content is, for the transcript's data line (issue 15: "signed by …, encrypted for 3
  /// recipients"); nil or empty adds nothing.
  public var contentSummary: String?
  /// Called on the session's thread just before the write that carries the final dot (or the LAST chunk); a
  /// failure it throws ends the send as not sent: the connection closes without the end of data (issue 12 §3:
  /// the outbox records "sending" exactly there).
  public var beforeFinalWrite: (@Sendable () throws(SendFailure) -> Void)?

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
  var envelopeNeedsSMTPUTF8: Bool {
    !reversePath.utf8.allSatisfy { $0 < 0x80 } || recipients.contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
  }
}
