import SMTPProtocol

/// Why a send did not end in "sent", ordered as the exit-code table of DESIGN §4 (first match wins).
public struct SendFailure: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Category: Sendable, Hashable, CaseIterable {
    case usage, dataError, noInput, hostUnknown, security, configuration, protocolViolation
    case permanent, temporary, deliveryUnknown

    /// sysexits.h code for this category.
    public var exitCode: Int32 {
      switch self {
      case .usage: 64
      case .dataError: 65
      case .noInput: 66
      case .hostUnknown: 68
      case .security: 77
      case .configuration: 78
      case .protocolViolation: 76
      case .permanent: 69
      case .temporary, .deliveryUnknown: 75
      }
    }

    /// The verdict word of the stderr line.
    public var verdict: String {
      switch self {
      case .usage: "usage"
      case .dataError: "bad data"
      case .noInput: "cannot read"
      case .hostUnknown: "unknown host"
      case .security: "refused"
      case .configuration: "configuration"
      case .protocolViolation: "protocol violation"
      case .permanent: "failed"
      case .temporary: "temporary failure"
      case .deliveryUnknown: "delivery unknown"
      }
    }
  }

  /// A recipient the server would not take, with its reply text (escaped, redacted).
  public struct RefusedRecipient: Sendable, Hashable {
    public var address: String
    public var reply: String
  }

  public var category: Category
  /// One line, no secret, server text escaped.
  public var message: String
  public var refusedRecipients: [RefusedRecipient]

  public init(_ category: Category, _ message: String, refusedRecipients: [RefusedRecipient] = []) {
    self.category = category
    self.message = message
    self.refusedRecipients = refusedRecipients
  }

  public var exitCode: Int32 { category.exitCode }
  public var description: String { "\(category.verdict): \(message)" }
}

/// The result of one send.
public struct SendReport: Sendable {
  /// nil when the message was sent: a final 2xx after the end of data.
  public var failure: SendFailure?
  /// The server's final reply after the end of data (escaped, redacted), when there was one.
  public var finalReply: String?

  /// What the session set out to do.
  public var goal: SMTPClientConfiguration.Goal = .deliver
  /// Whether AUTH succeeded in this session.
  public var loggedIn = false

  /// The TLS outcome and chain when a handshake finished, trusted or not (then nothing else was sent).
  public var tls: TLSSessionSummary? = nil
  /// The EHLO list before TLS (STARTTLS sessions, and plaintext ones); nil with implicit TLS.
  public var capabilitiesBeforeTLS: Capabilities? = nil
  /// The EHLO list inside TLS; nil when the session did not get that far, or without TLS.
  public var capabilitiesAfterTLS: Capabilities? = nil
  /// The address connected to.
  public var peer: PeerAddress? = nil

  public var exitCode: Int32 { failure?.exitCode ?? 0 }

  /// The one line for stderr (without the "sealpost: " prefix).
  public var verdictLine: String {
    if let failure { return failure.description }
    switch goal {
    case .deliver: return "sent: \(finalReply ?? "accepted")"
    case .inspect: return "ok: the channel is trustworthy; nothing was sent"
    case .authenticate where loggedIn:
      return "ok: the channel is trustworthy and the login works; no mail was sent"
    case .authenticate:
      return "ok: the channel is trustworthy; no login was tried (no credentials); no mail was sent"
    }
  }
}
